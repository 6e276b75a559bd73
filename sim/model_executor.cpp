#include "sim/model_executor.h"

#include <fmt/format.h>

#include <optional>
#include <systemc>

#include "modules/common/error.h"
#include "workloads/roofline.h"

namespace tacsim::sim {

using scheduler::Stage;
using scheduler::Step;
using workloads::Op;
using workloads::OpKind;

workloads::GemmParams model_gemm(const SimConfig& cfg, const Op& op) {
  for (const std::string& e : {op.gemm.validate(), cfg.pruning.check_fits(op.gemm)})
    if (!e.empty()) throw InputError(fmt::format("model: {}: gemm.{}", op.name, e));
  return op.gemm;
}

ModelExecutor::ModelExecutor(const SimConfig& cfg, const ModelPlan& plan, const ModelValues& values,
                             bool check, Top& top, const scheduler::SchedulerEngine& engine)
    : cfg_(cfg), plan_(plan), values_(values), check_(check), top_(top), engine_(engine) {
  records_.resize(plan.sequences.size());
  for (std::size_t q = 0; q < plan.sequences.size(); ++q) {
    records_[q].resize(plan.sequences[q].size());
    for (std::size_t i = 0; i < plan.sequences[q].size(); ++i) {
      records_[q][i].sequence = q;
      records_[q][i].op = &plan.sequences[q][i];
      records_[q][i].compulsory_bytes = workloads::compulsory_bytes(plan.sequences[q], i, plan.blocks[q].on_chip);
    }
  }
}

void ModelExecutor::execute(const Step& step) {
  const std::size_t q = step.request;
  const Op& op = plan_.sequences[q][engine_.request(q).tasks[step.task].op];
  const auto& ops = plan_.sequences[q];
  const workloads::SequenceTensors& t = plan_.tensors[q];
  const workloads::AttentionBlocks& blocks = plan_.blocks[q];
  const std::uint32_t d = plan_.spec.head_dim();
  switch (step.stage) {
    case Stage::kWhole: {
      const std::size_t i = engine_.request(q).tasks[step.task].op;
      const workloads::Epilogue& e = plan_.epilogues[q][i];
      if (e.ops.empty()) {
        run_op(q, i);
      } else {
        run_fused(q, i);
      }
      if (check_ && op.layer_output) check_layer_output(q, i);
      for (std::size_t j : e.ops)
        if (check_ && ops[j].layer_output) check_layer_output(q, j);
      return;
    }
    case Stage::kScores: {
      OpRecord& rec = records_[q][op.head_ops.scores];
      const workloads::GemmParams g = workloads::block_gemm(model_gemm(cfg_, op), step.block, blocks);
      const workloads::GemmLayout lay = workloads::scores_block_layout(op, t, step.block, blocks, d);
      measured(rec, [&] { run_gemm(rec, g, lay, false, blocks.on_chip); });
      return;
    }
    case Stage::kContext: {
      const Op& sv = ops[op.head_ops.context];
      OpRecord& rec = records_[q][op.head_ops.context];
      const workloads::GemmParams g = workloads::block_gemm(model_gemm(cfg_, sv), step.block, blocks);
      const workloads::GemmLayout lay =
          workloads::context_block_layout(sv, t, step.block, blocks, d, quant(q, op.layer));
      measured(rec, [&] { run_gemm(rec, g, lay, blocks.on_chip, false); });
      return;
    }
    case Stage::kSoftmax:
      if (step.kind == Step::Kind::kStart)
        start_softmax(q, op, step.block);
      else
        await_softmax(q, op);
      return;
  }
}

void ModelExecutor::run_op(std::size_t q, std::size_t i) {
  const Op& op = plan_.sequences[q][i];
  const workloads::SequenceTensors& t = plan_.tensors[q];
  const workloads::LayerQuant& qz = quant(q, op.layer);
  OpRecord& rec = records_[q][i];
  switch (op.kind) {
    case OpKind::kWeightGemm: {
      const workloads::GemmParams g = model_gemm(cfg_, op);
      const std::size_t r = workloads::role_index(op.role);
      const workloads::GemmLayout lay =
          workloads::weight_gemm_layout(plan_.sequences[q], i, t, plan_.memory, qz);
      const auto& masks = plan_.masks;
      measured(rec, [&] {
        run_gemm(rec, g, lay, false, false, masks.find(op.layer, r),
                 masks.empty() ? "" : masks.files[op.layer][r]);
      });
      return;
    }
    case OpKind::kTopkAttention: {
      const sfu::TopkOp o = workloads::topk_op(op, t, plan_.spec.head_dim(), qz);
      // The layer's next head, when there is one: the unit reads its inputs while this head computes.
      const auto& ops = plan_.sequences[q];
      std::optional<sfu::TopkOp> next;
      if (i + 1 < ops.size() && ops[i + 1].kind == OpKind::kTopkAttention)
        next = workloads::topk_op(ops[i + 1], t, plan_.spec.head_dim(), quant(q, ops[i + 1].layer));
      measured(rec, [&] { top_.topk_unit.run(o, next ? &*next : nullptr); });
      return;
    }
    default: {
      // Residual adds, layernorms and GELU: the SFU alone, between GEMMs.
      const sfu::SfuOp s = workloads::sfu_op(op, i, t, qz, check_ ? &values_.weights[op.layer] : nullptr);
      measured(rec, [&] { top_.sfu.run(s); });
    }
  }
}

void ModelExecutor::run_fused(std::size_t q, std::size_t i) {
  const auto& ops = plan_.sequences[q];
  const Op& op = ops[i];
  const workloads::Epilogue& e = plan_.epilogues[q][i];
  const workloads::LayerQuant& qz = quant(q, op.layer);
  OpRecord& rec = records_[q][i];
  const workloads::GemmParams whole = model_gemm(cfg_, op);
  const workloads::GemmLayout lay = workloads::weight_gemm_layout(ops, i, plan_.tensors[q], plan_.memory, qz);
  std::vector<sfu::SfuOp> epilogue;
  for (std::size_t j : e.ops) {
    epilogue.push_back(
        workloads::sfu_op(ops[j], j, plan_.tensors[q], qz, check_ ? &values_.weights[op.layer] : nullptr));
    records_[q][j].beside_array = true;
  }
  // DRAM bytes: the SFU's run beside the GEMM's blocks, so the GEMM's are the task's less the epilogue's
  // own (its inputs and output, each moved once).
  const std::uint64_t bytes0 = top_.memory.bytes_transferred(), rec_bytes0 = rec.dram_bytes,
                      gemm_bytes0 = gemm_bytes_;
  std::uint64_t epilogue_bytes = 0;
  bool outstanding = false;
  // The array waits for the SFU to be done with the previous block (the last block: before the next task).
  auto await_sfu = [&] {
    const Cycle idle0 = top_.clock.now();
    while (top_.sfu.busy()) sc_core::wait(top_.sfu.finished());
    rec.sfu_wait += top_.clock.now() - idle0;
    finish_epilogue(q, e);
    outstanding = false;
  };
  for (const workloads::Epilogue::Block& b :
       e.blocks(op, cfg_.pe_array.rows, cfg_.pe_array.cols, cfg_.sfu.epilogue_blocks)) {
    workloads::GemmParams g = whole;
    g.m = b.rows;
    g.n = b.cols;
    measured(rec, [&] { run_gemm(rec, g, workloads::gemm_block_layout(lay, b), false, false); });
    if (outstanding) {
      await_sfu();
      // The SFU sat idle from its last block's end until this block was done.
      const Cycle done = top_.sfu.done_cycles().back(), now = top_.clock.now();
      records_[q][e.ops.front()].array_wait += now > done ? now - done : 0;
    }
    std::vector<sfu::SfuOp> chain;
    for (std::size_t k = 0; k < epilogue.size(); ++k) {
      chain.push_back(workloads::sfu_block(epilogue[k], b));
      std::uint64_t bytes = chain.back().output.bytes();
      for (const auto& in : chain.back().inputs) bytes += in.bytes();
      records_[q][e.ops[k]].dram_bytes += bytes;
      epilogue_bytes += bytes;
    }
    epilogue_t0_ = top_.clock.now();
    top_.sfu.start(std::move(chain));
    outstanding = true;
  }
  await_sfu();
  const std::uint64_t gemm_bytes = top_.memory.bytes_transferred() - bytes0 - epilogue_bytes;
  rec.dram_bytes = rec_bytes0 + gemm_bytes;
  gemm_bytes_ = gemm_bytes0 + gemm_bytes;
}

void ModelExecutor::finish_epilogue(std::size_t q, const workloads::Epilogue& e) {
  // Each operation of the block's chain ran from the previous one's end to its own.
  const std::vector<Cycle>& done = top_.sfu.done_cycles();
  for (std::size_t k = 0; k < e.ops.size(); ++k) {
    OpRecord& r = records_[q][e.ops[k]];
    const Cycle from = k == 0 ? epilogue_t0_ : done[k - 1];
    if (!r.ran) r.start = from;
    r.ran = true;
    r.end = done[k];
    r.cycles += done[k] - from;
  }
}

void ModelExecutor::start_softmax(std::size_t q, const Op& qk, std::uint32_t block) {
  // The softmax runs in the SFU's thread while this one drives the array. Its DRAM bytes are those of its
  // interval less the GEMMs' (none on chip, the only case where the two overlap).
  const Op& softmax = plan_.sequences[q][qk.head_ops.softmax];
  sfu::SfuOp s =
      workloads::softmax_block(softmax, plan_.tensors[q], block, plan_.blocks[q], quant(q, qk.layer));
  softmax_t0_ = top_.clock.now();
  softmax_bytes0_ = top_.memory.bytes_transferred();
  softmax_gemm_bytes0_ = gemm_bytes_;
  top_.sfu.start(std::move(s));
}

void ModelExecutor::await_softmax(std::size_t q, const Op& qk) {
  OpRecord &soft = records_[q][qk.head_ops.softmax], &sv = records_[q][qk.head_ops.context];
  const Cycle idle0 = top_.clock.now();
  while (top_.sfu.busy()) sc_core::wait(top_.sfu.finished());
  // The array waited for the softmax of the block its next S.V reads.
  sv.sfu_wait += top_.clock.now() - idle0;
  if (!soft.ran) soft.start = softmax_t0_;
  soft.ran = true;
  soft.end = top_.clock.now();
  soft.cycles += soft.end - softmax_t0_;
  soft.dram_bytes +=
      (top_.memory.bytes_transferred() - softmax_bytes0_) - (gemm_bytes_ - softmax_gemm_bytes0_);
}

void ModelExecutor::check_layer_output(std::size_t q, std::size_t i) {
  // The layer's output in simulated memory against the reference's.
  const Op& op = plan_.sequences[q][i];
  const auto& want = values_.expected[q][op.layer];
  const workloads::Tensor& out = plan_.tensors[q].out[i];
  const std::uint64_t h = plan_.spec.hidden;
  std::vector<std::int8_t> got(want.size());
  for (std::uint32_t row = 0; row < plan_.lengths[q]; ++row)
    top_.memory.store().read(out.address + row * out.stride,
                             reinterpret_cast<std::uint8_t*>(got.data()) + row * h, h);
  for (std::size_t e = 0; e < want.size(); ++e)
    if (got[e] != want[e] && mismatches_++ == 0)
      first_mismatch_ = fmt::format("sequence {} layer {} output [{}][{}]: simulated {}, reference {}", q,
                                    op.layer, e / h, e % h, got[e], want[e]);
}

// Only GEMMs run on the PE array and the HP datapath, one at a time; the one overlap is the pipelined softmax
// beside the array's GEMMs, which accounts for its bytes itself (await_softmax).
void ModelExecutor::measured(OpRecord& r, const std::function<void()>& body) {
  const auto& pe = top_.pe_array.engine().counters();
  const auto& hpc = top_.hp_datapath.engine().counters();
  const Cycle t0 = top_.clock.now();
  const std::uint64_t bytes = top_.memory.bytes_transferred(), os = pe.operand_stall_cycles,
                      ous = pe.out_stall_cycles, ds = pe.drain_stall_cycles, cf = hpc.conflict_cycles,
                      macs = pe.macs + hpc.macs;
  body();
  r.dram_bytes += top_.memory.bytes_transferred() - bytes;
  if (workloads::is_gemm(r.op->kind)) gemm_bytes_ += top_.memory.bytes_transferred() - bytes;
  if (!r.ran) r.start = t0;
  r.ran = true;
  r.end = top_.clock.now();
  r.cycles += r.end - t0;
  r.operand_stall += pe.operand_stall_cycles - os;
  r.out_stall += pe.out_stall_cycles - ous;
  r.drain_stall += pe.drain_stall_cycles - ds;
  r.conflicts += hpc.conflict_cycles - cf;
  r.pe_macs += pe.macs + hpc.macs - macs;
}

// A GEMM on the PE array (dense, N:M) or the HP datapath; `on_chip_act`/`on_chip_out`: STA's attention.
void ModelExecutor::run_gemm(OpRecord& rec, const workloads::GemmParams& g,
                             const workloads::GemmLayout& layout, bool on_chip_act, bool on_chip_out,
                             const sparsity::Mask* mask, const std::string& mask_file) {
  workloads::GemmTask task;
  task.gemm = g;
  task.layout = layout;
  task.scratch = plan_.memory.scratch;
  task.seed = cfg_.sim.seed;
  task.pruning = cfg_.pruning;
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
  for (const auto& im : mapped.images)
    top_.memory.store().write(im.address, im.bytes.data(), im.bytes.size());
  if (rec.tiling.empty()) rec.tiling = mapped.tiling;
  control::Program& prog = mapped.program;
  if (on_chip_out)
    for (auto& w : prog.writebacks) w.on_chip = true;
  if (on_chip_act)
    for (auto& l : prog.act_loads)
      for (auto& b : l.blocks) b.on_chip = true;
  top_.controller.start(std::move(prog));
  sc_core::wait(top_.controller.finished());
}

const workloads::GemmMapper& ModelExecutor::mapper(const workloads::GemmParams& g) {
  const workloads::WeightFormat format = g.sparsity.format;
  auto& m = mappers_[static_cast<std::size_t>(format)];
  if (!m) m = workloads::make_mapper(format, engine_shape(cfg_));
  return *m;
}

}  // namespace tacsim::sim
