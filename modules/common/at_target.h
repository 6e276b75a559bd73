#pragma once
// The target half of the TLM-2.0 AT 4-phase protocol, shared by every memory model (FixedLatencyMemory,
// Dram): END_REQ sent when a held-back request is finally taken, BEGIN_RESP one at a time (the AT
// response-exclusion rule: the next only after END_RESP or TLM_COMPLETED), and the data moved to or from the
// backing store: when the response is sent (respond() with a store), or earlier by the model (respond()
// without), row by row for a 2-D block (block_transfer.h). Phases are sent on time: no annotated delay. Each
// model decides *when*; this does how.
#include <systemc>
#include <tlm>

#include "modules/common/backing_store.h"
#include "modules/common/block_transfer.h"

namespace tacsim {

class AtTarget {
 public:
  // `owner` names the module in reports; `response_free` is notified when a response phase closes.
  AtTarget(const char* owner, sc_core::sc_event& response_free)
      : owner_(owner), response_free_(response_free) {}

  bool responding() const { return responding_ != nullptr; }

  void check_delay(const sc_core::sc_time& t) const {
    if (t != sc_core::SC_ZERO_TIME)
      SC_REPORT_ERROR(owner_, "annotated delays are not supported: send phases on time");
  }

  // Every forward-path phase but BEGIN_REQ (which the model handles): END_RESP closes the response phase.
  tlm::tlm_sync_enum other_phase(tlm::tlm_generic_payload& p, const tlm::tlm_phase& phase) {
    if (phase != tlm::END_RESP) {
      SC_REPORT_ERROR(owner_, "unexpected phase on the forward path");
    } else {
      if (responding_ != &p) SC_REPORT_ERROR(owner_, "END_RESP without a response outstanding");
      responding_ = nullptr;
      response_free_.notify(sc_core::SC_ZERO_TIME);
    }
    return tlm::TLM_COMPLETED;
  }

  // END_REQ for a request the model held back and has now taken.
  template <typename Socket>
  void end_request(Socket& socket, tlm::tlm_generic_payload& p) {
    tlm::tlm_phase ph = tlm::END_REQ;
    sc_core::sc_time zero = sc_core::SC_ZERO_TIME;
    socket->nb_transport_bw(p, ph, zero);
  }

  // Moves the data (it has crossed the bus), then responds.
  template <typename Socket>
  void respond(Socket& socket, tlm::tlm_generic_payload& p, BackingStore& store) {
    move_data(p, store);
    respond(socket, p);
  }

  // Row by row for a 2-D block (block_transfer.h).
  static void move_data(tlm::tlm_generic_payload& p, BackingStore& store) {
    const Block b = block_of(p);
    std::uint8_t* data = p.get_data_ptr();
    for (std::uint32_t r = 0; r < b.rows; ++r, data += b.row_bytes) {
      if (p.is_write())
        store.write(b.row(r), data, b.row_bytes);
      else
        store.read(b.row(r), data, b.row_bytes);
    }
  }

  // The payload's bytes, every row of a 2-D block, lie in the store; a block's rows do not overlap.
  static bool in_range(const tlm::tlm_generic_payload& p, const BackingStore& store) {
    const Block b = block_of(p);
    if (b.row_bytes == 0 || (b.rows > 1 && b.stride < b.row_bytes)) return false;
    if (p.get_data_length() != std::uint64_t{b.rows} * b.row_bytes) return false;
    const std::uint64_t last = b.row(b.rows - 1);
    return last >= b.address && store.contains(last, b.row_bytes);
  }

  // Sends BEGIN_RESP (requires !responding()) and drops the model's reference to `p`.
  template <typename Socket>
  void respond(Socket& socket, tlm::tlm_generic_payload& p) {
    if (responding_) SC_REPORT_ERROR(owner_, "BEGIN_RESP while a response phase is open");
    p.set_response_status(tlm::TLM_OK_RESPONSE);
    responding_ = &p;
    tlm::tlm_phase ph = tlm::BEGIN_RESP;
    sc_core::sc_time zero = sc_core::SC_ZERO_TIME;
    const tlm::tlm_sync_enum r = socket->nb_transport_bw(p, ph, zero);
    if (r == tlm::TLM_COMPLETED || (r == tlm::TLM_UPDATED && ph == tlm::END_RESP)) responding_ = nullptr;
    p.release();
  }

 private:
  const char* owner_;
  sc_core::sc_event& response_free_;
  tlm::tlm_generic_payload* responding_ = nullptr;
};

}  // namespace tacsim
