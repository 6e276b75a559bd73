#include "modules/dram/dram.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include <fmt/format.h>

namespace tacsim::dram {

using namespace sc_core;

void Dram::attach_waves(waves::Recorder& r) {
  std::vector<std::string> labels{"-"};
  for (auto t : {CommandType::kAct, CommandType::kPre, CommandType::kRd, CommandType::kWr, CommandType::kRda,
                 CommandType::kWra, CommandType::kRef})
    labels.push_back(to_string(t));  // label 1 + CommandType
  const bool two = params_.separate_row_column_buses;
  bus_waves_.assign(2 * std::size_t{params_.channels}, {});
  bool any = false;
  for (std::uint32_t ch = 0; ch < params_.channels; ++ch)
    for (int bus = 0; bus < (two ? 2 : 1); ++bus) {
      const std::string n = fmt::format("{}.channel{}.{}", name(), ch,
                                        !two       ? "cmd"
                                        : bus == 0 ? "row_cmd"
                                                   : "col_cmd");
      BusWaves& w = bus_waves_[2 * ch + bus];
      w.cmd = r.enumerated(n, labels, "the command issued in this DRAM cycle (- : none)");
      w.bank = r.integer(n + "_bank", 16,
                         "the bank (rank, bank group, bank flattened) of its last command but REF");
      any = any || w.cmd || w.bank;
    }
  const std::uint32_t banks = params_.ranks * params_.bankgroups * params_.banks_per_group;
  open_row_waves_.assign(std::size_t{params_.channels} * banks, {});
  for (std::uint32_t ch = 0; ch < params_.channels; ++ch)
    for (std::uint32_t b = 0; b < banks; ++b) {
      waves::Signal& w = open_row_waves_[std::size_t{ch} * banks + b];
      w = r.integer(fmt::format("{}.channel{}.bank{}.open_row", name(), ch, b), 32,
                    "the row the bank holds open (x: closed or closing)", waves::Selection::kOnRequest);
      any = any || w;
    }
  if (any) engine_.set_command_observer([this](const Command& c) { trace_command(c); });
}

void Dram::trace_command(const Command& c) {
  const bool column =
      c.type != CommandType::kAct && c.type != CommandType::kPre && c.type != CommandType::kRef;
  const BusWaves& w =
      bus_waves_[2 * std::size_t{c.channel} + (params_.separate_row_column_buses && column ? 1 : 0)];
  const std::uint64_t t = clock_.fs_at(c.cycle);
  w.cmd.set(t, 1 + static_cast<std::uint64_t>(c.type));
  w.cmd.set(clock_.fs_at(c.cycle + 1), 0);
  if (c.type == CommandType::kRef) return;
  const std::uint64_t bank =
      (std::uint64_t{c.rank} * params_.bankgroups + c.bankgroup) * params_.banks_per_group + c.bank;
  w.bank.set(t, bank);
  const std::uint64_t banks = std::uint64_t{params_.ranks} * params_.bankgroups * params_.banks_per_group;
  const waves::Signal& row = open_row_waves_[c.channel * banks + bank];
  if (c.type == CommandType::kAct)
    row.set(t, c.row);
  else if (c.type == CommandType::kPre || c.type == CommandType::kRda || c.type == CommandType::kWra)
    row.set(t, waves::kUnknown);
}

Dram::Dram(const sc_module_name& name, const Params& params)
    : sc_module(name),
      target_socket("target_socket"),
      params_(params),
      clock_(params.clock_mhz),
      engine_(params),
      store_(params.capacity_bytes()),
      protocol_(this->name(), wake_) {
  target_socket.register_nb_transport_fw(this, &Dram::nb_transport_fw);
  // A method, not a thread: it never needs its stack between activations, and a method activation costs the
  // kernel no coroutine switch.
  SC_METHOD(run);

  const Counters& c = engine_.counters();
  for (const CounterInfo& info : counter_infos())
    stats_.add(info.name, &(c.*info.field), info.unit, info.description);
  const double mhz = params.clock_mhz, burst = params.burst_bytes();
  stats_.add_derived(
      "bandwidth_gbps",
      [this, mhz] { return double(bytes_transferred()) / double(last_finish_) * mhz * 1e-3; }, "GB/s",
      "bytes on the data bus over the time until the last response");
  stats_.add_derived(
      "peak_bandwidth_gbps",
      [this, mhz, burst] {
        return double(params_.channels) * burst / double(params_.burst_cycles()) * mhz * 1e-3;
      },
      "GB/s", "all channels' data buses busy every cycle");
  stats_.add_derived(
      "row_hit_rate",
      [&c] { return double(c.row_hits) / double(c.row_hits + c.row_misses + c.row_conflicts); }, "ratio",
      "bursts served from an open row");
  stats_.add_derived(
      "read_latency_ns_mean",
      [&c, this] {
        return double(c.read_latency_sum_cycles) / double(c.read_transactions) * clock_.period_ns();
      },
      "ns", "read transaction latency, controller arrival to last data beat");
  stats_.add_derived(
      "read_latency_ns_p50",
      [&c, this] { return double(c.read_latency_histogram.percentile(0.50)) * clock_.period_ns(); }, "ns",
      "median read latency (histogram resolution 1/32)");
  stats_.add_derived(
      "read_latency_ns_p99",
      [&c, this] { return double(c.read_latency_histogram.percentile(0.99)) * clock_.period_ns(); }, "ns",
      "99th percentile read latency (histogram resolution 1/32)");
  stats_.add_derived(
      "queue_occupancy_mean",
      [&c, this] { return double(c.queue_occupancy_sum) / double(engine_.next_cycle()); }, "bursts",
      "bursts queued, averaged over every cycle simulated");
  stats_.add_json(
      "read_latency_histogram",
      [&c] {
        nlohmann::ordered_json h = nlohmann::ordered_json::object();
        for (std::size_t b = 0; b < LatencyHistogram::kBins; ++b)
          if (const std::uint64_t n = c.read_latency_histogram.count(b))
            h[std::to_string(LatencyHistogram::bin_floor(b))] = n;
        return h;
      },
      "transactions", "read transactions by latency in DRAM cycles (bin lower bounds)");
}

std::uint64_t Dram::bytes_transferred() const {
  const Counters& c = engine_.counters();
  return (c.read_bursts + c.write_bursts) * params_.burst_bytes();
}

// The engine's transaction id is the payload's address: the payload is held (acquire) until its response, so
// the id is unique while in flight and maps back without a lookup table. The data moves when the controller
// takes the request: a write is posted (later reads see it), and a read gets what the writes taken before it
// left, which is what the device returns, as the controller never lets a write overtake an older read of its
// burst nor a read an older write (it serves that read from the write buffer).
bool Dram::offer(tlm::tlm_generic_payload& p, Cycle at) {
  const auto id = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(&p));
  const Block b = block_of(p);
  if (!engine_.try_enqueue({id, b.address, b.row_bytes, p.is_write(), b.rows, b.stride}, at)) return false;
  AtTarget::move_data(p, store_);
  p.acquire();
  return true;
}

tlm::tlm_sync_enum Dram::nb_transport_fw(tlm::tlm_generic_payload& p, tlm::tlm_phase& phase, sc_time& t) {
  protocol_.check_delay(t);
  if (phase != tlm::BEGIN_REQ) return protocol_.other_phase(p, phase);
  if (waiting_) SC_REPORT_ERROR(name(), "BEGIN_REQ before END_REQ of the previous request");
  if (!AtTarget::in_range(p, store_)) {
    SC_REPORT_ERROR(name(), "access beyond the DRAM's capacity");
    p.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    return tlm::TLM_COMPLETED;
  }
  // Seen at the first DRAM clock edge at or after it, cycle `now`, the request enters the controller at
  // now + 1 (see the header).
  const Cycle now = clock_.now();
  const bool taken = offer(p, now + 1);
  if (!taken) waiting_ = &p;
  // Wake run() only if it has something to do now (offer() may have caught the engine up past a
  // completion) or its next wake-up must come earlier: for the new request's completion, or to retry the
  // refused one. Otherwise it would wake, do nothing and sleep until the same or a later cycle: sleeping
  // until the earlier one is equally exact, as it wakes at the latest at each transaction's finish and retry
  // cycle either way.
  if (!taken) retry_at_ = engine_.next_retry_cycle();
  const Cycle due = taken ? engine_.next_completion_bound() : retry_at_;
  if (engine_.has_completions() || std::max(due, now + 1) < sleeping_until_) wake_.notify(SC_ZERO_TIME);
  if (!taken) return tlm::TLM_ACCEPTED;
  phase = tlm::END_REQ;
  return tlm::TLM_UPDATED;
}

void Dram::send_responses() {
  while (!protocol_.responding() && !responses_.empty()) {
    tlm::tlm_generic_payload* p = responses_.front();
    responses_.pop_front();
    protocol_.respond(target_socket, *p);
  }
}

void Dram::run() {
  sleeping_until_ = 0;
  // Woken between two DRAM clock edges (by a phase from another clock domain): act at the next edge, deaf to
  // wake_ until then (what arrives meanwhile is handled there).
  const Cycle now = clock_.now();
  const sc_time edge = clock_.time_at(now);
  if (edge > sc_time_stamp()) {
    next_trigger(edge - sc_time_stamp());
    return;
  }
  if (now >= engine_.next_cycle()) engine_.advance_to(now);
  engine_.take_completions(completions_);
  for (const Completion& c : completions_) {
    last_finish_ = std::max(last_finish_, c.finish);
    responses_.push_back(reinterpret_cast<tlm::tlm_generic_payload*>(static_cast<std::uintptr_t>(c.id)));
  }
  send_responses();
  // The front end that refused it can take it no earlier than the retry cycle: woken before it (for a
  // completion), a retry would only be refused again.
  if (waiting_ && now >= retry_at_ && offer(*waiting_, now + 1)) {
    tlm::tlm_generic_payload* w = waiting_;
    waiting_ = nullptr;
    protocol_.end_request(target_socket, *w);
  }
  // Wake for the next completion and, while a request waits for the front end, for the next cycle at which
  // the front end that refused it can empty. advance_to() catches up on the events slept through.
  Cycle next = engine_.next_completion_bound();
  if (waiting_) {
    retry_at_ = engine_.next_retry_cycle();
    next = std::min(next, retry_at_);
  }
  sleeping_until_ = next == kNever ? kNever : std::max(next, now + 1);
  if (next == kNever)
    next_trigger(wake_);
  else
    next_trigger(clock_.time_at(sleeping_until_) - sc_time_stamp(), wake_);
}

}  // namespace tacsim::dram
