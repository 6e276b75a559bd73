#include "sim/model_executor.h"

#include <fmt/format.h>

#include <optional>
#include <systemc>

#include "modules/common/error.h"
#include "workloads/model_mapping.h"
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
                             bool check, Top& top, ModelWorkload& workload,
                             const scheduler::SchedulerEngine& scheduler)
    : cfg_(cfg),
      plan_(plan),
      values_(values),
      check_(check),
      top_(top),
      workload_(workload),
      scheduler_(scheduler),
      engines_(top.engines.size()) {}

const workloads::LayerQuant& ModelExecutor::quant(const BatchRun& b, std::uint32_t layer) const {
  return b.quant.empty() ? default_quant_ : b.quant[layer];
}

void ModelExecutor::execute(std::size_t e, const Step& step) {
  BatchRun& b = workload_.run(step.batch);
  const std::size_t i = scheduler_.batch(step.batch).tasks[step.task].op;
  const Op& op = b.ops[i];
  const std::uint32_t d = plan_.spec.head_dim();
  switch (step.stage) {
    case Stage::kWhole: {
      const workloads::Epilogue& ep = b.epilogues[i];
      await_inputs(e, b, i);
      for (std::size_t j : ep.ops) await_inputs(e, b, j);
      if (ep.ops.empty()) {
        std::optional<std::size_t> next_op;
        if (step.next_task != scheduler::kNoTask)
          next_op = scheduler_.batch(step.batch).tasks[step.next_task].op;
        run_op(e, b, i, next_op);
      } else {
        run_fused(e, b, i);
      }
      if (check_ && op.layer_output) {
        drain(e);
        check_layer_output(b, i);
      }
      for (std::size_t j : ep.ops)
        if (check_ && b.ops[j].layer_output) check_layer_output(b, j);
      return;
    }
    case Stage::kScores: {
      const workloads::AttentionBlocks& blocks = b.blocks[static_cast<std::size_t>(op.member)][e];
      OpRecord& rec = b.records[op.head_ops.scores];
      const workloads::GemmParams g = workloads::block_gemm(model_gemm(cfg_, op), step.block, blocks);
      const workloads::GemmLayout lay =
          workloads::scores_block_layout(op, b.tensors, step.block, blocks, d, e);
      await_inputs(e, b, i);
      run_gemm(e, rec, g, lay, false, blocks.on_chip, may_defer(e, b, i));
      return;
    }
    case Stage::kContext: {
      const workloads::AttentionBlocks& blocks = b.blocks[static_cast<std::size_t>(op.member)][e];
      const Op& sv = b.ops[op.head_ops.context];
      OpRecord& rec = b.records[op.head_ops.context];
      const workloads::GemmParams g = workloads::block_gemm(model_gemm(cfg_, sv), step.block, blocks);
      const workloads::GemmLayout lay =
          workloads::context_block_layout(sv, b.tensors, step.block, blocks, d, quant(b, op.layer), e);
      await_inputs(e, b, op.head_ops.context);
      run_gemm(e, rec, g, lay, blocks.on_chip, false, may_defer(e, b, op.head_ops.context));
      return;
    }
    case Stage::kSoftmax:
      if (step.kind == Step::Kind::kStart)
        start_softmax(e, b, op, step.block);
      else
        await_softmax(e, b, op);
      return;
  }
}

void ModelExecutor::run_op(std::size_t e, BatchRun& b, std::size_t i, std::optional<std::size_t> next_op) {
  const Op& op = b.ops[i];
  const workloads::LayerQuant& qz = quant(b, op.layer);
  OpRecord& rec = b.records[i];
  engine::Engine& eng = top_.engine(e);
  switch (op.kind) {
    case OpKind::kWeightGemm: {
      const workloads::GemmParams g = model_gemm(cfg_, op);
      const std::size_t r = workloads::role_index(op.role);
      const workloads::GemmLayout lay = workloads::weight_gemm_layout(b.ops, i, b.tensors, plan_.memory, qz);
      const auto& masks = plan_.masks;
      run_gemm(e, rec, g, lay, false, false, may_defer(e, b, i), masks.find(op.layer, r),
               masks.empty() ? "" : masks.files[op.layer][r]);
      return;
    }
    case OpKind::kTopkAttention: {
      const sfu::TopkOp o = workloads::topk_op(op, b.tensors, plan_.spec.head_dim(), qz);
      // The layer's next head, when the scheduler has chained it to this engine: the unit reads its inputs
      // while this head computes.
      std::optional<sfu::TopkOp> next;
      if (cfg_.engines[e].topk_unit.prefetch_next_head && next_op) {
        const Op& n = b.ops[*next_op];
        next = workloads::topk_op(n, b.tensors, plan_.spec.head_dim(), quant(b, n.layer));
      }
      measured(e, rec, [&] { eng.topk_unit.run(o, next ? &*next : nullptr); });
      return;
    }
    default: {
      // Residual adds, layernorms and GELU: the SFU alone, between GEMMs.
      const sfu::SfuOp s =
          workloads::sfu_op(op, i, b.tensors, qz, check_ ? &values_.weights[op.layer] : nullptr);
      measured(e, rec, [&] { eng.sfu.run(s); });
    }
  }
}

// One engine: the memory's own count, so each operation's bytes are what the memory moved in its interval
// (reads served from the DRAM's write buffer move nothing). Several: what each engine asked for, in the
// memory's granules (the interconnect's count), as a shared memory's moves cannot be told apart.
std::uint64_t ModelExecutor::engine_bytes(std::size_t e) const {
  return top_.engines.size() == 1 ? top_.memory.bytes_transferred() : top_.interconnect.bytes(e);
}

void ModelExecutor::run_fused(std::size_t e, BatchRun& b, std::size_t i) {
  const Op& op = b.ops[i];
  const workloads::Epilogue& ep = b.epilogues[i];
  const workloads::LayerQuant& qz = quant(b, op.layer);
  OpRecord& rec = b.records[i];
  engine::Engine& eng = top_.engine(e);
  EngineState& es = engines_[e];
  const workloads::GemmParams whole = model_gemm(cfg_, op);
  const workloads::GemmLayout lay = workloads::weight_gemm_layout(b.ops, i, b.tensors, plan_.memory, qz);
  std::vector<sfu::SfuOp> epilogue;
  for (std::size_t j : ep.ops) {
    epilogue.push_back(
        workloads::sfu_op(b.ops[j], j, b.tensors, qz, check_ ? &values_.weights[op.layer] : nullptr));
    b.records[j].beside_array = true;
    b.records[j].engine = e;
  }
  // DRAM bytes: the SFU runs beside the GEMM's blocks, whose programs are charged what moved until they
  // finished; the GEMM's are those less the epilogue's own (its inputs and output, each moved once).
  std::uint64_t epilogue_bytes = 0;
  bool outstanding = false;
  // The array waits for the SFU to be done with the previous block (the last block: before the next task).
  auto await_sfu = [&] {
    const Cycle idle0 = top_.clock.now();
    while (eng.sfu.busy()) sc_core::wait(eng.sfu.finished());
    rec.sfu_wait += array_idle(e, idle0);
    finish_epilogue(e, b, ep);
    outstanding = false;
  };
  const engine::Params& p = cfg_.engines[e];
  const std::vector<workloads::Epilogue::Block> blocks =
      ep.blocks(op, p.pe_array.rows, p.pe_array.cols, p.sfu.epilogue_blocks);
  // With overlap, block k + 1's program is queued before block k's epilogue starts, so the array goes on
  // while the SFU works; without, each block's program runs alone.
  const bool overlap = p.controller.overlap_operations;
  auto submit_block = [&](std::size_t k) {
    workloads::GemmParams g = whole;
    g.m = blocks[k].rows;
    g.n = blocks[k].cols;
    run_gemm(e, rec, g, workloads::gemm_block_layout(lay, blocks[k]), false, false, overlap);
  };
  if (overlap) submit_block(0);
  for (std::size_t k = 0; k < blocks.size(); ++k) {
    const workloads::Epilogue::Block& blk = blocks[k];
    if (!overlap) {
      submit_block(k);
    } else {
      if (k + 1 < blocks.size()) submit_block(k + 1);
      // Block k is done when only the blocks after it are left (programs finish in order).
      const std::uint32_t later = k + 1 < blocks.size() ? 1 : 0;
      while (rec.programs_in_flight > later) sc_core::wait(eng.controller.finished());
    }
    if (outstanding) {
      await_sfu();
      // The SFU sat idle from its last block's end until this block was done.
      const Cycle done = eng.sfu.done_cycles().back(), now = top_.clock.now();
      b.records[ep.ops.front()].array_wait += now > done ? now - done : 0;
    }
    std::vector<sfu::SfuOp> chain;
    for (std::size_t k = 0; k < epilogue.size(); ++k) {
      chain.push_back(workloads::sfu_block(epilogue[k], blk));
      std::uint64_t bytes = chain.back().output.bytes();
      for (const auto& in : chain.back().inputs) bytes += in.bytes();
      b.records[ep.ops[k]].dram_bytes += bytes;
      epilogue_bytes += bytes;
    }
    es.epilogue_t0 = top_.clock.now();
    eng.sfu.start(std::move(chain));
    outstanding = true;
  }
  await_sfu();
  // The blocks' programs were charged what moved until each finished; the last epilogue block's traffic came
  // after them. Then the epilogue's own bytes go to its operations.
  const std::uint64_t tail = engine_bytes(e) - es.mark.bytes;
  op_bytes_ += tail;
  rec.dram_bytes = rec.dram_bytes + tail - epilogue_bytes;
  es.gemm_bytes = es.gemm_bytes + tail - epilogue_bytes;
  es.mark = mark_now(e);
}

void ModelExecutor::finish_epilogue(std::size_t e, BatchRun& b, const workloads::Epilogue& ep) {
  // Each operation of the block's chain ran from the previous one's end to its own.
  const std::vector<Cycle>& done = top_.engine(e).sfu.done_cycles();
  for (std::size_t k = 0; k < ep.ops.size(); ++k) {
    OpRecord& r = b.records[ep.ops[k]];
    const Cycle from = k == 0 ? engines_[e].epilogue_t0 : done[k - 1];
    if (!r.ran) r.start = from;
    r.ran = true;
    r.end = done[k];
    r.cycles += done[k] - from;
  }
}

void ModelExecutor::start_softmax(std::size_t e, BatchRun& b, const Op& qk, std::uint32_t block) {
  // The softmax runs in the SFU's thread while this one drives the array. Its DRAM bytes are those of its
  // interval less the GEMMs' (none on chip, the only case where the two overlap).
  const Op& softmax = b.ops[qk.head_ops.softmax];
  const workloads::AttentionBlocks& blocks = b.blocks[static_cast<std::size_t>(qk.member)][e];
  sfu::SfuOp s = workloads::softmax_block(softmax, b.tensors, block, blocks, quant(b, qk.layer), e);
  EngineState& es = engines_[e];
  drain(e);  // it reads the scores of the Q.K^T just submitted
  es.softmax_t0 = top_.clock.now();
  es.softmax_bytes0 = es.mark.bytes;
  es.softmax_gemm_bytes0 = es.gemm_bytes;
  top_.engine(e).sfu.start(std::move(s));
}

void ModelExecutor::await_softmax(std::size_t e, BatchRun& b, const Op& qk) {
  OpRecord &soft = b.records[qk.head_ops.softmax], &sv = b.records[qk.head_ops.context];
  sfu::Sfu& unit = top_.engine(e).sfu;
  EngineState& es = engines_[e];
  const Cycle idle0 = top_.clock.now();
  while (unit.busy()) sc_core::wait(unit.finished());
  // The array waited for the softmax of the block its next S.V reads.
  sv.sfu_wait += array_idle(e, idle0);
  drain(e);  // the GEMMs beside it charge their bytes at their finish
  if (!soft.ran) soft.start = es.softmax_t0;
  soft.ran = true;
  soft.engine = e;
  soft.end = top_.clock.now();
  soft.cycles += soft.end - es.softmax_t0;
  const std::uint64_t bytes =
      (engine_bytes(e) - es.softmax_bytes0) - (es.gemm_bytes - es.softmax_gemm_bytes0);
  soft.dram_bytes += bytes;
  op_bytes_ += bytes;
  es.mark = mark_now(e);
}

void ModelExecutor::check_layer_output(const BatchRun& b, std::size_t i) {
  // The layer's output in simulated memory against the reference's.
  const Op& op = b.ops[i];
  const auto& want = b.expected[op.layer];
  const workloads::Tensor& out = b.tensors.out[i];
  const std::uint64_t h = plan_.spec.hidden;
  std::vector<std::int8_t> got(want.size());
  for (std::uint32_t row = 0; row < want.size() / h; ++row)
    top_.memory.store().read(out.address + row * out.stride,
                             reinterpret_cast<std::uint8_t*>(got.data()) + row * h, h);
  for (std::size_t k = 0; k < want.size(); ++k)
    if (got[k] != want[k] && mismatches_++ == 0)
      first_mismatch_ = fmt::format("sequence {} layer {} output [{}][{}]: simulated {}, reference {}",
                                    b.records[i].sequence, op.layer, k / h, k % h, got[k], want[k]);
}

// An SFU or top-k operation runs once the engine's controller has finished its programs (it may read their
// outputs), and is charged from the engine's mark: the softmax and the fused epilogues, which run beside the
// array's GEMMs, account for their bytes themselves (await_softmax, run_fused).
void ModelExecutor::measured(std::size_t e, OpRecord& r, const std::function<void()>& body) {
  drain(e);
  const Cycle t0 = top_.clock.now();
  body();
  close(e, r, t0, t0, workloads::is_gemm(r.op->kind));
}

ModelExecutor::Mark ModelExecutor::mark_now(std::size_t e) const {
  const engine::Engine& eng = top_.engine(e);
  const auto& pe = eng.pe_array.engine().counters();
  const auto& hpc = eng.hp_datapath.engine().counters();
  return {top_.clock.now(),      engine_bytes(e),     pe.operand_stall_cycles, pe.out_stall_cycles,
          pe.drain_stall_cycles, hpc.conflict_cycles, pe.macs + hpc.macs};
}

void ModelExecutor::close(std::size_t e, OpRecord& r, Cycle start, Cycle from, bool gemm) {
  EngineState& es = engines_[e];
  const Mark m = mark_now(e);
  const std::uint64_t moved = m.bytes - es.mark.bytes;
  r.dram_bytes += moved;
  op_bytes_ += moved;
  if (gemm) es.gemm_bytes += moved;
  if (!r.ran) r.start = start;
  r.ran = true;
  r.engine = e;
  r.end = m.at;
  r.cycles += m.at - from;
  // The array charges a stall when the waiting step issues: a program queued behind another may have begun
  // waiting before the interval it closes. Its stalls stay within its cycles; the rest is the earlier
  // program's tail, which the summary counts as fill and drain.
  std::uint64_t room = m.at - from;
  auto stall = [&room](std::uint64_t delta) {
    const std::uint64_t s = std::min(delta, room);
    room -= s;
    return s;
  };
  r.out_stall += stall(m.out_stall - es.mark.out_stall);
  r.operand_stall += stall(m.operand_stall - es.mark.operand_stall);
  r.drain_stall += stall(m.drain_stall - es.mark.drain_stall);
  r.conflicts += m.conflicts - es.mark.conflicts;
  r.pe_macs += m.macs - es.mark.macs;
  es.mark = m;
}

Cycle ModelExecutor::array_idle(std::size_t e, Cycle t0) const {
  const control::Controller& c = top_.engine(e).controller;
  const Cycle now = top_.clock.now();
  return c.idle() ? now - std::min(now, std::max(t0, c.finish_cycle())) : 0;
}

void ModelExecutor::drain(std::size_t e) {
  top_.engine(e).controller.wait_idle();
}

bool ModelExecutor::may_defer(std::size_t e, BatchRun& b, std::size_t i) {
  if (!cfg_.engines[e].controller.overlap_operations) return false;
  if (b.consumed.empty()) {
    b.consumed.assign(b.ops.size(), false);
    for (const Op& o : b.ops)
      for (std::size_t d : o.deps) b.consumed[d] = true;
  }
  return b.consumed[i];
}

void ModelExecutor::await_inputs(std::size_t e, BatchRun& b, std::size_t i) {
  for (std::size_t d : b.ops[i].deps) {
    const OpRecord& r = b.records[d];
    while (r.programs_in_flight > 0 && r.engine != e)
      sc_core::wait(top_.engine(r.engine).controller.finished());
  }
}

// A GEMM on an engine's PE array (dense, N:M) or HP datapath; `on_chip_act`/`on_chip_out`: STA's attention.
void ModelExecutor::run_gemm(std::size_t e, OpRecord& rec, const workloads::GemmParams& g,
                             const workloads::GemmLayout& layout, bool on_chip_act, bool on_chip_out,
                             bool defer, const sparsity::Mask* mask, const std::string& mask_file) {
  workloads::GemmTask task;
  task.gemm = g;
  task.layout = layout;
  task.scratch = plan_.memory.scratch[e];
  task.seed = cfg_.sim.seed;
  task.pruning = cfg_.pruning;
  task.mask = mask;
  workloads::MappedGemm mapped;
  try {
    try {
      mapped = mapper(e, g).map(task);
    } catch (const InputError& err) {
      if (mask == nullptr) throw;
      throw InputError(fmt::format("{}: {}", mask_file, err.what()));
    }
  } catch (const InputError& err) {
    throw InputError(fmt::format("model: {}: {}", rec.op->name, err.what()));
  }
  control::Controller& controller = top_.engine(e).controller;
  // The images go to the engine's scratch, which a program still running may read.
  if (!mapped.images.empty()) controller.wait_idle();
  for (const auto& im : mapped.images)
    top_.memory.store().write(im.address, im.bytes.data(), im.bytes.size());
  if (rec.tiling.empty()) rec.tiling = mapped.tiling;
  control::Program& prog = mapped.program;
  if (on_chip_out)
    for (auto& w : prog.writebacks) w.on_chip = true;
  if (on_chip_act)
    for (auto& l : prog.act_loads)
      for (auto& blk : l.blocks) blk.on_chip = true;
  // Its finish charges it from the later of its submission and the engine's previous charge (cycles of two
  // programs that overlap are counted once, by the first to finish).
  rec.engine = e;
  ++rec.programs_in_flight;
  auto submitted = std::make_shared<Cycle>(0);
  controller.submit(std::move(prog), [this, e, &rec, submitted](Cycle) {
    --rec.programs_in_flight;
    close(e, rec, *submitted, std::max(*submitted, engines_[e].mark.at), true);
  });
  *submitted = top_.clock.now();
  if (!defer) controller.wait_idle();
}

const workloads::GemmMapper& ModelExecutor::mapper(std::size_t e, const workloads::GemmParams& g) {
  auto& m = engines_[e].mappers[static_cast<std::size_t>(g.sparsity.format)];
  if (!m) m = workloads::make_mapper(g.sparsity.format, engine_shape(cfg_, cfg_.engines[e]));
  return *m;
}

}  // namespace tacsim::sim
