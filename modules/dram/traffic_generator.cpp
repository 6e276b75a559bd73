#include "modules/dram/traffic_generator.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "modules/common/error.h"

namespace tacsim::dram {

using namespace sc_core;

PatternSource::PatternSource(const TrafficPattern& pattern, std::uint64_t capacity_bytes,
                             std::uint32_t burst_bytes)
    : p_(pattern), capacity_(capacity_bytes), rng_(pattern.seed) {
  if (p_.request_bytes == 0) p_.request_bytes = p_.pattern == "stream" ? 4096 : burst_bytes;
  if (p_.bytes == 0) throw InputError("config: memtest.bytes: must be at least 1, got 0");
  // 1 TiB is already about 4 s of HBM2 at its peak, hours of simulation: beyond it is a typo.
  constexpr std::uint64_t kMaxBytes = std::uint64_t{1} << 40;
  if (p_.bytes > kMaxBytes)
    throw InputError(fmt::format("config: memtest.bytes: at most {} (1 TiB), got {}", kMaxBytes, p_.bytes));
  if (!(p_.read_ratio >= 0 && p_.read_ratio <= 1))
    throw InputError(fmt::format("config: memtest.read_ratio: must be in [0, 1], got {}", p_.read_ratio));
  if (p_.request_bytes > capacity_bytes)
    throw InputError("config: memtest.request_bytes: larger than the DRAM");
  if (p_.pattern != "stream" && p_.pattern != "strided" && p_.pattern != "random")
    throw InputError(
        fmt::format("config: memtest.pattern: must be stream, random or strided, got '{}'", p_.pattern));
  if (p_.pattern == "strided" && p_.stride_bytes == 0)
    throw InputError("config: memtest.stride_bytes: must be at least 1, got 0");
  count_ = p_.bytes / p_.request_bytes + (p_.bytes % p_.request_bytes != 0);
  slots_ = capacity_bytes / p_.request_bytes;
}

bool PatternSource::next(TrafficRequest& r) {
  if (i_ == count_) return false;
  r = TrafficRequest{};
  r.bytes = p_.request_bytes;
  if (p_.pattern == "stream") {
    r.address = (i_ % slots_) * p_.request_bytes;
  } else if (p_.pattern == "strided") {
    r.address = (i_ * p_.stride_bytes) % (capacity_ - p_.request_bytes + 1);
  } else {
    r.address = rng_.below(slots_) * p_.request_bytes;
  }
  r.is_write = rng_.uniform() >= p_.read_ratio;
  ++i_;
  return true;
}

TrafficGenerator::TrafficGenerator(const sc_module_name& name, const ClockDomain& clock, Source source,
                                   std::uint32_t max_outstanding, std::uint32_t requests_per_cycle,
                                   bool check_data)
    : sc_module(name),
      initiator_socket("initiator_socket"),
      clock_(clock),
      source_(std::move(source)),
      max_outstanding_(max_outstanding),
      requests_per_cycle_(std::max(1u, requests_per_cycle)),
      check_data_(check_data),
      committed_(std::numeric_limits<std::uint64_t>::max()),
      protocol_(this->name(), work_event_, [this](tlm::tlm_generic_payload& p) { finish(p); }) {
  initiator_socket.register_nb_transport_bw(this, &TrafficGenerator::nb_transport_bw);
  SC_METHOD(issue);
  stats_.add("requests", &issued_, "transactions", "requests sent");
  stats_.add("completed", &completed_, "transactions", "responses received");
  stats_.add("data_errors", &data_errors_, "transactions", "checked reads whose data differed");
  stats_.add("reads_checked", &reads_checked_, "transactions", "reads whose data was compared");
  stats_.add("reads_racing_writes", &reads_racing_, "transactions",
             "reads not compared: a write to the same line was in flight");
  stats_.add("backpressure_cycles", &stall_cycles_, "cycles",
             "cycles requests waited past their trace cycle (END_REQ or the outstanding limit)");
}

TrafficGenerator::~TrafficGenerator() {
  // A payload still held by the memory at teardown must not call back into a destroyed generator.
  for (Slot& slot : slots_) slot.payload->set_mm(nullptr);
}

// A method that runs as far as it can and re-arms where the loop it replaces would have waited: for the next
// request's cycle (and its BEGIN_REQ slot), then for END_REQ of the previous request and a free outstanding
// slot, then for the DRAM-clock edge if woken between two. `stage_` says which of those waits it is in.
void TrafficGenerator::issue() {
  for (;;) {
    if (!have_pending_) {
      if (exhausted_ || !source_(pending_)) {
        exhausted_ = true;
        if (done()) finished_event_.notify(SC_ZERO_TIME);
        return;
      }
      have_pending_ = true;
    }
    const TrafficRequest& r = pending_;
    if (stage_ == Stage::kCycle) {
      stage_ = Stage::kSlot;
      if (rearm_at(std::max(r.cycle, next_free_))) return;
    }
    if (stage_ == Stage::kSlot) {
      if (protocol_.request_open() || issued_ - completed_ >= max_outstanding_) {
        next_trigger(work_event_);
        return;
      }
      stage_ = Stage::kEdge;
      if (rearm_at(clock_.now())) return;
    }
    stage_ = Stage::kCycle;
    have_pending_ = false;
    const Cycle now = clock_.now();
    if (now > r.cycle) stall_cycles_ += now - std::max(r.cycle, next_free_);
    if (now != slot_cycle_) {
      slot_cycle_ = now;
      used_ = 0;
    }
    if (++used_ == requests_per_cycle_) next_free_ = now + 1;

    const std::uint32_t s = take_slot();
    Slot& slot = slots_[s];
    slot.request = r;
    std::uint8_t* data = nullptr;
    if (check_data_) {
      prepare_checks(s, issued_);
      data = slot.data.data();
    } else {
      if (scratch_.size() < r.bytes) scratch_.resize(r.bytes);
      data = scratch_.data();  // nobody reads it
    }
    slot.payload->acquire();
    AtInitiator::prepare(*slot.payload, r.is_write, r.address, data, r.bytes);
    ++issued_;
    protocol_.send(initiator_socket, *slot.payload);
  }
}

std::uint32_t TrafficGenerator::take_slot() {
  if (free_slots_.empty()) {
    const auto s = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
    slots_.back().payload = std::make_unique<SlotPayload>(this, s);
    return s;
  }
  const std::uint32_t s = free_slots_.back();
  free_slots_.pop_back();
  return s;
}

namespace {

bool overlap(const TrafficRequest& a, const TrafficRequest& b) {
  return a.address / 64 <= (b.address + b.bytes - 1) / 64 && b.address / 64 <= (a.address + a.bytes - 1) / 64;
}

}  // namespace

// A write's bytes differ by address and by request, so stale or misplaced data shows. A read is checkable
// while no write to its lines is in flight; its expected bytes are those of the writes completed when it is
// sent.
void TrafficGenerator::prepare_checks(std::uint32_t s, std::uint64_t index) {
  Slot& slot = slots_[s];
  const TrafficRequest& r = slot.request;
  if (slot.data.size() < r.bytes) slot.data.resize(r.bytes);
  if (r.is_write) {
    for (std::uint32_t b = 0; b < r.bytes; ++b)
      slot.data[b] = static_cast<std::uint8_t>((r.address + b) * 131 + index * 7 + 1);
    for (std::uint32_t o : reads_)
      if (overlap(slots_[o].request, r)) slots_[o].checkable = false;  // may now see either value
    slot.listed = writes_.size();
    writes_.push_back(s);
    return;
  }
  slot.checkable = true;
  for (std::uint32_t o : writes_)
    if (overlap(slots_[o].request, r)) slot.checkable = false;
  if (slot.expect.size() < r.bytes) slot.expect.resize(r.bytes);
  committed_.read(r.address, slot.expect.data(), r.bytes);
  slot.listed = reads_.size();
  reads_.push_back(s);
}

void TrafficGenerator::unlist(std::vector<std::uint32_t>& list, std::uint32_t s) {
  const std::size_t at = slots_[s].listed;
  list[at] = list.back();
  slots_[list[at]].listed = at;
  list.pop_back();
}

bool TrafficGenerator::rearm_at(Cycle c) {
  const sc_time target = clock_.time_at(c);
  if (target <= sc_time_stamp()) return false;
  next_trigger(target - sc_time_stamp());
  return true;
}

tlm::tlm_sync_enum TrafficGenerator::nb_transport_bw(tlm::tlm_generic_payload& p, tlm::tlm_phase& phase,
                                                     sc_time& t) {
  return protocol_.backward(p, phase, t);
}

void TrafficGenerator::finish(tlm::tlm_generic_payload& p) {
  if (p.is_response_error()) SC_REPORT_ERROR(name(), p.get_response_string().c_str());
  const std::uint32_t s = static_cast<SlotPayload&>(p).slot;
  Slot& slot = slots_[s];
  if (check_data_) {
    const TrafficRequest& r = slot.request;
    if (r.is_write) {
      committed_.write(r.address, slot.data.data(), r.bytes);
      unlist(writes_, s);
    } else {
      if (!slot.checkable) {
        ++reads_racing_;
      } else {
        ++reads_checked_;
        if (std::memcmp(slot.data.data(), slot.expect.data(), r.bytes) != 0) ++data_errors_;
      }
      unlist(reads_, s);
    }
  }
  p.release();
  // issue() waits on work_event_ for the request phase to close (END_REQ notifies it) or for the outstanding
  // limit: only the second is this response's to lift. Waking it otherwise would find it blocked as before.
  const bool at_limit = issued_ - completed_ >= max_outstanding_;
  ++completed_;
  last_response_ = clock_.now();
  if (at_limit) work_event_.notify(SC_ZERO_TIME);
  if (done()) finished_event_.notify(SC_ZERO_TIME);
}

void TrafficGenerator::free(tlm::tlm_generic_payload* p) {
  const std::uint32_t s = static_cast<SlotPayload*>(p)->slot;
  p->reset();
  free_slots_.push_back(s);
}

}  // namespace tacsim::dram
