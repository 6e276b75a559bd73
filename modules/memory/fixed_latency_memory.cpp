#include "modules/memory/fixed_latency_memory.h"

namespace tacsim::memory {

using namespace sc_core;

FixedLatencyMemory::FixedLatencyMemory(const sc_module_name& name, const Params& params)
    : sc_module(name),
      target_socket("target_socket"),
      params_(params),
      clock_(params.clock_mhz),
      engine_(params),
      store_(params.capacity_bytes()) {
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
  if (t != SC_ZERO_TIME) SC_REPORT_ERROR(name(), "annotated delays are not supported: send phases on time");
  if (phase == tlm::BEGIN_REQ) {
    if (!store_.contains(p.get_address(), p.get_data_length())) {
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
  if (phase == tlm::END_RESP) {
    if (!responding_) SC_REPORT_ERROR(name(), "END_RESP without a response outstanding");
    responding_ = nullptr;
    work_event_.notify(SC_ZERO_TIME);
    return tlm::TLM_COMPLETED;
  }
  SC_REPORT_ERROR(name(), "unexpected phase on the forward path");
  return tlm::TLM_COMPLETED;
}

void FixedLatencyMemory::accept(tlm::tlm_generic_payload& p) {
  p.acquire();
  engine_.accept(clock_.now(), p.get_data_length(), p.is_write());
  in_flight_.push_back(&p);
  work_event_.notify(SC_ZERO_TIME);
}

void FixedLatencyMemory::respond_thread() {
  for (;;) {
    while (in_flight_.empty() || responding_) wait(work_event_);
    const Cycle due = engine_.head_due();
    if (clock_.now() < due) {
      clock_.wait_until(due);
      continue;
    }
    tlm::tlm_generic_payload* p = in_flight_.front();
    in_flight_.pop_front();
    engine_.retire();
    // The data moves when it has crossed the bus.
    if (p->is_write())
      store_.write(p->get_address(), p->get_data_ptr(), p->get_data_length());
    else
      store_.read(p->get_address(), p->get_data_ptr(), p->get_data_length());
    p->set_response_status(tlm::TLM_OK_RESPONSE);

    // A slot is free: a request held back by the full queue is accepted now.
    if (waiting_) {
      tlm::tlm_generic_payload* w = waiting_;
      waiting_ = nullptr;
      accept(*w);
      tlm::tlm_phase ph = tlm::END_REQ;
      sc_time zero = SC_ZERO_TIME;
      target_socket->nb_transport_bw(*w, ph, zero);
    }

    responding_ = p;
    tlm::tlm_phase ph = tlm::BEGIN_RESP;
    sc_time zero = SC_ZERO_TIME;
    const tlm::tlm_sync_enum r = target_socket->nb_transport_bw(*p, ph, zero);
    if (r == tlm::TLM_COMPLETED || (r == tlm::TLM_UPDATED && ph == tlm::END_RESP)) responding_ = nullptr;
    p->release();
  }
}

}  // namespace tacsim::memory
