#include "sim/model_run.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <functional>
#include <cstdlib>
#include <iostream>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <systemc>

#include "modules/common/error.h"
#include "sim/output.h"
#include "sim/stats_dump.h"
#include "sim/top.h"
#include "sim/version.h"
#include "workloads/gemm.h"
#include "workloads/hp_gemm.h"
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

// Bytes per element as operations store them (the formats of workloads/layer_reference.h).
constexpr std::uint32_t kAccBytes = 4, kActBytes = 1;

std::uint64_t align4k(std::uint64_t a) { return (a + 4095) & ~std::uint64_t{4095}; }

// A tensor in memory: row-major, `stride` bytes from one row to the next.
struct Tensor {
  std::uint64_t address = 0;
  std::uint64_t stride = 0;
  std::uint32_t elem = 1;
};

// The part of an op's name after "layer<l>.": "q_proj", "head3.qk", "ln1", ...
std::string part_of(const Op& op) { return op.name.substr(op.name.find('.') + 1); }

void rebase(control::Program& p, std::uint64_t offset) {
  for (auto* loads : {&p.act_loads, &p.weight_loads})
    for (auto& l : *loads)
      for (auto& b : l.blocks) b.address += offset;
  for (auto& w : p.writebacks) w.address += offset;
}

// What one operation did; an attention head cut into row blocks adds to its ops' records block by block.
struct OpRecord {
  std::size_t sequence = 0;
  const Op* op = nullptr;
  bool ran = false;
  Cycle start = 0, end = 0, cycles = 0;
  std::uint64_t dram_bytes = 0, operand_stall = 0, out_stall = 0, drain_stall = 0, conflicts = 0, pe_macs = 0;
  // S.V blocks of a pipelined head: cycles the array sat idle waiting for the softmax of their block.
  std::uint64_t sfu_wait = 0;
  std::string tiling;
};

std::string kind_name(OpKind k) { return workloads::to_string(k); }

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

}  // namespace

int run_model(const SimConfig& cfg, const RunOptions& opts) {
  const auto spec = workloads::load_model(cfg.model.name, default_models_dir());
  const auto lengths = cfg.model.lengths();
  for (const auto L : lengths)
    if (const std::string e = spec.check_seq_len(L); !e.empty()) throw InputError("config: model.seq_lens: " + e);
  workloads::LoweringOptions lo;
  // The lowering knows N:M; HP and unstructured weights are pruned when each GEMM is mapped, so their layers
  // lower as dense and take the sparsity afterwards (no per-layer overrides then).
  const bool sparse_rows = cfg.model.weight_sparsity == "hp" || cfg.model.weight_sparsity == "unstructured";
  if (sparse_rows && !cfg.model.sparsity_overrides.empty())
    throw InputError(fmt::format("config: sparsity.overrides: per-layer overrides take N:M ratios; they cannot be "
                                 "combined with sparsity.weights = {}",
                                 cfg.model.weight_sparsity));
  const bool check = cfg.sim.check_enabled();
  if (check && sparse_rows)
    throw InputError(fmt::format("config: sim.check: model runs check values with dense and N:M weights; with "
                                 "sparsity.weights = {} they are timing only (set sim.check=false)",
                                 cfg.model.weight_sparsity));
  lo.weight_sparsity = sparse_rows ? "dense" : cfg.model.weight_sparsity;
  lo.topk = cfg.model.topk;
  if (cfg.model.topk > 0 && spec.causal)
    throw InputError(fmt::format("config: model.topk: the top-k unit serves encoders; {} is causal (its queries "
                                 "would need a mask the unit does not have)",
                                 spec.name));
  if (!cfg.model.sparsity_overrides.empty())
    lo.per_layer_override = workloads::load_sparsity_overrides(cfg.model.sparsity_overrides);
  if (const std::string e = lo.validate(); !e.empty() && e.rfind("weight_sparsity", 0) == 0)
    throw InputError("config: sparsity.weights" + e.substr(std::string("weight_sparsity").size()));
  else if (!e.empty())
    throw InputError("config: " + e);

  // Lower every sequence and check every GEMM maps before simulating anything.
  std::vector<std::vector<Op>> sequences;
  for (const auto L : lengths) {
    try {
      sequences.push_back(workloads::lower_model(spec, L, lo));
      if (sparse_rows)
        for (Op& op : sequences.back())
          if (op.kind == OpKind::kWeightGemm) op.gemm.sparsity = cfg.model.weight_sparsity;
    } catch (const InputError& e) {
      const std::string m = e.what();
      if (m.rfind("weight_sparsity: ", 0) == 0) throw InputError("config: sparsity.weights: " + m.substr(17));
      throw;
    }
  }
  auto gemm_params = [&cfg](const Op& op) {
    workloads::GemmParams g = cfg.gemm;  // hp block shape, target sparsity
    g.m = op.gemm.m;
    g.n = op.gemm.n;
    g.k = op.gemm.k;
    g.sparsity = op.gemm.sparsity;
    if (const std::string e = g.validate(); !e.empty()) throw InputError(fmt::format("model: {}: gemm.{}", op.name, e));
    return g;
  };
  for (const auto& ops : sequences)
    for (const Op& op : ops)
      if (workloads::is_gemm(op.kind) && op.kind != OpKind::kTopkAttention) gemm_params(op);

  // Each layer's weight sparsity by role, as lowered (the same for every sequence).
  std::vector<std::array<std::string, 6>> layer_sparsity(spec.layers);
  for (const Op& op : sequences.front())
    if (op.kind == OpKind::kWeightGemm) layer_sparsity[op.layer][workloads::role_index(op.role)] = op.gemm.sparsity;

  // Masks of a pruned model: each N:M layer's must conform to its N:M.
  workloads::WeightMasks masks;
  if (!cfg.model.masks_dir.empty()) {
    masks = workloads::load_weight_masks(cfg.model.masks_dir, spec);
    if (!sparse_rows)
      for (const Op& op : sequences.front())
        if (op.kind == OpKind::kWeightGemm) {
          const std::size_t r = workloads::role_index(op.role);
          workloads::check_nm_mask(masks.by_layer[op.layer][r], op.gemm.sparsity, masks.files[op.layer][r], op.name);
        }
  }

  // Memory map.
  const std::uint32_t max_len = *std::max_element(lengths.begin(), lengths.end());
  const std::uint64_t h = spec.hidden, f = spec.ffn;
  MemoryMap mm;
  mm.input_bytes = align4k(std::uint64_t{max_len} * h);
  mm.weights = align4k(mm.input + mm.input_bytes * lengths.size());
  std::uint64_t at = mm.weights;
  mm.weight_at.resize(spec.layers);
  for (std::uint32_t l = 0; l < spec.layers; ++l)
    for (std::size_t r = 0; r < 6; ++r) {
      mm.weight_at[l][r] = at;
      const auto [n, k] = workloads::weight_shape(spec, workloads::weight_roles()[r]);
      workloads::GemmParams g;
      g.n = n;
      g.k = k;
      g.sparsity = sparse_rows ? "dense" : layer_sparsity[l][r];
      at = align4k(at + n * workloads::weight_format(g).row_bytes());
    }
  {
    const std::uint64_t L = max_len;
    // q, k, v^T, ctx, r1, ln1, ln2, r2 (int8, L x h); out_proj, ffn_down (int32, L x h); scores (int32) and
    // probabilities (int8) of two blocks of at most L query rows; ffn_up (int32) and gelu (int8), L x f.
    mm.arena_bytes = align4k(8 * L * h) + 16 * 4096 + align4k(8 * L * h) + align4k(10 * L * L) + align4k(5 * L * f);
  }
  mm.arena[0] = at;
  mm.arena[1] = mm.arena[0] + mm.arena_bytes;
  mm.scratch = mm.arena[1] + mm.arena_bytes;
  std::uint64_t scratch_bytes = 0;
  if (sparse_rows) scratch_bytes = align4k(std::uint64_t{max_len} * (h + f) * 2 + h * f * 4 + (h + f) * max_len * 4);
  mm.end = mm.scratch + scratch_bytes;
  if (mm.end > cfg.memory_capacity_bytes())
    throw InputError(fmt::format("config: the model needs {} MiB of memory (weights of every layer, activations, "
                                 "inputs); the memory has {} MiB",
                                 (mm.end + (1 << 20) - 1) >> 20, cfg.memory_capacity_bytes() >> 20));

  // Values: parameters, inputs, the requantisers calibrated on the reference, and each layer's expected output.
  std::vector<workloads::LayerWeights> weights;
  std::vector<std::vector<workloads::LayerQuant>> quant(sequences.size(), std::vector<workloads::LayerQuant>(spec.layers));
  std::vector<std::vector<std::vector<std::int8_t>>> expected(sequences.size());
  std::vector<std::vector<std::int8_t>> inputs;
  double reference_wall_s = 0;
  if (check) {
    const auto t0 = std::chrono::steady_clock::now();
    for (std::uint32_t l = 0; l < spec.layers; ++l)
    {
      std::array<const sparsity::Mask*, 6> m{};
      std::array<const std::vector<std::int8_t>*, 6> v{};
      for (std::size_t r = 0; r < 6; ++r) {
        m[r] = masks.find(l, r);
        if (m[r] != nullptr && !masks.values[l][r].empty()) v[r] = &masks.values[l][r];
      }
      weights.push_back(
          workloads::make_layer_weights(spec, l, layer_sparsity[l], cfg.sfu.vector, cfg.sim.seed, m, v));
    }
    for (std::size_t q = 0; q < sequences.size(); ++q) {
      inputs.push_back(workloads::make_layer_input(spec, lengths[q], cfg.sim.seed + 0x1000 + q));
      std::vector<std::int8_t> x = inputs.back();
      for (std::uint32_t l = 0; l < spec.layers; ++l) {
        auto ref = workloads::reference_layer(spec, lengths[q], weights[l], cfg.sfu.softmax, cfg.sfu.vector, x, true,
                                              {}, cfg.model.topk > 0 ? &cfg.topk_unit : nullptr);
        quant[q][l] = ref.quant;
        expected[q].push_back(ref.out);
        x = std::move(ref.out);
      }
    }
    reference_wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  prepare_output_dir(opts.out_dir);

  init_kernel();
  Top top("accel", cfg);
  top.set_compute_values(check);
  if (check) {
    for (std::size_t q = 0; q < inputs.size(); ++q)
      top.memory.store().write(mm.input + q * mm.input_bytes, reinterpret_cast<const std::uint8_t*>(inputs[q].data()),
                               inputs[q].size());
    for (std::uint32_t l = 0; l < spec.layers; ++l)
      for (std::size_t r = 0; r < 6; ++r)
        top.memory.store().write(mm.weight_at[l][r], weights[l].image[r].data(), weights[l].image[r].size());
  }

  std::vector<std::vector<OpRecord>> records(sequences.size());
  std::uint64_t mismatches = 0;
  std::string first_mismatch;
  const auto& pe = top.pe_array.engine().counters();
  const auto& hpc = top.hp_datapath.engine().counters();
  const pe_array::Params& pe_params = cfg.pe_array;

  // Runs `body` as part of op `r`: its interval, the DRAM bytes and the PE array's and HP datapath's stalls
  // while it runs add to the record. Only GEMMs run on those datapaths, one at a time. The one overlap is the
  // pipelined softmax beside the array's GEMMs, and only on chip, where the softmax moves no DRAM bytes: its
  // record takes the bytes of its interval less the GEMMs' (`gemm_bytes`), which is then zero.
  std::uint64_t gemm_bytes = 0;
  auto measured = [&](OpRecord& r, const std::function<void()>& body) {
    const Cycle t0 = top.clock.now();
    const std::uint64_t bytes = top.memory.bytes_transferred(), os = pe.operand_stall_cycles,
                        ous = pe.out_stall_cycles, ds = pe.drain_stall_cycles, cf = hpc.conflict_cycles,
                        macs = pe.macs + hpc.macs;
    body();
    r.dram_bytes += top.memory.bytes_transferred() - bytes;
    if (workloads::is_gemm(r.op->kind)) gemm_bytes += top.memory.bytes_transferred() - bytes;
    if (!r.ran) r.start = t0;
    r.ran = true;
    r.end = top.clock.now();
    r.cycles += r.end - t0;
    r.operand_stall += pe.operand_stall_cycles - os;
    r.out_stall += pe.out_stall_cycles - ous;
    r.drain_stall += pe.drain_stall_cycles - ds;
    r.conflicts += hpc.conflict_cycles - cf;
    r.pe_macs += pe.macs + hpc.macs - macs;
  };

  // A GEMM on the PE array (dense, N:M) or the HP datapath; `on_chip_act`/`on_chip_out`: STA's attention.
  auto run_gemm = [&](OpRecord& rec, workloads::GemmParams g, const workloads::GemmLayout& layout,
                      bool on_chip_act, bool on_chip_out, const sparsity::Mask* mask = nullptr,
                      const std::string& mask_file = "") {
    control::Program prog;
    try {
      if (g.sparse_rows()) {
        sparsity::HpParams hp;
        hp.banks = static_cast<int>(cfg.hp_datapath.bank.banks);
        workloads::SparseRowsGemm s;
        try {
          s = workloads::map_sparse_rows_gemm(g, hp, cfg.sim.seed, cfg.pe_array.rows, cfg.act_buffer.half_bytes(),
                                              cfg.weight_buffer.half_bytes(), cfg.out_buffer.half_bytes(), mask);
        } catch (const InputError& e) {
          if (mask == nullptr) throw;
          throw InputError(fmt::format("{}: {}", mask_file, e.what()));
        }
        prog = std::move(s.program);
        rebase(prog, mm.scratch);
        // The walk's timing depends on where the non-zeros are: the decoder needs the real encoded weights.
        top.memory.store().write(mm.scratch + s.w_address, s.weight_image.data(), s.weight_image.size());
        if (rec.tiling.empty()) rec.tiling = s.describe();
      } else {
        auto plan = workloads::plan_gemm(g, pe_params, cfg.act_buffer.half_bytes(), cfg.weight_buffer.half_bytes(),
                                         cfg.out_buffer.half_bytes(), layout);
        if (rec.tiling.empty()) rec.tiling = plan.describe();
        prog = workloads::to_program(plan);
      }
    } catch (const InputError& e) {
      throw InputError(fmt::format("model: {}: {}", rec.op->name, e.what()));
    }
    if (on_chip_out)
      for (auto& w : prog.writebacks) w.on_chip = true;
    if (on_chip_act)
      for (auto& l : prog.act_loads)
        for (auto& b : l.blocks) b.on_chip = true;

    top.controller.start(std::move(prog));
    sc_core::wait(top.controller.finished());
  };

  top.set_driver([&] {
    for (std::size_t q = 0; q < sequences.size(); ++q) {
      const std::vector<Op>& ops = sequences[q];
      const std::uint32_t L = lengths[q];
      const std::uint64_t d = spec.head_dim();
      std::vector<OpRecord>& recs = records[q];
      recs.resize(ops.size());
      for (std::size_t i = 0; i < ops.size(); ++i) recs[i] = OpRecord{q, &ops[i]};
      // STA keeps a head's attention on chip: Q.K^T's scores go to the softmax unit and its probabilities to
      // S.V without a DRAM round trip, and the softmax is pipelined with the array. A head runs in blocks of
      // query rows (model.attention_block_rows, default the array's rows); while the softmax unit works on
      // block b, the array computes S.V of block b - 1 and Q.K^T of block b + 1, so the score buffer holds two
      // blocks of int32 scores. When two blocks of at least the array's rows do not fit it, or with on-chip
      // attention off, the whole head's scores and probabilities round-trip through DRAM, one step after the
      // other.
      const std::uint64_t score_buffer = std::uint64_t{cfg.sfu.score_buffer_kib} * 1024;
      const std::uint64_t row_bytes = std::uint64_t{L} * kAccBytes;
      std::uint32_t block_rows = cfg.model.attention_block_rows ? cfg.model.attention_block_rows : pe_params.rows;
      block_rows = std::min(block_rows, L);
      bool on_chip = cfg.model.attention_on_chip;
      while (on_chip && 2 * row_bytes * block_rows > score_buffer) {
        // Halve down to the array's rows (a smaller block leaves array rows idle).
        if (block_rows <= pe_params.rows) on_chip = false;
        block_rows = std::max(pe_params.rows, block_rows / 2 / pe_params.rows * pe_params.rows);
      }
      if (!on_chip) block_rows = L;

      // Each op's output tensor, and the arena of the layer being run.
      std::vector<Tensor> out(ops.size());
      std::uint64_t arena_next = 0;
      auto take = [&](std::uint64_t bytes, std::uint32_t layer) {
        const std::uint64_t a = mm.arena[layer % 2] + arena_next;
        arena_next = align4k(arena_next + bytes);
        return a;
      };
      const Tensor seq_input{mm.input + q * mm.input_bytes, h, kActBytes};
      auto input_of = [&](const Op& op, std::size_t i) { return i < op.deps.size() ? out[op.deps[i]] : seq_input; };
      std::uint32_t layer = ~0u;
      // Per layer: the shared tensors that several ops write (each head's slice of ctx) or reuse (a head's
      // scores and probabilities).
      Tensor ctx, scores[2], probs[2];

      for (std::size_t i = 0; i < ops.size(); ++i) {
        const Op& op = ops[i];
        OpRecord& rec = recs[i];
        if (op.layer != layer) {
          layer = op.layer;
          arena_next = 0;
          ctx = {take(L * h, layer), h, kActBytes};
          // Two blocks of scores and of probabilities (the pipeline's double buffer).
          for (int b = 0; b < 2; ++b) {
            scores[b] = {take(std::uint64_t{block_rows} * L * kAccBytes, layer), std::uint64_t{L} * kAccBytes,
                         kAccBytes};
            probs[b] = {take(std::uint64_t{block_rows} * L, layer), L, kActBytes};
          }
        }
        if (rec.ran) continue;  // a head run in row blocks: its softmax and S.V ran with its Q.K^T
        const workloads::LayerQuant& qz = quant[q][layer];
        const std::string part = part_of(op);
        switch (op.kind) {
          case OpKind::kWeightGemm: {
            const workloads::GemmParams g = gemm_params(op);
            const std::size_t r = workloads::role_index(op.role);
            const Tensor a = input_of(op, 0);
            workloads::GemmLayout lay;
            lay.a_address = a.address;
            lay.a_stride = a.stride;
            lay.w_address = mm.weight_at[layer][r];
            if (!g.sparse_rows()) lay.w_stride = workloads::weight_format(g).row_bytes();
            // Projections feeding Q.K^T and S.V leave the array as int8; V transposed (V^T's rows are the
            // n x k operand of S.V; the top-k unit takes V's rows as they are). The others stay int32 for the
            // SFU.
            const bool to_int8 = op.role == WeightRole::kQProj || op.role == WeightRole::kKProj ||
                                 op.role == WeightRole::kVProj;
            lay.out.requant = to_int8;
            lay.out.transpose = op.role == WeightRole::kVProj && cfg.model.topk == 0;
            lay.out.rq = op.role == WeightRole::kQProj ? qz.q : op.role == WeightRole::kKProj ? qz.k : qz.v;
            const std::uint32_t eb = lay.out.element_bytes();
            lay.c_address = take(std::uint64_t{g.m} * g.n * eb, layer);
            lay.c_stride = lay.out.transpose ? std::uint64_t{g.m} * eb : std::uint64_t{g.n} * eb;
            out[i] = {lay.c_address, lay.c_stride, eb};
            measured(rec, [&] {
              run_gemm(rec, g, lay, false, false, masks.find(layer, r), masks.empty() ? "" : masks.files[layer][r]);
            });
            break;
          }
          case OpKind::kScores: {
            // This head's Q.K^T, softmax and S.V, in blocks of query rows.
            const std::size_t i_soft = i + 1, i_sv = i + 2;
            if (i_sv >= ops.size() || ops[i_soft].kind != OpKind::kSoftmax || ops[i_sv].kind != OpKind::kContext)
              throw std::logic_error("lowering: a head's qk is not followed by its softmax and sv");
            const Tensor Q = input_of(op, 0), K = input_of(op, 1), Vt = input_of(ops[i_sv], 1);
            const std::uint64_t j = static_cast<std::uint64_t>(op.head);
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
              measured(rec, [&] { run_gemm(rec, g, qk, false, on_chip); });
            };
            auto sv_block = [&](std::uint32_t b) {
              // S_j V_j: A = the block's probabilities (k = L), W = V^T's rows j d .. (n = d); C = ctx's rows of
              // the block, head j's columns.
              const std::uint32_t r0 = b * block_rows;
              workloads::GemmParams gv = gemm_params(ops[i_sv]);
              gv.m = std::min(block_rows, L - r0);
              workloads::GemmLayout sv;
              sv.a_address = probs[b % 2].address;
              sv.a_stride = probs[b % 2].stride;
              sv.w_address = Vt.address + j * d * Vt.stride;
              sv.w_stride = Vt.stride;
              sv.c_address = ctx.address + r0 * ctx.stride + j * d;
              sv.c_stride = ctx.stride;
              sv.out.requant = true;
              sv.out.rq = qz.ctx;
              measured(recs[i_sv], [&] { run_gemm(recs[i_sv], gv, sv, on_chip, false); });
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
              OpRecord& soft = recs[i_soft];
              const Cycle t0 = top.clock.now();
              const std::uint64_t bytes0 = top.memory.bytes_transferred(), gemm0 = gemm_bytes;
              top.sfu.start(std::move(s));
              if (b > 0) sv_block(b - 1);
              if (b + 1 < blocks) qk_block(b + 1);
              const Cycle idle0 = top.clock.now();
              while (top.sfu.busy()) sc_core::wait(top.sfu.finished());
              recs[i_sv].sfu_wait += top.clock.now() - idle0;
              if (!soft.ran) soft.start = t0;
              soft.ran = true;
              soft.end = top.clock.now();
              soft.cycles += soft.end - t0;
              soft.dram_bytes += (top.memory.bytes_transferred() - bytes0) - (gemm_bytes - gemm0);
            }
            sv_block(blocks - 1);
            out[i] = scores[0];
            out[i_soft] = probs[0];
            out[i_sv] = ctx;
            break;
          }
          case OpKind::kSoftmax:
          case OpKind::kContext:
            throw std::logic_error("lowering: softmax or sv without its head's qk");
          case OpKind::kTopkAttention: {
            // One head on the top-k unit: its columns of Q, K and V in, its columns of the context out.
            const Tensor Q = input_of(op, 0), K = input_of(op, 1), V = input_of(op, 2);
            const std::uint64_t j = static_cast<std::uint64_t>(op.head);
            sfu::TopkOp t;
            t.l = L;
            t.d = static_cast<std::uint32_t>(d);
            t.q = {Q.address + j * d, L, t.d, Q.stride};
            t.k = {K.address + j * d, L, t.d, K.stride};
            t.v = {V.address + j * d, L, t.d, V.stride};
            t.out = {ctx.address + j * d, L, t.d, ctx.stride};
            t.score_rq = qz.scores;
            t.prob_rq = qz.probs;
            t.ctx_rq = qz.ctx;
            measured(rec, [&] { top.topk_unit.run(t); });
            out[i] = ctx;
            break;
          }
          default: {
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
                if (check) {
                  s.gamma = first ? weights[layer].gamma1 : weights[layer].gamma2;
                  s.beta = first ? weights[layer].beta1 : weights[layer].beta2;
                }
                break;
              }
              default: throw std::logic_error("unexpected op kind " + kind_name(op.kind));
            }
            std::uint64_t local = 0;
            for (std::size_t k = 0; k < (op.kind == OpKind::kResidualAdd ? 2u : 1u); ++k) {
              const Tensor t = input_of(op, k);
              const std::uint32_t eb = sfu::input_bytes(s.kind, k);
              if (t.elem != eb)
                throw std::logic_error(fmt::format("{}: input {} holds {}-byte elements, the SFU expects {}", op.name,
                                                   k, t.elem, eb));
              s.inputs.push_back({t.address, s.rows, s.row_len * eb, t.stride, local});
              local += n * eb;
            }
            const std::uint64_t o = take(n, layer);
            s.output = {o, s.rows, s.row_len, s.row_len, 0};
            out[i] = {o, s.row_len, kActBytes};
            measured(rec, [&] { top.sfu.run(s); });
          }
        }
        // A layer's last op: compare its output with the reference's.
        if (check && (i + 1 == ops.size() || ops[i + 1].layer != layer)) {
          const auto& want = expected[q][layer];
          std::vector<std::int8_t> got(want.size());
          for (std::uint32_t row = 0; row < L; ++row)
            top.memory.store().read(out[i].address + row * out[i].stride,
                                    reinterpret_cast<std::uint8_t*>(got.data()) + std::size_t{row} * h, h);
          for (std::size_t e = 0; e < want.size(); ++e)
            if (got[e] != want[e]) {
              if (mismatches++ == 0)
                first_mismatch = fmt::format("sequence {} layer {} output [{}][{}]: simulated {}, reference {}", q,
                                             layer, e / h, e % h, got[e], want[e]);
            }
        }
      }
    }
  });

  const auto t0 = std::chrono::steady_clock::now();
  sc_core::sc_start();
  top.rethrow_driver_error();
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<const OpRecord*> flat;
  for (const auto& rs : records)
    for (const auto& r : rs)
      if (r.ran) flat.push_back(&r);
  std::size_t total_ops = 0;
  for (const auto& s : sequences) total_ops += s.size();
  if (flat.size() != total_ops) throw std::runtime_error("simulation ended before the model finished");
  // Every byte the memory moved belongs to exactly one operation's block moves.
  std::uint64_t op_bytes = 0;
  for (const OpRecord* r : flat) op_bytes += r->dram_bytes;
  if (op_bytes != top.memory.bytes_transferred())
    throw std::logic_error(fmt::format("operations account for {} DRAM bytes, the memory moved {}", op_bytes,
                                       top.memory.bytes_transferred()));
  const std::string check_result = !check ? "off" : mismatches == 0 ? "pass" : "fail: " + first_mismatch;

  // Roofline: the array's peak MACs per cycle, and the memory's peak bytes per accelerator cycle.
  const double peak_macs = double(cfg.pe_array.peak_macs_per_cycle());
  const double mem_bytes_per_s =
      cfg.memory.model == "dram"
          ? double(cfg.dram.channels) * cfg.dram.burst_bytes() / cfg.dram.burst_cycles() * cfg.dram.clock_mhz * 1e6
          : double(cfg.fixed_memory.bytes_per_cycle) * cfg.fixed_memory.clock_mhz * 1e6;
  const double peak_bytes = mem_bytes_per_s / (cfg.accel.clock_mhz * 1e6);

  std::string csv =
      "sequence,seq_len,index,name,kind,layer,head,start_cycle,end_cycle,cycles,macs,effective_macs,dram_bytes,"
      "operand_stall_cycles,out_stall_cycles,drain_stall_cycles,bank_conflict_cycles,sfu_wait_cycles,"
      "achieved_macs_per_cycle,roofline_macs_per_cycle,bound,tiling\n";
  // Per operation kind: cycles, dense-equivalent MACs, the MACs the datapath performed, DRAM bytes.
  struct KindTotals {
    std::uint64_t cycles = 0, macs = 0, pe_macs = 0, dram_bytes = 0;
  };
  std::map<std::string, KindTotals> by_kind;
  struct LayerTotals {
    std::uint64_t cycles = 0, macs = 0, dram_bytes = 0, operand_stall = 0, out_stall = 0, drain_stall = 0,
                  conflicts = 0, sfu_cycles = 0, sfu_wait = 0, pe_macs = 0;
  };
  std::vector<LayerTotals> layers(spec.layers);
  std::uint64_t macs = 0, eff = 0, pe_macs = 0;
  for (std::size_t i = 0; i < flat.size(); ++i) {
    const OpRecord& r = *flat[i];
    const Op& op = *r.op;
    const std::uint64_t cyc = r.cycles;
    // HP and unstructured GEMMs: the MACs the datapath performed (their density is known once pruned).
    const bool pruned = op.kind == OpKind::kWeightGemm && sparse_rows;
    const std::uint64_t op_eff = pruned ? r.pe_macs : op.effective_macs;
    const double achieved = cyc ? double(op_eff) / double(cyc) : 0.0;
    double roof = 0;
    std::string bound = "-";
    if (op_eff > 0) {
      const double by_memory = r.dram_bytes ? double(op_eff) / double(r.dram_bytes) * peak_bytes : peak_macs;
      roof = std::min(peak_macs, by_memory);
      bound = by_memory < peak_macs ? "memory" : "compute";
    }
    csv += fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{:.3f},{:.3f},{},\"{}\"\n", r.sequence,
                       lengths[r.sequence], i, op.name, kind_name(op.kind), op.layer, op.head, r.start, r.end, cyc,
                       op.macs, op_eff, r.dram_bytes, r.operand_stall, r.out_stall, r.drain_stall,
                       r.conflicts, r.sfu_wait, achieved, roof, bound, r.tiling);
    KindTotals& kt = by_kind[kind_name(op.kind)];
    kt.cycles += cyc;
    kt.macs += op.macs;
    kt.pe_macs += r.pe_macs;
    kt.dram_bytes += r.dram_bytes;
    LayerTotals& lt = layers[op.layer];
    lt.macs += op.macs;
    lt.dram_bytes += r.dram_bytes;
    lt.operand_stall += r.operand_stall;
    lt.out_stall += r.out_stall;
    lt.drain_stall += r.drain_stall;
    lt.conflicts += r.conflicts;
    lt.pe_macs += r.pe_macs;
    if (!workloads::is_gemm(op.kind)) lt.sfu_cycles += cyc;
    // The array waits for the SFU: the whole of the operations that run alone (residual, layernorm, GELU),
    // and the pipelined softmax's share (recorded on S.V).
    const bool alone = op.kind == OpKind::kResidualAdd || op.kind == OpKind::kLayerNorm || op.kind == OpKind::kGelu;
    lt.sfu_wait += (alone ? cyc : 0) + r.sfu_wait;
    macs += op.macs;
    eff += op_eff;
    pe_macs += r.pe_macs;
  }
  Cycle cycles = 0;
  for (const OpRecord* r : flat) cycles = std::max(cycles, r->end);
  // Layers of one sequence follow each other; over several sequences a layer's cycles add up.
  // A layer's cycles run from its first operation's start to its last one's end (operations overlap).
  {
    std::vector<Cycle> first(spec.layers, kNever), last(spec.layers, 0);
    std::size_t seq = flat.empty() ? 0 : flat.front()->sequence;
    auto flush = [&] {
      for (std::uint32_t l = 0; l < spec.layers; ++l)
        if (first[l] != kNever) layers[l].cycles += last[l] - first[l];
      std::fill(first.begin(), first.end(), kNever);
      std::fill(last.begin(), last.end(), Cycle{0});
    };
    for (const OpRecord* r : flat) {
      if (r->sequence != seq) flush(), seq = r->sequence;
      first[r->op->layer] = std::min(first[r->op->layer], r->start);
      last[r->op->layer] = std::max(last[r->op->layer], r->end);
    }
    flush();
  }

  nlohmann::ordered_json summary;
  summary["cycles"] = cycles;
  summary["sim_time_ns"] = double(top.clock.fs_at(cycles)) * 1e-6;
  summary["check"] = check_result;
  if (check) summary["check_mismatches"] = mismatches;
  summary["requests"] = sequences.size();
  summary["macs"] = macs;
  summary["effective_macs"] = eff;
  summary["pe_utilization"] = double(pe_macs) / (peak_macs * double(cycles));
  summary["effective_macs_per_cycle"] = double(macs) / double(cycles);
  summary["dram_bytes"] = top.memory.bytes_transferred();
  summary["weight_bytes"] = top.weight_buffer.stats().value("bytes_written");
  summary["bank_conflict_cycles"] = hpc.conflict_cycles;
  // Per kind, flat: cycles_<kind>, macs_<kind>, dram_bytes_<kind>, and for the PE array's kinds
  // pe_utilization_<kind> (performed MACs over the array's peak during that kind's cycles).
  for (const auto& [k, v] : by_kind) {
    summary["cycles_" + k] = v.cycles;
    summary["macs_" + k] = v.macs;
    summary["dram_bytes_" + k] = v.dram_bytes;
    if (v.pe_macs > 0 && v.cycles > 0) summary["pe_utilization_" + k] = double(v.pe_macs) / (peak_macs * double(v.cycles));
  }

  std::string layer_csv =
      "layer,cycles,macs,dram_bytes,operand_stall_cycles,out_stall_cycles,drain_stall_cycles,bank_conflict_cycles,"
      "sfu_cycles,sfu_wait_cycles,pe_utilization\n";
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const LayerTotals& t = layers[l];
    layer_csv += fmt::format("{},{},{},{},{},{},{},{},{},{},{:.4f}\n", l, t.cycles, t.macs, t.dram_bytes,
                             t.operand_stall, t.out_stall, t.drain_stall, t.conflicts, t.sfu_cycles, t.sfu_wait,
                             t.cycles ? double(t.pe_macs) / (peak_macs * double(t.cycles)) : 0.0);
  }
  write_file_atomic(opts.out_dir, "ops.csv", csv);
  write_file_atomic(opts.out_dir, "layers.csv", layer_csv);
  write_results(opts.out_dir, cfg, summary,
                {{"cycles_per_s", double(cycles) / wall_s}, {"reference_wall_s", reference_wall_s}}, wall_s);

  if (!opts.quiet) {
    std::string lens;
    for (auto L : lengths) lens += (lens.empty() ? "" : ",") + std::to_string(L);
    std::cout << fmt::format("tacsim run: {} ({} layers, hidden {}), sequence length {}, weights {}, {} ops\n",
                             spec.name, spec.layers, spec.hidden, lens, cfg.model.weight_sparsity, total_ops);
    auto row = [](const std::string& k, const std::string& v) { std::cout << fmt::format("  {:<22}{}\n", k, v); };
    row("cycles", fmt::format("{}", cycles));
    row("simulated time", fmt::format("{:.3f} us", summary["sim_time_ns"].get<double>() * 1e-3));
    row("PE utilization", fmt::format("{:.1f} %", 100 * summary["pe_utilization"].get<double>()));
    row("MACs (dense-equiv.)", fmt::format("{}", macs));
    row("bytes moved (DRAM)", fmt::format("{}", top.memory.bytes_transferred()));
    for (const auto& [k, v] : by_kind)
      row("  " + k, fmt::format("{} cycles ({:.1f} %){}", v.cycles, 100.0 * double(v.cycles) / double(cycles),
                                v.pe_macs > 0 ? fmt::format(", PE utilization {:.1f} %",
                                                            100.0 * double(v.pe_macs) / (peak_macs * double(v.cycles)))
                                              : std::string()));
    row("wall time", fmt::format("{:.3f} s", wall_s));
    row("sim cycles / s", fmt::format("{:.3g}", double(cycles) / wall_s));
    if (check)
      row("check", mismatches == 0 ? fmt::format("pass (every layer's output equals the C++ reference, {:.2f} s)",
                                                 reference_wall_s)
                                   : fmt::format("FAIL: {} mismatches; first: {}", mismatches, first_mismatch));
    else
      row("check", "off (timing only; --set sim.check=true compares every layer with a C++ reference)");
    std::cout << fmt::format("  results in {}/ (stats.json, ops.csv, layers.csv, config.ini)\n", opts.out_dir);
  }
  return mismatches > 0 ? 1 : 0;
}

}  // namespace tacsim::sim
