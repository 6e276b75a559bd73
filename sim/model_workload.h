#pragma once
// A model run's side of the scheduler (scheduler::Workload): each batch the scheduler admits is lowered
// together (workloads/lowering.h's lower_batch), its tensors placed in its slot's arenas (memory_plan.h),
// each head's attention blocks chosen for every engine, each task ranked for the length-aware policy, and,
// when values are checked, its sequence's reference computed and its input written. When a batch is done its
// records go to the report (model_report.h) and the batch is forgotten, so a long trace holds only the
// batches in flight.
#include <array>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "modules/common/backing_store.h"
#include "modules/scheduler/scheduler_engine.h"
#include "sim/config.h"
#include "sim/model_report.h"
#include "workloads/layer_reference.h"
#include "workloads/lowering.h"
#include "workloads/memory_plan.h"
#include "workloads/model.h"
#include "workloads/model_mapping.h"
#include "workloads/weight_masks.h"

namespace tacsim::sim {

// What a model run decided before simulating.
struct ModelPlan {
  workloads::ModelSpec spec;
  workloads::LoweringOptions lowering;
  // HP and unstructured weights: lowered as dense, pruned when each GEMM is mapped, run on the HP datapath.
  bool weights_on_hp = false;
  std::vector<std::array<workloads::WeightSparsity, 6>> layer_sparsity;  // [layer][role], as lowered
  workloads::WeightMasks masks;
  workloads::MemoryMap memory;
  // A batch reads its input from the input region of its first request (a model's own sequences: one region
  // each, as they always had) or of its slot (a trace).
  bool input_region_per_request = true;
};

// Values (sim.check): every layer's parameters, shared by all sequences.
struct ModelValues {
  std::vector<workloads::LayerWeights> weights;  // per layer
};

// One batch in flight.
struct BatchRun {
  std::vector<workloads::Op> ops;  // lowered at the members' padded lengths
  workloads::BatchTensors tensors;
  std::vector<std::vector<workloads::AttentionBlocks>> blocks;  // [member][engine]
  std::vector<workloads::Epilogue> epilogues;                   // per op: SFU epilogues fused to GEMMs
  std::vector<OpRecord> records;                                // per op
  std::vector<bool> consumed;      // per op: a later op reads it (the executor's, filled on first use)
  std::uint64_t padding_macs = 0;  // effective MACs spent on padded tokens
  // Values (a batch of one sequence): the layers' requantisers calibrated on its reference, and each layer's
  // expected output.
  std::vector<workloads::LayerQuant> quant;
  std::vector<std::vector<std::int8_t>> expected;
};

class ModelWorkload : public scheduler::Workload {
 public:
  // `memory`: where inputs are written when values are checked. `report` hears of every finished batch.
  ModelWorkload(const SimConfig& cfg, const ModelPlan& plan, const ModelValues& values, bool check,
                BackingStore& memory, RunReport& report);
  std::vector<scheduler::Task> tasks(const scheduler::Batch& batch) override;
  void finished(const scheduler::Batch& batch, Cycle start, Cycle finish) override;

  BatchRun& run(std::size_t batch) { return *runs_.at(batch); }
  double reference_wall_s() const { return reference_wall_s_; }

 private:
  std::vector<workloads::Op> lower(const std::vector<std::uint32_t>& lengths) const;
  void prepare_values(const scheduler::Batch& batch, BatchRun& run);

  const SimConfig& cfg_;
  const ModelPlan& plan_;
  const ModelValues& values_;
  const bool check_;
  BackingStore& memory_;
  RunReport& report_;
  std::unordered_map<std::size_t, std::unique_ptr<BatchRun>> runs_;
  double reference_wall_s_ = 0;
};

// Estimated cycles of one operation on engine `e` (what the length-aware ranks weigh operations by): the
// longer of its compute at the datapath's peak and its DRAM traffic at the memory's peak bandwidth.
double estimated_cycles(const workloads::Op& op, const engine::Params& e, double memory_bytes_per_cycle);

// The memory's peak bytes per accelerator cycle.
double memory_bytes_per_cycle(const SimConfig& cfg);

}  // namespace tacsim::sim
