#pragma once
// Cycle-accurate DRAM controller and devices: per channel a front end, a queue of bursts (bank_queues.h), a
// command scheduler (scheduler.h), a page policy (page_policy.h), refresh (refresh.h) and the devices' JEDEC
// timing state (channel_timing.h); transactions in, commands out, completions back. Plain C++: it counts DRAM
// clock cycles and never includes <systemc>.
//
// Contract with the caller (the SystemC shell or a test):
//  - Cycles are processed in order. next_cycle() is the first cycle not yet processed; advance_to(t)
//    processes every cycle up to and including t, step(t) exactly the cycle t == next_cycle().
//  - try_enqueue(txn, now) needs now >= next_cycle(); it first processes the cycles before `now`. An
//    accepted transaction can be scheduled from cycle `now` on: at a wake-up, enqueue first, then advance.
//  - A transaction is split into bursts of burst_bytes() (bus width x burst length), row by row for a 2-D
//    block. Each channel's front
//    end holds the bursts of one transaction for that channel and moves them, in address order, into the
//    channel's queue as slots free up. try_enqueue() accepts a transaction when the front end of every
//    channel it touches is empty, else returns false without side effects (the shell delays END_REQ and
//    retries after a later advance_to(); acceptance only changes at cycles that advance_to() visits).
//  - next_event() is the earliest cycle at which advance_to() can issue a command, start a refresh or
//    release a completion; until then the engine changes nothing, so the shell sleeps until it.
//  - A transaction completes when the data of its last burst has crossed the bus: `finish` is the first
//    cycle after its last data beat. take_completions() returns those with finish < next_cycle(), ordered
//    by finish.
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "modules/common/latency_histogram.h"
#include "modules/common/types.h"
#include "modules/dram/address_map.h"
#include "modules/dram/dram_params.h"
#include "modules/dram/page_policy.h"
#include "modules/dram/read_write_queues.h"

namespace tacsim::dram {

enum class CommandType : std::uint8_t { kAct, kPre, kRd, kWr, kRda, kWra, kRef };  // RDA/WRA: auto-precharge
const char* to_string(CommandType type);

struct Command {
  Cycle cycle = 0;
  CommandType type = CommandType::kAct;
  std::uint32_t channel = 0;
  std::uint32_t rank = 0;
  std::uint32_t bankgroup = 0;  // REF: 0
  std::uint32_t bank = 0;       // within its bank group; REF: 0
  std::uint32_t row = 0;        // ACT: opened; RD/WR: accessed; PRE: the row it closes; REF: 0
  std::uint32_t column = 0;     // RD/WR: first column of the burst
};

// One range of `bytes` at `address`, or a 2-D block: `rows` such ranges, `stride` bytes apart (a DMA's tile
// rows, DESIGN 3.9). Its bursts are those of its rows, in address order, a burst shared by two rows once.
struct Transaction {
  std::uint64_t id = 0;
  std::uint64_t address = 0;
  std::uint32_t bytes = 0;  // per row: any length >= 1 and any alignment
  bool is_write = false;
  std::uint32_t rows = 1;
  std::uint64_t stride = 0;  // rows > 1: at least `bytes` (rows never overlap)
};

struct Completion {
  std::uint64_t id = 0;
  Cycle finish = 0;  // first cycle after the last data beat of the transaction
};

struct Counters {
  std::uint64_t read_transactions = 0;  // completed (released by take_completions)
  std::uint64_t write_transactions = 0;
  std::uint64_t read_bursts = 0;  // column commands issued
  std::uint64_t write_bursts = 0;
  std::uint64_t reads_forwarded = 0;  // read bursts served from the write buffer, never issued
  std::uint64_t writes_merged = 0;    // write bursts that replaced a buffered write of the same burst
  std::uint64_t write_drains = 0;     // drains of a write buffer started at its high watermark
  std::uint64_t row_hits = 0;         // bursts served from a row opened before they needed it
  std::uint64_t row_misses = 0;       // bursts that needed an ACT on a closed bank
  std::uint64_t row_conflicts = 0;    // bursts that needed a PRE of another row first
  std::uint64_t act_commands = 0;
  std::uint64_t pre_commands = 0;  // explicit PRE only; RDA/WRA precharge on their own
  std::uint64_t rd_commands = 0;
  std::uint64_t wr_commands = 0;
  std::uint64_t rda_commands = 0;
  std::uint64_t wra_commands = 0;
  std::uint64_t ref_commands = 0;
  std::uint64_t data_bus_busy_cycles = 0;     // summed over channels
  std::uint64_t refresh_cycles = 0;           // tRFC per REF, summed over ranks
  std::uint64_t read_latency_sum_cycles = 0;  // arrival to finish, over read transactions
  std::uint64_t write_latency_sum_cycles = 0;
  std::uint64_t queue_occupancy_sum = 0;    // bursts queued at the end of each cycle, summed over cycles
  std::uint64_t queue_occupancy_max = 0;    // bursts queued at once, all channels
  LatencyHistogram read_latency_histogram;  // arrival to finish, over read transactions
};

// Name, unit and description of each scalar counter, with a member pointer so the shell can bind live fields.
struct CounterInfo {
  const char* name;
  const char* unit;
  const char* description;
  std::uint64_t Counters::*field;
};
const std::vector<CounterInfo>& counter_infos();

class Engine {
 public:
  explicit Engine(const Params& params);  // throws tacsim::InputError when params.validate() fails
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // False when a front end the transaction needs is still busy. Throws std::out_of_range when the transaction
  // reaches beyond capacity, std::invalid_argument for zero bytes, std::logic_error when `now` was processed.
  bool try_enqueue(const Transaction& txn, Cycle now);
  // After try_enqueue() returned false: a cycle no later than the first at which the front end that refused
  // it can empty (the end of that channel's next column command, which frees a place in a bank queue and so
  // one in the read queue or write buffer, or of the cycle bursts just admitted move on). Until that cycle
  // has been processed, offering the same transaction again is refused, so a caller retrying it may sleep
  // until then (and for completions).
  Cycle next_retry_cycle() const;

  void advance_to(Cycle now);  // event-driven: visits only cycles where something can happen
  void step(Cycle now);        // clock-by-clock reference: processes exactly cycle now == next_cycle()
  Cycle next_event() const;    // >= next_cycle(), or kNever when nothing is queued or pending at all
  // A lower bound on the next cycle a completion can be released; kNever with nothing in flight. Exact for
  // transactions whose every burst has issued; for a read with n bursts still queued, the earliest column
  // command of a channel with queued reads, plus CL, plus a burst per burst it must still carry on its
  // busiest channel (at least n / channels); for bursts in a front end (a write acknowledged, or a read
  // served from the write buffer, as they move on) the cycle after the next event. A caller that needs
  // nothing else from the engine may sleep until then: advance_to() catches up on the rest.
  Cycle next_completion_bound() const;
  Cycle next_cycle() const { return next_cycle_; }

  std::vector<Completion> take_completions();
  // The same into `out` (its old contents dropped), swapping buffers so a caller that reuses `out` never
  // allocates.
  void take_completions(std::vector<Completion>& out);
  bool has_completions() const { return !ready_.empty(); }  // something for take_completions()
  bool idle() const;  // nothing staged, queued or in flight, and every completion taken

  const Counters& counters() const { return counters_; }
  const Params& params() const { return params_; }
  const AddressMap& address_map() const { return map_; }

  // Called for every command, in issue order (a test's legality checker, a command trace).
  void set_command_observer(std::function<void(const Command&)> observer) { observer_ = std::move(observer); }

 private:
  struct Channel;  // front end, queue, scheduler, refresh and device timing of one channel (dram_engine.cpp)
  struct Txn {
    std::uint64_t id;
    std::uint64_t order;  // acceptance order, breaks ties between equal finish cycles
    Cycle arrival;
    Cycle finish;
    std::uint32_t bursts;
    std::uint32_t done;  // bursts read, served from the write buffer, or (writes) in the write buffer
    bool is_write;
  };
  struct Done {
    Cycle finish;
    std::uint64_t order;
    std::uint64_t id;
    Cycle arrival;
    bool is_write;
  };

  void process_cycle(Cycle t, bool every_channel);
  Need issue_one(Channel& ch, Cycle t, bool reference, CommandBus bus);
  void issue(Channel& ch, const Pick& pick, Cycle t);
  Cycle recache(const Channel& ch) const;
  Cycle column_bound(const Channel& ch) const;
  void count_read_left(std::uint32_t left, int delta);
  void move_on(Channel& ch, Cycle t, bool move);
  bool admit_staged(Channel& ch, Cycle t);
  void insert_burst(Channel& ch, const PendingBurst& b);
  void burst_done(std::uint32_t txn, Cycle finish);
  void issue_act(Channel& ch, std::uint32_t slot, Cycle t);
  void issue_pre(Channel& ch, std::uint32_t bank, Cycle t, std::uint32_t slot);
  void issue_column(Channel& ch, std::uint32_t slot, Cycle t);
  void issue_ref(Channel& ch, std::uint32_t rank, Cycle t);
  void emit(const Channel& ch, CommandType type, std::uint32_t bank, std::uint32_t rank, std::uint32_t row,
            std::uint32_t column, Cycle t);
  void release_completions(Cycle t);
  void account_occupancy(Cycle until);

  Params params_;
  AddressMap map_;
  std::unique_ptr<PagePolicy> page_policy_;
  std::vector<Channel> channels_;
  std::vector<Txn> txns_;
  std::vector<std::uint32_t> free_txns_;
  std::vector<Done> done_heap_;  // min-heap on (finish, order)
  std::vector<Completion> ready_;
  std::uint64_t staged_ = 0;  // bursts held in channel front ends
  // The last refused transaction and the channel whose busy front end refused it: a retry of it is refused
  // without decoding its bursts again while that front end is still busy.
  Transaction refused_{};
  std::uint32_t refused_channel_ = 0;
  bool has_refused_ = false;

  Cycle next_cycle_ = 0;
  std::uint64_t next_seq_ = 0;      // burst arrival order, the age schedulers rank by
  std::uint64_t next_order_ = 0;    // transaction acceptance order
  std::uint64_t occupancy_ = 0;     // bursts in all read queues, write buffers and bank queues
  std::uint64_t queued_reads_ = 0;  // read bursts among them
  // Read transactions in flight by bursts still without a finish cycle (the last bucket: that many or more),
  // for next_completion_bound().
  static constexpr std::uint32_t kLeftBuckets = 64;
  std::array<std::uint64_t, kLeftBuckets + 1> reads_by_left_{};
  Cycle occupancy_accounted_ = 0;  // queue_occupancy_sum covers cycles before this one
  Counters counters_;
  std::function<void(const Command&)> observer_;
};

}  // namespace tacsim::dram
