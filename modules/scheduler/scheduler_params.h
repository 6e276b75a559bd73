#pragma once
// The scheduler's parameters: which policy (policy.h) and the limits it batches and admits under.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "modules/common/types.h"

namespace tacsim::scheduler {

enum class PolicyKind : std::uint8_t {
  kFcfs,         // batches of one sequence, oldest first (fcfs_policy.h)
  kPadded,       // the GPU baseline: batches padded to their longest sequence (padded_policy.h)
  kLengthAware,  // Peng et al. DAC 2022: packed batches, tasks by longest path to the end
                 // (length_aware_policy.h)
};
// "fcfs", "padded", "length-aware"; nullopt for anything else.
std::optional<PolicyKind> parse_policy(std::string_view name);
const char* policy_name(PolicyKind kind);

struct SchedulerParams {
  // auto: length-aware when a trace drives the run, fcfs for a model's own sequences (back to back, as
  // listed).
  std::string policy = "auto";
  std::uint32_t batch_size = 8;              // padded: sequences per batch at most
  std::uint64_t batch_timeout_ns = 1000000;  // padded: a batch closes when its oldest has waited this long
  std::uint32_t max_batch_tokens = 512;  // length-aware: tokens per batch at most (a longer sequence alone)
  std::uint32_t max_in_flight = 0;       // batches holding activation memory at once; 0: one per engine

  std::string validate() const;
};

// What the engine and its policies work with: the limits in cycles and slots.
struct BatchLimits {
  std::uint32_t batch_size = 1;
  Cycle batch_timeout = 0;
  std::uint32_t max_batch_tokens = 1;
  std::uint32_t slots = 1;  // batches in flight at most
};

}  // namespace tacsim::scheduler
