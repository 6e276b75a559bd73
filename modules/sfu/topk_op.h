#pragma once
// What the top-k unit runs: one head of top-k sparse attention over Q, K and V in memory. Plain C++:
// workloads build these without SystemC (the shell and the value formats: topk_unit.h).
#include <cstdint>
#include <optional>

#include "modules/common/requant.h"
#include "modules/dma/block_move.h"

namespace tacsim::sfu {

struct TopkOp {
  std::uint32_t l = 0, d = 0;  // queries = keys = l; head dimension d
  bool causal = false;         // a decoder's prefill: query i sees keys 0..i
  // Each l rows of d bytes at any stride. The unit has a buffer per tensor, so local_offset is not used.
  dma::BlockMove q, k, v;  // read before computing
  dma::BlockMove out;      // l rows of d int8 context, written after
  // Values only.
  Requant score_rq = Requant::identity32();
  std::optional<Requant> prob_rq;  // unset: TopkAttentionEngine::default_prob_rq(params)
  Requant ctx_rq{1, 0, -128, 127};
};

}  // namespace tacsim::sfu
