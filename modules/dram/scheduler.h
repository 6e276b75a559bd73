#pragma once
// Command schedulers: which queued burst's next command (ACT, PRE or RD/WR) a channel issues, and when. One
// implementation per file (fr_fcfs_scheduler.cpp), chosen by make_scheduler().
//
// Contract:
//  - The engine owns the queue, the device timing and refresh, and shows them as a ChannelView; a scheduler
//    reads them and never changes them. Refresh goes first: the engine asks the scheduler only in cycles
//    where refresh issues nothing, and a scheduler must not pick a burst of a rank that is draining for
//    refresh.
//  - A burst needs the command its bank's state calls for: RD/WR when its row is open, ACT when the bank is
//    closed, PRE when another row is open. A scheduler must not pick a burst the queue reports blocked (an
//    older access to the same column goes first).
//  - pick(view, t) is the reference: the command to issue at cycle t, decided from the view alone. It returns
//    a burst whose command is legal at t, or none (slot == kNoSlot).
//  - next(view, from) is the event path: the earliest cycle c >= from at which pick() would return a command
//  if
//    nothing changed in between, with that command (at == kNever: none). It may keep caches between calls:
//    the engine reports every change before the next call to next(): bank_changed() for a burst that arrived
//    or left or a row that opened or closed, timing_changed() for a command that raised the earliest cycle of
//    one kind of command in a rank, rank_changed() for a rank that started or finished draining.
//  - The two agree: next(view, c).at == c iff pick(view, c) returns a command, and then the same one. The
//    differential test (tests/unit/dram_engine_test.cpp) holds them equal on randomized traffic.
#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <utility>

#include "modules/common/types.h"

namespace tacsim::dram {

class BankQueues;
class ChannelTiming;
class Refresh;
struct Params;

inline constexpr std::uint32_t kNoSlot = std::numeric_limits<std::uint32_t>::max();

enum class Need : std::uint8_t { kNone, kColumn, kPre, kAct };

// The command bus a command may use: kAny where there is one bus for every command.
enum class CommandBus : std::uint8_t { kAny, kRow, kColumn };

inline bool on_bus(Need need, CommandBus bus) {
  return bus == CommandBus::kAny || (need == Need::kColumn) == (bus == CommandBus::kColumn);
}

struct Pick {
  std::uint32_t slot = kNoSlot;  // the queued burst on whose behalf the command issues
  Need need = Need::kNone;
  Cycle at = kNever;
  // next() with kAny: no command for the other bus than this pick's (row if it is a column command, column
  // otherwise) is legal before this cycle. A lower bound: the engine asks for a second command of the cycle
  // only from it on.
  Cycle other_at = 0;
};

struct ChannelView {
  const BankQueues& queues;
  const ChannelTiming& timing;
  const Refresh& refresh;
};

class Scheduler {
 public:
  virtual ~Scheduler() = default;
  virtual Pick pick(const ChannelView& view, Cycle t, CommandBus bus) = 0;
  virtual Pick next(const ChannelView& view, Cycle from, CommandBus bus) = 0;
  virtual void bank_changed(std::uint32_t bank) = 0;
  virtual void timing_changed(std::uint32_t rank, Need waiters) = 0;
  virtual void rank_changed(std::uint32_t rank) = 0;
  // The command of a pick() or next() issued, in `bank` (refresh commands are not reported).
  virtual void issued(std::uint32_t bank) = 0;
};

enum class SchedulerKind {
  kFrFcfs,          // first ready, first come first served, with a row-hit cap (fr_fcfs_scheduler.cpp)
  kBankRoundRobin,  // bank queues in turn, each its first ready command (bank_round_robin_scheduler.cpp)
};

std::unique_ptr<Scheduler> make_fr_fcfs_scheduler(const Params& params);
std::unique_ptr<Scheduler> make_bank_round_robin_scheduler(const Params& params);

inline std::unique_ptr<Scheduler> make_scheduler(SchedulerKind kind, const Params& params) {
  switch (kind) {
    case SchedulerKind::kFrFcfs:
      return make_fr_fcfs_scheduler(params);
    case SchedulerKind::kBankRoundRobin:
      return make_bank_round_robin_scheduler(params);
  }
  return make_fr_fcfs_scheduler(params);
}

// The config names (`dram.scheduler`).
inline constexpr std::array<std::pair<SchedulerKind, const char*>, 2> kSchedulerNames = {{
    {SchedulerKind::kFrFcfs, "fr-fcfs"},
    {SchedulerKind::kBankRoundRobin, "bank-round-robin"},
}};

}  // namespace tacsim::dram
