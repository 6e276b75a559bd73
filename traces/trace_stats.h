#pragma once
// The figures that describe a request trace: how many requests, their lengths and how fast they arrive.
// Lengths are kept as a histogram, so memory grows with the number of distinct lengths, not of requests.
// Plain C++.
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "traces/request_trace.h"

namespace tacsim::traces {

class TraceStats {
 public:
  void add(const Request& r);

  std::uint64_t requests() const { return requests_; }
  std::uint64_t tokens() const { return tokens_; }  // the sum of seq_len
  double mean_seq_len() const { return requests_ ? double(tokens_) / double(requests_) : 0.0; }
  // Nearest rank: the smallest length that at least p percent of the requests do not exceed (p in (0, 100]).
  std::uint32_t seq_len_percentile(double p) const;
  std::uint32_t max_seq_len() const { return lengths_.empty() ? 0 : lengths_.rbegin()->first; }
  std::uint64_t span_ns() const { return last_arrival_ns_ - first_arrival_ns_; }
  // Requests per second over the arrivals' span: (requests - 1) / span, the inverse of the mean gap;
  // nullopt when every request arrives at once (a closed loop).
  std::optional<double> mean_rate_per_s() const;
  double mean_output_len() const { return requests_ ? double(output_tokens_) / double(requests_) : 0.0; }
  // Requests longer than `max_len`.
  std::uint64_t longer_than(std::uint32_t max_len) const;

  // Lines for a person: "requests 872\nseq_len mean 25.2, p50 24, ...".
  std::string describe(bool with_output_len) const;

 private:
  std::map<std::uint32_t, std::uint64_t> lengths_;  // seq_len -> requests
  std::uint64_t requests_ = 0, tokens_ = 0, output_tokens_ = 0;
  std::uint64_t first_arrival_ns_ = 0, last_arrival_ns_ = 0;
};

}  // namespace tacsim::traces
