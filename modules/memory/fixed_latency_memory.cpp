#include "modules/memory/fixed_latency_memory.h"

namespace tacsim::memory {

using namespace sc_core;

FixedLatencyMemory::FixedLatencyMemory(const sc_module_name& name, const Params& params)
    : sc_module(name),
      target_socket("target_socket"),
      params_(params),
      clock_(params.clock_mhz),
      engine_(params),
      store_(params.capacity_bytes()),
      protocol_(this->name(), work_event_) {
  target_socket.register_nb_transport_fw(this, &FixedLatencyMemory::nb_transport_fw);
  SC_THREAD(respond_thread);

  const auto& c = engine_.counters();
  stats_.add("reads", &c.reads, "transactions", "read transactions served");
  stats_.add("writes", &c.writes, "transactions", "write transactions served");
  stats_.add("read_bytes", &c.read_bytes, "bytes", "bytes read");
  stats_.add("write_bytes", &c.write_bytes, "bytes", "bytes written");
  stats_.add("bus_busy_cycles", &c.bus_busy_cycles, "cycles", "cycles the data bus carried data");
  stats_.add("full_queue_rejects", &c.full_queue_rejects, "requests", "BEGIN_REQs held back by a full queue");
}

tlm::tlm_sync_enum FixedLatencyMemory::nb_transport_fw(tlm::tlm_generic_payload& p, tlm::tlm_phase& phase,
                                                       sc_time& t) {
  protocol_.check_delay(t);
  if (phase != tlm::BEGIN_REQ) return protocol_.other_phase(p, phase);
  if (!AtTarget::in_range(p, store_)) {
    p.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    SC_REPORT_ERROR(name(), "access beyond capacity");
  }
  if (waiting_) SC_REPORT_ERROR(name(), "BEGIN_REQ before END_REQ of the previous request");
  if (!engine_.can_accept()) {
    engine_.count_reject();
    waiting_ = &p;
    return tlm::TLM_ACCEPTED;  // END_REQ follows on the backward path when a slot frees
  }
  accept(p);
  phase = tlm::END_REQ;
  return tlm::TLM_UPDATED;
}

void FixedLatencyMemory::accept(tlm::tlm_generic_payload& p) {
  p.acquire();
  engine_.accept(clock_.now(), p.get_data_length(), p.is_write());
  in_flight_.push_back(&p);
  work_event_.notify(SC_ZERO_TIME);
}

void FixedLatencyMemory::respond_thread() {
  for (;;) {
    while (in_flight_.empty() || protocol_.responding()) wait(work_event_);
    const Cycle due = engine_.head_due();
    if (clock_.now() < due) {
      clock_.wait_until(due);
      continue;
    }
    tlm::tlm_generic_payload* p = in_flight_.front();
    in_flight_.pop_front();
    engine_.retire();

    // A slot is free: a request held back by the full queue is accepted now.
    if (waiting_) {
      tlm::tlm_generic_payload* w = waiting_;
      waiting_ = nullptr;
      accept(*w);
      protocol_.end_request(target_socket, *w);
    }
    protocol_.respond(target_socket, *p, store_);
  }
}

}  // namespace tacsim::memory
