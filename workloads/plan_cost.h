#pragma once
// What a GEMM plan costs, estimated without simulating it: the PE array engine's closed form (its exact
// timing, pe_array_engine.h) runs the plan's tiles, fed through the same buffer halves as the controller
// feeds them (load i of a buffer goes to half i % 2 once load i - 2 has been released; a fill of the output
// buffer is written back once complete, and its half is free when that is done), by an idealised memory: one
// data bus at the memory's peak bandwidth and a fixed latency, or, for a DRAM, one bus per channel that also
// pays for the rows a transfer opens. Transfers take the buses in the order the plan needs them. The PE array
// mapper's search ranks tilings by it (pe_array_mapper.h).
#include <cstdint>
#include <functional>
#include <utility>

#include "modules/common/types.h"
#include "modules/dma/block_move.h"
#include "modules/pe_array/pe_array_engine.h"
#include "workloads/gemm.h"

namespace tacsim::workloads {

struct MemoryModel {
  double bytes_per_cycle = 0;      // peak, per accelerator cycle
  Cycle latency_cycles = 0;        // from a read's last byte on the bus to its completion
  Cycle write_latency_cycles = 0;  // the same for a write (posted: acknowledged once the memory holds it)
  // The memory moves whole bursts: a row of a block costs its bytes rounded up to bursts (the rows of a
  // contiguous block are one range).
  std::uint32_t burst_bytes = 1;
  // A DRAM (channels > 0): each channel is a bus of its own at bytes_per_cycle / channels, and a transfer's
  // bursts in a DRAM row other than the one its previous burst on that channel used cost an activation, of
  // which a channel issues one per act_cycles (the longer of tRRD_S and tFAW / 4). Strided tile rows each
  // open a row: that, not the bus, bounds how fast small int32 output tiles go back (issue 15).
  // `locate` maps a burst's address to its channel and a number naming its DRAM row within the channel.
  std::uint32_t channels = 0;
  double act_cycles = 0;
  std::function<std::pair<std::uint32_t, std::uint64_t>(std::uint64_t)> locate;
  // Aligned blocks of this many bytes (a multiple of burst_bytes) lie in one channel and one DRAM row: the
  // estimate locates one burst of each.
  std::uint64_t granule_bytes = 0;
  std::uint64_t moved(const dma::BlockMove& b) const;
};

struct PlanCost {
  Cycle cycles = 0;          // the last write-back done
  Cycle compute_cycles = 0;  // the same tiles with every operand and output half always ready
  std::uint64_t dram_bytes = 0;
};

PlanCost estimate_plan(const GemmPlan& plan, const pe_array::Params& pe, const MemoryModel& memory);

}  // namespace tacsim::workloads
