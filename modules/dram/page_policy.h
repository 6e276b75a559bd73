#pragma once
// Page (row-buffer) policies: whether a column command closes its row behind it (RDA/WRA, auto-precharge).
// One implementation per file (open_page_policy.cpp, closed_page_policy.cpp), chosen by make_page_policy().
//
// Contract:
//  - auto_precharge() is asked once for every column command, just before it issues, with its bank's queue as
//    it stands then: the burst being served is still counted in `queued` and `queued_hits`.
//  - It may read the queue, never change it, and must answer the same for the same queue (the event-driven
//  and
//    the clock-by-clock paths of the engine ask at the same commands and must agree).
//  - It decides only about auto-precharge. A row it leaves open is closed later by the scheduler (a PRE for a
//    waiting conflict) or by refresh; a row it closes is reopened by an ACT when the next burst needs it.
#include <array>
#include <memory>
#include <string>

namespace tacsim::dram {

struct BankQueue;

enum class PagePolicyKind {
  kOpen,    // rows stay open after an access until a conflict or a refresh closes them
  kClosed,  // the last queued access to a row auto-precharges
};

class PagePolicy {
 public:
  virtual ~PagePolicy() = default;
  virtual bool auto_precharge(const BankQueue& bank) const = 0;
};

std::unique_ptr<PagePolicy> make_open_page_policy();
std::unique_ptr<PagePolicy> make_closed_page_policy();

inline std::unique_ptr<PagePolicy> make_page_policy(PagePolicyKind kind) {
  switch (kind) {
    case PagePolicyKind::kOpen:
      return make_open_page_policy();
    case PagePolicyKind::kClosed:
      return make_closed_page_policy();
  }
  return make_open_page_policy();
}

// The config names (`dram.page_policy`).
inline constexpr std::array<std::pair<PagePolicyKind, const char*>, 2> kPagePolicyNames = {{
    {PagePolicyKind::kOpen, "open"},
    {PagePolicyKind::kClosed, "closed"},
}};

}  // namespace tacsim::dram
