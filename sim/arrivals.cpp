#include "sim/arrivals.h"

#include <algorithm>

#include <fmt/format.h>

#include "modules/common/error.h"

namespace tacsim::sim {

std::optional<Cycle> SequenceArrivals::next_arrival() const {
  if (exhausted()) return std::nullopt;
  return Cycle{0};
}

scheduler::Request SequenceArrivals::take() {
  scheduler::Request r;
  r.id = next_;
  r.arrival = 0;
  r.length = lengths_.at(next_++);
  return r;
}

TraceArrivals::TraceArrivals(traces::RequestTraceReader reader, const ClockDomain& clock, double rate_per_s,
                             std::uint64_t seed)
    : source_(std::move(reader)), clock_(clock) {
  if (rate_per_s > 0) {
    if (source_.closed_loop())
      throw InputError(
          "config: trace.rate_per_s: re-times an open-loop trace's arrivals; this trace is a closed "
          "loop (its arrivals follow its finishes)");
    retimed_.emplace(rate_per_s, 1.0, seed);
    next_retimed_ns_ = retimed_->next_ns();
  }
}

Cycle TraceArrivals::cycle_of(std::uint64_t ns) const {
  // Exact in femtoseconds up to 2^64 fs (5 hours); beyond that the nearest cycle from a double.
  if (ns <= (~0ull) / 1000000ull) return clock_.cycle_at_or_after(ns * 1000000ull);
  return static_cast<Cycle>(double(ns) * clock_.clock_mhz() * 1e-3);
}

std::optional<Cycle> TraceArrivals::next_arrival() const {
  const auto ns = source_.next_arrival_ns();
  if (!ns) return std::nullopt;
  const Cycle at = cycle_of(retimed_ ? next_retimed_ns_ : *ns);
  // A closed loop releases at a finish's time, in whole ns: never before that finish's cycle. An open loop's
  // arrivals are the trace's own, whatever has finished.
  return source_.closed_loop() ? std::max(at, last_finish_) : at;
}

scheduler::Request TraceArrivals::take() {
  const traces::Request t = source_.take();
  std::uint64_t ns = t.arrival_ns;
  if (retimed_) {
    ns = next_retimed_ns_;
    next_retimed_ns_ = retimed_->next_ns();
  }
  scheduler::Request r;
  r.id = t.id;
  r.arrival = source_.closed_loop() ? std::max(cycle_of(ns), last_finish_) : cycle_of(ns);
  r.arrival_ns = ns;
  r.length = t.seq_len;
  return r;
}

void TraceArrivals::finished(Cycle cycle) {
  last_finish_ = cycle;
  source_.finished(clock_.fs_at(cycle) / 1000000ull);
}

}  // namespace tacsim::sim
