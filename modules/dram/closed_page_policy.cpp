#include "modules/dram/bank_queues.h"
#include "modules/dram/page_policy.h"

namespace tacsim::dram {
namespace {

// Closed page (adaptive): the last queued access to the open row precharges with it (RDA/WRA), so the next
// access to the bank, most likely to another row, finds it closed and pays tRCD instead of tRP + tRCD. Queued
// hits to the row still go first, as in DRAMSys' ClosedAdaptive policy.
class ClosedPagePolicy : public PagePolicy {
 public:
  bool auto_precharge(const BankQueue& bank) const override { return bank.queued_hits == 1; }
};

}  // namespace

std::unique_ptr<PagePolicy> make_closed_page_policy() {
  return std::make_unique<ClosedPagePolicy>();
}

}  // namespace tacsim::dram
