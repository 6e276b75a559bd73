#pragma once
// Sparse-attention unit after the length-adaptive accelerator (Peng et al., "A Length Adaptive
// Algorithm-Hardware Co-design of Transformer on FPGA Through Sparse Attention and Dynamic Pipelining",
// DAC 2022): for one head, Q and K are quantised to 4 bits, cheap LUT products rank every key for every
// query, and only the top-k keys of each query get an exact int8 Q.K^T, a softmax and the S.V product.
//
// Hardware, in order (each unit processes its work in order, one head or query at a time):
//   quantiser  quant_lanes int8 elements per cycle, depth quant_latency_cycles. Per head: one pass over K
//              then Q finds both tensors' max |x|; when the last of those beats completes, a second pass
//              writes the 4-bit codes. The codes are double-buffered by head.
//   approx     score_lanes lanes, each with lut_per_lane 4x4-bit LUT multipliers, an adder tree and an
//              accumulator: per query, keys go in groups of score_lanes (lane l takes key group*lanes + l),
//              each group taking ceil(d / lut_per_lane) cycles, G * P cycles in all. A score leaving the
//              lane pipeline (depth lut_latency_cycles, which includes the insert) goes into that lane's
//              top_k-entry insertion sorter, one score per lane per cycle. Sorter banks: 2 (by query).
//   merge      picks the best merge_width heads of the score_lanes sorted lists each cycle (a lane may give
//              several): ceil(kept / merge_width) cycles, depth merge_latency_cycles; writes the kept key
//              indices, best first. Index buffers: 2 (by query).
//   exact      exact_lanes lanes of exact_macs_per_lane int8 MACs: ceil(kept / exact_lanes) groups of
//              ceil(d / exact_macs_per_lane) cycles, depth exact_latency_cycles. Score buffers: 2.
//   softmax    a SoftmaxEngine (params.softmax) taking each query's kept exact scores as one row. Its
//              pass 3 writes the probabilities into a probability buffer: 2 slots (by query).
//   context    S.V over the kept keys: sv_lanes lanes, one context column each, of sv_macs_per_lane int8
//              MACs over kept keys: ceil(d / sv_lanes) column groups of Kc = ceil(kept / sv_macs_per_lane)
//              cycles, Y cycles in all, depth sv_latency_cycles (which includes ctx_rq and the write).
//              At cycle ys + n it issues column group n / Kc, key chunk n % Kc; a lane's column is written
//              when the beat of its last chunk completes.
// A unit starts a head or query when (a) its input is complete, (b) it has issued all of the previous
// one's beats, and (c) the buffer it writes is free: a buffer slot is released the cycle after the
// reading unit issued its last read of it (the softmax reads its input during pass 1). The softmax is
// held back as a whole: a row's pass 1 waits for its probability slot, since the unit cannot stall
// inside a row. With B = beats:
//   quantiser  qs = max(ready, previous quantiser end, code slot free);  codes = qs + 2(bK+bQ) - 2 + 2 Dq
//   approx     as = max(codes, prev as + G*P, sorter free);      a_out = as + G*P - 1 + D_lut
//   merge      ms = max(a_out, prev ms + M, index free);         m_out = ms + M - 1 + D_merge
//   exact      xs = max(m_out, prev xs + X, score free);         x_out = xs + X - 1 + D_exact
//   softmax    row of `kept` ready at max(x_out, probability slot free) (SoftmaxEngine's schedule); its
//              done cycle writes the last probability
//   context    ys = max(softmax done + 1, prev ys + prev Y);     y_out = ys + Y - 1 + D_sv
//              the probability slot is free from ys + Y; y_out is the query's done cycle, and the last
//              query's is the head's. The context rows leave the unit (in TopkUnit: into the head's output
//              block, drained after the head), so no buffer of the unit's holds this stage back.
// Per query the work is linear in l_k (G * P cycles of approximate scoring) and, for a fixed top_k,
// independent of l_k after that.
//
// Causal heads (TopkMask::kCausal, a decoder's prefill; l_k >= l_q): query i sees keys 0 .. l_k - l_q + i,
// its `visible` keys, and keeps kept = min(top_k, visible). Every per-query count above is taken over its own
// visible and kept keys (G = ceil(visible / score_lanes), M = ceil(kept / merge_width), and so on): a masked
// key is neither scored nor kept, and the softmax row holds that query's kept scores.
//
// Arithmetic:
//   codes      symmetric, per tensor: amax = max |x|, c = sign(x) floor((14 |x| + amax) / (2 amax)), i.e.
//              7 x / amax rounded half away from zero, in [-7, 7] (code -8 unused); all 0 when amax = 0.
//              The dequantised value is c * amax / 7.
//   LUT        256 entries indexed by (cq & 15) << 4 | (ck & 15); each holds the product of the two
//              sign-extended codes. The dequantisation factor (amax_q / 7)(amax_k / 7) is common to all
//              scores of a head, so it is left out: it cannot change the ranking.
//   approx     score(i, j) = sum over d of LUT[cq(i,t), ck(j,t)], int32.
//   top-k      the kept keys with the highest approximate scores among the visible ones, ties to the lower
//              key index.
//   exact      int32 sum of int8 products (exact_scores), then score_rq (default identity) into the score
//              buffer; softmax arithmetic exactly as SoftmaxArithmetic (the row max, sum and reciprocal are
//              over the kept keys only; dropped keys get probability 0).
//   context    p8 = prob_rq(p) as the lanes read the probability buffer (default: prob_frac_bits -> 7
//              fraction bits, so a probability of 1 saturates to 127); context_acc[c] = sum over the kept
//              keys j of p8[j] * v[j][c], int32, in any order (exact); context = ctx_rq(context_acc), int8.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "modules/common/requant.h"
#include "modules/common/types.h"
#include "modules/sfu/softmax_engine.h"

namespace tacsim::sfu {

// The top-k unit's softmax: SoftmaxParams' defaults with 32 lanes, a kept row of 32 in one beat a pass.
inline SoftmaxParams wide_softmax() {
  SoftmaxParams s;
  s.lanes = 32;
  return s;
}

struct TopkAttentionParams {
  // Our sizing; Peng et al. give the mechanism, not these widths. For a head of d = 64 and top_k = 32 every
  // per-query stage takes at most 16 cycles: approximate scoring of up to 1,024 keys (64 lanes x 64 LUTs, a
  // key per lane per cycle), exact Q.K (4 x 32 MACs) and S.V (4 x 32 MACs). Stages that share a pair of
  // slots must fit 2 queries in 32 cycles too: the merge (4 keys a cycle, 8 cycles) and exact Q.K hold an
  // index slot 8 - 1 + 2 + 16 = 25 cycles, the softmax (32 lanes, a beat a pass, done 14 cycles after its
  // first) and S.V a probability slot 14 + 1 + 16 = 31. So up to 1,024 tokens a head costs 16 cycles a
  // query and grows linearly with the length. Multipliers:
  // 4,096 4x4-bit LUT products (a quarter of an int8 MAC each: 1,024) plus 256 int8 MACs = 1,280 int8-MAC
  // equivalents (and the softmax's 32), under a third of the default PE array's 4,096.
  std::uint32_t top_k = 32;         // keys kept per query; also the entries per lane sorter
  std::uint32_t quant_lanes = 256;  // comparators and shifters, no multipliers
  std::uint32_t quant_latency_cycles = 2;
  std::uint32_t score_lanes = 64;
  std::uint32_t lut_per_lane = 64;
  std::uint32_t lut_latency_cycles = 4;  // LUT read, adder tree, accumulate, sorter insert
  std::uint32_t merge_width = 4;         // keys the merge picks per cycle
  std::uint32_t merge_latency_cycles = 2;
  std::uint32_t exact_lanes = 4;
  std::uint32_t exact_macs_per_lane = 32;
  std::uint32_t exact_latency_cycles = 3;
  std::uint32_t sv_lanes = 4;              // context columns computed side by side
  std::uint32_t sv_macs_per_lane = 32;     // kept keys per lane per cycle
  std::uint32_t sv_latency_cycles = 3;     // MAC, adder tree, accumulate, ctx_rq and write
  SoftmaxParams softmax = wide_softmax();  // the unit's softmax; its row slots hold top_k scores
  // The shell's (TopkUnit's) double buffering: read the next head's Q, K and V while this head computes,
  // the head the scheduler chains to this one on the same engine. Timing only; the engine does not read it.
  bool prefetch_next_head = true;

  // Messages for the nested softmax start with "softmax.".
  std::string validate() const;
};

// Which keys a query may see: all of them, or (a decoder's prefill) keys 0 .. l_k - l_q + i for query i.
enum class TopkMask { kNone, kCausal };
// Query i's visible keys (the header comment); mask kCausal needs l_k >= l_q.
inline std::size_t topk_visible_keys(std::size_t i, std::size_t l_q, std::size_t l_k, TopkMask mask) {
  return mask == TopkMask::kCausal ? l_k - l_q + i + 1 : l_k;
}
// Marks the unused slots of a causal query's kept keys (TopkHeadResult::topk).
inline constexpr std::uint32_t kNoKey = 0xffffffffu;

// Quantisation and the LUT (see the header comment).
std::uint32_t int4_amax(const std::int8_t* x, std::size_t n);
std::int8_t int4_code(std::int8_t x, std::uint32_t amax);
const std::array<std::int8_t, 256>& int4_product_lut();
inline std::size_t int4_lut_index(std::int8_t cq, std::int8_t ck) {
  return (static_cast<std::size_t>(cq & 15) << 4) | static_cast<std::size_t>(ck & 15);
}

struct TopkQueryTiming {
  Cycle approx_start = 0;
  Cycle merge_start = 0;
  Cycle exact_start = 0;
  RowTiming softmax;
  Cycle context_start = 0;
  Cycle context_done = 0;  // the query's done cycle: its last context column is written
  bool operator==(const TopkQueryTiming& o) const {
    return approx_start == o.approx_start && merge_start == o.merge_start && exact_start == o.exact_start &&
           softmax == o.softmax && context_start == o.context_start && context_done == o.context_done;
  }
};

struct TopkHeadTiming {
  Cycle quant_start = 0;
  Cycle codes_ready = 0;
  std::vector<TopkQueryTiming> queries;
  Cycle done = 0;
};

struct TopkHeadResult {
  std::size_t l_q = 0, l_k = 0, d = 0, kept = 0;  // kept = min(top_k, l_k): the most any query keeps
  std::uint32_t q_amax = 0, k_amax = 0;
  std::vector<std::int8_t> q_codes, k_codes;  // l_q x d, l_k x d
  // l_q x kept key indices, best first; a causal query keeping fewer fills the rest with kNoKey.
  std::vector<std::uint32_t> topk;
  std::vector<std::int32_t> exact_scores;  // l_q x kept, in topk order, before score_rq (0 where kNoKey)
  std::vector<std::int32_t> probs;         // l_q x l_k, 0 for keys not kept
  // Empty when the head was given no v.
  std::vector<std::int32_t> context_acc;  // l_q x d, before ctx_rq
  std::vector<std::int8_t> context;       // l_q x d
  TopkHeadTiming timing;
};

// The requantisers of one head (header comment, "Arithmetic"). The probability requantiser's default
// depends on the softmax's prob_frac_bits: TopkAttentionEngine::default_prob_rq(params).
struct TopkRequants {
  Requant score = Requant::identity32();
  Requant prob;
  Requant ctx{1, 0, -128, 127};
};

// Throws InputError unless 1 <= l_q, l_k, d, q and k hold l_q * d and l_k * d values, and a causal head has
// l_k >= l_q.
void check_topk_input(std::size_t l_q, std::size_t l_k, std::size_t d, const std::vector<std::int8_t>& q,
                      const std::vector<std::int8_t>& k, TopkMask mask = TopkMask::kNone);
// Also v (l_k * d values) and the requantisers: valid, with prob and ctx inside int8.
void check_topk_input(std::size_t l_q, std::size_t l_k, std::size_t d, const std::vector<std::int8_t>& q,
                      const std::vector<std::int8_t>& k, const std::vector<std::int8_t>& v,
                      const TopkRequants& rq, TopkMask mask = TopkMask::kNone);

// The arithmetic of the header comment in straight loops, independent of the engine's code: codes by the
// formula, approximate scores as code products, top-k by repeated selection. The softmax is
// SoftmaxArithmetic's (tested on its own).
struct TopkReference {
  std::vector<std::uint32_t> topk;        // l_q x kept, best first
  std::vector<std::int32_t> probs;        // l_q x l_k
  std::vector<std::int32_t> context_acc;  // l_q x d
  std::vector<std::int8_t> context;       // l_q x d
};
TopkReference reference_topk_head(const TopkAttentionParams& params, std::size_t l_q, std::size_t l_k,
                                  std::size_t d, const std::vector<std::int8_t>& q,
                                  const std::vector<std::int8_t>& k, const std::vector<std::int8_t>& v,
                                  const Requant& score_rq, const Requant& prob_rq, const Requant& ctx_rq,
                                  TopkMask mask = TopkMask::kNone);

class TopkAttentionEngine {
 public:
  struct Counters {
    std::uint64_t heads = 0;
    std::uint64_t queries = 0;
    std::uint64_t quant_beats = 0;  // both passes
    std::uint64_t lut_products = 0;
    std::uint64_t approx_scores = 0;  // also sorter inserts
    std::uint64_t kept_keys = 0;      // merge selections
    std::uint64_t exact_macs = 0;
    std::uint64_t sv_macs = 0;
    bool operator==(const Counters& o) const {
      return heads == o.heads && queries == o.queries && quant_beats == o.quant_beats &&
             lut_products == o.lut_products && approx_scores == o.approx_scores && kept_keys == o.kept_keys &&
             exact_macs == o.exact_macs && sv_macs == o.sv_macs;
    }
  };

  // Throws InputError when params.validate() fails.
  explicit TopkAttentionEngine(const TopkAttentionParams& params);

  // {1, prob_frac_bits - 7, -128, 127}: probabilities to 7 fraction bits (a multiplier when P < 7).
  static Requant default_prob_rq(const TopkAttentionParams& params);
  TopkRequants default_requants() const;

  // One head: q (l_q x d), k and v (l_k x d) int8, row-major, present from cycle `ready`. Heads go through
  // in call order.
  TopkHeadResult run_head(Cycle ready, std::size_t l_q, std::size_t l_k, std::size_t d,
                          const std::vector<std::int8_t>& q, const std::vector<std::int8_t>& k,
                          const std::vector<std::int8_t>& v, const TopkRequants& rq,
                          TopkMask mask = TopkMask::kNone);
  // Without v: everything up to the probabilities (score_rq identity); no context values, same timing.
  TopkHeadResult run_head(Cycle ready, std::size_t l_q, std::size_t l_k, std::size_t d,
                          const std::vector<std::int8_t>& q, const std::vector<std::int8_t>& k,
                          TopkMask mask = TopkMask::kNone);
  // Timing and counters only (no values), e.g. for long sequences.
  TopkHeadTiming schedule_head(Cycle ready, std::size_t l_q, std::size_t l_k, std::size_t d,
                               TopkMask mask = TopkMask::kNone);
  // Cycle the last accepted head is done (0 before any head).
  Cycle done_cycle() const { return last_done_; }

  // One head on an idle unit, ready at 0: evaluates the per-query closed forms above, O(l_q).
  static Cycle cycles(const TopkAttentionParams& params, std::size_t l_q, std::size_t l_k, std::size_t d,
                      TopkMask mask = TopkMask::kNone);

  const TopkAttentionParams& params() const { return params_; }
  const Counters& counters() const { return counters_; }
  const SoftmaxEngine::Counters& softmax_counters() const { return softmax_.counters(); }

 private:
  // run_head after its input checks; v empty: no context.
  TopkHeadResult head_values(Cycle ready, std::size_t l_q, std::size_t l_k, std::size_t d,
                             const std::vector<std::int8_t>& q, const std::vector<std::int8_t>& k,
                             const std::vector<std::int8_t>& v, const TopkRequants& rq, TopkMask mask);

  TopkAttentionParams params_;
  SoftmaxEngine softmax_;
  Cycle quant_free_ = 0;
  Cycle code_free_[2] = {0, 0};
  Cycle approx_free_ = 0, merge_free_ = 0, exact_free_ = 0;
  Cycle sorter_free_[2] = {0, 0};
  Cycle index_free_[2] = {0, 0};
  Cycle score_free_[2] = {0, 0};
  Cycle context_free_ = 0;
  Cycle prob_free_[2] = {0, 0};
  std::uint64_t queries_ = 0;  // global query index selects the double-buffer slot
  Cycle last_done_ = 0;
  Counters counters_;
};

// Clock-by-clock reference of TopkAttentionEngine: quantiser beats, LUT lane beats, per-lane insertion
// sorters, merge selections, exact and S.V MAC beats move through their pipelines one cycle per step(),
// and the softmax is a SoftmaxStepModel stepped in lockstep.
class TopkAttentionStepModel {
 public:
  explicit TopkAttentionStepModel(const TopkAttentionParams& params);
  TopkAttentionStepModel(const TopkAttentionStepModel&) = delete;
  TopkAttentionStepModel& operator=(const TopkAttentionStepModel&) = delete;

  // Returns the head's id for result(). Without v: no context values, as TopkAttentionEngine::run_head.
  std::size_t enqueue_head(Cycle ready, std::size_t l_q, std::size_t l_k, std::size_t d,
                           const std::vector<std::int8_t>& q, const std::vector<std::int8_t>& k,
                           const std::vector<std::int8_t>& v, const TopkRequants& rq,
                           TopkMask mask = TopkMask::kNone);
  std::size_t enqueue_head(Cycle ready, std::size_t l_q, std::size_t l_k, std::size_t d,
                           const std::vector<std::int8_t>& q, const std::vector<std::int8_t>& k,
                           TopkMask mask = TopkMask::kNone);
  void step();
  Cycle now() const { return now_; }
  bool idle() const;
  // Complete once idle().
  TopkHeadResult result(std::size_t head) const;
  TopkAttentionEngine::Counters counters() const { return counters_; }
  SoftmaxEngine::Counters softmax_counters() const { return softmax_.counters(); }

 private:
  struct Head {
    Cycle ready;
    std::size_t l_q, l_k, d, kept;  // kept: min(top_k, l_k), the most any query keeps
    TopkMask mask;
    std::vector<std::int8_t> q, k, v;  // v empty: no context values
    TopkRequants rq;
    std::size_t slot;         // code buffer
    std::size_t first_query;  // global index of query 0
    std::size_t quant_beats_k, quant_beats_q;
    std::uint32_t amax[2] = {0, 0};  // K, Q
    std::size_t amax_arrived = 0, codes_arrived = 0;
    bool amax_ready = false;
    bool codes_ready = false;
    Cycle quant_start = kNever, codes_cycle = kNever;
    std::vector<std::int8_t> q_codes, k_codes;  // copies taken when the codes complete
  };
  struct Query {
    std::size_t head, row, slot;
    std::size_t visible, kept;  // its keys and the kept ones
    Cycle approx_start = kNever, approx_out = kNever, merge_start = kNever, merge_out = kNever;
    Cycle exact_start = kNever, exact_out = kNever, context_start = kNever, context_out = kNever;
    std::vector<std::uint32_t> topk;
    std::vector<std::int32_t> exact;   // before score_rq
    std::vector<std::int32_t> scores;  // after: the softmax's row
    std::vector<std::int32_t> p8;      // prob_rq of the probabilities, topk order
    std::vector<std::int32_t> context_acc;
    std::vector<std::int8_t> context;
  };
  struct QuantBeat {
    std::size_t head = 0;
    bool code_pass = false;
    bool is_q = false;
    std::size_t offset = 0, n = 0;
    std::uint32_t amax = 0;
    std::vector<std::int8_t> codes;
  };
  struct LaneBeat {  // approx, exact and context stages: one partial sum per lane
    std::size_t query = 0;
    std::size_t first = 0;  // first key (approx), rank (exact) or column (context) of the group
    std::size_t lanes = 0;
    bool last_chunk = false, last_beat = false;
    std::vector<std::int32_t> part;
  };
  struct MergeBeat {
    std::size_t query = 0;
    std::vector<std::uint32_t> keys;  // best first
    bool last = false;
  };
  struct Stage {  // the unit's current query or head
    bool active = false;
    std::size_t item = 0, beat = 0, beats = 0;
    std::size_t next = 0;
  };
  using Entry = std::pair<std::int32_t, std::uint32_t>;  // score, key

  std::size_t add_head(Cycle ready, std::size_t l_q, std::size_t l_k, std::size_t d,
                       const std::vector<std::int8_t>& q, const std::vector<std::int8_t>& k,
                       const std::vector<std::int8_t>& v, const TopkRequants& rq, TopkMask mask);
  void issue_quant(Cycle t);
  void issue_approx(Cycle t);
  void issue_merge(Cycle t);
  void issue_exact(Cycle t);
  void issue_context(Cycle t);
  static bool better(const Entry& a, const Entry& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  }

  TopkAttentionParams params_;
  SoftmaxStepModel softmax_;
  std::vector<Head> heads_;
  std::vector<Query> queries_;
  // Buffers, two slots each.
  std::vector<std::int8_t> code_q_[2], code_k_[2];
  Cycle code_free_[2] = {0, 0};
  std::vector<std::vector<Entry>> sorter_[2];  // [slot][lane], best first
  Cycle sorter_free_[2] = {0, 0};
  std::vector<std::uint32_t> index_[2];
  Cycle index_free_[2] = {0, 0};
  std::vector<std::int32_t> score_[2];
  Cycle prob_free_[2] = {0, 0};   // the probabilities themselves stay in softmax_'s rows
  std::size_t softmax_next_ = 0;  // next query to hand to the softmax
  std::size_t contexts_done_ = 0;
  // Units.
  Stage quant_, approx_, merge_, exact_, context_;
  int quant_phase_ = 0;  // 0 idle, 1 amax pass, 2 waiting for amax, 3 code pass
  std::vector<std::int32_t> approx_acc_, exact_acc_, context_acc_;
  std::vector<std::size_t> merge_pos_;  // per lane: entries taken
  detail::ShiftPipe<QuantBeat> quant_pipe_;
  detail::ShiftPipe<LaneBeat> approx_pipe_;
  detail::ShiftPipe<MergeBeat> merge_pipe_;
  detail::ShiftPipe<LaneBeat> exact_pipe_;
  detail::ShiftPipe<LaneBeat> context_pipe_;
  Cycle now_ = 0;
  TopkAttentionEngine::Counters counters_;
};

}  // namespace tacsim::sfu
