#include <gtest/gtest.h>

#include "modules/dma/dma_engine.h"

namespace tacsim::dma {
namespace {

TEST(DmaEngine, SplitsRowsAtAlignedBoundaries) {
  Params p;
  p.max_transaction_bytes = 256;
  p.max_outstanding = 100;
  DmaEngine e(p);
  std::vector<std::uint8_t> local(2 * 300);
  Move m;
  m.address =
      200;  // row 0: [200, 500) -> [200,256) [256,500); row 1: [1200, 1500) -> [1200,1280) [1280,1500)
  m.rows = 2;
  m.row_bytes = 300;
  m.stride_bytes = 1000;
  m.local = local.data();
  e.submit(m);
  std::vector<Transaction> ts;
  while (e.can_issue()) ts.push_back(e.issue(0));
  ASSERT_EQ(ts.size(), 4u);
  EXPECT_EQ(ts[0].address, 200u);
  EXPECT_EQ(ts[0].bytes, 56u);
  EXPECT_EQ(ts[1].address, 256u);
  EXPECT_EQ(ts[1].bytes, 244u);
  EXPECT_EQ(ts[2].address, 1200u);
  EXPECT_EQ(ts[2].bytes, 80u);
  EXPECT_EQ(ts[3].address, 1280u);
  EXPECT_EQ(ts[3].bytes, 220u);
  EXPECT_EQ(ts[2].local, local.data() + 300);  // packed back to back on chip
  EXPECT_EQ(ts[3].local, local.data() + 380);
}

TEST(DmaEngine, ContiguousRowsAreOneRange) {
  Params p;
  p.max_transaction_bytes = 256;
  p.max_outstanding = 100;
  DmaEngine e(p);
  std::vector<std::uint8_t> local(3 * 100);
  Move m;
  m.address =
      200;  // three rows of 100 back to back: [200, 500) -> [200,256) [256,500), not cut at 300 or 400
  m.rows = 3;
  m.row_bytes = 100;
  m.stride_bytes = 100;
  m.local = local.data();
  e.submit(m);
  std::vector<Transaction> ts;
  while (e.can_issue()) ts.push_back(e.issue(0));
  ASSERT_EQ(ts.size(), 2u);
  EXPECT_EQ(ts[0].address, 200u);
  EXPECT_EQ(ts[0].bytes, 56u);
  EXPECT_EQ(ts[1].address, 256u);
  EXPECT_EQ(ts[1].bytes, 244u);
  EXPECT_EQ(ts[1].local, local.data() + 56);
}

TEST(DmaEngine, StridedRowsWithinAlignedBlocksGoTogether) {
  Params p;
  p.max_transaction_bytes = 256;
  p.max_outstanding = 100;
  DmaEngine e(p);
  std::vector<std::uint8_t> local(7 * 60);
  Move m;
  // Rows of 60 bytes 96 apart from 1024, at offsets 0, 96, 192, 32, 128, 224, 64 in their 256-byte blocks:
  // rows 0-3 fit theirs, four to a transaction (4 x 60 <= 256); row 4 fits but row 5 crosses 1536, so row 4
  // goes alone, row 5 in two pieces, and row 6 alone.
  m.address = 1024;
  m.rows = 7;
  m.row_bytes = 60;
  m.stride_bytes = 96;
  m.local = local.data();
  e.submit(m);
  std::vector<Transaction> ts;
  while (e.can_issue()) ts.push_back(e.issue(0));
  ASSERT_EQ(ts.size(), 5u);
  EXPECT_EQ(ts[0].address, 1024u);
  EXPECT_EQ(ts[0].rows, 4u);
  EXPECT_EQ(ts[0].row_bytes, 60u);
  EXPECT_EQ(ts[0].stride, 96u);
  EXPECT_EQ(ts[0].bytes, 240u);
  EXPECT_EQ(ts[1].address, 1408u);
  EXPECT_EQ(ts[1].rows, 1u);
  EXPECT_EQ(ts[1].bytes, 60u);
  EXPECT_EQ(ts[1].local, local.data() + 240);
  EXPECT_EQ(ts[2].address, 1504u);
  EXPECT_EQ(ts[2].bytes, 32u);
  EXPECT_EQ(ts[3].address, 1536u);
  EXPECT_EQ(ts[3].bytes, 28u);
  EXPECT_EQ(ts[3].local, local.data() + 332);
  EXPECT_EQ(ts[4].address, 1600u);
  EXPECT_EQ(ts[4].rows, 1u);
  EXPECT_EQ(ts[4].local, local.data() + 360);
  EXPECT_EQ(e.counters().transactions, 5u);
  EXPECT_EQ(e.counters().read_bytes, 420u);
}

TEST(DmaEngine, OutstandingLimitAndCompletion) {
  Params p;
  p.max_transaction_bytes = 64;
  p.max_outstanding = 2;
  DmaEngine e(p);
  std::vector<std::uint8_t> local(256);
  Cycle done_at = 0;
  int done_calls = 0;
  Move m;
  m.address = 0;
  m.row_bytes = 192;  // three transactions
  m.local = local.data();
  m.on_done = [&](Cycle c) {
    done_at = c;
    ++done_calls;
  };
  e.submit(m);
  const Transaction a = e.issue(5), b = e.issue(6);
  EXPECT_FALSE(e.can_issue());  // two in flight
  EXPECT_FALSE(e.complete(a, 20));
  EXPECT_TRUE(e.can_issue());
  const Transaction c = e.issue(21);
  EXPECT_FALSE(e.complete(b, 22));
  auto done = e.complete(c, 30);
  ASSERT_TRUE(done);
  done(30);
  EXPECT_EQ(done_calls, 1);
  EXPECT_EQ(done_at, 30u);
  EXPECT_EQ(e.counters().active_cycles, 25u);  // in flight from 5 to 30
  // Two in flight (the limit) from 6 to 20 and from 21 to 22: 14 + 1.
  EXPECT_EQ(e.counters().at_limit_cycles, 15u);
  EXPECT_EQ(e.counters().read_bytes, 192u);
}

TEST(DmaEngine, ParamsValidate) {
  Params p;
  p.max_transaction_bytes = 100;
  EXPECT_EQ(p.validate(), "max_transaction_bytes: must be a power of two, got 100");
}

}  // namespace
}  // namespace tacsim::dma
