#pragma once
// The roofline bound of a model run (issue 15): per operation, the larger of the cycles its effective MACs
// take at the PE array's peak and the cycles its compulsory DRAM traffic takes at the memory's peak
// bandwidth; a run's bound is the sum over its operations, so it assumes no two operations overlap and every
// one runs at whichever peak limits it.
// Compulsory traffic reads each operand that lives in memory once and writes each result that goes to memory
// once, at the sizes the operations store them (memory_plan.h: int8 activations, int32 accumulators, weights
// as stored, N:M values with their indices). STA's on-chip attention (model_mapping.h) keeps a head's scores
// and probabilities out of memory: with it they count nothing.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "workloads/lowering.h"

namespace tacsim::workloads {

std::uint64_t compulsory_bytes(const std::vector<Op>& ops, std::size_t i, bool attention_on_chip);

struct Roofline {
  double macs_per_cycle = 0;   // the PE array's peak
  double bytes_per_cycle = 0;  // the memory's peak, per accelerator cycle
  // max(effective MACs / peak MACs, compulsory bytes / peak bandwidth), in cycles.
  double cycles(std::uint64_t effective_macs, std::uint64_t compulsory_bytes) const;
};

}  // namespace tacsim::workloads
