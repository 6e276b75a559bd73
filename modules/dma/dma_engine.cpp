#include "modules/dma/dma_engine.h"

#include <stdexcept>

#include <fmt/format.h>

namespace tacsim::dma {

std::string Params::validate() const {
  if (max_outstanding == 0) return "max_outstanding: must be at least 1, got 0";
  if (max_transaction_bytes == 0 || (max_transaction_bytes & (max_transaction_bytes - 1)) != 0)
    return fmt::format("max_transaction_bytes: must be a power of two, got {}", max_transaction_bytes);
  return "";
}

std::uint64_t DmaEngine::submit(Move m) {
  if (m.row_bytes == 0 || m.rows == 0 || m.local == nullptr) throw std::logic_error("DmaEngine: empty move");
  const std::uint64_t id = first_move_ + moves_.size();
  MoveState st;
  st.on_done = std::move(m.on_done);
  const std::uint64_t unit = p_.max_transaction_bytes;
  // Rows that follow each other in memory are one range: its transactions run up to the aligned boundaries
  // rather than stopping at every row's end.
  const bool contiguous = m.stride_bytes == m.row_bytes || m.rows == 1;
  const std::uint32_t ranges = contiguous ? 1 : m.rows;
  const std::uint64_t range_bytes = contiguous ? std::uint64_t{m.rows} * m.row_bytes : m.row_bytes;
  // Rows that never overlap and fit an aligned block go several to a transaction.
  const std::uint32_t per_block =
      contiguous || m.stride_bytes < m.row_bytes ? 1 : static_cast<std::uint32_t>(unit / m.row_bytes);
  for (std::uint32_t r = 0; r < ranges;) {
    std::uint64_t addr = m.address + r * m.stride_bytes;
    std::uint8_t* local = m.local + std::uint64_t{r} * m.row_bytes;
    const auto within_block = [&](std::uint32_t row) {
      const std::uint64_t a = m.address + row * m.stride_bytes;
      return a % unit + m.row_bytes <= unit;
    };
    if (per_block > 1 && within_block(r)) {
      std::uint32_t n = 1;
      while (n < per_block && r + n < ranges && within_block(r + n)) ++n;
      Transaction t{id, m.write, addr, n * m.row_bytes, local, n, m.row_bytes, m.stride_bytes};
      if (n == 1) t.stride = 0;
      queue_.push_back(t);
      ++st.remaining;
      r += n;
      continue;
    }
    std::uint64_t left = range_bytes;
    while (left > 0) {
      // Cut at the next aligned boundary.
      const std::uint64_t n = std::min(left, unit - addr % unit);
      queue_.push_back(
          {id, m.write, addr, static_cast<std::uint32_t>(n), local, 1, static_cast<std::uint32_t>(n), 0});
      ++st.remaining;
      addr += n;
      local += n;
      left -= n;
    }
    ++r;
  }
  moves_.push_back(std::move(st));
  ++c_.moves;
  return id;
}

Transaction DmaEngine::issue(Cycle now) {
  if (!can_issue()) throw std::logic_error("DmaEngine: issue without a free slot");
  Transaction t = queue_.front();
  queue_.pop_front();
  if (in_flight_++ == 0) active_since_ = now;
  if (in_flight_ == p_.max_outstanding) limit_since_ = now;
  ++c_.transactions;
  (t.write ? c_.write_bytes : c_.read_bytes) += t.bytes;
  return t;
}

std::function<void(Cycle)> DmaEngine::complete(const Transaction& t, Cycle now) {
  if (in_flight_ == 0 || t.move < first_move_) throw std::logic_error("DmaEngine: completion of nothing");
  if (in_flight_ == p_.max_outstanding) c_.at_limit_cycles += now - limit_since_;
  if (--in_flight_ == 0) c_.active_cycles += now - active_since_;
  MoveState& st = moves_[t.move - first_move_];
  std::function<void(Cycle)> done;
  if (--st.remaining == 0) {
    done = std::move(st.on_done);
    if (!done) done = [](Cycle) {};
  }
  // Forget finished moves at the front so the deque stays as short as the moves in flight.
  while (!moves_.empty() && moves_.front().remaining == 0) {
    moves_.pop_front();
    ++first_move_;
  }
  return done;
}

}  // namespace tacsim::dma
