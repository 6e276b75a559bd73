// The Dram module alone behind its AT target socket: a stimulus module sends each request at a chosen cycle
// (after the previous END_REQ, the AT request-exclusion rule), answers BEGIN_RESP at once, and notes the
// cycle of every phase; the tests check them against the JEDEC timing formulas of the preset.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include <tlm_utils/simple_initiator_socket.h>

#include "modules/common/clock.h"
#include "modules/common/payload_pool.h"
#include "modules/dram/dram.h"

namespace tacsim::dram {
namespace {

struct Request {
  Cycle at = 0;  // BEGIN_REQ no earlier than this cycle
  std::uint64_t address = 0;
  std::uint32_t bytes = 64;
  bool write = false;
};

struct Seen {
  Cycle begin_req = kNever;
  Cycle end_req = kNever;
  Cycle begin_resp = kNever;
};

class Stimulus : public sc_core::sc_module {
 public:
  tlm_utils::simple_initiator_socket<Stimulus> initiator_socket;

  SC_HAS_PROCESS(Stimulus);
  Stimulus(const sc_core::sc_module_name& name, const ClockDomain& clock, std::vector<Request> script)
      : sc_module(name),
        initiator_socket("initiator_socket"),
        clock_(clock),
        script_(std::move(script)),
        seen_(script_.size()),
        data_(script_.size()) {
    initiator_socket.register_nb_transport_bw(this, &Stimulus::nb_transport_bw);
    SC_THREAD(run);
  }

  const std::vector<Seen>& seen() const { return seen_; }
  std::vector<std::uint8_t>& data(std::size_t i) { return data_[i]; }
  bool finished() const { return responses_ == script_.size(); }

 private:
  void run() {
    for (std::size_t i = 0; i < script_.size(); ++i) {
      const Request& r = script_[i];
      clock_.wait_until(r.at);
      data_[i].resize(r.bytes);
      if (r.write)
        for (std::uint32_t b = 0; b < r.bytes; ++b)
          data_[i][b] = static_cast<std::uint8_t>(r.address + b * 7 + i);
      tlm::tlm_generic_payload* p = pool_.acquire();
      p->set_command(r.write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
      p->set_address(r.address);
      p->set_data_ptr(data_[i].data());
      p->set_data_length(r.bytes);
      p->set_streaming_width(r.bytes);
      p->set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
      index_of_.push_back(p);
      seen_[i].begin_req = clock_.now();
      tlm::tlm_phase phase = tlm::BEGIN_REQ;
      sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
      open_ = i;
      const tlm::tlm_sync_enum s = initiator_socket->nb_transport_fw(*p, phase, delay);
      if (s == tlm::TLM_UPDATED && phase == tlm::END_REQ) {
        seen_[i].end_req = clock_.now();
      } else {
        ASSERT_EQ(s, tlm::TLM_ACCEPTED);
        sc_core::wait(end_req_);
      }
    }
  }

  std::size_t index(tlm::tlm_generic_payload& p) const {
    for (std::size_t i = 0; i < index_of_.size(); ++i)
      if (index_of_[i] == &p && seen_[i].begin_resp == kNever) return i;
    ADD_FAILURE() << "a phase for a payload never sent";
    return 0;
  }

  tlm::tlm_sync_enum nb_transport_bw(tlm::tlm_generic_payload& p, tlm::tlm_phase& phase,
                                     sc_core::sc_time& t) {
    EXPECT_EQ(t, sc_core::SC_ZERO_TIME);
    if (phase == tlm::END_REQ) {
      EXPECT_EQ(index_of_[open_], &p);
      seen_[open_].end_req = clock_.now();
      end_req_.notify(sc_core::SC_ZERO_TIME);
      return tlm::TLM_ACCEPTED;
    }
    EXPECT_EQ(phase, tlm::BEGIN_RESP);
    EXPECT_EQ(p.get_response_status(), tlm::TLM_OK_RESPONSE);
    seen_[index(p)].begin_resp = clock_.now();
    ++responses_;
    p.release();
    if (finished()) sc_core::sc_stop();  // the DRAM refreshes forever: stop when the script is done
    return tlm::TLM_COMPLETED;
  }

  const ClockDomain& clock_;
  std::vector<Request> script_;
  std::vector<Seen> seen_;
  std::vector<std::vector<std::uint8_t>> data_;
  std::vector<tlm::tlm_generic_payload*> index_of_;
  PayloadPool pool_;
  std::size_t open_ = 0;
  std::size_t responses_ = 0;
  sc_core::sc_event end_req_;
};

struct Bench {
  Bench(const Params& p, std::vector<Request> script)
      : memory("memory", p), stimulus("stimulus", memory.clock(), std::move(script)) {
    stimulus.initiator_socket.bind(memory.target_socket);
  }
  const Seen& run(std::size_t i) {
    if (!started) {
      sc_core::sc_start();
      started = true;
      EXPECT_TRUE(stimulus.finished()) << "the simulation ended before every response";
    }
    return stimulus.seen()[i];
  }
  Dram memory;
  Stimulus stimulus;
  bool started = false;
};

Params ddr4() {
  return load_preset("ddr4-3200", default_presets_dir());
}

// An address in rank 0, bank group 0, bank 0 of the ddr4-3200 preset's RoRaBaCoBgCh map.
std::uint64_t ddr4_address(const Params& p, std::uint32_t row, std::uint32_t column) {
  Location l;
  l.row = row;
  l.column = column;
  return AddressMap(p).encode(l);
}

TEST(DramModule, IdleReadAndRowHitFollowTheTimingFormulas) {
  const Params p = ddr4();
  Bench b(p, {{10, ddr4_address(p, 5, 0)}, {100, ddr4_address(p, 5, 8)}});
  // BEGIN_REQ 10 is taken at once (END_REQ 10), enters the controller at 11 and its bank queue at the end of
  // 11: ACT 12, RD 12 + tRCD 22 = 34, data 34 + CL 22 = 56 for burst 4 cycles: BEGIN_RESP at 60.
  const Seen& first = b.run(0);
  EXPECT_EQ(first.begin_req, 10u);
  EXPECT_EQ(first.end_req, 10u);
  EXPECT_EQ(first.begin_resp, 12u + p.tRCD_cycles + p.CL_cycles + p.burst_cycles());
  EXPECT_EQ(first.begin_resp, 60u);
  // The row is still open: in at 101, RD at 102, BEGIN_RESP 102 + CL 22 + burst 4 = 128.
  EXPECT_EQ(b.run(1).end_req, 100u);
  EXPECT_EQ(b.run(1).begin_resp, 128u);
}

TEST(DramModule, WrittenDataIsReadBack) {
  const Params p = ddr4();
  const std::uint64_t a = ddr4_address(p, 9, 16);
  Bench b(p, {{0, a, 128, true}, {200, a, 128, false}});
  b.run(0);
  EXPECT_EQ(b.stimulus.data(1), b.stimulus.data(0));
  EXPECT_NE(b.stimulus.data(0), std::vector<std::uint8_t>(128, 0));
}

TEST(DramModule, AFullReadQueueHoldsEndReqBack) {
  Params p = ddr4();
  p.read_queue_bursts = 1;
  p.bank_queue_bursts = 1;
  // Four one-burst reads to one bank's row 0, at cycles 0, 1, 2, 3. A enters at 1 and takes the bank queue's
  // place at the end of 1: ACT 2, RD 2 + tRCD 22 = 24, BEGIN_RESP 24 + CL 22 + burst 4 = 50. B (END_REQ 1)
  // waits in the read queue, C (END_REQ 2) in the front end. A's RD frees the bank place at the end of cycle
  // 24: B moves into it and C into the read queue; B's RD at 24 + tCCD_L 8 = 32 (same bank group), BEGIN_RESP
  // 58; C's at 40, BEGIN_RESP 66. D finds the front end busy: END_REQ only once it can enter, the cycle after
  // C left, so END_REQ 24; its RD at 48, BEGIN_RESP 74.
  Bench b(p, {{0, ddr4_address(p, 0, 0)},
              {1, ddr4_address(p, 0, 8)},
              {2, ddr4_address(p, 0, 16)},
              {3, ddr4_address(p, 0, 24)}});
  EXPECT_EQ(b.run(0).end_req, 0u);
  EXPECT_EQ(b.run(0).begin_resp, 50u);
  EXPECT_EQ(b.run(1).end_req, 1u);
  EXPECT_EQ(b.run(1).begin_resp, 58u);
  EXPECT_EQ(b.run(2).end_req, 2u);
  EXPECT_EQ(b.run(2).begin_resp, 66u);
  EXPECT_EQ(b.run(3).begin_req, 3u);
  EXPECT_EQ(b.run(3).end_req, 24u);
  EXPECT_EQ(b.run(3).begin_resp, 74u);
}

TEST(DramModule, WritesAreAcknowledgedOnceBuffered) {
  const Params p = ddr4();
  // BEGIN_REQ 5, END_REQ 5, in the write buffer at 6: BEGIN_RESP 7. The data is visible at once: a read of it
  // at 8 is served from the write buffer (BEGIN_RESP 10), a read elsewhere goes to the device.
  Bench b(p, {{5, ddr4_address(p, 3, 0), 64, true}, {8, ddr4_address(p, 3, 0)}});
  EXPECT_EQ(b.run(0).end_req, 5u);
  EXPECT_EQ(b.run(0).begin_resp, 7u);
  EXPECT_EQ(b.run(1).begin_resp, 10u);
  EXPECT_EQ(b.stimulus.data(1), b.stimulus.data(0));
  EXPECT_EQ(b.memory.engine().counters().reads_forwarded, 1u);
}

TEST(DramModule, HbmBurstsOfOneTransactionSpreadOverChannels) {
  const Params p = load_preset("hbm2", default_presets_dir());
  // 4 KiB from address 0 with RoRaBgBaChCo: 32 bursts per 2 KB row and channel, so two channels get 32 each,
  // all in one bank: 8 move from the read queue into the bank queue at the end of 1, the others as places
  // free. Each channel: ACT 2, first RD 2 + tRCD 14 = 16, then one RD per burst time (2 cycles; tCCD_L 2 in
  // one bank group), each freed place refilled in time: the 32nd at 16 + 31 x 2 = 78, its data ends 78 + CL
  // 14
  // + 2 = 94: BEGIN_RESP at 94.
  Bench b(p, {{0, 0, 4096}});
  EXPECT_EQ(b.run(0).begin_resp, 94u);
  EXPECT_EQ(b.memory.engine().counters().read_bursts, 64u);
}

}  // namespace
}  // namespace tacsim::dram
