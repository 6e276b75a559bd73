#include "modules/dram/traffic_generator.h"

#include <algorithm>

#include <fmt/format.h>

#include "modules/common/error.h"
#include "modules/common/rng.h"

namespace tacsim::dram {

using namespace sc_core;

std::vector<TrafficRequest> make_pattern(const TrafficPattern& pattern, std::uint64_t capacity_bytes,
                                         std::uint32_t burst_bytes) {
  TrafficPattern p = pattern;
  if (p.request_bytes == 0) p.request_bytes = p.pattern == "stream" ? 4096 : burst_bytes;
  if (p.bytes == 0) throw InputError("config: memtest.bytes: must be at least 1, got 0");
  if (!(p.read_ratio >= 0 && p.read_ratio <= 1))
    throw InputError(fmt::format("config: memtest.read_ratio: must be in [0, 1], got {}", p.read_ratio));
  if (p.request_bytes > capacity_bytes)
    throw InputError("config: memtest.request_bytes: larger than the DRAM");
  const std::uint64_t n = (p.bytes + p.request_bytes - 1) / p.request_bytes;
  const std::uint64_t slots = capacity_bytes / p.request_bytes;  // request-aligned positions
  Rng rng(p.seed);
  std::vector<TrafficRequest> out;
  out.reserve(n);
  for (std::uint64_t i = 0; i < n; ++i) {
    TrafficRequest r;
    r.bytes = p.request_bytes;
    if (p.pattern == "stream") {
      r.address = (i % slots) * p.request_bytes;
    } else if (p.pattern == "strided") {
      if (p.stride_bytes == 0) throw InputError("config: memtest.stride_bytes: must be at least 1, got 0");
      r.address = (i * p.stride_bytes) % (capacity_bytes - p.request_bytes + 1);
    } else if (p.pattern == "random") {
      r.address = rng.below(slots) * p.request_bytes;
    } else {
      throw InputError(fmt::format("config: memtest.pattern: must be stream, random or strided, got '{}'", p.pattern));
    }
    r.is_write = rng.uniform() >= p.read_ratio;
    out.push_back(r);
  }
  return out;
}

TrafficGenerator::TrafficGenerator(const sc_module_name& name, const ClockDomain& clock,
                                   std::vector<TrafficRequest> requests, std::uint32_t max_outstanding,
                                   std::uint32_t requests_per_cycle)
    : sc_module(name),
      initiator_socket("initiator_socket"),
      clock_(clock),
      requests_(std::move(requests)),
      max_outstanding_(max_outstanding),
      requests_per_cycle_(std::max(1u, requests_per_cycle)),
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

// A method that runs as far as it can and re-arms where the loop it replaces would have waited: for request
// i's cycle (and its BEGIN_REQ slot), then for END_REQ of the previous request and a free outstanding slot,
// then for the DRAM-clock edge if woken between two. `stage_` says which of those waits it is in.
void TrafficGenerator::issue() {
  while (next_request_ < requests_.size()) {
    const std::size_t i = next_request_;
    const TrafficRequest& r = requests_[i];
    if (stage_ == Stage::kCycle) {
      stage_ = Stage::kSlot;
      if (rearm_at(std::max(r.cycle, next_free_))) return;
    }
    if (stage_ == Stage::kSlot) {
      if (protocol_.request_open() || in_flight_.size() >= max_outstanding_) {
        next_trigger(work_event_);
        return;
      }
      stage_ = Stage::kEdge;
      if (rearm_at(clock_.now())) return;
    }
    stage_ = Stage::kCycle;
    ++next_request_;
    const Cycle now = clock_.now();
    if (now > r.cycle) stall_cycles_ += now - std::max(r.cycle, next_free_);
    if (now != slot_cycle_) {
      slot_cycle_ = now;
      used_ = 0;
    }
    if (++used_ == requests_per_cycle_) next_free_ = now + 1;

    tlm::tlm_generic_payload* p = pool_.acquire();
    InFlight f{i, std::vector<std::uint8_t>(r.bytes), {}, true};
    if (r.is_write) {
      // A byte pattern that differs by address and by request, so stale or misplaced data shows.
      for (std::uint32_t b = 0; b < r.bytes; ++b)
        f.data[b] = static_cast<std::uint8_t>((r.address + b) * 131 + i * 7 + 1);
      for (std::uint64_t l = first_line(r); l <= last_line(r); ++l) ++writes_in_flight_[l];
      // Reads already in flight over these lines may now see either value.
      for (auto& [q, g] : in_flight_) {
        const TrafficRequest& o = requests_[g.index];
        if (!o.is_write && first_line(o) <= last_line(r) && first_line(r) <= last_line(o))
          g.checkable = false;
      }
    } else {
      for (std::uint64_t l = first_line(r); l <= last_line(r); ++l)
        if (writes_in_flight_.count(l)) f.checkable = false;
      f.expect.resize(r.bytes);
      for (std::uint32_t b = 0; b < r.bytes; ++b) {
        const auto c = committed_.find(r.address + b);
        f.expect[b] = c == committed_.end() ? 0 : c->second;
      }
    }
    auto& slot = in_flight_.emplace(p, std::move(f)).first->second;
    AtInitiator::prepare(*p, r.is_write, r.address, slot.data.data(), r.bytes);
    ++issued_;
    protocol_.send(initiator_socket, *p);
  }
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
  const auto it = in_flight_.find(&p);
  if (it == in_flight_.end()) SC_REPORT_FATAL(name(), "response for a request never sent");
  if (p.is_response_error()) SC_REPORT_ERROR(name(), p.get_response_string().c_str());
  const TrafficRequest& r = requests_[it->second.index];
  if (r.is_write) {
    for (std::uint32_t b = 0; b < r.bytes; ++b) committed_[r.address + b] = it->second.data[b];
    for (std::uint64_t l = first_line(r); l <= last_line(r); ++l)
      if (--writes_in_flight_[l] == 0) writes_in_flight_.erase(l);
  } else if (!it->second.checkable) {
    ++reads_racing_;
  } else {
    ++reads_checked_;
    if (it->second.data != it->second.expect) ++data_errors_;
  }
  in_flight_.erase(it);
  p.release();
  ++completed_;
  last_response_ = clock_.now();
  work_event_.notify(SC_ZERO_TIME);
  if (done()) finished_event_.notify(SC_ZERO_TIME);
}

}  // namespace tacsim::dram
