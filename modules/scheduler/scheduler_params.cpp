#include "modules/scheduler/scheduler_params.h"

#include <fmt/format.h>

namespace tacsim::scheduler {

std::optional<PolicyKind> parse_policy(std::string_view name) {
  if (name == "fcfs") return PolicyKind::kFcfs;
  if (name == "padded") return PolicyKind::kPadded;
  if (name == "length-aware") return PolicyKind::kLengthAware;
  return std::nullopt;
}

const char* policy_name(PolicyKind kind) {
  switch (kind) {
    case PolicyKind::kFcfs:
      return "fcfs";
    case PolicyKind::kPadded:
      return "padded";
    case PolicyKind::kLengthAware:
      return "length-aware";
  }
  return "?";
}

std::string SchedulerParams::validate() const {
  if (policy != "auto" && !parse_policy(policy))
    return fmt::format("policy: expected auto, fcfs, padded or length-aware, got '{}'", policy);
  if (batch_size == 0 || batch_size > 4096)
    return fmt::format("batch_size: must be in 1..4096, got {}", batch_size);
  if (batch_timeout_ns > (1ull << 50))
    return fmt::format("batch_timeout_ns: must be at most 2^50 ns, got {}", batch_timeout_ns);
  if (max_batch_tokens == 0 || max_batch_tokens > (1u << 20))
    return fmt::format("max_batch_tokens: must be in 1..1048576, got {}", max_batch_tokens);
  if (max_in_flight > 1024) return fmt::format("max_in_flight: must be at most 1024, got {}", max_in_flight);
  return "";
}

}  // namespace tacsim::scheduler
