#pragma once
// Where a model run's requests come from (scheduler::ArrivalSource): a trace, streamed as the scheduler takes
// its requests, or the model's own sequences, all arriving at cycle 0 in the order listed.
#include <cstdint>
#include <optional>
#include <vector>

#include "modules/common/clock.h"
#include "modules/scheduler/request.h"
#include "traces/arrivals.h"
#include "traces/request_source.h"

namespace tacsim::sim {

// model.seq_lens x model.batch: request i is sequence i, arriving at cycle 0.
class SequenceArrivals : public scheduler::ArrivalSource {
 public:
  explicit SequenceArrivals(std::vector<std::uint32_t> lengths) : lengths_(std::move(lengths)) {}
  std::optional<Cycle> next_arrival() const override;
  scheduler::Request take() override;
  void finished(Cycle) override {}
  bool exhausted() const override { return next_ == lengths_.size(); }

 private:
  std::vector<std::uint32_t> lengths_;
  std::size_t next_ = 0;
};

// A request trace (traces/README.md): each request at the first cycle at or after its arrival_ns, open or
// closed loop. With `rate_per_s` > 0 an open-loop trace's arrivals are replaced, in order, by a Poisson
// process of that rate drawn from `seed` (traces/arrivals.h), its lengths kept.
class TraceArrivals : public scheduler::ArrivalSource {
 public:
  // Throws InputError (file:line) for a bad trace, or when a closed-loop trace is given a rate.
  TraceArrivals(traces::RequestTraceReader reader, const ClockDomain& clock, double rate_per_s,
                std::uint64_t seed);
  std::optional<Cycle> next_arrival() const override;
  scheduler::Request take() override;
  void finished(Cycle cycle) override;
  bool exhausted() const override { return source_.exhausted(); }

  const traces::RequestTraceReader& reader() const { return source_.reader(); }

 private:
  Cycle cycle_of(std::uint64_t ns) const;

  traces::RequestSource source_;
  const ClockDomain& clock_;
  std::optional<traces::RenewalArrivals> retimed_;
  std::uint64_t next_retimed_ns_ = 0;
  Cycle last_finish_ = 0;
};

}  // namespace tacsim::sim
