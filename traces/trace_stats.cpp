#include "traces/trace_stats.h"

#include <cmath>

#include <fmt/format.h>

namespace tacsim::traces {

void TraceStats::add(const Request& r) {
  if (requests_ == 0) first_arrival_ns_ = r.arrival_ns;
  last_arrival_ns_ = r.arrival_ns;
  ++requests_;
  tokens_ += r.seq_len;
  output_tokens_ += r.output_len;
  ++lengths_[r.seq_len];
}

std::uint32_t TraceStats::seq_len_percentile(double p) const {
  // Rank ceil(p / 100 * n), counted from 1.
  const auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * double(requests_)));
  std::uint64_t seen = 0;
  for (const auto& [len, count] : lengths_) {
    seen += count;
    if (seen >= rank) return len;
  }
  return max_seq_len();
}

std::optional<double> TraceStats::mean_rate_per_s() const {
  if (requests_ < 2 || span_ns() == 0) return std::nullopt;
  return double(requests_ - 1) / (double(span_ns()) * 1e-9);
}

std::uint64_t TraceStats::longer_than(std::uint32_t max_len) const {
  std::uint64_t n = 0;
  for (auto it = lengths_.upper_bound(max_len); it != lengths_.end(); ++it) n += it->second;
  return n;
}

std::string TraceStats::describe(bool with_output_len) const {
  std::string out = fmt::format("requests     {}\n", requests_);
  out += fmt::format("seq_len      mean {:.1f}, p50 {}, p95 {}, p99 {}, max {} ({} tokens in all)\n",
                     mean_seq_len(), seq_len_percentile(50), seq_len_percentile(95), seq_len_percentile(99),
                     max_seq_len(), tokens_);
  if (with_output_len) out += fmt::format("output_len   mean {:.1f}\n", mean_output_len());
  if (const auto rate = mean_rate_per_s())
    out += fmt::format("arrivals     over {:.3f} s, mean rate {:.1f} requests/s\n", double(span_ns()) * 1e-9,
                       *rate);
  else
    out += "arrivals     all at once\n";
  return out;
}

}  // namespace tacsim::traces
