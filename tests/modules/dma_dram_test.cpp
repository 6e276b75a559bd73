// Dma driving the DRAM model over the TLM-2.0 AT protocol, exactly as the accelerator does: exact latency of
// an idle-bank read through the whole stack, data integrity, no loss under a full controller queue, and the
// shell's event-driven wake-ups against a clock-by-clock replay of the same traffic in the engine.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <random>

#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>

#include "modules/dma/dma.h"
#include "modules/dram/dram.h"
#include "tests/support/module_bench.h"

namespace tacsim {
namespace {

// ddr4-3200 with a read queue and a write buffer of `queue_bursts` each and two bursts per bank queue.
dram::Params ddr4(std::uint32_t queue_bursts) {
  dram::Params p = dram::load_preset("ddr4-3200", dram::default_presets_dir());
  p.read_queue_bursts = queue_bursts;
  p.write_buffer_bursts = queue_bursts;
  p.write_high_watermark_bursts = queue_bursts;
  p.bank_queue_bursts = 2;
  return p;
}

// The DMA on the DRAM's clock (1600 MHz), so cycles compare one to one. `script` is the stimulus.
struct Bench : testing_support::ModuleBench {
  dram::Dram memory;
  dma::Dma dma;
  std::vector<Cycle> done;
  std::function<void()> script;

  Bench(const dram::Params& p, const dma::Params& d)
      : ModuleBench("bench", p.clock_mhz), memory("memory", p), dma("dma", d, clock) {
    dma.initiator_socket.bind(memory.target_socket);
  }
  void stimulus() override { script(); }
  // Submits m and returns when it is done, noting the cycle.
  void move(dma::Move m) {
    sc_core::sc_event moved;
    m.on_done = [&](Cycle c) {
      done.push_back(c);
      moved.notify(sc_core::SC_ZERO_TIME);
    };
    dma.submit(std::move(m));
    wait(moved);
  }
};

dma::Params dma_params(std::uint32_t transaction_bytes) {
  dma::Params p;
  p.max_transaction_bytes = transaction_bytes;
  p.max_outstanding = 64;
  return p;
}

TEST(DmaDram, IdleBankReadLatencyThroughTheStack) {
  Bench b(ddr4(32), dma_params(64));
  std::vector<std::uint8_t> src(64);
  std::iota(src.begin(), src.end(), 3);
  b.memory.store().write(4096, src.data(), src.size());
  std::vector<std::uint8_t> local(64);
  dma::Move m;
  m.address = 4096;
  m.row_bytes = 64;
  m.local = local.data();
  b.script = [&] { b.move(m); };
  ASSERT_TRUE(b.run());
  // BEGIN_REQ at cycle 0 enters the controller at 1 and its bank queue at the end of 1; ACT at 2, RD at 2 +
  // tRCD 22 = 24, data from 24 + CL 22 = 46 for burst 4 cycles: the last beat ends at 50, when BEGIN_RESP
  // arrives.
  ASSERT_EQ(b.done, (std::vector<Cycle>{50}));
  EXPECT_EQ(local, src);
}

TEST(DmaDram, WritesThenReadsBackUnderAFullQueue) {
  // A two-burst queue: 16 KiB of writes in 256-byte transactions keep the controller's front end busy.
  Bench b(ddr4(2), dma_params(256));
  std::vector<std::uint8_t> out(16384), in(16384, 0);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::uint8_t>(i * 37 + 11);
  dma::Move w;
  w.write = true;
  w.address = 1 << 20;
  w.rows = 16;
  w.row_bytes = 1024;
  w.stride_bytes = 8192;  // rows spread over banks and rows
  w.local = out.data();
  b.script = [&] {
    b.move(w);
    dma::Move r = w;
    r.write = false;
    r.local = in.data();
    b.move(r);
  };
  ASSERT_TRUE(b.run());
  ASSERT_EQ(b.done.size(), 2u);
  EXPECT_LT(b.done[0], b.done[1]);
  EXPECT_EQ(in, out);
  const auto& c = b.memory.engine().counters();
  EXPECT_EQ(c.write_bursts, 16384u / 64);
  EXPECT_EQ(c.read_bursts, 16384u / 64);
  EXPECT_EQ(c.write_transactions, 64u);
  EXPECT_EQ(c.read_transactions, 64u);
  EXPECT_EQ(b.dma.engine().counters().transactions, 128u);
}

// Passes every phase through unchanged and notes, per transaction, the cycles of its BEGIN_REQ, of the end of
// its request phase (END_REQ returned or sent back: the DRAM registers it one cycle later) and of its
// BEGIN_RESP.
struct Probe : sc_core::sc_module {
  struct Seen {
    std::uint64_t address = 0;
    std::uint32_t bytes = 0;  // per row
    bool write = false;
    std::uint32_t rows = 1;
    std::uint64_t stride = 0;
    Cycle begun = kNever;
    Cycle accepted = kNever;
    Cycle responded = kNever;
  };
  tlm_utils::simple_target_socket<Probe> target_socket;
  tlm_utils::simple_initiator_socket<Probe> initiator_socket;
  const ClockDomain& clock;
  std::vector<Seen> seen;
  std::map<tlm::tlm_generic_payload*, std::size_t> open;

  Probe(const sc_core::sc_module_name& name, const ClockDomain& c)
      : sc_module(name), target_socket("target_socket"), initiator_socket("initiator_socket"), clock(c) {
    target_socket.register_nb_transport_fw(this, &Probe::fw);
    initiator_socket.register_nb_transport_bw(this, &Probe::bw);
  }
  tlm::tlm_sync_enum fw(tlm::tlm_generic_payload& p, tlm::tlm_phase& phase, sc_core::sc_time& t) {
    const bool begin = phase == tlm::BEGIN_REQ;
    if (begin) {
      open[&p] = seen.size();
      const Block b = block_of(p);
      seen.push_back({b.address, b.row_bytes, p.is_write(), b.rows, b.stride, clock.now()});
    }
    const tlm::tlm_sync_enum r = initiator_socket->nb_transport_fw(p, phase, t);
    if (begin && r == tlm::TLM_UPDATED && phase == tlm::END_REQ) seen[open[&p]].accepted = clock.now();
    return r;
  }
  tlm::tlm_sync_enum bw(tlm::tlm_generic_payload& p, tlm::tlm_phase& phase, sc_core::sc_time& t) {
    if (phase == tlm::END_REQ) seen[open[&p]].accepted = clock.now();
    if (phase == tlm::BEGIN_RESP) {
      seen[open[&p]].responded = clock.now();
      open.erase(&p);
    }
    return target_socket->nb_transport_bw(p, phase, t);
  }
};

// Random 2-D moves, some submitted together and some after idle gaps, through Dma -> Probe -> Dram; then the
// same requests replayed through Engine::step() cycle by cycle, each offered in order from the cycle after
// its BEGIN_REQ and retried every cycle until taken. The reference must take each request exactly one cycle
// after the shell ended its request phase, and finish it exactly when the shell responded: the shell may skip
// wake-ups, never move an END_REQ or a BEGIN_RESP.
struct ShellBench : testing_support::ModuleBench {
  dram::Dram memory;
  dma::Dma dma;
  Probe probe;
  std::mt19937_64 rng;
  std::vector<std::uint8_t> local = std::vector<std::uint8_t>(1 << 16);
  static constexpr int kMoves = 600;
  int finished = 0;
  sc_core::sc_event all_done;

  static dma::Params dma_params() {
    dma::Params d;
    d.max_transaction_bytes = 512;
    d.max_outstanding = 16;
    return d;
  }
  explicit ShellBench(const dram::Params& p)
      : ModuleBench("bench", p.clock_mhz),
        memory("memory", p),
        dma("dma", dma_params(), clock),
        probe("probe", clock),
        rng(p.read_queue_bursts * 7919 + p.channels) {
    dma.initiator_socket.bind(probe.target_socket);
    probe.initiator_socket.bind(memory.target_socket);
  }
  void stimulus() override {
    for (int i = 0; i < kMoves; ++i) {
      dma::Move m;
      m.write = rng() % 3 == 0;
      m.rows = 1 + rng() % 4;
      m.row_bytes = 1 + rng() % (rng() % 2 == 0 ? 128 : 1024);
      m.stride_bytes = m.row_bytes + rng() % 8192;
      m.address = rng() % (std::uint64_t{1} << 22);
      m.local = local.data();
      m.on_done = [this](Cycle) {
        if (++finished == kMoves) all_done.notify(sc_core::SC_ZERO_TIME);
      };
      dma.submit(m);
      if (rng() % 3 == 0) clock.wait_until(clock.now() + (rng() % 8 == 0 ? rng() % 2000 : rng() % 60));
    }
    if (finished < kMoves) wait(all_done);  // the DRAM refreshes forever: the bench stops the run
  }
};

void expect_shell_matches_reference(const dram::Params& p) {
  ShellBench b(p);
  ASSERT_TRUE(b.run());
  ASSERT_EQ(b.finished, ShellBench::kMoves);
  const Probe& probe = b.probe;

  dram::Engine reference(p);
  std::map<std::uint64_t, Cycle> finish;
  std::size_t next = 0;  // requests are taken in BEGIN_REQ order, one request phase at a time
  std::uint64_t refusals = 0;
  Cycle last = 0;
  for (const Probe::Seen& s : probe.seen) last = std::max(last, s.responded);
  ASSERT_NE(last, kNever);
  for (Cycle t = 0; t <= last; ++t) {
    for (; next < probe.seen.size() && probe.seen[next].begun + 1 <= t; ++next) {
      const Probe::Seen& s = probe.seen[next];
      if (!reference.try_enqueue({next, s.address, s.bytes, s.write, s.rows, s.stride}, t)) {
        ++refusals;
        ASSERT_LT(t, s.accepted + 1) << "transaction " << next << " refused after the shell took it";
        break;
      }
      ASSERT_EQ(t, s.accepted + 1) << "transaction " << next << " taken at another cycle";
    }
    reference.step(t);
    for (const dram::Completion& c : reference.take_completions()) finish[c.id] = c.finish;
  }
  ASSERT_EQ(next, probe.seen.size());
  std::size_t blocks = 0;
  for (const Probe::Seen& s : probe.seen) blocks += s.rows > 1;
  EXPECT_GT(blocks, 50u) << "the test should carry 2-D transactions";
  if (p.read_queue_bursts <= 8) {
    EXPECT_GT(refusals, 100u) << "the test should exercise back-pressure";
  }
  ASSERT_EQ(finish.size(), probe.seen.size());
  for (std::size_t i = 0; i < probe.seen.size(); ++i)
    ASSERT_EQ(probe.seen[i].responded, finish[i]) << "transaction " << i;
}

TEST(DmaDram, ShellRespondsAtTheReferenceCyclesOnDdr4UnderBackPressure) {
  expect_shell_matches_reference(ddr4(8));
}

TEST(DmaDram, ShellRespondsAtTheReferenceCyclesOnHbm2) {
  expect_shell_matches_reference(dram::load_preset("hbm2", dram::default_presets_dir()));
}

}  // namespace
}  // namespace tacsim
