#pragma once
// `tacsim run` with sim.workload = model: a Transformer lowered to operations (workloads/lowering.h), its
// memory planned (workloads/memory_plan.h), each sequence a request that the scheduler (modules/scheduler)
// runs operation by operation on the accelerator through ModelExecutor (model_executor.h). GEMMs
// (projections, per-head Q.K^T and S.V) go through the DMA, the buffers and the PE array (dense, N:M) or the
// HP datapath (hp, unstructured); softmax, layernorm, GELU and residual adds through the SFU. With
// sim.check=true (dense and N:M weights) the datapaths compute values and every layer's output is compared
// with workloads/layer_reference.h's C++ reference; timing is the same either way.
#include "sim/config.h"
#include "sim/run.h"

namespace tacsim::sim {

int run_model(const SimConfig& cfg, const RunOptions& opts);

}  // namespace tacsim::sim
