#pragma once
// The model run's hands on the hardware: it carries out the scheduler's steps (modules/scheduler) on Top's
// units, building each step's commands with workloads/model_mapping.h, and records what every operation did
// (its interval, DRAM bytes, stalls) for the report. With values on, it compares each layer's output in
// simulated memory with the reference.
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "modules/scheduler/executor.h"
#include "sim/config.h"
#include "sim/model_report.h"
#include "sim/top.h"
#include "workloads/layer_reference.h"
#include "workloads/lowering.h"
#include "workloads/mapper.h"
#include "workloads/memory_plan.h"
#include "workloads/model.h"
#include "workloads/model_mapping.h"
#include "workloads/weight_masks.h"

namespace tacsim::sim {

// What a model run decided before simulating: the operations of every sequence and where their tensors live.
struct ModelPlan {
  workloads::ModelSpec spec;
  std::vector<std::uint32_t> lengths;
  std::vector<std::vector<workloads::Op>> sequences;
  std::vector<workloads::AttentionBlocks> blocks;  // per sequence
  workloads::MemoryMap memory;
  std::vector<workloads::SequenceTensors> tensors;  // per sequence
  std::vector<std::vector<workloads::Epilogue>> epilogues;  // [sequence][op]: SFU epilogues fused to GEMMs
  workloads::WeightMasks masks;
};

// Values (sim.check): parameters, inputs, the requantisers calibrated on the reference, each layer's
// expected output. Timing-only runs hold only the default requantisers.
struct ModelValues {
  std::vector<workloads::LayerWeights> weights;                 // per layer
  std::vector<std::vector<workloads::LayerQuant>> quant;        // [sequence][layer]
  std::vector<std::vector<std::vector<std::int8_t>>> expected;  // [sequence][layer]
  std::vector<std::vector<std::int8_t>> inputs;                 // per sequence
};

// An operation's GEMM: its shape and weight format. Throws InputError naming the operation when the shape does
// not fit the format (an N:M's M, or the blocks of sparsity.hp_block_*).
workloads::GemmParams model_gemm(const SimConfig& cfg, const workloads::Op& op);

class ModelExecutor : public scheduler::Executor {
 public:
  // Requests are admitted to `engine` in sequence order; `values` is read when `check` is set.
  ModelExecutor(const SimConfig& cfg, const ModelPlan& plan, const ModelValues& values, bool check, Top& top,
                const scheduler::SchedulerEngine& engine);
  void execute(const scheduler::Step& step) override;

  // [sequence][op]
  const std::vector<std::vector<OpRecord>>& records() const { return records_; }
  std::uint64_t mismatches() const { return mismatches_; }
  const std::string& first_mismatch() const { return first_mismatch_; }

 private:
  void run_op(std::size_t q, std::size_t i);
  void run_gemm(OpRecord& rec, const workloads::GemmParams& g, const workloads::GemmLayout& layout,
                bool on_chip_act, bool on_chip_out, const sparsity::Mask* mask = nullptr,
                const std::string& mask_file = "");
  // Weight GEMM i with its fused epilogue: a block of its outputs at a time on the array, then the epilogue's
  // operations on that block on the SFU while the array computes the next block.
  void run_fused(std::size_t q, std::size_t i);
  void finish_epilogue(std::size_t q, const workloads::Epilogue& e);
  void start_softmax(std::size_t q, const workloads::Op& qk, std::uint32_t block);
  void await_softmax(std::size_t q, const workloads::Op& qk);
  void check_layer_output(std::size_t q, std::size_t i);
  // Runs `body` as part of op record `r`: its interval, DRAM bytes and the datapaths' stalls add to it.
  void measured(OpRecord& r, const std::function<void()>& body);
  const workloads::GemmMapper& mapper(const workloads::GemmParams& g);
  const workloads::LayerQuant& quant(std::size_t q, std::uint32_t layer) const {
    return values_.quant[q][layer];
  }

  const SimConfig& cfg_;
  const ModelPlan& plan_;
  const ModelValues& values_;
  const bool check_;
  Top& top_;
  const scheduler::SchedulerEngine& engine_;
  std::array<std::unique_ptr<workloads::GemmMapper>, 4> mappers_;  // by WeightFormat, made on first use
  std::vector<std::vector<OpRecord>> records_;
  std::uint64_t gemm_bytes_ = 0;  // DRAM bytes of every GEMM so far (measured())
  // The softmax block running on the SFU beside the array: when it started, and the bytes moved by then.
  Cycle softmax_t0_ = 0;
  std::uint64_t softmax_bytes0_ = 0, softmax_gemm_bytes0_ = 0;
  // The epilogue block on the SFU: when it started.
  Cycle epilogue_t0_ = 0;
  std::uint64_t mismatches_ = 0;
  std::string first_mismatch_;
};

}  // namespace tacsim::sim
