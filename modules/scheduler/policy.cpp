#include "modules/scheduler/policy.h"

#include "modules/scheduler/in_order_policy.h"

namespace tacsim::scheduler {

std::unique_ptr<Policy> make_policy(PolicyKind kind) {
  switch (kind) {
    case PolicyKind::kInOrder:
      return std::make_unique<InOrderPolicy>();
  }
  return nullptr;
}

}  // namespace tacsim::scheduler
