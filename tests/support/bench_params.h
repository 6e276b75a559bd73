#pragma once
// Small parameter sets the module benches share, chosen so that cycles are easy to derive by hand.
#include <cstdint>

#include "modules/memory/fixed_latency_memory_engine.h"
#include "modules/pe_array/pe_array_engine.h"

namespace tacsim::testing_support {

// A transaction of B bytes issued at cycle c (queue free) is due at c + 10 + ceil(B / 64), one bus.
inline memory::Params small_memory(std::uint32_t queue_depth = 32) {
  memory::Params p;
  p.latency_cycles = 10;
  p.bytes_per_cycle = 64;
  p.queue_depth = queue_depth;
  p.capacity_mib = 1;
  p.posted_writes = false;  // the module tests' arithmetic gives writes the same 10 cycles as reads
  return p;
}

// 2 x 2 PEs of one multiplier: a step a cycle per K element; a dense pipeline of 1 + 1 + 1 = 3 stages.
inline pe_array::Params tiny_array() {
  pe_array::Params p;
  p.rows = 2;
  p.cols = 2;
  p.macs_per_pe = 1;
  p.multiply_latency_cycles = 1;
  p.adder_tree_latency_cycles = 1;
  p.accumulate_latency_cycles = 1;
  return p;
}

}  // namespace tacsim::testing_support
