// The request trace format (traces/request_trace.h): what the reader accepts, every error it names by file
// and line, the length policies and their counts, streaming in bounded memory, the closed-loop release
// rules of RequestSource, the arrival processes and the Azure timestamps.
#include "traces/request_trace.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <streambuf>

#include <unistd.h>

#include "modules/common/error.h"
#include "tests/support/input_error.h"
#include "traces/arrivals.h"
#include "traces/azure_trace.h"
#include "traces/request_source.h"
#include "traces/trace_stats.h"

namespace {

using namespace tacsim;
using namespace tacsim::traces;
using tacsim::testing_support::error_of;

RequestTraceReader reader_of(const std::string& text, const LengthLimit& limit = {}) {
  return RequestTraceReader(std::make_unique<std::istringstream>(text), "t.csv", limit);
}

std::vector<Request> read_all(const std::string& text, const LengthLimit& limit = {}) {
  auto reader = reader_of(text, limit);
  std::vector<Request> out;
  Request r;
  while (reader.next(r)) out.push_back(r);
  return out;
}

std::string read_error(const std::string& text, const LengthLimit& limit = {}) {
  return error_of([&] { read_all(text, limit); });
}

TEST(RequestTrace, ReadsRequiredAndOptionalColumnsCommentsAndBlankLines) {
  const auto rows = read_all(
      "# SST-2 dev, made by hand\n"
      "\n"
      "id,arrival_ns,seq_len,task,output_len,model\r\n"  // optional columns in any order; CRLF is fine
      "0,0,25,sst2,,bert-base\n"
      "# a comment between rows\n"
      "3, 100 ,7,,12,\n"  // ids may skip; fields are trimmed; empty optional fields are 'none'
      "4,100,512,qa,0,bert-large\n");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].id, 0u);
  EXPECT_EQ(rows[0].seq_len, 25u);
  EXPECT_EQ(rows[0].task, "sst2");
  EXPECT_EQ(rows[0].model, "bert-base");
  EXPECT_EQ(rows[0].output_len, 0u);
  EXPECT_EQ(rows[1].id, 3u);
  EXPECT_EQ(rows[1].arrival_ns, 100u);
  EXPECT_EQ(rows[1].output_len, 12u);
  EXPECT_EQ(rows[1].model, "");
  EXPECT_EQ(rows[1].task, "");
  EXPECT_EQ(rows[2].arrival_ns, 100u);  // equal arrivals are fine: they must not decrease
  EXPECT_EQ(rows[2].model, "bert-large");
}

TEST(RequestTrace, WriterOutputReadsBackTheSame) {
  TraceLayout layout;
  layout.columns = {Column::kId, Column::kArrivalNs, Column::kSeqLen, Column::kModel, Column::kOutputLen};
  std::ostringstream out;
  RequestTraceWriter w(out, layout, {"made by a test"});
  w.write({0, 0, 25, 3, "bert-base", ""});
  w.write({1, 1500, 7, 0, "", ""});
  EXPECT_EQ(out.str(),
            "# made by a test\n"
            "id,arrival_ns,seq_len,model,output_len\n"
            "0,0,25,bert-base,3\n"
            "1,1500,7,,0\n");
  const auto rows = read_all(out.str());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].arrival_ns, 1500u);
  EXPECT_EQ(rows[0].model, "bert-base");
}

TEST(RequestTrace, WriterRefusesWhatTheReaderWouldReject) {
  std::ostringstream out;
  RequestTraceWriter w(out, TraceLayout{});
  w.write({5, 100, 25, 0, "", ""});
  EXPECT_EQ(error_of([&] {
              w.write({5, 200, 25, 0, "", ""});
            }),
            "request trace row 2 (id 5): id 5 repeats the previous request's (ids must increase)");
  EXPECT_EQ(
      error_of([&] {
        w.write({6, 50, 25, 0, "", ""});
      }),
      "request trace row 2 (id 6): arrival_ns 50 is before the previous request's 100 (arrivals must not "
      "decrease)");
  EXPECT_EQ(error_of([&] {
              w.write({6, 100, 0, 0, "", ""});
            }),
            "request trace row 2 (id 6): seq_len: expected 1 to 16777216 tokens, got 0");
  TraceLayout named;
  named.columns.push_back(Column::kModel);
  RequestTraceWriter wn(out, named);
  EXPECT_EQ(error_of([&] {
              wn.write({0, 0, 1, 0, "bert,base", ""});
            }),
            "request trace row 1 (id 0): model: expected a name of letters, digits and . _ - + / :, got "
            "'bert,base'");
}

TEST(RequestTrace, HeaderErrorsNameTheLine) {
  EXPECT_EQ(read_error("# only a comment\nid,arrival_ns\n0,0\n"),
            "t.csv:2: missing column 'seq_len' (a header starts id,arrival_ns,seq_len)");
  EXPECT_EQ(read_error("id,arrival_ns,seqlen\n"),
            "t.csv:1: unknown column 'seqlen' (did you mean seq_len?) (a header is id,arrival_ns,seq_len "
            "then any of "
            "output_len, model or task)");
  EXPECT_EQ(read_error("id,arrival_ns,seq_len,model,model\n"), "t.csv:1: column 'model' appears twice");
  EXPECT_EQ(read_error("arrival_ns,id,seq_len\n0,0,1\n"),
            "t.csv:1: expected the header to start id,arrival_ns,seq_len, got 'arrival_ns,id,seq_len'");
  EXPECT_EQ(read_error("id,arrival_ns,model,seq_len\n"),
            "t.csv:1: expected the header to start id,arrival_ns,seq_len, got 'id,arrival_ns,model,seq_len'");
}

TEST(RequestTrace, AnEmptyTraceIsAnError) {
  EXPECT_EQ(read_error(""),
            "t.csv:1: empty trace: expected a header line id,arrival_ns,seq_len[,output_len,model,task] and "
            "request "
            "rows");
  EXPECT_EQ(read_error("# nothing\n\n"),
            "t.csv:3: empty trace: expected a header line id,arrival_ns,seq_len[,output_len,model,task] and "
            "request "
            "rows");
  EXPECT_EQ(read_error("id,arrival_ns,seq_len\n# no rows\n"),
            "t.csv:3: expected request rows after the header on line 1, found the end of the trace");
}

TEST(RequestTrace, FieldErrorsNameTheLineAndWhatWasExpected) {
  const std::string h = "id,arrival_ns,seq_len\n0,0,10\n";
  EXPECT_EQ(read_error(h + "1,5,abc\n"),
            "t.csv:3: seq_len: expected a positive number of tokens up to 16777216, got 'abc'");
  EXPECT_EQ(read_error(h + "1,5,-3\n"),
            "t.csv:3: seq_len: expected a positive number of tokens up to 16777216, got '-3'");
  EXPECT_EQ(read_error(h + "1,5,0\n"),
            "t.csv:3: seq_len: expected a positive number of tokens up to 16777216, got '0'");
  EXPECT_EQ(read_error(h + "1,5,2.5\n"),
            "t.csv:3: seq_len: expected a positive number of tokens up to 16777216, got '2.5'");
  EXPECT_EQ(read_error(h + "1,5,16777217\n"),
            "t.csv:3: seq_len: expected a positive number of tokens up to 16777216, got '16777217'");
  EXPECT_EQ(read_error(h + "1,soon,3\n"),
            "t.csv:3: arrival_ns: expected a whole number of nanoseconds from 0 to 2^62, got 'soon'");
  EXPECT_EQ(read_error(h + "1,-5,3\n"),
            "t.csv:3: arrival_ns: expected a whole number of nanoseconds from 0 to 2^62, got '-5'");
  EXPECT_EQ(read_error(h + "x,5,3\n"), "t.csv:3: id: expected a non-negative integer, got 'x'");
  EXPECT_EQ(read_error(h + "1,5\n"),
            "t.csv:3: expected 3 fields (id,arrival_ns,seq_len, the header on line 1), got 2");
  EXPECT_EQ(read_error(h + "1,5,3,4\n"),
            "t.csv:3: expected 3 fields (id,arrival_ns,seq_len, the header on line 1), got 4");
  EXPECT_EQ(read_error("id,arrival_ns,seq_len,output_len\n0,0,1,-1\n"),
            "t.csv:2: output_len: expected a number of tokens up to 16777216 (or nothing), got '-1'");
  EXPECT_EQ(read_error("id,arrival_ns,seq_len,task\n0,0,1,\"sst2\"\n"),
            "t.csv:2: task: expected a name of letters, digits and . _ - + / : (or nothing), got '\"sst2\"'");
}

TEST(RequestTrace, OrderErrors) {
  const std::string h = "id,arrival_ns,seq_len\n0,100,10\n";
  EXPECT_EQ(read_error(h + "1,99,3\n"),
            "t.csv:3: arrival_ns 99 is before the previous request's 100 (arrivals must not decrease)");
  EXPECT_EQ(read_error(h + "0,100,3\n"), "t.csv:3: id 0 repeats the previous request's (ids must increase)");
  EXPECT_EQ(read_error("id,arrival_ns,seq_len\n5,0,1\n\n3,0,1\n"),
            "t.csv:4: id 3 is below the previous request's 5 (ids must increase)");
}

TEST(RequestTrace, ClosedLoopDirective) {
  auto reader = reader_of("# arrival: closed clients=8 think_ns=250\nid,arrival_ns,seq_len\n0,0,5\n1,0,6\n");
  ASSERT_TRUE(reader.layout().closed_loop);
  EXPECT_EQ(reader.layout().closed_loop->clients, 8u);
  EXPECT_EQ(reader.layout().closed_loop->think_ns, 250u);
  EXPECT_FALSE(reader_of("#arrival: open\nid,arrival_ns,seq_len\n0,0,5\n").layout().closed_loop);
  EXPECT_EQ(
      reader_of("# arrival: closed clients=2\nid,arrival_ns,seq_len\n0,0,5\n").layout().closed_loop->think_ns,
      0u);
  const std::string h = "id,arrival_ns,seq_len\n0,0,5\n";
  EXPECT_EQ(read_error("# arrival: closed clients=2\nid,arrival_ns,seq_len\n0,0,5\n1,10,5\n"),
            "t.csv:4: arrival_ns: expected 0 in a closed-loop trace (a request arrives when a client's "
            "previous one "
            "finishes), got 10");
  EXPECT_EQ(read_error("# arrival: closed\n" + h),
            "t.csv:1: a closed loop needs clients=N (requests in flight)");
  EXPECT_EQ(read_error("# arrival: closed clients=0\n" + h),
            "t.csv:1: clients: expected 1 to 1048576, got '0'");
  EXPECT_EQ(read_error("# arrival: closed clients=2 think=3\n" + h),
            "t.csv:1: expected clients=N or think_ns=T (once each), got 'think=3'");
  EXPECT_EQ(read_error("# arrival: close clients=2\n" + h),
            "t.csv:1: expected '# arrival: open' or '# arrival: closed clients=N [think_ns=T]', got 'close'");
  EXPECT_EQ(read_error("# arrival: open\n# arrival: open\n" + h),
            "t.csv:2: a second '# arrival:' directive (a trace has at most one)");
  EXPECT_EQ(read_error(h + "# arrival: closed clients=2\n"),
            "t.csv:3: the '# arrival:' directive must come before the header");
  // Any other comment, even one that mentions arrivals, is a comment.
  EXPECT_EQ(read_all("# arrivals are Poisson\n" + h).size(), 1u);
}

TEST(RequestTrace, LengthPoliciesCountWhatTheyChange) {
  const std::string t = "id,arrival_ns,seq_len\n0,0,100\n1,1,600\n2,2,512\n3,3,513\n4,4,7\n";
  {
    auto r = reader_of(t, {512, OverMax::kTruncate});
    std::vector<std::uint32_t> lens;
    for (Request q; r.next(q);) lens.push_back(q.seq_len);
    EXPECT_EQ(lens, (std::vector<std::uint32_t>{100, 512, 512, 512, 7}));
    EXPECT_EQ(r.truncated(), 2u);
    EXPECT_EQ(r.dropped(), 0u);
    EXPECT_EQ(r.rows(), 5u);
  }
  {
    auto r = reader_of(t, {512, OverMax::kDrop});
    std::vector<std::uint64_t> ids;
    for (Request q; r.next(q);) ids.push_back(q.id);
    EXPECT_EQ(ids, (std::vector<std::uint64_t>{0, 2, 4}));
    EXPECT_EQ(r.dropped(), 2u);
    EXPECT_EQ(r.truncated(), 0u);
  }
  EXPECT_EQ(
      read_error(t, {512, OverMax::kError}),
      "t.csv:3: seq_len 600 is beyond the model's maximum of 512 (a length policy of truncate or drop would "
      "accept it)");
  EXPECT_EQ(read_all(t, {600, OverMax::kError}).size(), 5u);  // at the maximum is within it
  EXPECT_EQ(read_error("id,arrival_ns,seq_len\n0,0,600\n1,0,700\n", {512, OverMax::kDrop}),
            "t.csv: all 2 requests are longer than the maximum of 512 tokens and were dropped");
}

TEST(RequestTrace, PolicyNamesParse) {
  EXPECT_EQ(parse_over_max("truncate"), OverMax::kTruncate);
  EXPECT_EQ(parse_over_max("drop"), OverMax::kDrop);
  EXPECT_EQ(parse_over_max("error"), OverMax::kError);
  EXPECT_FALSE(parse_over_max("clip"));
  EXPECT_EQ(over_max_name(OverMax::kDrop), "drop");
}

TEST(RequestTrace, AFolderOrAMissingFileIsNamed) {
  EXPECT_EQ(error_of([] { RequestTraceReader r("/nonexistent/x.csv"); }),
            "/nonexistent/x.csv: cannot open request trace (no such file)");
  EXPECT_EQ(error_of([] { RequestTraceReader r("/tmp"); }),
            "/tmp: cannot open request trace (not a regular file)");
}

// A trace of `rows` rows, generated as it is read, so the test itself holds none of it.
class GeneratedTrace : public std::streambuf {
 public:
  explicit GeneratedTrace(std::uint64_t rows) : rows_(rows) {
    set(std::snprintf(line_, sizeof line_, "id,arrival_ns,seq_len,model\n"));
  }

 protected:
  // Each row is formatted into one fixed buffer: the generator allocates nothing, so any growth is the
  // reader's.
  int_type underflow() override {
    if (next_ == rows_) return traits_type::eof();
    const auto id = static_cast<unsigned long long>(next_);
    set(std::snprintf(line_, sizeof line_, "%llu,%llu,%llu,bert-base\n", id, id * 1000, id % 512 + 1));
    ++next_;
    return traits_type::to_int_type(line_[0]);
  }

 private:
  void set(int length) { setg(line_, line_, line_ + length); }
  std::uint64_t rows_, next_ = 0;
  char line_[64];
};

class GeneratedStream : public std::istream {
 public:
  explicit GeneratedStream(std::uint64_t rows) : std::istream(nullptr), buf_(rows) { rdbuf(&buf_); }

 private:
  GeneratedTrace buf_;
};

std::uint64_t resident_kib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
  return 0;
}

TEST(RequestTrace, StreamsAMillionRowsInBoundedMemory) {
  constexpr std::uint64_t kRows = 1'000'000;
  RequestTraceReader reader(std::make_unique<GeneratedStream>(kRows), "generated");
  const std::uint64_t before_kib = resident_kib();
  TraceStats stats;
  Request r;
  std::uint64_t n = 0, last_id = 0;
  while (reader.next(r)) {
    stats.add(r);
    last_id = r.id;
    ++n;
  }
  const std::uint64_t after_kib = resident_kib();
  EXPECT_EQ(n, kRows);
  EXPECT_EQ(last_id, kRows - 1);
  EXPECT_EQ(stats.max_seq_len(), 512u);
  // Holding the rows would take ~90 MB (a Request is 88 bytes); the reader holds one, the stats a histogram.
  EXPECT_LT(after_kib, before_kib + 8 * 1024)
      << "resident memory grew from " << before_kib << " KiB to " << after_kib << " KiB";
}

std::string trace_of(const std::string& directive, int rows) {
  std::string t = directive + "id,arrival_ns,seq_len\n";
  for (int i = 0; i < rows; ++i) t += std::to_string(i) + ",0," + std::to_string(10 + i) + "\n";
  return t;
}

TEST(RequestSource, OpenLoopHandsRequestsOverAtTheirArrivalTimes) {
  RequestSource s(reader_of("id,arrival_ns,seq_len\n0,0,5\n1,70,6\n"));
  EXPECT_FALSE(s.closed_loop());
  EXPECT_EQ(s.next_arrival_ns(), 0u);
  EXPECT_EQ(s.take().seq_len, 5u);
  EXPECT_EQ(s.next_arrival_ns(), 70u);
  s.finished(40);  // an open loop ignores finishes
  EXPECT_EQ(s.take().arrival_ns, 70u);
  EXPECT_TRUE(s.exhausted());
  EXPECT_FALSE(s.next_arrival_ns());
  EXPECT_THROW(s.take(), std::logic_error);
}

TEST(RequestSource, ClosedLoopReleasesTheNextRequestWhenOneFinishes) {
  RequestSource s(reader_of(trace_of("# arrival: closed clients=2 think_ns=5\n", 5)));
  ASSERT_TRUE(s.closed_loop());
  // Two clients: requests 0 and 1 arrive at 0; the third waits for a finish.
  EXPECT_EQ(s.next_arrival_ns(), 0u);
  EXPECT_EQ(s.take().id, 0u);
  EXPECT_EQ(s.next_arrival_ns(), 0u);
  EXPECT_EQ(s.take().id, 1u);
  EXPECT_FALSE(s.next_arrival_ns());
  EXPECT_FALSE(s.exhausted());
  s.finished(100);  // release at 100 + think 5
  EXPECT_EQ(s.next_arrival_ns(), 105u);
  const Request r2 = s.take();
  EXPECT_EQ(r2.id, 2u);
  EXPECT_EQ(r2.arrival_ns, 105u);
  EXPECT_EQ(r2.seq_len, 12u);
  s.finished(150);
  s.finished(150);  // two finishes at once release two requests at 155, in order
  EXPECT_EQ(s.take().arrival_ns, 155u);
  EXPECT_EQ(s.next_arrival_ns(), 155u);
  EXPECT_EQ(s.take().id, 4u);
  EXPECT_TRUE(s.exhausted());
  s.finished(200);  // nothing left to release
  EXPECT_FALSE(s.next_arrival_ns());
  EXPECT_THROW(s.finished(199), std::logic_error);  // finishes come in time order
}

TEST(RequestSource, MoreClientsThanRequests) {
  RequestSource s(reader_of(trace_of("# arrival: closed clients=8\n", 3)));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(s.take().arrival_ns, 0u);
  EXPECT_TRUE(s.exhausted());
  EXPECT_FALSE(s.next_arrival_ns());
}

TEST(TraceStats, NearestRankPercentilesAndRate) {
  TraceStats s;
  // Lengths 1..100, one request every 10 ms.
  for (std::uint32_t i = 1; i <= 100; ++i) s.add({i, (i - 1) * 10'000'000ull, i, 0, "", ""});
  EXPECT_EQ(s.requests(), 100u);
  EXPECT_DOUBLE_EQ(s.mean_seq_len(), 50.5);
  EXPECT_EQ(s.seq_len_percentile(50), 50u);
  EXPECT_EQ(s.seq_len_percentile(95), 95u);
  EXPECT_EQ(s.seq_len_percentile(100), 100u);
  EXPECT_EQ(s.longer_than(90), 10u);
  EXPECT_NEAR(*s.mean_rate_per_s(), 100.0, 1e-9);  // 99 gaps over 0.99 s
  TraceStats closed;
  closed.add({0, 0, 5, 0, "", ""});
  closed.add({1, 0, 5, 0, "", ""});
  EXPECT_FALSE(closed.mean_rate_per_s());
}

// Mean and coefficient of variation of `n` gaps, in units of the mean gap.
std::pair<double, double> gap_moments(RenewalArrivals a, int n, double mean_gap_ns) {
  double sum = 0, sum2 = 0;
  std::uint64_t prev = a.next_ns();
  EXPECT_EQ(prev, 0u);  // the first request arrives at 0
  for (int i = 0; i < n; ++i) {
    const std::uint64_t t = a.next_ns();
    const double g = double(t - prev) / mean_gap_ns;
    sum += g;
    sum2 += g * g;
    prev = t;
  }
  const double mean = sum / n;
  return {mean, std::sqrt(sum2 / n - mean * mean) / mean};
}

TEST(Arrivals, PoissonGammaAndIntervalHaveTheStatedMeanAndVariation) {
  constexpr int kGaps = 200'000;
  // 1000/s: mean gap 1 ms. The standard error of the mean is cv / sqrt(n) = 0.0022 for cv 1.
  const auto [pm, pcv] = gap_moments(RenewalArrivals(1000, 1.0, 7), kGaps, 1e6);
  EXPECT_NEAR(pm, 1.0, 0.01);
  EXPECT_NEAR(pcv, 1.0, 0.02);
  const auto [gm, gcv] = gap_moments(RenewalArrivals(1000, 3.0, 7), kGaps, 1e6);
  EXPECT_NEAR(gm, 1.0, 0.04);
  EXPECT_NEAR(gcv, 3.0, 0.25);  // a heavy tail: the sample cv converges slowly
  const auto [sm, scv] = gap_moments(RenewalArrivals(1000, 0.5, 7), kGaps, 1e6);
  EXPECT_NEAR(sm, 1.0, 0.01);
  EXPECT_NEAR(scv, 0.5, 0.02);
  // A fixed interval of 1/3 ms: index times 333,333.33 ns, rounded, with no drift.
  RenewalArrivals fixed(3000, 0.0, 1);
  EXPECT_EQ(fixed.next_ns(), 0u);
  EXPECT_EQ(fixed.next_ns(), 333'333u);
  EXPECT_EQ(fixed.next_ns(), 666'667u);
  for (int i = 3; i < 3000; ++i) fixed.next_ns();
  EXPECT_EQ(fixed.next_ns(), 1'000'000'000u);
}

TEST(Arrivals, TheSameSeedGivesTheSameTimes) {
  RenewalArrivals a(500, 2.0, 42), b(500, 2.0, 42), c(500, 2.0, 43);
  bool differs = false;
  for (int i = 0; i < 1000; ++i) {
    const auto ta = a.next_ns();
    EXPECT_EQ(ta, b.next_ns());
    differs |= ta != c.next_ns();
  }
  EXPECT_TRUE(differs);
}

TEST(AzureTrace, TimestampsAreNanosecondsSince1970) {
  std::int64_t ns = 0;
  ASSERT_TRUE(parse_timestamp_ns("2023-11-16 18:15:46.6805900", ns));
  EXPECT_EQ(ns, 1'700'158'546'680'590'000);  // Python: datetime(2023,11,16,18,15,46,680590,utc).timestamp()
  ASSERT_TRUE(parse_timestamp_ns("2000-02-29 00:00:00", ns));
  EXPECT_EQ(ns, 951'782'400'000'000'000);
  ASSERT_TRUE(parse_timestamp_ns("1900-03-01 12:00:01.5", ns));
  EXPECT_EQ(ns, -2'203'847'999'000'000'000 + 500'000'000);
  for (const char* bad :
       {"2023-11-16T18:15:46", "2023-13-01 00:00:00", "2023-11-16 18:15:46.", "2023-11-16 18:15",
        "2023-11-16 18:15:46.1234567890", "3000-01-01 00:00:00", "2023-02-30 00:00:00"})
    EXPECT_FALSE(parse_timestamp_ns(bad, ns)) << bad;
}

TEST(AzureTrace, ColumnsInAnyOrderAndTimesFromTheFirstRow) {
  const auto path =
      std::filesystem::temp_directory_path() / ("tacsim-azure-" + std::to_string(::getpid()) + ".csv");
  std::ofstream(path) << "GeneratedTokens,TIMESTAMP,ContextTokens\r\n"
                         "7,2023-11-16 23:59:59.9,100\n"
                         "\n"
                         "0,2023-11-17 00:00:00.0000001,5\n";  // across midnight, 100.0001 ms later
  AzureTraceReader reader(path.string());
  AzureRow row;
  ASSERT_TRUE(reader.next(row));
  EXPECT_EQ(row.arrival_ns, 0u);
  EXPECT_EQ(row.context_tokens, 100u);
  EXPECT_EQ(row.generated_tokens, 7u);
  ASSERT_TRUE(reader.next(row));
  EXPECT_EQ(reader.location(), path.string() + ":4");
  EXPECT_EQ(row.arrival_ns, 100'000'100u);
  EXPECT_EQ(row.context_tokens, 5u);
  EXPECT_FALSE(reader.next(row));
  std::ofstream(path) << "TIMESTAMP,ContextTokens\n";
  EXPECT_EQ(
      error_of([&] { AzureTraceReader r(path.string()); }),
      path.string() +
          ":1: expected the header TIMESTAMP,ContextTokens,GeneratedTokens, got 'TIMESTAMP,ContextTokens'");
  std::ofstream(path) << "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,0,3\n";
  EXPECT_EQ(
      error_of([&] {
        AzureTraceReader r(path.string());
        r.next(row);
      }),
      path.string() + ":2: ContextTokens: expected a positive number of tokens up to 16777216, got '0'");
  std::ofstream(path) << "TIMESTAMP,ContextTokens,GeneratedTokens\n";
  EXPECT_EQ(error_of([&] {
              AzureTraceReader r(path.string());
              r.next(row);
            }),
            path.string() + ":2: expected request rows after the header, found the end of the file");
  std::filesystem::remove(path);
}

}  // namespace
