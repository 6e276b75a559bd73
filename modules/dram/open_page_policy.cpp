#include "modules/dram/page_policy.h"

namespace tacsim::dram {
namespace {

// Open page: a row stays open for whatever comes next; only a conflict (the scheduler's PRE) or refresh
// closes it. Best when accesses to a row come in runs (streams, tiles), as in DRAMsim3's OPEN_PAGE.
class OpenPagePolicy : public PagePolicy {
 public:
  bool auto_precharge(const BankQueue&) const override { return false; }
};

}  // namespace

std::unique_ptr<PagePolicy> make_open_page_policy() {
  return std::make_unique<OpenPagePolicy>();
}

}  // namespace tacsim::dram
