#pragma once
// What a model run reports, built as the run goes (a long trace keeps only its running totals):
// - ops.csv: a model's own sequences (sim.workload = model), one row per operation of each batch, in batch
//   order; a trace, one row per operation of the model graph (its heads' members folded together), summed
//   over every batch, with `count`;
// - layers.csv: per layer, summed over batches (a layer's cycles run from its first operation's start to its
//   last one's end in each batch);
// - requests.csv: one row per request, in the order they finish (id,arrival_ns,start_ns,finish_ns,latency_ns,
//   seq_len,padded_len; start = when its batch's first task started);
// - batches.csv: one row per batch; queue.csv: requests waiting and batches in flight at each change;
//   engines.csv: each engine's busy intervals (back-to-back tasks merged);
// - stats.json's summary and the console table.
// Files are written to temporary names as the run goes and renamed into place only when it completes.
#include <cstdint>
#include <fstream>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "modules/common/clock.h"
#include "modules/common/types.h"
#include "modules/scheduler/scheduler_engine.h"
#include "sim/config.h"
#include "sim/output.h"
#include "sim/run.h"
#include "workloads/lowering.h"
#include "workloads/model.h"

namespace tacsim::sim {

// What one operation did. An attention head run in blocks adds to its ops' records block by block.
struct OpRecord {
  std::size_t sequence = 0;  // its batch (a model's sequence run alone: the sequence)
  std::size_t engine = 0;
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
  std::uint32_t programs_in_flight = 0;  // its programs submitted to an engine's controller, not yet finished
  std::string tiling;
};

struct ModelRunTotals {
  std::uint64_t dram_bytes = 0, weight_bytes = 0, bank_conflict_cycles = 0;
  std::string check = "off";  // "pass", "fail: <first mismatch>" or "off"
  std::uint64_t check_mismatches = 0;
  double wall_s = 0, reference_wall_s = 0;
  std::vector<scheduler::SchedulerEngine::EngineCounters> engines;
  bool trace = false;                        // the requests came from a trace
  std::uint64_t truncated = 0, dropped = 0;  // by the trace's length limit
};

class RunReport : public scheduler::Observer {
 public:
  // `sparse_rows`: the weight GEMMs ran on the HP datapath, so their effective MACs are the ones it
  // performed.
  RunReport(const SimConfig& cfg, const RunOptions& opts, const workloads::ModelSpec& spec, bool sparse_rows,
            const ClockDomain& clock);

  void queue_changed(Cycle at, std::size_t waiting, std::size_t in_flight) override;
  void busy(std::size_t engine, Cycle start, Cycle end) override;
  // A batch is done: its operations (every one ran) and their records, and what its padding cost.
  void batch_done(const scheduler::Batch& batch, Cycle start, Cycle finish, std::vector<workloads::Op> ops,
                  std::vector<OpRecord> records, std::uint64_t padding_macs);

  std::uint64_t requests_done() const { return latencies_ns_.size(); }
  std::uint64_t ops_done() const { return ops_done_; }
  // Writes every file and stats.json (atomically) and, unless quiet, prints the summary.
  void finish(const ModelRunTotals& totals);

 private:
  struct OpTotals {  // an operation of the model graph, summed over the batches (trace runs)
    std::string name;
    workloads::OpKind kind = workloads::OpKind::kWeightGemm;
    std::uint32_t layer = 0;
    int head = -1;
    std::size_t engine = 0;  // where it first ran
    bool beside_array = false;
    std::uint64_t count = 0, cycles = 0, macs = 0, effective_macs = 0, dram_bytes = 0, operand_stall = 0,
                  out_stall = 0, drain_stall = 0, conflicts = 0, sfu_wait = 0, array_wait = 0, pe_macs = 0,
                  compulsory_bytes = 0;
    double roofline_cycles = 0;
  };
  struct KindTotals {
    std::uint64_t cycles = 0, macs = 0, pe_macs = 0, dram_bytes = 0;
    double roofline_cycles = 0;
  };
  struct LayerTotals {
    std::uint64_t cycles = 0, macs = 0, dram_bytes = 0, operand_stall = 0, out_stall = 0, drain_stall = 0,
                  conflicts = 0, sfu_cycles = 0, sfu_wait = 0, pe_macs = 0;
  };
  // Kept whole for a model's own sequences (a handful), to write one row per operation.
  struct KeptBatch {
    std::vector<workloads::Op> ops;
    std::vector<OpRecord> records;
    std::uint32_t tokens = 0;
  };

  std::uint64_t ns(Cycle c) const;  // the start of cycle c, in whole ns
  std::uint64_t effective_macs(const OpRecord& r) const;
  // Its roofline bound (workloads/roofline.h) at its engine's peak.
  double roofline_cycles(const OpRecord& r) const;
  std::string op_row(const OpRecord& r, std::size_t index, std::uint32_t tokens) const;
  std::string totals_row(const OpTotals& t) const;
  void flush_busy(std::size_t engine);

  const SimConfig& cfg_;
  const RunOptions& opts_;
  const workloads::ModelSpec& spec_;
  const bool sparse_rows_;
  const ClockDomain& clock_;
  const bool per_operation_;  // one ops.csv row per operation of each batch (a model's sequences)
  double peak_macs_ = 0, peak_bytes_ = 0;

  StreamedFile requests_csv_, batches_csv_, queue_csv_, engines_csv_;
  std::vector<KeptBatch> kept_;
  std::vector<OpTotals> op_totals_;
  std::unordered_map<std::string, std::size_t> op_index_;
  std::map<std::string, KindTotals> by_kind_;
  std::vector<LayerTotals> layers_;
  std::vector<std::uint64_t> latencies_ns_;
  std::vector<std::uint64_t> engine_pe_macs_;
  std::uint64_t macs_ = 0, pe_macs_ = 0, operand_stall_ = 0, out_stall_ = 0, drain_stall_ = 0, sfu_only_ = 0;
  std::uint64_t sfu_idle_for_array_ = 0;  // fused epilogues: the SFU waiting for the array's next block
  double roofline_cycles_ = 0;
  std::uint64_t ops_done_ = 0, tokens_ = 0, padded_tokens_ = 0, padding_macs_ = 0, batches_ = 0;
  Cycle last_finish_ = 0, first_arrival_ = kNever;
  // queue.csv: the state at the cycle of the last change, written when time moves on.
  bool queue_pending_ = false;
  Cycle queue_at_ = 0;
  std::size_t queue_waiting_ = 0, queue_in_flight_ = 0, max_waiting_ = 0;
  // engines.csv: each engine's current run of back-to-back tasks.
  std::vector<std::pair<Cycle, Cycle>> busy_run_;
  std::vector<bool> busy_open_;
};

}  // namespace tacsim::sim
