#include "modules/sfu/topk_unit.h"

#include <memory>
#include <string>

#include "modules/common/error.h"

namespace tacsim::sfu {

using namespace sc_core;

namespace {

const TopkAttentionParams& validated(const TopkAttentionParams& p) {
  if (const std::string e = p.validate(); !e.empty()) throw InputError(e);
  return p;
}

}  // namespace

TopkUnit::TopkUnit(const sc_module_name& name, const TopkAttentionParams& params, const ClockDomain& clock,
                   dma::Dma& dma)
    : sc_module(name), params_(validated(params)), clock_(clock), dma_(dma) {
  stats_.add("heads", &heads_, "heads", "heads run");
  stats_.add("queries", &queries_, "queries", "queries (rows of Q) attended");
  stats_.add("compute_cycles", &compute_cycles_, "cycles", "cycles the unit computed");
  stats_.add("dma_cycles", &dma_cycles_, "cycles",
             "cycles a head waited for its inputs or its context write");
  stats_.add("lut_products", &lut_products_, "products", "4-bit LUT products ranking the keys");
  stats_.add("exact_macs", &exact_macs_, "MACs", "int8 Q.K^T MACs over the kept keys");
  stats_.add("sv_macs", &sv_macs_, "MACs", "int8 S.V MACs over the kept keys");
  stats_.add("prefetched_heads", &prefetched_heads_, "heads",
             "heads whose inputs were read while the head before them computed");
  stats_.add("prefetches_unused", &prefetches_unused_, "heads",
             "next-head reads discarded: another head ran next (another batch's), so its inputs were read "
             "again");
}

namespace {
TopkMask mask_of(const TopkOp& op) {
  return op.causal ? TopkMask::kCausal : TopkMask::kNone;
}
}  // namespace

Cycle TopkUnit::compute_cycles(const TopkOp& op) const {
  // The closed form gives the head's done (its last context column written) on an idle unit from cycle 0.
  return TopkAttentionEngine::cycles(params_, op.l, op.l, op.d, mask_of(op)) + 1;
}

void TopkUnit::check(const TopkOp& op) const {
  if (op.l == 0 || op.d == 0) SC_REPORT_FATAL(name(), "top-k op: l and d must be at least 1");
  const std::pair<const char*, const dma::BlockMove*> blocks[] = {
      {"q", &op.q}, {"k", &op.k}, {"v", &op.v}, {"out", &op.out}};
  for (const auto& [field, b] : blocks) {
    if (b->rows != op.l || b->row_bytes != op.d) {
      const std::string msg = std::string("top-k op: ") + field + " must be l = " + std::to_string(op.l) +
                              " rows of d = " + std::to_string(op.d) + " bytes, got " +
                              std::to_string(b->rows) + " x " + std::to_string(b->row_bytes);
      SC_REPORT_FATAL(name(), msg.c_str());
    }
  }
}

TopkUnit::Pending TopkUnit::start_moves(const std::vector<Block>& blocks, bool write) {
  // On-chip blocks are in (or stay in) the unit's buffers: only the others move.
  std::vector<dma::Move> moves;
  for (const auto& [b, buf] : blocks) {
    buf->resize(b->bytes());
    if (!b->on_chip) {
      moves.push_back(dma::dma_move(*b, buf->data(), write));
    } else if (on_chip_store_ != nullptr && compute_values_) {
      dma::copy_on_chip(*on_chip_store_, *b, buf->data(), write);
    }
  }
  if (moves.empty()) return nullptr;
  auto left = std::make_shared<std::size_t>(moves.size());
  for (dma::Move& m : moves) {
    m.on_done = [this, left](Cycle) {
      if (--*left == 0) moved_.notify(SC_ZERO_TIME);
    };
    dma_.submit(std::move(m));
  }
  return left;
}

void TopkUnit::await(const Pending& moves) {
  // moved_ is shared by every group in flight: a notification may be another group's.
  while (moves && *moves != 0) wait(moved_);
}

void TopkUnit::read_inputs(const TopkOp& op, Buffers& b) {
  b.q_from = op.q;
  b.k_from = op.k;
  b.v_from = op.v;
  b.reads = start_moves({{&op.q, &b.q}, {&op.k, &b.k}, {&op.v, &b.v}}, false);
}

namespace {
bool same_block(const dma::BlockMove& a, const dma::BlockMove& b) {
  return a.address == b.address && a.rows == b.rows && a.row_bytes == b.row_bytes && a.stride == b.stride &&
         a.on_chip == b.on_chip;
}
}  // namespace

void TopkUnit::run(const TopkOp& op, const TopkOp* next) {
  check(op);
  const Cycle t0 = clock_.now();
  Buffers& in = buffers_[current_];
  const bool announced = prefetched_ && same_block(in.q_from, op.q) && same_block(in.k_from, op.k) &&
                         same_block(in.v_from, op.v);
  if (prefetched_ && !announced) {  // another head's inputs: let them land, then read ours
    await(in.reads);
    ++prefetches_unused_;
  }
  if (announced) ++prefetched_heads_;
  if (!announced) read_inputs(op, in);
  await(in.reads);
  prefetched_ = false;
  const Cycle t1 = clock_.now();
  if (next != nullptr) {
    check(*next);
    read_inputs(*next, buffers_[1 - current_]);
    prefetched_ = true;
  }
  // A fresh engine per head: the unit is idle when the inputs are in, and timing comes from the same
  // schedule with values on or off.
  TopkAttentionEngine engine(params_);
  TopkHeadTiming timing;
  if (compute_values_) {
    const TopkRequants rq{op.score_rq, op.prob_rq.value_or(TopkAttentionEngine::default_prob_rq(params_)),
                          op.ctx_rq};
    auto as_int8 = [](const std::vector<std::uint8_t>& b) {
      return std::vector<std::int8_t>(b.begin(), b.end());
    };
    TopkHeadResult r =
        engine.run_head(0, op.l, op.l, op.d, as_int8(in.q), as_int8(in.k), as_int8(in.v), rq, mask_of(op));
    in.out.assign(r.context.begin(), r.context.end());
    timing = std::move(r.timing);
  } else {
    timing = engine.schedule_head(0, op.l, op.l, op.d, mask_of(op));
  }
  const Cycle compute = timing.done + 1;
  clock_.wait_until(t1 + compute);
  const Cycle t2 = clock_.now();
  await(writes_);  // the previous head's context, written from the other buffer
  writes_ = start_moves({{&op.out, &in.out}}, true);
  if (next == nullptr) await(writes_);
  ++heads_;
  queries_ += op.l;
  compute_cycles_ += compute;
  dma_cycles_ += (t1 - t0) + (clock_.now() - t2);
  const TopkAttentionEngine::Counters& c = engine.counters();
  lut_products_ += c.lut_products;
  exact_macs_ += c.exact_macs;
  sv_macs_ += c.sv_macs;
  if (next != nullptr) current_ = 1 - current_;
}

}  // namespace tacsim::sfu
