#pragma once
// What a GEMM plan costs, estimated without simulating it: the PE array engine's closed form (its exact
// timing, pe_array_engine.h) runs the plan's tiles, fed through the same buffer halves as the controller
// feeds them (load i of a buffer goes to half i % 2 once load i - 2 has been released; a fill of the output
// buffer is written back once complete, and its half is free when that is done), by an idealised memory: one
// data bus at the memory's peak bandwidth and a fixed latency. Transfers take the bus in the order the plan
// needs them. The PE array mapper's search ranks tilings by it (pe_array_mapper.h).
#include <cstdint>

#include "modules/common/types.h"
#include "modules/dma/block_move.h"
#include "modules/pe_array/pe_array_engine.h"
#include "workloads/gemm.h"

namespace tacsim::workloads {

struct MemoryModel {
  double bytes_per_cycle = 0;  // peak, per accelerator cycle
  Cycle latency_cycles = 0;    // from a read's last byte on the bus to its completion
  Cycle write_latency_cycles = 0;  // the same for a write (posted: acknowledged once the memory holds it)
  // The memory moves whole bursts: a row of a block costs its bytes rounded up to bursts (the rows of a
  // contiguous block are one range).
  std::uint32_t burst_bytes = 1;
  std::uint64_t moved(const dma::BlockMove& b) const;
};

struct PlanCost {
  Cycle cycles = 0;          // the last write-back done
  Cycle compute_cycles = 0;  // the same tiles with every operand and output half always ready
  std::uint64_t dram_bytes = 0;
};

PlanCost estimate_plan(const GemmPlan& plan, const pe_array::Params& pe, const MemoryModel& memory);

}  // namespace tacsim::workloads
