#pragma once
// The DMA's bookkeeping, without SystemC: a move (a 2-D block: `rows` rows of `row_bytes`, `stride_bytes`
// apart in memory, packed back to back in the on-chip buffer) becomes a queue of transactions of at most
// `max_transaction_bytes` (DESIGN 3.9: a TLM transaction carries a tile's rows or a 4 KiB range, and the
// memory resolves its bursts inside). No row piece crosses a `max_transaction_bytes`-aligned boundary, so
// each maps onto whole DRAM bursts and pages the way a memory controller expects:
//  - rows that are contiguous in memory (stride = row length) count as one long row, cut at the boundaries;
//  - consecutive rows that each lie within one aligned block go together, as many as fit, in one 2-D
//    transaction (rows > 1, block_transfer.h);
//  - a row that crosses a boundary is cut there, each piece a transaction of its own.
// Moves complete in any order; transactions are issued in move order.
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "modules/common/types.h"

namespace tacsim::dma {

struct Params {
  std::uint32_t max_outstanding = 32;          // transactions in flight; matches the memory queue depth
  std::uint32_t max_transaction_bytes = 4096;  // power of two; a TLM payload may carry this much (DESIGN 3.9)

  std::string validate() const;
};

struct Move {
  bool write = false;  // true: buffer -> memory
  std::uint64_t address = 0;
  std::uint32_t rows = 1;
  std::uint32_t row_bytes = 0;
  std::uint64_t stride_bytes = 0;  // memory distance between rows
  std::uint8_t* local = nullptr;   // rows * row_bytes in the buffer
  std::function<void(Cycle)> on_done;
};

struct Transaction {
  std::uint64_t move = 0;
  bool write = false;
  std::uint64_t address = 0;
  std::uint32_t bytes = 0;  // in all: rows x row_bytes
  std::uint8_t* local = nullptr;
  std::uint32_t rows = 1;
  std::uint32_t row_bytes = 0;
  std::uint64_t stride = 0;  // rows > 1: memory distance between rows
};

class DmaEngine {
 public:
  struct Counters {
    std::uint64_t moves = 0;
    std::uint64_t transactions = 0;
    std::uint64_t read_bytes = 0;
    std::uint64_t write_bytes = 0;
    std::uint64_t active_cycles = 0;    // cycles with at least one transaction in flight
    std::uint64_t at_limit_cycles = 0;  // cycles with max_outstanding transactions in flight
  };

  explicit DmaEngine(const Params& p) : p_(p) {}

  // Splits a move into transactions at the tail of the queue; returns its id.
  std::uint64_t submit(Move m);
  bool has_pending() const { return !queue_.empty(); }
  bool can_issue() const { return !queue_.empty() && in_flight_ < p_.max_outstanding; }
  // Takes the next transaction for issue at cycle `now` (requires can_issue()).
  Transaction issue(Cycle now);
  // The transaction finished at `now`; returns the move's completion callback when it was the move's last
  // one.
  std::function<void(Cycle)> complete(const Transaction& t, Cycle now);

  std::uint32_t in_flight() const { return in_flight_; }
  const Counters& counters() const { return c_; }

 private:
  struct MoveState {
    std::uint64_t remaining = 0;
    std::function<void(Cycle)> on_done;
  };
  Params p_;
  std::deque<Transaction> queue_;
  std::deque<MoveState> moves_;  // indexed by move id - first_move_
  std::uint64_t first_move_ = 0;
  std::uint32_t in_flight_ = 0;
  Cycle active_since_ = 0;
  Cycle limit_since_ = 0;
  Counters c_;
};

}  // namespace tacsim::dma
