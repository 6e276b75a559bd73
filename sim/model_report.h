#pragma once
// What a model run reports: ops.csv (one row per operation), layers.csv (per layer), the summary of
// stats.json and the console table. Kept apart from the simulation (model_run.cpp), which fills OpRecords.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "modules/common/types.h"
#include "sim/config.h"
#include "sim/run.h"
#include "workloads/lowering.h"
#include "workloads/model.h"

namespace tacsim::sim {

// What one operation did. An attention head run in blocks adds to its ops' records block by block.
struct OpRecord {
  std::size_t sequence = 0;
  const workloads::Op* op = nullptr;
  bool ran = false;
  Cycle start = 0, end = 0;  // first start, last end
  Cycle cycles = 0;          // busy: the sum of its intervals
  std::uint64_t dram_bytes = 0, operand_stall = 0, out_stall = 0, drain_stall = 0, conflicts = 0, pe_macs = 0;
  // S.V blocks of a pipelined head: cycles the array sat idle waiting for the softmax of their block.
  std::uint64_t sfu_wait = 0;
  // A GEMM with a fused epilogue: its sfu_wait holds the cycles the array sat idle for the SFU (to take the
  // next block, and the last block's epilogue). An SFU op of such an epilogue (beside_array): the cycles the
  // SFU sat idle waiting for the array's next block.
  bool beside_array = false;
  std::uint64_t array_wait = 0;
  std::uint64_t compulsory_bytes = 0;  // its DRAM traffic with each operand read once (workloads/roofline.h)
  std::string tiling;
};

struct ModelRunTotals {
  double sim_time_ns = 0;  // of the last operation's end
  std::uint64_t dram_bytes = 0, weight_bytes = 0, bank_conflict_cycles = 0;
  std::string check = "off";  // "pass", "fail: <first mismatch>" or "off"
  std::uint64_t check_mismatches = 0;
  double wall_s = 0, reference_wall_s = 0;
};

// Writes ops.csv, layers.csv and stats.json into out_dir (atomically) and, unless quiet, prints the summary.
// `records` in the order the operations ran, every one of them; `sparse_rows`: the weight GEMMs ran on the HP
// datapath, so their effective MACs are the ones it performed.
void report_model_run(const SimConfig& cfg, const RunOptions& opts, const workloads::ModelSpec& spec,
                      const std::vector<std::uint32_t>& lengths, const std::vector<const OpRecord*>& records,
                      bool sparse_rows, const ModelRunTotals& totals);

}  // namespace tacsim::sim
