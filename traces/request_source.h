#pragma once
// Hands a trace's requests to a scheduler when they arrive, open or closed loop (traces/README.md).
//
// Contract:
// - Open loop: each request arrives at its arrival_ns, in file order.
// - Closed loop (`# arrival: closed clients=N think_ns=T`): the first N requests (in file order) arrive at 0;
//   each call to finished(t) releases the next request in file order at t + T. So N requests are in flight
//   or waiting at any time until the trace runs out.
// - The scheduler calls finished() once per request it completes, in non-decreasing time order; requests
//   released at the same time arrive in the order of the finished() calls that released them.
// - Memory: the reader holds one row; a closed loop adds at most N release times.
// Plain C++: the scheduler's SystemC shell turns arrival times into events.
#include <cstdint>
#include <deque>
#include <optional>

#include "traces/request_trace.h"

namespace tacsim::traces {

class RequestSource {
 public:
  explicit RequestSource(RequestTraceReader reader);

  bool closed_loop() const { return reader_.layout().closed_loop.has_value(); }
  // When the next request arrives; nullopt when none will until a request finishes (closed loop, every
  // client busy) or the trace is exhausted.
  std::optional<std::uint64_t> next_arrival_ns() const;
  // Takes that request, its arrival_ns set to when it arrives (in a closed loop, its release time).
  // Precondition: next_arrival_ns() has a value.
  Request take();
  // A request finished at `finish_ns`: in a closed loop its client's next request arrives at finish_ns + T.
  // Open loop: nothing happens.
  void finished(std::uint64_t finish_ns);
  // Every request has been taken.
  bool exhausted() const { return reader_.peek() == nullptr; }

  // The reader's counts (rows, truncated, dropped) for the run's report.
  const RequestTraceReader& reader() const { return reader_; }

 private:
  RequestTraceReader reader_;
  std::deque<std::uint64_t> releases_;  // closed loop: the release times not yet taken, in order
  std::uint64_t last_finish_ns_ = 0;
};

}  // namespace tacsim::traces
