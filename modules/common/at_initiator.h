#pragma once
// The initiator half of the TLM-2.0 AT 4-phase protocol, shared by every initiator (Dma, TrafficGenerator):
// payloads filled the same way, at most one request phase open (BEGIN_REQ until END_REQ, the AT
// request-exclusion rule), BEGIN_RESP answered with TLM_COMPLETED. Phases are sent on time: no annotated
// delay.
#include <cstdint>
#include <functional>
#include <string>

#include <systemc>
#include <tlm>

namespace tacsim {

class AtInitiator {
 public:
  using OnResponse = std::function<void(tlm::tlm_generic_payload&)>;

  // `owner` names the module in reports; `request_free` is notified when the request phase closes;
  // `on_response` runs for every transaction whose response has arrived.
  AtInitiator(const char* owner, sc_core::sc_event& request_free, OnResponse on_response)
      : owner_(owner), request_free_(request_free), on_response_(std::move(on_response)) {}

  static void prepare(tlm::tlm_generic_payload& p, bool write, std::uint64_t address, std::uint8_t* data,
                      std::uint32_t bytes) {
    p.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
    p.set_address(address);
    p.set_data_ptr(data);
    p.set_data_length(bytes);
    p.set_streaming_width(bytes);
    p.set_byte_enable_ptr(nullptr);
    p.set_dmi_allowed(false);
    p.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
  }

  bool request_open() const { return open_ != nullptr; }

  // Sends BEGIN_REQ now (requires !request_open()); a target that answers at once gets its response handled.
  template <typename Socket>
  void send(Socket& socket, tlm::tlm_generic_payload& p) {
    if (open_) SC_REPORT_ERROR(owner_, "BEGIN_REQ while a request phase is open");
    tlm::tlm_phase phase = tlm::BEGIN_REQ;
    sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
    open_ = &p;
    const tlm::tlm_sync_enum r = socket->nb_transport_fw(p, phase, delay);
    if (r == tlm::TLM_UPDATED && phase == tlm::END_REQ) {
      open_ = nullptr;
    } else if (r == tlm::TLM_COMPLETED || (r == tlm::TLM_UPDATED && phase == tlm::BEGIN_RESP)) {
      open_ = nullptr;
      on_response_(p);
    }
  }

  // The owner's nb_transport_bw.
  tlm::tlm_sync_enum backward(tlm::tlm_generic_payload& p, tlm::tlm_phase& phase, sc_core::sc_time& t) {
    if (t != sc_core::SC_ZERO_TIME)
      SC_REPORT_ERROR(owner_, "annotated delays are not supported: send phases on time");
    if (phase == tlm::END_REQ) {
      if (&p != open_) SC_REPORT_ERROR(owner_, "END_REQ for a request that is not open");
      open_ = nullptr;
      request_free_.notify(sc_core::SC_ZERO_TIME);
      return tlm::TLM_ACCEPTED;
    }
    if (phase == tlm::BEGIN_RESP) {
      // BEGIN_RESP also ends the request phase if the target skipped END_REQ.
      if (&p == open_) open_ = nullptr;
      on_response_(p);
      return tlm::TLM_COMPLETED;
    }
    SC_REPORT_ERROR(owner_, "unexpected phase on the backward path");
    return tlm::TLM_COMPLETED;
  }

 private:
  const char* owner_;
  sc_core::sc_event& request_free_;
  OnResponse on_response_;
  tlm::tlm_generic_payload* open_ = nullptr;
};

}  // namespace tacsim
