#include "sim/model_run.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <tuple>

#include <fmt/format.h>
#include <systemc>

#include "modules/common/error.h"
#include "sim/model_report.h"
#include "sim/output.h"
#include "sim/top.h"
#include "workloads/gemm.h"
#include "workloads/mapper.h"
#include "workloads/layer_reference.h"
#include "workloads/lowering.h"
#include "workloads/model.h"
#include "workloads/weight_masks.h"

namespace tacsim::sim {

std::string default_models_dir() {
  if (const char* env = std::getenv("TACSIM_MODELS_DIR"); env != nullptr && *env != '\0') return env;
#ifdef TACSIM_MODELS_DIR
  return TACSIM_MODELS_DIR;
#else
  return "workloads/models";
#endif
}

namespace {

using workloads::Op;
using workloads::OpKind;
using workloads::WeightRole;
using workloads::align4k;

// Bytes per element as operations store them (the formats of workloads/layer_reference.h).
constexpr std::uint32_t kAccBytes = 4, kActBytes = 1;


// A tensor in memory: row-major, `stride` bytes from one row to the next.
struct Tensor {
  std::uint64_t address = 0;
  std::uint64_t stride = 0;
  std::uint32_t elem = 1;
};

// The part of an op's name after "layer<l>.": "q_proj", "head3.qk", "ln1", ...
std::string part_of(const Op& op) { return op.name.substr(op.name.find('.') + 1); }

// Memory, in this order: each sequence's input, the weights of every layer (layer by layer, the six matrices
// in role order, as stored), two activation arenas that layers use in turn (layer l writes arena l % 2 and
// reads its input from the other), and a scratch area for HP programs (which lay out their own operands).
struct MemoryMap {
  std::uint64_t input = 0, input_bytes = 0;
  std::uint64_t weights = 0;
  std::vector<std::array<std::uint64_t, 6>> weight_at;  // by layer and role
  std::uint64_t arena[2] = {0, 0}, arena_bytes = 0;
  std::uint64_t scratch = 0, end = 0;
};

// One `tacsim run` of a model: lowered and checked at construction, simulated and reported by run().
class ModelRun {
 public:
  ModelRun(const SimConfig& cfg, const RunOptions& opts);
  int run();

 private:
  // Construction, before anything is simulated.
  void lower();
  void load_masks();
  void plan_memory();
  void prepare_values();
  void preflight() const;
  workloads::GemmParams gemm_params(const Op& op) const;
  // Attention over L tokens: query rows per block, and whether scores and probabilities stay on chip.
  std::pair<std::uint32_t, bool> attention_blocks(std::uint32_t L) const;

  // The simulation, in the driver thread.
  void drive();
  void run_sequence(std::size_t q);
  void run_weight_gemm(std::size_t i);
  void run_head(std::size_t i);
  void run_topk(std::size_t i);
  void run_sfu(std::size_t i);
  void check_layer_output(std::size_t i);
  void run_gemm(OpRecord& rec, const workloads::GemmParams& g, const workloads::GemmLayout& layout,
                bool on_chip_act, bool on_chip_out, const sparsity::Mask* mask = nullptr,
                const std::string& mask_file = "");
  void measured(OpRecord& r, const std::function<void()>& body);
  // The mapper of g's weight format, made on first use.
  const workloads::GemmMapper& mapper(const workloads::GemmParams& g) const;
  std::uint64_t take(std::uint64_t bytes);

  const SimConfig& cfg_;
  const RunOptions& opts_;
  workloads::ModelSpec spec_;
  std::vector<std::uint32_t> lengths_;
  std::vector<std::vector<Op>> sequences_;
  // HP and unstructured weights: lowered as dense, pruned when each GEMM is mapped, run on the HP datapath.
  bool sparse_rows_ = false;
  bool check_ = false;
  std::vector<std::array<std::string, 6>> layer_sparsity_;  // [layer][role], as lowered
  workloads::WeightMasks masks_;
  MemoryMap mm_;
  mutable std::array<std::unique_ptr<workloads::GemmMapper>, 4> mappers_;  // by WeightFormat

  // Values: parameters, inputs, the requantisers calibrated on the reference, each layer's expected output.
  std::vector<workloads::LayerWeights> weights_;
  std::vector<std::vector<workloads::LayerQuant>> quant_;         // [sequence][layer]
  std::vector<std::vector<std::vector<std::int8_t>>> expected_;  // [sequence][layer]
  std::vector<std::vector<std::int8_t>> inputs_;
  double reference_wall_s_ = 0;
  std::uint64_t mismatches_ = 0;
  std::string first_mismatch_;

  std::unique_ptr<Top> top_;
  std::vector<std::vector<OpRecord>> records_;
  std::uint64_t gemm_bytes_ = 0;  // DRAM bytes of every GEMM so far (measured())

  // The sequence being run.
  struct Current {
    std::size_t q = 0;
    std::uint32_t L = 0;
    std::uint32_t layer = ~0u;
    // Attention: query rows per block, and whether scores and probabilities stay on chip.
    std::uint32_t block_rows = 0;
    bool on_chip = false;
    std::vector<Tensor> out;  // each op's output tensor
    std::uint64_t arena_next = 0;
    // Per layer: the tensors several ops write (each head's slice of ctx) or reuse (a head's scores and
    // probabilities, two blocks each: the pipeline's double buffer).
    Tensor ctx, scores[2], probs[2];
  } cur_;
  const std::vector<Op>& ops() const { return sequences_[cur_.q]; }
  std::vector<OpRecord>& recs() { return records_[cur_.q]; }
  Tensor input_of(const Op& op, std::size_t i) const {
    return i < op.deps.size() ? cur_.out[op.deps[i]] : Tensor{mm_.input + cur_.q * mm_.input_bytes, spec_.hidden, kActBytes};
  }
  const workloads::LayerQuant& quant() const { return quant_[cur_.q][cur_.layer]; }
};

ModelRun::ModelRun(const SimConfig& cfg, const RunOptions& opts) : cfg_(cfg), opts_(opts) {
  spec_ = workloads::load_model(cfg.model.name, default_models_dir());
  lengths_ = cfg.model.lengths();
  for (const auto L : lengths_)
    if (const std::string e = spec_.check_seq_len(L); !e.empty()) throw InputError("config: model.seq_lens: " + e);
  sparse_rows_ = cfg.model.weight_sparsity == "hp" || cfg.model.weight_sparsity == "unstructured";
  check_ = cfg.sim.check_enabled();
  lower();
  load_masks();
  plan_memory();
  preflight();
  // Timing-only runs use the default requantisers (their values are not computed).
  quant_.assign(sequences_.size(), std::vector<workloads::LayerQuant>(spec_.layers));
  if (check_) prepare_values();
}

void ModelRun::lower() {
  const SimConfig& cfg = cfg_;
  if (sparse_rows_ && !cfg.model.sparsity_overrides.empty())
    throw InputError(fmt::format("config: sparsity.overrides: per-layer overrides take N:M ratios; they cannot be "
                                 "combined with sparsity.weights = {}",
                                 cfg.model.weight_sparsity));
  if (check_ && sparse_rows_)
    throw InputError(fmt::format("config: sim.check: model runs check values with dense and N:M weights; with "
                                 "sparsity.weights = {} they are timing only (set sim.check=false)",
                                 cfg.model.weight_sparsity));
  if (cfg.model.topk > 0 && spec_.causal)
    throw InputError(fmt::format("config: model.topk: the top-k unit serves encoders; {} is causal (its queries "
                                 "would need a mask the unit does not have)",
                                 spec_.name));
  workloads::LoweringOptions lo;
  lo.weight_sparsity = sparse_rows_ ? "dense" : cfg.model.weight_sparsity;
  lo.topk = cfg.model.topk;
  if (!cfg.model.sparsity_overrides.empty())
    lo.per_layer_override = workloads::load_sparsity_overrides(cfg.model.sparsity_overrides);
  if (const std::string e = lo.validate(); !e.empty() && e.rfind("weight_sparsity", 0) == 0)
    throw InputError("config: sparsity.weights" + e.substr(std::string("weight_sparsity").size()));
  else if (!e.empty())
    throw InputError("config: " + e);

  // Lower every sequence and check every GEMM's shape before simulating anything.
  for (const auto L : lengths_) {
    try {
      sequences_.push_back(workloads::lower_model(spec_, L, lo));
      if (sparse_rows_)
        for (Op& op : sequences_.back())
          if (op.kind == OpKind::kWeightGemm) op.gemm.sparsity = cfg.model.weight_sparsity;
    } catch (const InputError& e) {
      const std::string m = e.what();
      if (m.rfind("weight_sparsity: ", 0) == 0) throw InputError("config: sparsity.weights: " + m.substr(17));
      throw;
    }
  }
  for (const auto& seq : sequences_)
    for (const Op& op : seq)
      if (workloads::is_gemm(op.kind) && op.kind != OpKind::kTopkAttention) gemm_params(op);
  layer_sparsity_.resize(spec_.layers);
  for (const Op& op : sequences_.front())
    if (op.kind == OpKind::kWeightGemm) layer_sparsity_[op.layer][workloads::role_index(op.role)] = op.gemm.sparsity;
}

workloads::GemmParams ModelRun::gemm_params(const Op& op) const {
  workloads::GemmParams g = cfg_.gemm;  // hp block shape, target sparsity
  g.m = op.gemm.m;
  g.n = op.gemm.n;
  g.k = op.gemm.k;
  g.sparsity = op.gemm.sparsity;
  if (const std::string e = g.validate(); !e.empty()) throw InputError(fmt::format("model: {}: gemm.{}", op.name, e));
  return g;
}

std::pair<std::uint32_t, bool> ModelRun::attention_blocks(std::uint32_t L) const {
  // STA keeps a head's attention on chip: Q.K^T's scores go to the softmax unit and its probabilities to S.V
  // without a DRAM round trip, and the softmax is pipelined with the array. A head runs in blocks of query
  // rows (model.attention_block_rows, default the array's rows); while the softmax unit works on block b, the
  // array computes S.V of block b - 1 and Q.K^T of block b + 1, so the score buffer holds two blocks of int32
  // scores. When two blocks of at least the array's rows do not fit it, or with on-chip attention off, the
  // whole head's scores and probabilities round-trip through DRAM, one step after the other.
  const std::uint32_t array_rows = cfg_.pe_array.rows;
  const std::uint64_t score_buffer = std::uint64_t{cfg_.sfu.score_buffer_kib} * 1024;
  const std::uint64_t row_bytes = std::uint64_t{L} * kAccBytes;
  std::uint32_t block_rows = cfg_.model.attention_block_rows ? cfg_.model.attention_block_rows : array_rows;
  block_rows = std::min(block_rows, L);
  bool on_chip = cfg_.model.attention_on_chip;
  while (on_chip && 2 * row_bytes * block_rows > score_buffer) {
    // Halve down to the array's rows (a smaller block leaves array rows idle).
    if (block_rows <= array_rows) on_chip = false;
    block_rows = std::max(array_rows, block_rows / 2 / array_rows * array_rows);
  }
  return {on_chip ? block_rows : L, on_chip};
}

void ModelRun::preflight() const {
  // Every GEMM must map onto the buffers before anything is simulated: the mapper's errors name the operation
  // and the buffer. Each distinct shape is planned once; the largest attention block stands for the smaller
  // last one (a smaller m needs no more buffer).
  std::vector<std::tuple<std::uint32_t, std::uint32_t, std::uint32_t, std::string, bool>> seen;
  for (std::size_t q = 0; q < sequences_.size(); ++q) {
    const std::uint32_t block_rows = attention_blocks(lengths_[q]).first;
    for (const Op& op : sequences_[q]) {
      if (!workloads::is_gemm(op.kind) || op.kind == OpKind::kTopkAttention) continue;
      workloads::GemmParams g = gemm_params(op);
      if (op.kind != OpKind::kWeightGemm) g.m = std::min(block_rows, g.m);
      workloads::GemmTask task;
      task.gemm = g;
      task.layout = workloads::layout_gemm(g);
      task.layout.out.requant = op.kind == OpKind::kContext || op.role == WeightRole::kQProj ||
                                op.role == WeightRole::kKProj || op.role == WeightRole::kVProj;
      task.seed = cfg_.sim.seed;
      const auto key = std::make_tuple(g.m, g.n, g.k, g.sparsity, task.layout.out.requant);
      if (std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
      seen.push_back(key);
      try {
        mapper(g).map(task);
      } catch (const InputError& e) {
        throw InputError(fmt::format("model: {}: {}", op.name, e.what()));
      }
    }
  }
  // HP masks must have HP's bank property.
  if (cfg_.model.weight_sparsity == "hp" && !masks_.empty())
    for (std::uint32_t l = 0; l < spec_.layers; ++l)
      for (std::size_t r = 0; r < 6; ++r) {
        const auto c = sparsity::check_hp_banks(masks_.by_layer[l][r], static_cast<int>(cfg_.gemm.hp_block_cols),
                                                static_cast<int>(cfg_.hp_datapath.bank.banks));
        if (!c.ok)
          throw InputError(fmt::format("{}: the mask breaks the HP bank property: {}", masks_.files[l][r],
                                       c.first_conflict));
      }
}

void ModelRun::load_masks() {
  // Masks of a pruned model: each N:M layer's must conform to its N:M.
  if (cfg_.model.masks_dir.empty()) return;
  masks_ = workloads::load_weight_masks(cfg_.model.masks_dir, spec_);
  if (sparse_rows_) return;
  for (const Op& op : sequences_.front())
    if (op.kind == OpKind::kWeightGemm) {
      const std::size_t r = workloads::role_index(op.role);
      workloads::check_nm_mask(masks_.by_layer[op.layer][r], op.gemm.sparsity, masks_.files[op.layer][r], op.name);
    }
}

void ModelRun::plan_memory() {
  const std::uint32_t max_len = *std::max_element(lengths_.begin(), lengths_.end());
  const std::uint64_t h = spec_.hidden, f = spec_.ffn;
  mm_.input_bytes = align4k(std::uint64_t{max_len} * h);
  mm_.weights = align4k(mm_.input + mm_.input_bytes * lengths_.size());
  std::uint64_t at = mm_.weights;
  mm_.weight_at.resize(spec_.layers);
  for (std::uint32_t l = 0; l < spec_.layers; ++l)
    for (std::size_t r = 0; r < 6; ++r) {
      mm_.weight_at[l][r] = at;
      const auto [n, k] = workloads::weight_shape(spec_, workloads::weight_roles()[r]);
      workloads::GemmParams g;
      g.n = n;
      g.k = k;
      g.sparsity = layer_sparsity_[l][r];
      at = align4k(at + n * workloads::row_format(g).row_bytes());
    }
  const std::uint64_t L = max_len;
  // q, k, v^T, ctx, r1, ln1, ln2, r2 (int8, L x h); out_proj, ffn_down (int32, L x h); scores (int32) and
  // probabilities (int8) of two blocks of at most L query rows; ffn_up (int32) and gelu (int8), L x f.
  mm_.arena_bytes = align4k(8 * L * h) + 16 * 4096 + align4k(8 * L * h) + align4k(10 * L * L) + align4k(5 * L * f);
  mm_.arena[0] = at;
  mm_.arena[1] = mm_.arena[0] + mm_.arena_bytes;
  mm_.scratch = mm_.arena[1] + mm_.arena_bytes;
  std::uint64_t scratch_bytes = 0;
  if (sparse_rows_) scratch_bytes = align4k(L * (h + f) * 2 + h * f * 4 + (h + f) * L * 4);
  mm_.end = mm_.scratch + scratch_bytes;
  if (mm_.end > cfg_.memory_capacity_bytes())
    throw InputError(fmt::format("config: the model needs {} MiB of memory (weights of every layer, activations, "
                                 "inputs); the memory has {} MiB",
                                 (mm_.end + (1 << 20) - 1) >> 20, cfg_.memory_capacity_bytes() >> 20));
}

void ModelRun::prepare_values() {
  const auto t0 = std::chrono::steady_clock::now();
  for (std::uint32_t l = 0; l < spec_.layers; ++l) {
    std::array<const sparsity::Mask*, 6> m{};
    std::array<const std::vector<std::int8_t>*, 6> v{};
    for (std::size_t r = 0; r < 6; ++r) {
      m[r] = masks_.find(l, r);
      if (m[r] != nullptr && !masks_.values[l][r].empty()) v[r] = &masks_.values[l][r];
    }
    weights_.push_back(workloads::make_layer_weights(spec_, l, layer_sparsity_[l], cfg_.sfu.vector, cfg_.sim.seed, m, v));
  }
  expected_.resize(sequences_.size());
  for (std::size_t q = 0; q < sequences_.size(); ++q) {
    inputs_.push_back(workloads::make_layer_input(spec_, lengths_[q], cfg_.sim.seed + 0x1000 + q));
    std::vector<std::int8_t> x = inputs_.back();
    for (std::uint32_t l = 0; l < spec_.layers; ++l) {
      auto ref = workloads::reference_layer(spec_, lengths_[q], weights_[l], cfg_.sfu.softmax, cfg_.sfu.vector, x, true,
                                            {}, cfg_.model.topk > 0 ? &cfg_.topk_unit : nullptr);
      quant_[q][l] = ref.quant;
      expected_[q].push_back(ref.out);
      x = std::move(ref.out);
    }
  }
  reference_wall_s_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int ModelRun::run() {
  prepare_output_dir(opts_.out_dir);
  init_kernel();
  top_ = std::make_unique<Top>("accel", cfg_);
  Top& top = *top_;
  top.set_compute_values(check_);
  if (check_) {
    for (std::size_t q = 0; q < inputs_.size(); ++q)
      top.memory.store().write(mm_.input + q * mm_.input_bytes, reinterpret_cast<const std::uint8_t*>(inputs_[q].data()),
                               inputs_[q].size());
    for (std::uint32_t l = 0; l < spec_.layers; ++l)
      for (std::size_t r = 0; r < 6; ++r)
        top.memory.store().write(mm_.weight_at[l][r], weights_[l].image[r].data(), weights_[l].image[r].size());
  }
  records_.resize(sequences_.size());
  top.set_driver([this] { drive(); });

  const auto t0 = std::chrono::steady_clock::now();
  sc_core::sc_start();
  top.rethrow_driver_error();
  ModelRunTotals totals;
  totals.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::vector<const OpRecord*> flat;
  for (const auto& rs : records_)
    for (const auto& r : rs)
      if (r.ran) flat.push_back(&r);
  std::size_t total_ops = 0;
  for (const auto& s : sequences_) total_ops += s.size();
  if (flat.size() != total_ops) throw std::runtime_error("simulation ended before the model finished");
  // Every byte the memory moved belongs to exactly one operation.
  std::uint64_t op_bytes = 0;
  Cycle end = 0;
  for (const OpRecord* r : flat) op_bytes += r->dram_bytes, end = std::max(end, r->end);
  if (op_bytes != top.memory.bytes_transferred())
    throw std::logic_error(fmt::format("operations account for {} DRAM bytes, the memory moved {}", op_bytes,
                                       top.memory.bytes_transferred()));
  totals.sim_time_ns = double(top.clock.fs_at(end)) * 1e-6;
  totals.dram_bytes = top.memory.bytes_transferred();
  totals.weight_bytes = top.weight_buffer.stats().value("bytes_written");
  totals.bank_conflict_cycles = top.hp_datapath.engine().counters().conflict_cycles;
  totals.check = !check_ ? "off" : mismatches_ == 0 ? "pass" : "fail: " + first_mismatch_;
  totals.check_mismatches = mismatches_;
  totals.reference_wall_s = reference_wall_s_;
  report_model_run(cfg_, opts_, spec_, lengths_, flat, sparse_rows_, totals);
  return mismatches_ > 0 ? 1 : 0;
}

void ModelRun::drive() {
  for (std::size_t q = 0; q < sequences_.size(); ++q) run_sequence(q);
}

std::uint64_t ModelRun::take(std::uint64_t bytes) {
  const std::uint64_t a = mm_.arena[cur_.layer % 2] + cur_.arena_next;
  cur_.arena_next = align4k(cur_.arena_next + bytes);
  return a;
}

void ModelRun::run_sequence(std::size_t q) {
  cur_ = Current{};
  cur_.q = q;
  const std::uint32_t L = cur_.L = lengths_[q];
  const std::vector<Op>& ops = sequences_[q];
  records_[q].resize(ops.size());
  for (std::size_t i = 0; i < ops.size(); ++i) {
    records_[q][i] = OpRecord{};
    records_[q][i].sequence = q;
    records_[q][i].op = &ops[i];
  }
  cur_.out.resize(ops.size());

  std::tie(cur_.block_rows, cur_.on_chip) = attention_blocks(L);
  const std::uint64_t row_bytes = std::uint64_t{L} * kAccBytes;

  for (std::size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    if (op.layer != cur_.layer) {
      cur_.layer = op.layer;
      cur_.arena_next = 0;
      cur_.ctx = {take(std::uint64_t{L} * spec_.hidden), spec_.hidden, kActBytes};
      for (int b = 0; b < 2; ++b) {
        cur_.scores[b] = {take(std::uint64_t{cur_.block_rows} * L * kAccBytes), row_bytes, kAccBytes};
        cur_.probs[b] = {take(std::uint64_t{cur_.block_rows} * L), L, kActBytes};
      }
    }
    if (records_[q][i].ran) continue;  // a head's softmax and S.V ran with its Q.K^T
    switch (op.kind) {
      case OpKind::kWeightGemm: run_weight_gemm(i); break;
      case OpKind::kScores: run_head(i); break;
      case OpKind::kSoftmax:
      case OpKind::kContext: throw std::logic_error("lowering: softmax or sv without its head's qk");
      case OpKind::kTopkAttention: run_topk(i); break;
      default: run_sfu(i);
    }
    if (check_ && (i + 1 == ops.size() || ops[i + 1].layer != cur_.layer)) check_layer_output(i);
  }
}

void ModelRun::run_weight_gemm(std::size_t i) {
  const Op& op = ops()[i];
  const workloads::LayerQuant& qz = quant();
  const workloads::GemmParams g = gemm_params(op);
  const std::size_t r = workloads::role_index(op.role);
  const Tensor a = input_of(op, 0);
  workloads::GemmLayout lay;
  lay.a_address = a.address;
  lay.a_stride = a.stride;
  lay.w_address = mm_.weight_at[cur_.layer][r];
  lay.w_stride = workloads::row_format(g).row_bytes();
  // Projections feeding Q.K^T and S.V leave the array as int8; V transposed (V^T's rows are the n x k operand
  // of S.V; the top-k unit takes V's rows as they are). The others stay int32 for the SFU.
  lay.out.requant = op.role == WeightRole::kQProj || op.role == WeightRole::kKProj || op.role == WeightRole::kVProj;
  lay.out.transpose = op.role == WeightRole::kVProj && cfg_.model.topk == 0;
  lay.out.rq = op.role == WeightRole::kQProj ? qz.q : op.role == WeightRole::kKProj ? qz.k : qz.v;
  const std::uint32_t eb = lay.out.element_bytes();
  lay.c_address = take(std::uint64_t{g.m} * g.n * eb);
  lay.c_stride = lay.out.transpose ? std::uint64_t{g.m} * eb : std::uint64_t{g.n} * eb;
  cur_.out[i] = {lay.c_address, lay.c_stride, eb};
  OpRecord& rec = recs()[i];
  measured(rec, [&] {
    run_gemm(rec, g, lay, false, false, masks_.find(cur_.layer, r), masks_.empty() ? "" : masks_.files[cur_.layer][r]);
  });
}

void ModelRun::run_head(std::size_t i) {
  // One head's Q.K^T, softmax and S.V, in pipelined blocks of query rows (run_sequence).
  const std::vector<Op>& ops = this->ops();
  const std::size_t i_soft = i + 1, i_sv = i + 2;
  if (i_sv >= ops.size() || ops[i_soft].kind != OpKind::kSoftmax || ops[i_sv].kind != OpKind::kContext)
    throw std::logic_error("lowering: a head's qk is not followed by its softmax and sv");
  const Op& op = ops[i];
  Top& top = *top_;
  const workloads::LayerQuant& qz = quant();
  const std::uint32_t L = cur_.L, block_rows = cur_.block_rows;
  const bool on_chip = cur_.on_chip;
  const Tensor Q = input_of(op, 0), K = input_of(op, 1), Vt = input_of(ops[i_sv], 1);
  const std::uint64_t j = static_cast<std::uint64_t>(op.head), d = spec_.head_dim();
  const Tensor ctx = cur_.ctx, *scores = cur_.scores, *probs = cur_.probs;
  OpRecord &qk_rec = recs()[i], &soft = recs()[i_soft], &sv_rec = recs()[i_sv];
  const std::uint32_t blocks = (L + block_rows - 1) / block_rows;

  auto qk_block = [&](std::uint32_t b) {
    // Q_j K_j^T for the block's rows: A = Q's rows, head j's columns; W = K's head j columns (n = L).
    const std::uint32_t r0 = b * block_rows;
    workloads::GemmParams g = gemm_params(op);
    g.m = std::min(block_rows, L - r0);
    workloads::GemmLayout qk;
    qk.a_address = Q.address + r0 * Q.stride + j * d;
    qk.a_stride = Q.stride;
    qk.w_address = K.address + j * d;
    qk.w_stride = K.stride;
    qk.c_address = scores[b % 2].address;
    qk.c_stride = scores[b % 2].stride;
    measured(qk_rec, [&] { run_gemm(qk_rec, g, qk, false, on_chip); });
  };
  auto sv_block = [&](std::uint32_t b) {
    // S_j V_j: A = the block's probabilities (k = L), W = V^T's rows j d .. (n = d); C = ctx's rows of the
    // block, head j's columns.
    const std::uint32_t r0 = b * block_rows;
    workloads::GemmParams g = gemm_params(ops[i_sv]);
    g.m = std::min(block_rows, L - r0);
    workloads::GemmLayout sv;
    sv.a_address = probs[b % 2].address;
    sv.a_stride = probs[b % 2].stride;
    sv.w_address = Vt.address + j * d * Vt.stride;
    sv.w_stride = Vt.stride;
    sv.c_address = ctx.address + r0 * ctx.stride + j * d;
    sv.c_stride = ctx.stride;
    sv.out.requant = true;
    sv.out.rq = qz.ctx;
    measured(sv_rec, [&] { run_gemm(sv_rec, g, sv, on_chip, false); });
  };

  qk_block(0);
  for (std::uint32_t b = 0; b < blocks; ++b) {
    const std::uint32_t r0 = b * block_rows, rows = std::min(block_rows, L - r0);
    sfu::SfuOp s;
    s.kind = sfu::SfuKind::kSoftmax;
    s.rows = rows;
    s.row_len = L;
    s.causal = ops[i_soft].causal;
    s.query_offset = r0;
    s.inputs.push_back({scores[b % 2].address, rows, L * kAccBytes, scores[b % 2].stride, 0, on_chip});
    s.output = {probs[b % 2].address, rows, L, probs[b % 2].stride, 0, on_chip};
    s.in_rq = qz.scores;
    s.out_rq = qz.probs;
    // The softmax runs in the SFU's thread while this one drives the array. Its DRAM bytes are those of its
    // interval less the GEMMs' (none on chip, the only case where the two overlap).
    const Cycle t0 = top.clock.now();
    const std::uint64_t bytes0 = top.memory.bytes_transferred(), gemm0 = gemm_bytes_;
    top.sfu.start(std::move(s));
    if (b > 0) sv_block(b - 1);
    if (b + 1 < blocks) qk_block(b + 1);
    const Cycle idle0 = top.clock.now();
    while (top.sfu.busy()) sc_core::wait(top.sfu.finished());
    sv_rec.sfu_wait += top.clock.now() - idle0;
    if (!soft.ran) soft.start = t0;
    soft.ran = true;
    soft.end = top.clock.now();
    soft.cycles += soft.end - t0;
    soft.dram_bytes += (top.memory.bytes_transferred() - bytes0) - (gemm_bytes_ - gemm0);
  }
  sv_block(blocks - 1);
  cur_.out[i] = scores[0];
  cur_.out[i_soft] = probs[0];
  cur_.out[i_sv] = ctx;
}

void ModelRun::run_topk(std::size_t i) {
  // One head on the top-k unit: its columns of Q, K and V in, its columns of the context out.
  const Op& op = ops()[i];
  const workloads::LayerQuant& qz = quant();
  const Tensor Q = input_of(op, 0), K = input_of(op, 1), V = input_of(op, 2);
  const std::uint64_t j = static_cast<std::uint64_t>(op.head), d = spec_.head_dim();
  const std::uint32_t L = cur_.L;
  sfu::TopkOp t;
  t.l = L;
  t.d = static_cast<std::uint32_t>(d);
  t.q = {Q.address + j * d, L, t.d, Q.stride};
  t.k = {K.address + j * d, L, t.d, K.stride};
  t.v = {V.address + j * d, L, t.d, V.stride};
  t.out = {cur_.ctx.address + j * d, L, t.d, cur_.ctx.stride};
  t.score_rq = qz.scores;
  t.prob_rq = qz.probs;
  t.ctx_rq = qz.ctx;
  measured(recs()[i], [&] { top_->topk_unit.run(t); });
  cur_.out[i] = cur_.ctx;
}

void ModelRun::run_sfu(std::size_t i) {
  // Residual adds, layernorms and GELU: the SFU alone, between GEMMs.
  const Op& op = ops()[i];
  const workloads::LayerQuant& qz = quant();
  const std::string part = part_of(op);
  sfu::SfuOp s;
  s.rows = op.rows;
  s.row_len = op.row_len;
  const std::uint64_t n = std::uint64_t{s.rows} * s.row_len;
  switch (op.kind) {
    case OpKind::kGelu:
      s.kind = sfu::SfuKind::kGelu;
      s.in_rq = qz.gelu_in;
      s.out_rq = qz.gelu_out;
      break;
    case OpKind::kResidualAdd:
      s.kind = sfu::SfuKind::kResidualAdd;
      s.in_rq = part == "residual1" ? qz.attn : qz.down;
      break;
    case OpKind::kLayerNorm: {
      s.kind = sfu::SfuKind::kLayerNorm;
      const bool first = part == "ln1";
      s.out_rq = first ? qz.ln1 : qz.ln2;
      if (check_) {
        s.gamma = first ? weights_[cur_.layer].gamma1 : weights_[cur_.layer].gamma2;
        s.beta = first ? weights_[cur_.layer].beta1 : weights_[cur_.layer].beta2;
      }
      break;
    }
    default: throw std::logic_error(std::string("unexpected op kind ") + workloads::to_string(op.kind));
  }
  std::uint64_t local = 0;
  for (std::size_t k = 0; k < (op.kind == OpKind::kResidualAdd ? 2u : 1u); ++k) {
    const Tensor t = input_of(op, k);
    const std::uint32_t eb = sfu::input_bytes(s.kind, k);
    if (t.elem != eb)
      throw std::logic_error(
          fmt::format("{}: input {} holds {}-byte elements, the SFU expects {}", op.name, k, t.elem, eb));
    s.inputs.push_back({t.address, s.rows, s.row_len * eb, t.stride, local});
    local += n * eb;
  }
  const std::uint64_t o = take(n);
  s.output = {o, s.rows, s.row_len, s.row_len, 0};
  cur_.out[i] = {o, s.row_len, kActBytes};
  measured(recs()[i], [&] { top_->sfu.run(s); });
}

void ModelRun::check_layer_output(std::size_t i) {
  // The layer's output in simulated memory against the reference's.
  const auto& want = expected_[cur_.q][cur_.layer];
  const std::uint64_t h = spec_.hidden;
  std::vector<std::int8_t> got(want.size());
  for (std::uint32_t row = 0; row < cur_.L; ++row)
    top_->memory.store().read(cur_.out[i].address + row * cur_.out[i].stride,
                              reinterpret_cast<std::uint8_t*>(got.data()) + row * h, h);
  for (std::size_t e = 0; e < want.size(); ++e)
    if (got[e] != want[e] && mismatches_++ == 0)
      first_mismatch_ = fmt::format("sequence {} layer {} output [{}][{}]: simulated {}, reference {}", cur_.q,
                                    cur_.layer, e / h, e % h, got[e], want[e]);
}

// Runs `body` as part of op `r`: its interval, the DRAM bytes and the PE array's and HP datapath's stalls while
// it runs add to the record. Only GEMMs run on those datapaths, one at a time; the one overlap is the pipelined
// softmax beside the array's GEMMs (run_head), which accounts for its bytes itself.
void ModelRun::measured(OpRecord& r, const std::function<void()>& body) {
  Top& top = *top_;
  const auto& pe = top.pe_array.engine().counters();
  const auto& hpc = top.hp_datapath.engine().counters();
  const Cycle t0 = top.clock.now();
  const std::uint64_t bytes = top.memory.bytes_transferred(), os = pe.operand_stall_cycles,
                      ous = pe.out_stall_cycles, ds = pe.drain_stall_cycles, cf = hpc.conflict_cycles,
                      macs = pe.macs + hpc.macs;
  body();
  r.dram_bytes += top.memory.bytes_transferred() - bytes;
  if (workloads::is_gemm(r.op->kind)) gemm_bytes_ += top.memory.bytes_transferred() - bytes;
  if (!r.ran) r.start = t0;
  r.ran = true;
  r.end = top.clock.now();
  r.cycles += r.end - t0;
  r.operand_stall += pe.operand_stall_cycles - os;
  r.out_stall += pe.out_stall_cycles - ous;
  r.drain_stall += pe.drain_stall_cycles - ds;
  r.conflicts += hpc.conflict_cycles - cf;
  r.pe_macs += pe.macs + hpc.macs - macs;
}

// A GEMM on the PE array (dense, N:M) or the HP datapath; `on_chip_act`/`on_chip_out`: STA's attention.
void ModelRun::run_gemm(OpRecord& rec, const workloads::GemmParams& g, const workloads::GemmLayout& layout,
                        bool on_chip_act, bool on_chip_out, const sparsity::Mask* mask, const std::string& mask_file) {
  Top& top = *top_;
  workloads::GemmTask task;
  task.gemm = g;
  task.layout = layout;
  task.scratch = mm_.scratch;
  task.seed = cfg_.sim.seed;
  task.mask = mask;
  workloads::MappedGemm mapped;
  try {
    try {
      mapped = mapper(g).map(task);
    } catch (const InputError& e) {
      if (mask == nullptr) throw;
      throw InputError(fmt::format("{}: {}", mask_file, e.what()));
    }
  } catch (const InputError& e) {
    throw InputError(fmt::format("model: {}: {}", rec.op->name, e.what()));
  }
  for (const auto& im : mapped.images) top.memory.store().write(im.address, im.bytes.data(), im.bytes.size());
  if (rec.tiling.empty()) rec.tiling = mapped.tiling;
  control::Program& prog = mapped.program;
  if (on_chip_out)
    for (auto& w : prog.writebacks) w.on_chip = true;
  if (on_chip_act)
    for (auto& l : prog.act_loads)
      for (auto& b : l.blocks) b.on_chip = true;
  top.controller.start(std::move(prog));
  sc_core::wait(top.controller.finished());
}

const workloads::GemmMapper& ModelRun::mapper(const workloads::GemmParams& g) const {
  auto& m = mappers_[static_cast<std::size_t>(workloads::weight_format_of(g.sparsity))];
  if (!m) m = workloads::make_mapper(workloads::weight_format_of(g.sparsity), engine_shape(cfg_));
  return *m;
}

}  // namespace

int run_model(const SimConfig& cfg, const RunOptions& opts) {
  ModelRun run(cfg, opts);
  return run.run();
}

}  // namespace tacsim::sim
