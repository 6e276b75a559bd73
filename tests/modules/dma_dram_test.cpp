// Dma driving the DRAM model over the TLM-2.0 AT protocol, exactly as the accelerator does: exact latency of
// an idle-bank read through the whole stack, data integrity, and no loss under a full controller queue.
#include <gtest/gtest.h>

#include <numeric>

#include "modules/dma/dma.h"
#include "modules/dram/dram.h"

namespace tacsim {
namespace {

dram::Params ddr4(std::uint32_t queue_bursts) {
  dram::Params p = dram::load_preset("ddr4-3200", dram::default_presets_dir());
  p.queue_depth_bursts = queue_bursts;
  return p;
}

struct Bench : sc_core::sc_module {
  ClockDomain clock{1600.0};  // the DMA on the DRAM's clock, so cycles compare one to one
  dram::Dram memory;
  dma::Dma dma;
  std::vector<Cycle> done;

  Bench(const sc_core::sc_module_name& name, const dram::Params& p, const dma::Params& d)
      : sc_module(name), memory("memory", p), dma("dma", d, clock) {
    dma.initiator_socket.bind(memory.target_socket);
  }
};

dma::Params dma_params(std::uint32_t transaction_bytes) {
  dma::Params p;
  p.max_transaction_bytes = transaction_bytes;
  p.max_outstanding = 64;
  return p;
}

TEST(DmaDram, IdleBankReadLatencyThroughTheStack) {
  Bench b("bench", ddr4(32), dma_params(64));
  std::vector<std::uint8_t> src(64);
  std::iota(src.begin(), src.end(), 3);
  b.memory.store().write(4096, src.data(), src.size());
  std::vector<std::uint8_t> local(64);
  dma::Move m;
  m.address = 4096;
  m.row_bytes = 64;
  m.local = local.data();
  m.on_done = [&](Cycle c) {
    b.done.push_back(c);
    sc_core::sc_stop();  // the DRAM refreshes forever: stop when the traffic is done
  };
  b.dma.submit(m);
  sc_core::sc_start();
  // BEGIN_REQ at cycle 0 enters the controller at 1; ACT at 1, RD at 1 + tRCD 22 = 23, data from 23 + CL 22 = 45
  // for burst 4 cycles: the last beat ends at 49, when BEGIN_RESP arrives.
  ASSERT_EQ(b.done, (std::vector<Cycle>{49}));
  EXPECT_EQ(local, src);
}

TEST(DmaDram, WritesThenReadsBackUnderAFullQueue) {
  // A two-burst queue: 16 KiB of writes in 256-byte transactions keep the controller's front end busy.
  Bench b("bench", ddr4(2), dma_params(256));
  std::vector<std::uint8_t> out(16384), in(16384, 0);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::uint8_t>(i * 37 + 11);
  dma::Move w;
  w.write = true;
  w.address = 1 << 20;
  w.rows = 16;
  w.row_bytes = 1024;
  w.stride_bytes = 8192;  // rows spread over banks and rows
  w.local = out.data();
  w.on_done = [&](Cycle c) {
    b.done.push_back(c);
    dma::Move r = w;
    r.write = false;
    r.local = in.data();
    r.on_done = [&](Cycle c2) {
      b.done.push_back(c2);
      sc_core::sc_stop();
    };
    b.dma.submit(r);
  };
  b.dma.submit(w);
  sc_core::sc_start();
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

}  // namespace
}  // namespace tacsim
