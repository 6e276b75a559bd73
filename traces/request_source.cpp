#include "traces/request_source.h"

#include <stdexcept>
#include <utility>

#include <fmt/format.h>

namespace tacsim::traces {

RequestSource::RequestSource(RequestTraceReader reader) : reader_(std::move(reader)) {
  if (const auto& loop = reader_.layout().closed_loop) releases_.assign(loop->clients, 0);
}

std::optional<std::uint64_t> RequestSource::next_arrival_ns() const {
  const Request* next = reader_.peek();
  if (next == nullptr) return std::nullopt;
  if (!closed_loop()) return next->arrival_ns;
  if (releases_.empty()) return std::nullopt;
  return releases_.front();
}

Request RequestSource::take() {
  const auto at = next_arrival_ns();
  if (!at) throw std::logic_error("RequestSource::take: no request is due (check next_arrival_ns first)");
  Request r;
  reader_.next(r);
  r.arrival_ns = *at;
  if (closed_loop()) releases_.pop_front();
  return r;
}

void RequestSource::finished(std::uint64_t finish_ns) {
  if (finish_ns < last_finish_ns_)
    throw std::logic_error(fmt::format(
        "RequestSource::finished: {} ns is before the previous finish at {} ns", finish_ns, last_finish_ns_));
  last_finish_ns_ = finish_ns;
  if (closed_loop()) releases_.push_back(finish_ns + reader_.layout().closed_loop->think_ns);
}

}  // namespace tacsim::traces
