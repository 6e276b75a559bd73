#include "modules/sfu/topk_attention_engine.h"

#include <algorithm>
#include <cstdlib>
#include <numeric>

#include "modules/common/error.h"

namespace tacsim::sfu {

using detail::range_error;

namespace {

const TopkAttentionParams& validated(const TopkAttentionParams& p) {
  const std::string err = p.validate();
  if (!err.empty()) throw InputError(err);
  return p;
}

}  // namespace

std::string TopkAttentionParams::validate() const {
  const std::string inner = softmax.validate();
  if (!inner.empty()) return "softmax." + inner;
  constexpr std::uint64_t kMax = 1u << 16;
  const std::string checks[] = {
      range_error("top_k", top_k, 1, kMax),
      range_error("quant_lanes", quant_lanes, 1, kMax),
      range_error("quant_latency_cycles", quant_latency_cycles, 1, kMax),
      range_error("score_lanes", score_lanes, 1, kMax),
      range_error("lut_per_lane", lut_per_lane, 1, kMax),
      range_error("lut_latency_cycles", lut_latency_cycles, 1, kMax),
      range_error("merge_width", merge_width, 1, kMax),
      range_error("merge_latency_cycles", merge_latency_cycles, 1, kMax),
      range_error("exact_lanes", exact_lanes, 1, kMax),
      range_error("exact_macs_per_lane", exact_macs_per_lane, 1, kMax),
      range_error("exact_latency_cycles", exact_latency_cycles, 1, kMax),
      range_error("sv_lanes", sv_lanes, 1, kMax),
      range_error("sv_macs_per_lane", sv_macs_per_lane, 1, kMax),
      range_error("sv_latency_cycles", sv_latency_cycles, 1, kMax),
  };
  for (const std::string& c : checks)
    if (!c.empty()) return c;
  if (top_k > softmax.row_buffer_elems) {
    return "top_k: must be at most softmax.row_buffer_elems = " + std::to_string(softmax.row_buffer_elems) +
           ", got " + std::to_string(top_k);
  }
  return "";
}

std::uint32_t int4_amax(const std::int8_t* x, std::size_t n) {
  std::uint32_t m = 0;
  for (std::size_t i = 0; i < n; ++i)
    m = std::max<std::uint32_t>(m, static_cast<std::uint32_t>(std::abs(int{x[i]})));
  return m;
}

std::int8_t int4_code(std::int8_t x, std::uint32_t amax) {
  if (amax == 0) return 0;
  const int a = std::abs(int{x});
  const int c =
      static_cast<int>((14u * static_cast<std::uint32_t>(a) + amax) / (2 * amax));  // <= 7 as a <= amax
  return static_cast<std::int8_t>(x < 0 ? -c : c);
}

const std::array<std::int8_t, 256>& int4_product_lut() {
  static const std::array<std::int8_t, 256> lut = [] {
    std::array<std::int8_t, 256> t{};
    for (int i = 0; i < 256; ++i) {
      const int cq = (i >> 4) >= 8 ? (i >> 4) - 16 : (i >> 4);  // sign-extend the nibbles
      const int ck = (i & 15) >= 8 ? (i & 15) - 16 : (i & 15);
      t[static_cast<std::size_t>(i)] = static_cast<std::int8_t>(cq * ck);  // within [-56, 64]
    }
    return t;
  }();
  return lut;
}

void check_topk_input(std::size_t l_q, std::size_t l_k, std::size_t d, const std::vector<std::int8_t>& q,
                      const std::vector<std::int8_t>& k, TopkMask mask) {
  if (l_q < 1 || l_k < 1 || d < 1) {
    throw InputError("topk attention: l_q, l_k and d must be at least 1, got " + std::to_string(l_q) + ", " +
                     std::to_string(l_k) + ", " + std::to_string(d));
  }
  if (mask == TopkMask::kCausal && l_k < l_q) {
    throw InputError("topk attention: a causal head needs l_k >= l_q, got " + std::to_string(l_k) +
                     " keys for " + std::to_string(l_q) + " queries");
  }
  if (q.size() != l_q * d || k.size() != l_k * d) {
    throw InputError("topk attention: q and k have " + std::to_string(q.size()) + " and " +
                     std::to_string(k.size()) + " values, expected l_q * d = " + std::to_string(l_q * d) +
                     " and l_k * d = " + std::to_string(l_k * d));
  }
}

void check_topk_input(std::size_t l_q, std::size_t l_k, std::size_t d, const std::vector<std::int8_t>& q,
                      const std::vector<std::int8_t>& k, const std::vector<std::int8_t>& v,
                      const TopkRequants& rq, TopkMask mask) {
  check_topk_input(l_q, l_k, d, q, k, mask);
  if (v.size() != l_k * d) {
    throw InputError("topk attention: v has " + std::to_string(v.size()) +
                     " values, expected l_k * d = " + std::to_string(l_k * d));
  }
  const std::pair<const char*, const Requant*> all[] = {
      {"score_rq", &rq.score}, {"prob_rq", &rq.prob}, {"ctx_rq", &rq.ctx}};
  for (const auto& [name, r] : all) {
    if (const std::string e = r->validate(); !e.empty())
      throw InputError(std::string("topk attention: ") + name + ": " + e);
    // p8 and the context are int8 in the hardware's buffers.
    if (r != &rq.score && (r->lo < -128 || r->hi > 127))
      throw InputError(std::string("topk attention: ") + name + ": lo and hi must lie in [-128, 127]");
  }
}

TopkAttentionEngine::TopkAttentionEngine(const TopkAttentionParams& params)
    : params_(validated(params)), softmax_(params_.softmax) {}

Requant TopkAttentionEngine::default_prob_rq(const TopkAttentionParams& params) {
  const std::uint32_t p = params.softmax.prob_frac_bits;
  if (p >= 7) return {1, p - 7, -128, 127};
  return {std::int32_t{1} << (7 - p), 0, -128, 127};
}

TopkRequants TopkAttentionEngine::default_requants() const {
  TopkRequants rq;
  rq.prob = default_prob_rq(params_);
  return rq;
}

TopkHeadTiming TopkAttentionEngine::schedule_head(Cycle ready, std::size_t l_q, std::size_t l_k,
                                                  std::size_t d, TopkMask mask) {
  if (l_q < 1 || l_k < 1 || d < 1) {
    throw InputError("topk attention: l_q, l_k and d must be at least 1, got " + std::to_string(l_q) + ", " +
                     std::to_string(l_k) + ", " + std::to_string(d));
  }
  if (mask == TopkMask::kCausal && l_k < l_q)
    throw InputError("topk attention: a causal head needs l_k >= l_q, got " + std::to_string(l_k) +
                     " keys for " + std::to_string(l_q) + " queries");
  const TopkAttentionParams& p = params_;
  const Cycle b_k = ceil_div(l_k * d, p.quant_lanes);
  const Cycle b_q = ceil_div(l_q * d, p.quant_lanes);
  const std::size_t head_slot = counters_.heads % 2;
  TopkHeadTiming h;
  h.quant_start = std::max({ready, quant_free_, code_free_[head_slot]});
  // amax pass b_k + b_q beats, its last result after Dq; then the code pass, the same again.
  const Cycle code_start = h.quant_start + b_k + b_q - 1 + p.quant_latency_cycles;
  h.codes_ready = code_start + b_k + b_q - 1 + p.quant_latency_cycles;
  quant_free_ = code_start + b_k + b_q;

  for (std::size_t i = 0; i < l_q; ++i, ++queries_) {
    const std::size_t visible = topk_visible_keys(i, l_q, l_k, mask);
    const std::size_t kept = std::min<std::size_t>(p.top_k, visible);
    const Cycle approx_beats = ceil_div(visible, p.score_lanes) * ceil_div(d, p.lut_per_lane);
    const Cycle merge_beats = ceil_div(kept, p.merge_width);
    const Cycle exact_beats = ceil_div(kept, p.exact_lanes) * ceil_div(d, p.exact_macs_per_lane);
    const Cycle softmax_beats = ceil_div(kept, p.softmax.lanes);
    const Cycle context_beats = ceil_div(d, p.sv_lanes) * ceil_div(kept, p.sv_macs_per_lane);
    const std::size_t s = queries_ % 2;
    TopkQueryTiming q;
    q.approx_start = std::max({h.codes_ready, approx_free_, sorter_free_[s]});
    const Cycle approx_last = q.approx_start + approx_beats - 1;
    approx_free_ = approx_last + 1;
    q.merge_start = std::max({approx_last + p.lut_latency_cycles, merge_free_, index_free_[s]});
    const Cycle merge_last = q.merge_start + merge_beats - 1;
    merge_free_ = merge_last + 1;
    sorter_free_[s] = merge_last + 1;
    q.exact_start = std::max({merge_last + p.merge_latency_cycles, exact_free_, score_free_[s]});
    const Cycle exact_last = q.exact_start + exact_beats - 1;
    exact_free_ = exact_last + 1;
    index_free_[s] = exact_last + 1;
    // prob_free_[s] is still query i - 2's: the softmax may not overwrite probabilities not yet read.
    q.softmax = softmax_.schedule_row(std::max(exact_last + p.exact_latency_cycles, prob_free_[s]), kept);
    score_free_[s] = q.softmax.pass1_start + softmax_beats;  // pass 1 has read the scores
    q.context_start = std::max(q.softmax.done + 1, context_free_);
    const Cycle context_last = q.context_start + context_beats - 1;
    context_free_ = context_last + 1;
    prob_free_[s] = context_last + 1;
    q.context_done = context_last + p.sv_latency_cycles;
    h.queries.push_back(q);
    if (i + 1 == l_q) code_free_[head_slot] = approx_last + 1;
    counters_.lut_products += static_cast<std::uint64_t>(visible) * d;
    counters_.approx_scores += visible;
    counters_.kept_keys += kept;
    counters_.exact_macs += static_cast<std::uint64_t>(kept) * d;
    counters_.sv_macs += static_cast<std::uint64_t>(kept) * d;
  }
  h.done = h.queries.back().context_done;
  last_done_ = h.done;
  ++counters_.heads;
  counters_.queries += l_q;
  counters_.quant_beats += 2 * (b_k + b_q);
  return h;
}

TopkHeadResult TopkAttentionEngine::run_head(Cycle ready, std::size_t l_q, std::size_t l_k, std::size_t d,
                                             const std::vector<std::int8_t>& q,
                                             const std::vector<std::int8_t>& k, TopkMask mask) {
  check_topk_input(l_q, l_k, d, q, k, mask);
  return head_values(ready, l_q, l_k, d, q, k, {}, default_requants(), mask);
}

TopkHeadResult TopkAttentionEngine::run_head(Cycle ready, std::size_t l_q, std::size_t l_k, std::size_t d,
                                             const std::vector<std::int8_t>& q,
                                             const std::vector<std::int8_t>& k,
                                             const std::vector<std::int8_t>& v, const TopkRequants& rq,
                                             TopkMask mask) {
  check_topk_input(l_q, l_k, d, q, k, v, rq, mask);
  return head_values(ready, l_q, l_k, d, q, k, v, rq, mask);
}

TopkHeadResult TopkAttentionEngine::head_values(Cycle ready, std::size_t l_q, std::size_t l_k, std::size_t d,
                                                const std::vector<std::int8_t>& q,
                                                const std::vector<std::int8_t>& k,
                                                const std::vector<std::int8_t>& v, const TopkRequants& rq,
                                                TopkMask mask) {
  TopkHeadResult r;
  r.l_q = l_q;
  r.l_k = l_k;
  r.d = d;
  r.kept = std::min<std::size_t>(params_.top_k, l_k);
  r.q_amax = int4_amax(q.data(), q.size());
  r.k_amax = int4_amax(k.data(), k.size());
  r.q_codes.resize(q.size());
  r.k_codes.resize(k.size());
  for (std::size_t i = 0; i < q.size(); ++i) r.q_codes[i] = int4_code(q[i], r.q_amax);
  for (std::size_t i = 0; i < k.size(); ++i) r.k_codes[i] = int4_code(k[i], r.k_amax);
  const std::array<std::int8_t, 256>& lut = int4_product_lut();
  r.topk.assign(l_q * r.kept, kNoKey);
  r.exact_scores.assign(l_q * r.kept, 0);
  r.probs.assign(l_q * l_k, 0);
  const bool context = !v.empty();
  if (context) {
    r.context_acc.assign(l_q * d, 0);
    r.context.assign(l_q * d, 0);
  }
  std::vector<std::int32_t> approx(l_k), scores(r.kept), probs(r.kept), p8(r.kept);
  std::vector<std::uint32_t> keys(l_k);
  for (std::size_t i = 0; i < l_q; ++i) {
    const std::size_t visible = topk_visible_keys(i, l_q, l_k, mask);
    const std::size_t kept = std::min<std::size_t>(params_.top_k, visible);
    const std::int8_t* cq = &r.q_codes[i * d];
    for (std::size_t j = 0; j < visible; ++j) {
      const std::int8_t* ck = &r.k_codes[j * d];
      std::int32_t s = 0;
      for (std::size_t t = 0; t < d; ++t) s += lut[int4_lut_index(cq[t], ck[t])];
      approx[j] = s;
    }
    const auto keys_end = keys.begin() + static_cast<std::ptrdiff_t>(visible);
    std::iota(keys.begin(), keys_end, 0u);
    std::partial_sort(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(kept), keys_end,
                      [&](std::uint32_t a, std::uint32_t b) {
                        return approx[a] > approx[b] || (approx[a] == approx[b] && a < b);
                      });
    std::int32_t* exact = &r.exact_scores[i * r.kept];
    for (std::size_t n = 0; n < kept; ++n) {
      const std::uint32_t j = keys[n];
      r.topk[i * r.kept + n] = j;
      std::int32_t s = 0;
      for (std::size_t t = 0; t < d; ++t) s += int{q[i * d + t]} * int{k[j * d + t]};
      exact[n] = s;
      scores[n] = rq.score.apply(s);
    }
    softmax_.arithmetic().row(scores.data(), kept, probs.data());
    for (std::size_t n = 0; n < kept; ++n) r.probs[i * l_k + keys[n]] = probs[n];
    if (!context) continue;
    for (std::size_t n = 0; n < kept; ++n) p8[n] = rq.prob.apply(probs[n]);
    std::int32_t* acc = &r.context_acc[i * d];
    for (std::size_t n = 0; n < kept; ++n) {
      const std::int8_t* vj = &v[keys[n] * d];
      for (std::size_t c = 0; c < d; ++c) acc[c] += p8[n] * int{vj[c]};
    }
    for (std::size_t c = 0; c < d; ++c) r.context[i * d + c] = static_cast<std::int8_t>(rq.ctx.apply(acc[c]));
  }
  r.timing = schedule_head(ready, l_q, l_k, d, mask);
  return r;
}

Cycle TopkAttentionEngine::cycles(const TopkAttentionParams& params, std::size_t l_q, std::size_t l_k,
                                  std::size_t d, TopkMask mask) {
  TopkAttentionEngine engine(params);
  return engine.schedule_head(0, l_q, l_k, d, mask).done;
}

TopkReference reference_topk_head(const TopkAttentionParams& params, std::size_t l_q, std::size_t l_k,
                                  std::size_t d, const std::vector<std::int8_t>& q,
                                  const std::vector<std::int8_t>& k, const std::vector<std::int8_t>& v,
                                  const Requant& score_rq, const Requant& prob_rq, const Requant& ctx_rq,
                                  TopkMask mask) {
  check_topk_input(l_q, l_k, d, q, k, v, TopkRequants{score_rq, prob_rq, ctx_rq}, mask);
  if (const std::string e = params.validate(); !e.empty()) throw InputError(e);
  // Codes: c = sign(x) floor((14 |x| + amax) / (2 amax)), per tensor.
  auto codes = [](const std::vector<std::int8_t>& x) {
    long amax = 0;
    for (std::int8_t e : x) amax = std::max(amax, std::labs(long{e}));
    std::vector<long> c(x.size(), 0);
    if (amax == 0) return c;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const long a = (14 * std::labs(long{x[i]}) + amax) / (2 * amax);
      c[i] = x[i] < 0 ? -a : a;
    }
    return c;
  };
  const std::vector<long> cq = codes(q), ck = codes(k);
  const SoftmaxArithmetic softmax(params.softmax);
  TopkReference r;
  r.probs.assign(l_q * l_k, 0);
  r.context_acc.assign(l_q * d, 0);
  r.context.assign(l_q * d, 0);
  for (std::size_t i = 0; i < l_q; ++i) {
    // A causal query sees keys 0 .. l_k - l_q + i.
    const std::size_t visible = mask == TopkMask::kCausal ? l_k - l_q + i + 1 : l_k;
    const std::size_t kept = std::min<std::size_t>(params.top_k, visible);
    std::vector<long> approx(visible, 0);
    for (std::size_t j = 0; j < visible; ++j)
      for (std::size_t t = 0; t < d; ++t) approx[j] += cq[i * d + t] * ck[j * d + t];
    // Selection: the best remaining key each time, the lower index on a tie.
    std::vector<bool> taken(visible, false);
    std::vector<std::uint32_t> chosen;
    for (std::size_t n = 0; n < kept; ++n) {
      std::size_t best = visible;
      for (std::size_t j = 0; j < visible; ++j)
        if (!taken[j] && (best == visible || approx[j] > approx[best])) best = j;
      taken[best] = true;
      chosen.push_back(static_cast<std::uint32_t>(best));
    }
    std::vector<std::int32_t> scores(kept), probs(kept);
    for (std::size_t n = 0; n < kept; ++n) {
      std::int64_t s = 0;
      for (std::size_t t = 0; t < d; ++t) s += q[i * d + t] * k[chosen[n] * d + t];
      scores[n] = score_rq.apply(s);
    }
    softmax.row(scores.data(), kept, probs.data());
    for (std::size_t n = 0; n < kept; ++n) {
      r.probs[i * l_k + chosen[n]] = probs[n];
      const std::int64_t p8 = prob_rq.apply(probs[n]);
      for (std::size_t c = 0; c < d; ++c)
        r.context_acc[i * d + c] += static_cast<std::int32_t>(p8 * v[chosen[n] * d + c]);
    }
    for (std::size_t c = 0; c < d; ++c)
      r.context[i * d + c] = static_cast<std::int8_t>(ctx_rq.apply(r.context_acc[i * d + c]));
    r.topk.insert(r.topk.end(), chosen.begin(), chosen.end());
    r.topk.insert(r.topk.end(), std::min<std::size_t>(params.top_k, l_k) - kept, kNoKey);
  }
  return r;
}

TopkAttentionStepModel::TopkAttentionStepModel(const TopkAttentionParams& params)
    : params_(validated(params)),
      softmax_(params_.softmax),
      approx_acc_(params_.score_lanes, 0),
      exact_acc_(params_.exact_lanes, 0),
      context_acc_(params_.sv_lanes, 0),
      merge_pos_(params_.score_lanes, 0),
      quant_pipe_(params_.quant_latency_cycles),
      approx_pipe_(params_.lut_latency_cycles),
      merge_pipe_(params_.merge_latency_cycles),
      exact_pipe_(params_.exact_latency_cycles),
      context_pipe_(params_.sv_latency_cycles) {
  for (auto& bank : sorter_) bank.resize(params_.score_lanes);
}

std::size_t TopkAttentionStepModel::enqueue_head(Cycle ready, std::size_t l_q, std::size_t l_k, std::size_t d,
                                                 const std::vector<std::int8_t>& q,
                                                 const std::vector<std::int8_t>& k, TopkMask mask) {
  check_topk_input(l_q, l_k, d, q, k, mask);
  TopkRequants rq;
  rq.prob = TopkAttentionEngine::default_prob_rq(params_);
  return add_head(ready, l_q, l_k, d, q, k, {}, rq, mask);
}

std::size_t TopkAttentionStepModel::enqueue_head(Cycle ready, std::size_t l_q, std::size_t l_k, std::size_t d,
                                                 const std::vector<std::int8_t>& q,
                                                 const std::vector<std::int8_t>& k,
                                                 const std::vector<std::int8_t>& v, const TopkRequants& rq,
                                                 TopkMask mask) {
  check_topk_input(l_q, l_k, d, q, k, v, rq, mask);
  return add_head(ready, l_q, l_k, d, q, k, v, rq, mask);
}

std::size_t TopkAttentionStepModel::add_head(Cycle ready, std::size_t l_q, std::size_t l_k, std::size_t d,
                                             const std::vector<std::int8_t>& q,
                                             const std::vector<std::int8_t>& k,
                                             const std::vector<std::int8_t>& v, const TopkRequants& rq,
                                             TopkMask mask) {
  Head h{};
  h.ready = ready;
  h.l_q = l_q;
  h.l_k = l_k;
  h.d = d;
  h.kept = std::min<std::size_t>(params_.top_k, l_k);
  h.mask = mask;
  h.q = q;
  h.k = k;
  h.v = v;
  h.rq = rq;
  h.slot = heads_.size() % 2;
  h.first_query = queries_.size();
  h.quant_beats_k = ceil_div(l_k * d, params_.quant_lanes);
  h.quant_beats_q = ceil_div(l_q * d, params_.quant_lanes);
  heads_.push_back(std::move(h));
  for (std::size_t i = 0; i < l_q; ++i) {
    Query query{};
    query.head = heads_.size() - 1;
    query.row = i;
    query.slot = queries_.size() % 2;
    query.visible = topk_visible_keys(i, l_q, l_k, mask);
    query.kept = std::min<std::size_t>(params_.top_k, query.visible);
    query.approx_start = query.approx_out = query.merge_start = query.merge_out = kNever;
    query.exact_start = query.exact_out = query.context_start = query.context_out = kNever;
    queries_.push_back(std::move(query));
  }
  return heads_.size() - 1;
}

bool TopkAttentionStepModel::idle() const {
  return contexts_done_ == queries_.size();
}

void TopkAttentionStepModel::issue_quant(Cycle t) {
  if (quant_phase_ == 0 && quant_.next < heads_.size()) {
    Head& h = heads_[quant_.next];
    if (h.ready <= t && code_free_[h.slot] <= t) {
      quant_ = Stage{true, quant_.next, 0, h.quant_beats_k + h.quant_beats_q, quant_.next + 1};
      quant_phase_ = 1;
      h.quant_start = t;
      ++counters_.heads;
      code_free_[h.slot] = kNever;
      code_k_[h.slot].assign(h.l_k * h.d, 0);
      code_q_[h.slot].assign(h.l_q * h.d, 0);
    }
  }
  if (quant_phase_ == 2 && heads_[quant_.item].amax_ready) {
    quant_phase_ = 3;
    quant_.beat = 0;
  }
  if (quant_phase_ != 1 && quant_phase_ != 3) return;
  Head& h = heads_[quant_.item];
  QuantBeat& b = quant_pipe_.insert();
  b.head = quant_.item;
  b.code_pass = quant_phase_ == 3;
  b.is_q = quant_.beat >= h.quant_beats_k;
  b.offset = (b.is_q ? quant_.beat - h.quant_beats_k : quant_.beat) * params_.quant_lanes;
  const std::vector<std::int8_t>& x = b.is_q ? h.q : h.k;
  b.n = std::min<std::size_t>(params_.quant_lanes, x.size() - b.offset);
  if (!b.code_pass) {
    b.amax = int4_amax(x.data() + b.offset, b.n);
  } else {
    b.codes.resize(b.n);
    for (std::size_t i = 0; i < b.n; ++i) b.codes[i] = int4_code(x[b.offset + i], h.amax[b.is_q ? 1 : 0]);
  }
  ++counters_.quant_beats;
  if (++quant_.beat == quant_.beats) quant_phase_ = quant_phase_ == 1 ? 2 : 0;
}

void TopkAttentionStepModel::issue_approx(Cycle t) {
  const std::size_t lanes = params_.score_lanes;
  if (!approx_.active && approx_.next < queries_.size()) {
    Query& q = queries_[approx_.next];
    const Head& h = heads_[q.head];
    if (h.codes_ready && sorter_free_[q.slot] <= t) {
      const std::size_t beats = ceil_div(q.visible, lanes) * ceil_div(h.d, params_.lut_per_lane);
      approx_ = Stage{true, approx_.next, 0, beats, approx_.next + 1};
      q.approx_start = t;
      sorter_free_[q.slot] = kNever;
      for (auto& lane : sorter_[q.slot]) lane.clear();
    }
  }
  if (!approx_.active) return;
  const Query& q = queries_[approx_.item];
  const Head& h = heads_[q.head];
  const std::size_t chunks = ceil_div(h.d, params_.lut_per_lane);
  const std::size_t group = approx_.beat / chunks, chunk = approx_.beat % chunks;
  const std::size_t t0 = chunk * params_.lut_per_lane,
                    t1 = std::min<std::size_t>(h.d, t0 + params_.lut_per_lane);
  LaneBeat& b = approx_pipe_.insert();
  b.query = approx_.item;
  b.first = group * lanes;
  b.lanes = std::min<std::size_t>(lanes, q.visible - b.first);
  b.last_chunk = chunk + 1 == chunks;
  b.last_beat = approx_.beat + 1 == approx_.beats;
  b.part.assign(b.lanes, 0);
  const std::array<std::int8_t, 256>& lut = int4_product_lut();
  const std::int8_t* cq = &code_q_[h.slot][q.row * h.d];
  for (std::size_t l = 0; l < b.lanes; ++l) {
    const std::int8_t* ck = &code_k_[h.slot][(b.first + l) * h.d];
    for (std::size_t i = t0; i < t1; ++i) b.part[l] += lut[int4_lut_index(cq[i], ck[i])];
  }
  counters_.lut_products += b.lanes * (t1 - t0);
  if (++approx_.beat == approx_.beats) {
    approx_.active = false;
    if (q.row + 1 == h.l_q) code_free_[h.slot] = t + 1;  // the head's codes are no longer read
  }
}

void TopkAttentionStepModel::issue_merge(Cycle t) {
  if (!merge_.active && merge_.next < queries_.size()) {
    Query& q = queries_[merge_.next];
    if (q.approx_out != kNever && index_free_[q.slot] <= t) {
      merge_ = Stage{true, merge_.next, 0, ceil_div(q.kept, params_.merge_width), merge_.next + 1};
      q.merge_start = t;
      index_free_[q.slot] = kNever;
      index_[q.slot].clear();
      std::fill(merge_pos_.begin(), merge_pos_.end(), 0);
    }
  }
  if (!merge_.active) return;
  const Query& q = queries_[merge_.item];
  const std::vector<std::vector<Entry>>& bank = sorter_[q.slot];
  MergeBeat& b = merge_pipe_.insert();
  b.query = merge_.item;
  b.keys.clear();
  // The beat's keys: the best head of the lists, merge_width times (the last beat may take fewer).
  const std::size_t taken = merge_.beat * params_.merge_width;
  for (std::size_t n = taken; n < std::min(q.kept, taken + params_.merge_width); ++n) {
    std::size_t best = bank.size();
    for (std::size_t l = 0; l < bank.size(); ++l) {
      if (merge_pos_[l] < bank[l].size() &&
          (best == bank.size() || better(bank[l][merge_pos_[l]], bank[best][merge_pos_[best]]))) {
        best = l;
      }
    }
    b.keys.push_back(bank[best][merge_pos_[best]++].second);
    ++counters_.kept_keys;
  }
  b.last = merge_.beat + 1 == merge_.beats;
  if (++merge_.beat == merge_.beats) {
    merge_.active = false;
    sorter_free_[q.slot] = t + 1;
  }
}

void TopkAttentionStepModel::issue_exact(Cycle t) {
  const std::size_t lanes = params_.exact_lanes;
  if (!exact_.active && exact_.next < queries_.size()) {
    Query& q = queries_[exact_.next];
    const std::size_t g = exact_.next;
    // The score slot is free once the softmax's pass 1 has read query g - 2's scores, before this cycle.
    const bool slot_free =
        g < 2 || (softmax_.rows().rows() > g - 2 && softmax_.rows().pass1_last_issue(g - 2) < t);
    if (q.merge_out != kNever && slot_free) {
      const Head& h = heads_[q.head];
      const std::size_t beats = ceil_div(q.kept, lanes) * ceil_div(h.d, params_.exact_macs_per_lane);
      exact_ = Stage{true, g, 0, beats, g + 1};
      q.exact_start = t;
      score_[q.slot].assign(q.kept, 0);
      q.exact.assign(q.kept, 0);
    }
  }
  if (!exact_.active) return;
  const Query& q = queries_[exact_.item];
  const Head& h = heads_[q.head];
  const std::size_t chunks = ceil_div(h.d, params_.exact_macs_per_lane);
  const std::size_t group = exact_.beat / chunks, chunk = exact_.beat % chunks;
  const std::size_t t0 = chunk * params_.exact_macs_per_lane;
  const std::size_t t1 = std::min<std::size_t>(h.d, t0 + params_.exact_macs_per_lane);
  LaneBeat& b = exact_pipe_.insert();
  b.query = exact_.item;
  b.first = group * lanes;
  b.lanes = std::min<std::size_t>(lanes, q.kept - b.first);
  b.last_chunk = chunk + 1 == chunks;
  b.last_beat = exact_.beat + 1 == exact_.beats;
  b.part.assign(b.lanes, 0);
  for (std::size_t l = 0; l < b.lanes; ++l) {
    const std::size_t key = index_[q.slot][b.first + l];
    for (std::size_t i = t0; i < t1; ++i) b.part[l] += int{h.q[q.row * h.d + i]} * int{h.k[key * h.d + i]};
  }
  counters_.exact_macs += b.lanes * (t1 - t0);
  if (++exact_.beat == exact_.beats) {
    exact_.active = false;
    index_free_[q.slot] = t + 1;
  }
}

void TopkAttentionStepModel::issue_context(Cycle t) {
  const std::size_t lanes = params_.sv_lanes;
  if (!context_.active && context_.next < queries_.size()) {
    const std::size_t g = context_.next;
    Query& q = queries_[g];
    // The probabilities are complete the cycle after the softmax wrote the last of them.
    if (softmax_.rows().rows() > g && softmax_.rows().done(g) && softmax_.rows().timing(g).done < t) {
      const Head& h = heads_[q.head];
      const std::size_t beats = ceil_div(h.d, lanes) * ceil_div(q.kept, params_.sv_macs_per_lane);
      context_ = Stage{true, g, 0, beats, g + 1};
      q.context_start = t;
      const std::vector<std::int32_t>& p = softmax_.rows().output(g);
      q.p8.resize(q.kept);
      for (std::size_t n = 0; n < q.kept; ++n) q.p8[n] = h.rq.prob.apply(p[n]);
      q.context_acc.assign(h.d, 0);
      q.context.assign(h.d, 0);
    }
  }
  if (!context_.active) return;
  const Query& q = queries_[context_.item];
  const Head& h = heads_[q.head];
  const std::size_t chunks = ceil_div(q.kept, params_.sv_macs_per_lane);
  const std::size_t group = context_.beat / chunks, chunk = context_.beat % chunks;
  const std::size_t n0 = chunk * params_.sv_macs_per_lane;
  const std::size_t n1 = std::min<std::size_t>(q.kept, n0 + params_.sv_macs_per_lane);
  LaneBeat& b = context_pipe_.insert();
  b.query = context_.item;
  b.first = group * lanes;
  b.lanes = std::min<std::size_t>(lanes, h.d - b.first);
  b.last_chunk = chunk + 1 == chunks;
  b.last_beat = context_.beat + 1 == context_.beats;
  b.part.assign(b.lanes, 0);
  if (!h.v.empty()) {
    for (std::size_t l = 0; l < b.lanes; ++l) {
      for (std::size_t n = n0; n < n1; ++n) b.part[l] += q.p8[n] * int{h.v[q.topk[n] * h.d + b.first + l]};
    }
  }
  counters_.sv_macs += b.lanes * (n1 - n0);
  if (++context_.beat == context_.beats) {
    context_.active = false;
    prob_free_[q.slot] = t + 1;
  }
}

void TopkAttentionStepModel::step() {
  const Cycle t = now_;
  // 1. Results completing this cycle.
  if (QuantBeat* b = quant_pipe_.shift()) {
    Head& h = heads_[b->head];
    const std::size_t total = h.quant_beats_k + h.quant_beats_q;
    if (!b->code_pass) {
      std::uint32_t& m = h.amax[b->is_q ? 1 : 0];
      m = std::max(m, b->amax);
      if (++h.amax_arrived == total) h.amax_ready = true;
    } else {
      std::vector<std::int8_t>& buf = b->is_q ? code_q_[h.slot] : code_k_[h.slot];
      std::copy(b->codes.begin(), b->codes.end(), buf.begin() + static_cast<std::ptrdiff_t>(b->offset));
      if (++h.codes_arrived == total) {
        h.codes_ready = true;
        h.codes_cycle = t;
        h.q_codes = code_q_[h.slot];
        h.k_codes = code_k_[h.slot];
      }
    }
  }
  if (LaneBeat* b = approx_pipe_.shift()) {
    Query& q = queries_[b->query];
    for (std::size_t l = 0; l < b->lanes; ++l) {
      approx_acc_[l] += b->part[l];
      if (!b->last_chunk) continue;
      // Insertion sorter: the new score takes its place in the best-first list; the worst falls off.
      std::vector<Entry>& list = sorter_[q.slot][l];
      const Entry e{approx_acc_[l], static_cast<std::uint32_t>(b->first + l)};
      list.insert(std::find_if(list.begin(), list.end(), [&](const Entry& o) { return better(e, o); }), e);
      if (list.size() > q.kept) list.pop_back();
      approx_acc_[l] = 0;
      ++counters_.approx_scores;
    }
    if (b->last_beat) q.approx_out = t;
  }
  if (MergeBeat* b = merge_pipe_.shift()) {
    Query& q = queries_[b->query];
    index_[q.slot].insert(index_[q.slot].end(), b->keys.begin(), b->keys.end());
    if (b->last) {
      q.merge_out = t;
      q.topk = index_[q.slot];
    }
  }
  if (LaneBeat* b = exact_pipe_.shift()) {
    Query& q = queries_[b->query];
    for (std::size_t l = 0; l < b->lanes; ++l) {
      exact_acc_[l] += b->part[l];
      if (!b->last_chunk) continue;
      q.exact[b->first + l] = exact_acc_[l];
      score_[q.slot][b->first + l] = heads_[q.head].rq.score.apply(exact_acc_[l]);
      exact_acc_[l] = 0;
    }
    if (b->last_beat) {
      q.exact_out = t;
      q.scores = score_[q.slot];
      ++counters_.queries;
    }
  }
  if (LaneBeat* b = context_pipe_.shift()) {
    Query& q = queries_[b->query];
    const Requant& ctx = heads_[q.head].rq.ctx;
    for (std::size_t l = 0; l < b->lanes; ++l) {
      context_acc_[l] += b->part[l];
      if (!b->last_chunk) continue;
      q.context_acc[b->first + l] = context_acc_[l];
      q.context[b->first + l] = static_cast<std::int8_t>(ctx.apply(context_acc_[l]));
      context_acc_[l] = 0;
    }
    if (b->last_beat) {
      q.context_out = t;
      ++contexts_done_;
    }
  }
  // The softmax takes a row once its scores are complete and its probability slot is free, in query
  // order (softmax row index == global query index).
  while (softmax_next_ < queries_.size()) {
    Query& q = queries_[softmax_next_];
    if (q.exact_out == kNever || prob_free_[q.slot] > t) break;
    softmax_.enqueue(t, q.scores);
    prob_free_[q.slot] = kNever;
    ++softmax_next_;
  }
  // 2. The softmax unit's own cycle.
  softmax_.step();
  // 3. Issue.
  issue_quant(t);
  issue_approx(t);
  issue_merge(t);
  issue_exact(t);
  issue_context(t);
  ++now_;
}

TopkHeadResult TopkAttentionStepModel::result(std::size_t head) const {
  const Head& h = heads_[head];
  TopkHeadResult r;
  r.l_q = h.l_q;
  r.l_k = h.l_k;
  r.d = h.d;
  r.kept = h.kept;
  r.k_amax = h.amax[0];
  r.q_amax = h.amax[1];
  r.q_codes = h.q_codes;
  r.k_codes = h.k_codes;
  r.probs.assign(h.l_q * h.l_k, 0);
  r.timing.quant_start = h.quant_start;
  r.timing.codes_ready = h.codes_cycle;
  for (std::size_t i = 0; i < h.l_q; ++i) {
    const std::size_t g = h.first_query + i;
    const Query& q = queries_[g];
    r.topk.insert(r.topk.end(), q.topk.begin(), q.topk.end());
    r.topk.insert(r.topk.end(), h.kept - q.kept, kNoKey);
    r.exact_scores.insert(r.exact_scores.end(), q.exact.begin(), q.exact.end());
    r.exact_scores.insert(r.exact_scores.end(), h.kept - q.kept, 0);
    const std::vector<std::int32_t>& p = softmax_.rows().output(g);
    for (std::size_t n = 0; n < q.topk.size(); ++n) r.probs[i * h.l_k + q.topk[n]] = p[n];
    r.timing.queries.push_back(TopkQueryTiming{q.approx_start, q.merge_start, q.exact_start,
                                               softmax_.rows().timing(g), q.context_start, q.context_out});
    if (!h.v.empty()) {
      r.context_acc.insert(r.context_acc.end(), q.context_acc.begin(), q.context_acc.end());
      r.context.insert(r.context.end(), q.context.begin(), q.context.end());
    }
  }
  r.timing.done = r.timing.queries.back().context_done;
  return r;
}

}  // namespace tacsim::sfu
