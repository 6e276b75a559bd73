#include "modules/interconnect/interconnect.h"

#include <algorithm>
#include <string>

#include "modules/common/block_transfer.h"

namespace tacsim::interconnect {

using namespace sc_core;

Interconnect::Interconnect(const sc_module_name& name, const Params& params, const ClockDomain& clock,
                           std::size_t initiators)
    : sc_module(name),
      target_socket("target_socket"),
      initiator_socket("initiator_socket"),
      params_(params),
      clock_(clock),
      engine_(initiators, params),
      request_(initiators, nullptr) {
  target_socket.register_nb_transport_fw(this, &Interconnect::nb_transport_fw);
  initiator_socket.register_nb_transport_bw(this, &Interconnect::nb_transport_bw);
  SC_METHOD(arbitrate);
  sensitive << arbitrate_event_;
  dont_initialize();
  SC_METHOD(deliver);
  sensitive << deliver_event_;
  dont_initialize();

  const auto& c = engine_.counters();
  for (std::size_t i = 0; i < initiators; ++i) {
    const std::string p = "initiator" + std::to_string(i) + "_";
    stats_.add(p + "grants", &c[i].grants, "requests", "requests of this initiator sent to the memory");
    stats_.add(p + "wait_cycles", &c[i].wait_cycles, "cycles",
               "cycles its requests waited for the memory's request channel (summed)");
    stats_.add(p + "max_wait_cycles", &c[i].max_wait_cycles, "cycles", "the longest wait of one request");
    stats_.add(p + "bytes", &c[i].bytes, "bytes",
               "bytes it asked for, in the memory's granules (a DRAM may serve some from its write buffer)");
  }
}

void Interconnect::attach_waves(waves::Recorder& r) {
  const std::string n = name();
  grant_wave_ = r.integer(n + ".grant", 8, "the initiator granted the memory's request channel this cycle");
  waiting_waves_.clear();
  for (std::size_t i = 0; i < request_.size(); ++i) {
    waiting_waves_.push_back(
        r.integer(n + ".initiator" + std::to_string(i) + "_waiting", 1, "its request waits for a grant"));
    waiting_waves_.back().set(0, 0);
  }
}

void Interconnect::end_of_elaboration() {
  if (static_cast<std::size_t>(target_socket.size()) != engine_.initiators())
    SC_REPORT_ERROR(name(), "target_socket bound a different number of times than the initiators declared");
}

void Interconnect::check_delay(const sc_time& t) const {
  if (t != SC_ZERO_TIME) SC_REPORT_ERROR(name(), "annotated delays are not supported: send phases on time");
}

void Interconnect::count(std::size_t i, const tlm::tlm_generic_payload& p) {
  const Block b = block_of(p);
  engine_.completed(i, b.address, b.row_bytes, b.rows, b.stride);
}

tlm::tlm_sync_enum Interconnect::forward(std::size_t i, tlm::tlm_phase& phase) {
  tlm::tlm_generic_payload& p = *request_[i];
  granted_ = i;
  if (!waiting_waves_.empty()) {  // attached
    const Cycle now = clock_.now();
    grant_wave_.set(clock_.fs_at(now), i);
    grant_wave_.set(clock_.fs_at(now + 1), waves::kUnknown);
    waiting_waves_[i].set(clock_.fs_at(now), 0);
  }
  in_flight_.emplace_back(&p, i);
  phase = tlm::BEGIN_REQ;
  sc_time zero = SC_ZERO_TIME;
  const tlm::tlm_sync_enum r = initiator_socket->nb_transport_fw(p, phase, zero);
  if (r == tlm::TLM_ACCEPTED) return r;  // END_REQ follows on the backward path
  // The memory took it at once (END_REQ), or answered it (an error, or a response skipping END_REQ).
  engine_.channel_freed();
  request_[i] = nullptr;
  if (r == tlm::TLM_COMPLETED || phase == tlm::BEGIN_RESP) {
    initiator_of(p);
    count(i, p);
  }
  return r;
}

tlm::tlm_sync_enum Interconnect::nb_transport_fw(int id, tlm::tlm_generic_payload& p, tlm::tlm_phase& phase,
                                                 sc_time& t) {
  check_delay(t);
  const auto i = static_cast<std::size_t>(id);
  if (phase == tlm::END_RESP) {
    // Only a response passed straight through can be ended by its initiator: the memory waits for this.
    if (params_.latency_cycles == 0) return initiator_socket->nb_transport_fw(p, phase, t);
    return tlm::TLM_COMPLETED;
  }
  if (phase != tlm::BEGIN_REQ) {
    SC_REPORT_ERROR(name(), "unexpected phase on the forward path");
    return tlm::TLM_COMPLETED;
  }
  if (request_[i] != nullptr)
    SC_REPORT_ERROR(name(), "BEGIN_REQ before END_REQ of the initiator's previous request");
  request_[i] = &p;
  const Cycle now = clock_.now();
  if (!waiting_waves_.empty()) waiting_waves_[i].set(clock_.fs_at(now), 1);
  engine_.request(i, now);
  // Alone and on time: straight through, inside this call, with the memory's own answer.
  const bool alone = std::none_of(request_.begin(), request_.end(),
                                  [&](const tlm::tlm_generic_payload* r) { return r != nullptr && r != &p; });
  if (params_.latency_cycles == 0 && alone && engine_.grant(now) == i) {
    const tlm::tlm_sync_enum r = forward(i, phase);
    if (r != tlm::TLM_ACCEPTED && engine_.next_grant_cycle(now) != kNever)
      arbitrate_event_.notify(SC_ZERO_TIME);
    return r;
  }
  if (const Cycle at = engine_.next_grant_cycle(now); at != kNever)
    arbitrate_event_.notify(clock_.time_at(at) - sc_time_stamp());
  return tlm::TLM_ACCEPTED;
}

void Interconnect::arbitrate() {
  const Cycle now = clock_.now();
  const sc_time edge = clock_.time_at(now);
  if (edge > sc_time_stamp()) {  // woken by the memory between two of our edges: act at the next one
    next_trigger(edge - sc_time_stamp());
    return;
  }
  if (const auto g = engine_.grant(now)) {
    tlm::tlm_generic_payload& p = *request_[*g];
    tlm::tlm_phase phase;
    const tlm::tlm_sync_enum r = forward(*g, phase);
    if (r != tlm::TLM_ACCEPTED) {
      // The initiator was told TLM_ACCEPTED: the memory's answer goes back on its backward path.
      tlm::tlm_phase back = r == tlm::TLM_COMPLETED ? tlm::BEGIN_RESP : phase;
      sc_time zero = SC_ZERO_TIME;
      target_socket[static_cast<int>(*g)]->nb_transport_bw(p, back, zero);
    }
  }
  const Cycle next = engine_.next_grant_cycle(now);
  if (next == kNever)
    next_trigger(arbitrate_event_);
  else
    next_trigger(clock_.time_at(next) - sc_time_stamp(), arbitrate_event_);
}

std::size_t Interconnect::initiator_of(tlm::tlm_generic_payload& p) {
  const auto it =
      std::find_if(in_flight_.begin(), in_flight_.end(), [&p](const auto& e) { return e.first == &p; });
  if (it == in_flight_.end()) {
    SC_REPORT_FATAL(name(), "response for a transaction the interconnect never sent");
    return 0;
  }
  const std::size_t i = it->second;
  *it = in_flight_.back();
  in_flight_.pop_back();
  return i;
}

tlm::tlm_sync_enum Interconnect::nb_transport_bw(tlm::tlm_generic_payload& p, tlm::tlm_phase& phase,
                                                 sc_time& t) {
  check_delay(t);
  if (phase == tlm::END_REQ) {
    if (!engine_.channel_busy() || request_[granted_] != &p)
      SC_REPORT_ERROR(name(), "END_REQ for a request the interconnect did not send");
    engine_.channel_freed();
    request_[granted_] = nullptr;
    target_socket[static_cast<int>(granted_)]->nb_transport_bw(p, phase, t);
    if (engine_.next_grant_cycle(clock_.now()) != kNever) arbitrate_event_.notify(SC_ZERO_TIME);
    return tlm::TLM_ACCEPTED;
  }
  if (phase != tlm::BEGIN_RESP) {
    SC_REPORT_ERROR(name(), "unexpected phase on the backward path");
    return tlm::TLM_COMPLETED;
  }
  const std::size_t i = initiator_of(p);
  if (engine_.channel_busy() && request_[i] == &p) {  // BEGIN_RESP ends the request phase too
    engine_.channel_freed();
    request_[i] = nullptr;
    arbitrate_event_.notify(SC_ZERO_TIME);
  }
  count(i, p);
  if (params_.latency_cycles == 0) return target_socket[static_cast<int>(i)]->nb_transport_bw(p, phase, t);
  // Taken here, delivered latency_cycles later: the memory's response channel is free at once.
  p.acquire();
  responses_.push_back({clock_.now() + params_.latency_cycles, i, &p});
  if (responses_.size() == 1) deliver_event_.notify(clock_.time_at(responses_.front().due) - sc_time_stamp());
  return tlm::TLM_COMPLETED;
}

void Interconnect::deliver() {
  const Cycle now = clock_.now();
  while (!responses_.empty() && responses_.front().due <= now && clock_.time_at(now) <= sc_time_stamp()) {
    const Response r = responses_.front();
    responses_.pop_front();
    tlm::tlm_phase phase = tlm::BEGIN_RESP;
    sc_time zero = SC_ZERO_TIME;
    const tlm::tlm_sync_enum s =
        target_socket[static_cast<int>(r.initiator)]->nb_transport_bw(*r.payload, phase, zero);
    if (s == tlm::TLM_ACCEPTED)
      SC_REPORT_ERROR(name(), "with latency_cycles > 0 an initiator must complete a response at once");
    r.payload->release();
  }
  if (!responses_.empty())
    next_trigger(clock_.time_at(std::max(responses_.front().due, now)) - sc_time_stamp());
  else
    next_trigger(deliver_event_);
}

}  // namespace tacsim::interconnect
