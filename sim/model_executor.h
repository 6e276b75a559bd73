#pragma once
// The model run's hands on the hardware: it carries out the scheduler's steps (modules/scheduler) on the
// engine each step is for, building its commands with workloads/model_mapping.h from the step's batch
// (model_workload.h), and records what every operation did (its interval, DRAM bytes, stalls) for the report.
// With values on, it compares each layer's output in simulated memory with the reference.
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "modules/scheduler/executor.h"
#include "sim/config.h"
#include "sim/model_report.h"
#include "sim/model_workload.h"
#include "sim/top.h"
#include "workloads/mapper.h"

namespace tacsim::sim {

// An operation's GEMM: its shape and weight format. Throws InputError naming the operation when the shape
// does not fit the format (an N:M's M, or the blocks of sparsity.hp_block_*).
workloads::GemmParams model_gemm(const SimConfig& cfg, const workloads::Op& op);

class ModelExecutor : public scheduler::Executor {
 public:
  ModelExecutor(const SimConfig& cfg, const ModelPlan& plan, const ModelValues& values, bool check, Top& top,
                ModelWorkload& workload, const scheduler::SchedulerEngine& scheduler);
  void execute(std::size_t engine, const scheduler::Step& step) override;

  std::uint64_t mismatches() const { return mismatches_; }
  const std::string& first_mismatch() const { return first_mismatch_; }
  // Every byte the memory moved, as the engines' operations account for them.
  // Bytes the operations account for, and engine e's count they come from: with one engine what the memory
  // moved, with several what each engine asked for (model_executor.cpp).
  std::uint64_t op_bytes() const { return op_bytes_; }
  std::uint64_t engine_bytes(std::size_t e) const;

 private:
  // What one engine is doing: the softmax block, or the epilogue block, running on its SFU beside its array.
  // What an engine's units had done when the last operation was charged: each later byte and stall belongs
  // to the operation that closes the next interval (a program's finish, an SFU operation's end).
  struct Mark {
    Cycle at = 0;
    std::uint64_t bytes = 0, operand_stall = 0, out_stall = 0, drain_stall = 0, conflicts = 0, macs = 0;
  };
  struct EngineState {
    std::array<std::unique_ptr<workloads::GemmMapper>, 4> mappers;  // by WeightFormat, made on first use
    Mark mark;
    std::uint64_t gemm_bytes = 0;  // DRAM bytes of its GEMMs so far
    Cycle softmax_t0 = 0;
    std::uint64_t softmax_bytes0 = 0, softmax_gemm_bytes0 = 0;
    Cycle epilogue_t0 = 0;  // when the epilogue block on the SFU started
  };

  // `next_op`: the operation engine e runs next, when the scheduler chained it to this one (Step::next_task).
  void run_op(std::size_t e, BatchRun& b, std::size_t i, std::optional<std::size_t> next_op);
  // Maps the GEMM and submits its program to engine e's controller. `defer`: return once the controller has
  // taken it (its finish charges it to `rec`); else once it has finished.
  void run_gemm(std::size_t e, OpRecord& rec, const workloads::GemmParams& g,
                const workloads::GemmLayout& layout, bool on_chip_act, bool on_chip_out, bool defer,
                const sparsity::Mask* mask = nullptr, const std::string& mask_file = "");
  // Whether op i's program may still run after its step returns: overlap on, and a later op reads it.
  bool may_defer(std::size_t e, BatchRun& b, std::size_t i);
  // Waits until the programs of op i's inputs that run on other engines have finished (an engine's own
  // controller keeps its programs' order: controller.h).
  void await_inputs(std::size_t e, BatchRun& b, std::size_t i);
  // Waits until engine e's controller has finished every program.
  void drain(std::size_t e);
  // Cycles since `t0` that engine e's array has had no program to run (a program queued behind the one that
  // finishes keeps it busy): what a wait for the SFU cost it.
  Cycle array_idle(std::size_t e, Cycle t0) const;
  Mark mark_now(std::size_t e) const;
  // Charges what engine e did since its mark to `r` (an interval from `from`; `start`: its first) and moves
  // the mark to now.
  void close(std::size_t e, OpRecord& r, Cycle start, Cycle from, bool gemm);
  // Weight GEMM i with its fused epilogue: a block of its outputs at a time on the array, then the epilogue's
  // operations on that block on the SFU while the array computes the next block.
  void run_fused(std::size_t e, BatchRun& b, std::size_t i);
  void finish_epilogue(std::size_t e, BatchRun& b, const workloads::Epilogue& ep);
  void start_softmax(std::size_t e, BatchRun& b, const workloads::Op& qk, std::uint32_t block);
  void await_softmax(std::size_t e, BatchRun& b, const workloads::Op& qk);
  void check_layer_output(const BatchRun& b, std::size_t i);
  // Runs `body` on engine e as part of op record `r`: its interval, DRAM bytes and the datapaths' stalls add
  // to it.
  void measured(std::size_t e, OpRecord& r, const std::function<void()>& body);
  const workloads::GemmMapper& mapper(std::size_t e, const workloads::GemmParams& g);
  const workloads::LayerQuant& quant(const BatchRun& b, std::uint32_t layer) const;

  const SimConfig& cfg_;
  const ModelPlan& plan_;
  const ModelValues& values_;
  const bool check_;
  Top& top_;
  ModelWorkload& workload_;
  const scheduler::SchedulerEngine& scheduler_;
  std::vector<EngineState> engines_;
  workloads::LayerQuant default_quant_;  // timing-only runs: their values are not computed
  std::uint64_t op_bytes_ = 0;
  std::uint64_t mismatches_ = 0;
  std::string first_mismatch_;
};

}  // namespace tacsim::sim
