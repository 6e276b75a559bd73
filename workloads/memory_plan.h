#pragma once
// Where a model run keeps its tensors in memory: the plan of the whole memory (inputs, weights, activation
// arenas, scratch), and each batch's tensors in it, one per operation's result.
//
// Memory, in this order: the input regions (a batch's first layer reads its input from one), the weights of
// every layer (layer by layer, the six matrices in role order, as stored), then one slot per batch in flight:
// two activation arenas that its layers use in turn (layer l writes arena l % 2 and reads its input from the
// other), then one scratch area per engine for the HP mapper (which lays out its own operands). Every region
// starts on a 4 KiB boundary. A slot is reserved by a batch from its admission to its end, so batches in
// flight never share activation memory; an arena holds the largest batch (slot_tokens), each layer's context,
// every per-token tensor and, per engine, the attention pipeline's two blocks of scores and probabilities.
// With one slot, one engine and one input region per sequence this is the layout a model's sequences run
// back to back have always had.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "modules/pe_array/tile_command.h"
#include "workloads/lowering.h"
#include "workloads/model.h"
#include "workloads/weight_format.h"

namespace tacsim::workloads {

// Bytes per element as operations store them (the formats of layer_reference.h): int32 accumulators, int8
// activations.
inline constexpr std::uint32_t kAccBytes = 4, kActBytes = 1;

// A tensor in memory: row-major, `stride` bytes from one row to the next.
struct Tensor {
  std::uint64_t address = 0;
  std::uint64_t stride = 0;
  std::uint32_t elem = 1;  // bytes per element
};

// What the plan must hold.
struct MemoryShape {
  std::uint32_t input_regions = 1;  // e.g. one per sequence of a model run, one per slot of a trace run
  std::uint64_t input_tokens = 0;   // rows each input region holds
  std::uint32_t slots = 1;          // batches in flight
  std::uint64_t slot_tokens = 0;    // the largest batch's tokens
  std::uint32_t max_len = 0;        // the longest sequence: sizes the attention blocks' scores
  std::uint32_t engines = 1;        // one pair of score blocks and one HP scratch area each
  bool hp_scratch = false;          // the weights run on the HP datapath, which needs a scratch area
};

struct MemoryMap {
  std::uint64_t input = 0, input_bytes = 0;  // input region r at input + r * input_bytes
  std::uint32_t input_regions = 0;
  std::uint64_t weights = 0;
  std::vector<std::array<std::uint64_t, 6>> weight_at;  // by layer and role index
  std::vector<std::array<std::uint64_t, 2>> arena;      // per slot, the pair of arenas
  std::uint64_t arena_bytes = 0;
  std::vector<std::uint64_t> scratch;  // per engine
  std::uint64_t end = 0;

  std::uint64_t input_at(std::uint32_t region) const { return input + region * input_bytes; }
};

// `layer_sparsity[l][r]`: the sparsity of layer l's weights of role index r, which sizes them as stored.
MemoryMap plan_memory(const ModelSpec& spec, const MemoryShape& shape,
                      const std::vector<std::array<WeightSparsity, 6>>& layer_sparsity);

// How a weight GEMM's outputs leave the array: projections feeding Q.K^T and S.V as int8 (rq left to the
// caller), V transposed for S.V (its rows are V^T's, the n x k operand) when attention is dense (the top-k
// unit takes V's rows as they are); the others int32, for the SFU.
pe_array::OutputStage projection_output(WeightRole role, bool dense_attention);

// A layer's tensors that several operations share: the context, which every head writes its member's rows
// and its columns of, and per engine a head's scores and probabilities, two blocks of query rows each (the
// attention pipeline's double buffer), reused by every head that engine runs. A block of a member of length
// L holds its rows of L scores: row stride L x 4 (scores), L (probabilities).
struct LayerTensors {
  Tensor ctx;
  std::vector<std::array<std::uint64_t, 2>> scores_at, probs_at;  // [engine][block % 2]

  Tensor scores(std::size_t engine, std::uint32_t block, std::uint32_t seq_len) const {
    return {scores_at[engine][block % 2], std::uint64_t{seq_len} * kAccBytes, kAccBytes};
  }
  Tensor probs(std::size_t engine, std::uint32_t block, std::uint32_t seq_len) const {
    return {probs_at[engine][block % 2], seq_len, kActBytes};
  }
};

// One batch's tensors.
struct BatchTensors {
  Tensor input;  // the first layer's input: the batch's tokens, member after member
  std::vector<Tensor>
      out;  // each operation's result (a head's: engine 0's first block of scores, probabilities)
  std::vector<LayerTensors> layers;

  // The tensor an operation reads as its operand k (op.inputs[k]).
  const Tensor& operand(const Op& op, std::size_t k) const;
};

// Places a batch (ops as lowered by lower_batch) in slot `slot`'s arenas, in operation order, its input in
// input region `region`. `score_elements`: the most scores one attention block holds (block rows x member
// length, over the members and the engines that may run them).
BatchTensors place_tensors(const ModelSpec& spec, const std::vector<Op>& ops, const MemoryMap& mm,
                           std::uint32_t region, std::uint32_t slot, std::uint64_t score_elements);

}  // namespace tacsim::workloads
