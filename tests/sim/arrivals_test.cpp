// Where a model run's requests come from (sim/arrivals.h): plain C++, no simulation.
#include "sim/arrivals.h"

#include <gtest/gtest.h>

#include <memory>
#include <sstream>

#include "modules/common/error.h"

namespace {

using namespace tacsim;
using namespace tacsim::sim;

traces::RequestTraceReader reader(const std::string& text) {
  return traces::RequestTraceReader(std::make_unique<std::istringstream>(text), "t.csv");
}

// An open loop's requests arrive at their own times, in cycles of the 1 GHz clock, whatever has finished.
TEST(TraceArrivals, AnOpenLoopArrivesAtTheTracesTimesWhateverFinished) {
  const ClockDomain clock(1000.0);
  TraceArrivals a(reader("id,arrival_ns,seq_len\n7,0,12\n8,100,30\n9,250,5\n"), clock, 0, 1);
  ASSERT_EQ(a.next_arrival(), Cycle{0});
  const scheduler::Request r0 = a.take();
  EXPECT_EQ(r0.id, 7u);
  EXPECT_EQ(r0.length, 12u);
  a.finished(5000);  // long after the next arrivals: they keep their times
  EXPECT_EQ(a.next_arrival(), Cycle{100});
  EXPECT_EQ(a.take().arrival, Cycle{100});
  EXPECT_EQ(a.take().arrival, Cycle{250});
  EXPECT_TRUE(a.exhausted());
  EXPECT_EQ(a.next_arrival(), std::nullopt);
}

// A closed loop of one client: the next request is released when the previous one finishes (think 10 ns).
TEST(TraceArrivals, AClosedLoopReleasesOnAFinish) {
  const ClockDomain clock(1000.0);
  TraceArrivals a(reader("# arrival: closed clients=1 think_ns=10\nid,arrival_ns,seq_len\n0,0,12\n1,0,30\n"),
                  clock, 0, 1);
  EXPECT_EQ(a.take().arrival, Cycle{0});
  EXPECT_EQ(a.next_arrival(), std::nullopt);  // its one client is busy
  a.finished(400);
  EXPECT_EQ(a.next_arrival(), Cycle{410});
  EXPECT_EQ(a.take().arrival, Cycle{410});
  // A closed loop's arrivals follow its finishes: a rate cannot re-time them.
  EXPECT_THROW(
      TraceArrivals(reader("# arrival: closed clients=1\nid,arrival_ns,seq_len\n0,0,12\n"), clock, 100, 1),
      InputError);
}

// Re-timed at a rate: the lengths in order, the arrivals a Poisson process (increasing, mean gap 1/rate).
TEST(TraceArrivals, ARateRetimesArrivalsAndKeepsLengths) {
  const ClockDomain clock(1000.0);
  std::string text = "id,arrival_ns,seq_len\n";
  for (int i = 0; i < 2000; ++i) text += std::to_string(i) + ",0," + std::to_string(1 + i % 7) + "\n";
  TraceArrivals a(reader(text), clock, 1e6, 3);  // one request a microsecond
  Cycle last = 0;
  for (int i = 0; i < 2000; ++i) {
    const scheduler::Request r = a.take();
    EXPECT_EQ(r.length, std::uint32_t(1 + i % 7));
    EXPECT_GE(r.arrival, last);
    last = r.arrival;
  }
  EXPECT_NEAR(double(last) / 2000, 1000.0, 100.0);  // cycles of 1 ns; 2000 gaps' mean within 10 %
}

TEST(SequenceArrivals, AModelsSequencesAllArriveAtCycleZeroInOrder) {
  SequenceArrivals a({64, 32});
  EXPECT_EQ(a.next_arrival(), Cycle{0});
  EXPECT_EQ(a.take().length, 64u);
  EXPECT_EQ(a.take().length, 32u);
  EXPECT_TRUE(a.exhausted());
}

}  // namespace
