#include "modules/dma/dma.h"

#include <algorithm>

namespace tacsim::dma {

using namespace sc_core;

Dma::Dma(const sc_module_name& name, const Params& params, const ClockDomain& clock)
    : sc_module(name),
      initiator_socket("initiator_socket"),
      params_(params),
      clock_(clock),
      engine_(params),
      protocol_(this->name(), work_event_, [this](tlm::tlm_generic_payload& p) { finish(p); }) {
  initiator_socket.register_nb_transport_bw(this, &Dma::nb_transport_bw);
  // A method, not a thread: every wait is where an iteration of its loop ends, and a method activation costs
  // the kernel no coroutine switch.
  SC_METHOD(issue);
  in_flight_.reserve(params.max_outstanding);

  const auto& c = engine_.counters();
  stats_.add("moves", &c.moves, "moves", "2-D block moves completed or in flight");
  stats_.add("transactions", &c.transactions, "transactions", "TLM transactions issued");
  stats_.add("read_bytes", &c.read_bytes, "bytes", "bytes read from memory");
  stats_.add("write_bytes", &c.write_bytes, "bytes", "bytes written to memory");
  stats_.add("active_cycles", &c.active_cycles, "cycles", "cycles with at least one transaction in flight");
  stats_.add("at_limit_cycles", &c.at_limit_cycles, "cycles",
             "cycles with max_outstanding transactions in flight (the limit binds when more are queued)");
  const double mhz = clock.clock_mhz();
  stats_.add_derived(
      "bandwidth_gbps",
      [&c, mhz] { return double(c.read_bytes + c.write_bytes) / double(c.active_cycles) * mhz * 1e-3; },
      "GB/s", "bytes moved per active cycle, at this clock");
}

void Dma::submit(Move m) {
  engine_.submit(std::move(m));
  work_event_.notify(SC_ZERO_TIME);
}

void Dma::issue() {
  for (;;) {
    if (protocol_.request_open() || !engine_.can_issue()) {
      next_trigger(work_event_);
      return;
    }
    const Cycle now = clock_.now();
    if (now < next_issue_) {
      next_trigger(clock_.time_at(next_issue_) - sc_time_stamp());
      return;
    }
    const Transaction t = engine_.issue(now);
    next_issue_ = now + 1;  // one BEGIN_REQ per cycle
    tlm::tlm_generic_payload* p = pool_.acquire();
    AtInitiator::prepare(*p, t.write, t.address, t.local, t.bytes);
    set_block(*p, t.rows, t.row_bytes, t.stride);
    in_flight_.emplace_back(p, t);
    if (outstanding_wave_) outstanding_wave_.set(clock_.fs_at(now), in_flight_.size());
    protocol_.send(initiator_socket, *p);
  }
}

void Dma::attach_waves(waves::Recorder& r) {
  outstanding_wave_ = r.integer(std::string(name()) + ".outstanding", 16, "transactions in flight");
  outstanding_wave_.set(0, 0);
}

tlm::tlm_sync_enum Dma::nb_transport_bw(tlm::tlm_generic_payload& p, tlm::tlm_phase& phase, sc_time& t) {
  return protocol_.backward(p, phase, t);
}

void Dma::finish(tlm::tlm_generic_payload& p) {
  if (p.is_response_error()) SC_REPORT_ERROR(name(), p.get_response_string().c_str());
  const auto it =
      std::find_if(in_flight_.begin(), in_flight_.end(), [&p](const auto& e) { return e.first == &p; });
  if (it == in_flight_.end()) SC_REPORT_FATAL(name(), "response for a transaction never issued");
  const Transaction t = it->second;
  *it = in_flight_.back();
  in_flight_.pop_back();
  const Cycle now = clock_.now();
  if (outstanding_wave_) outstanding_wave_.set(clock_.fs_at(now), in_flight_.size());
  auto done = engine_.complete(t, now);
  p.release();
  // issue() only waits on work_event_ for a free slot or for work; with nothing queued, submit()
  // wakes it, so waking it here would only let it look and sleep again.
  if (engine_.can_issue()) work_event_.notify(SC_ZERO_TIME);
  if (done) done(now);
}

}  // namespace tacsim::dma
