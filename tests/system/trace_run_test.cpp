// `tacsim run --trace`: a request trace through a model on one or more engines, as a user runs it. BERT-tiny
// keeps each run to seconds; the requests are the bundled SST-2 dev trace's (all of them, or its first rows).
#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tests/support/system_test.h"

namespace {

using namespace tacsim::testing_support;

struct RequestRow {
  std::uint64_t id, arrival, start, finish, latency, seq_len, padded_len;
};

class TraceRunTest : public SystemTest {
 protected:
  std::string sst2() const { return std::string(TACSIM_SOURCE_DIR) + "/traces/sst2-dev.csv"; }

  // The bundled trace's header and first `rows` requests, as a trace of its own.
  std::string first_rows(std::size_t rows) {
    std::istringstream in(slurp(sst2()));
    std::string line, out;
    std::size_t taken = 0;
    bool header = false;
    while (taken < rows && std::getline(in, line)) {
      out += line + "\n";
      if (line.empty() || line[0] == '#') continue;
      if (!header) {
        header = true;
        continue;
      }
      taken += 1;
    }
    const fs::path p = dir_ / ("sst2-first-" + std::to_string(rows) + ".csv");
    std::ofstream(p) << out;
    return p.string();
  }

  Result run(const std::string& trace, const std::string& out, const std::string& more = "") {
    return tacsim("run -q --model bert-tiny --trace " + trace + " " + more + " --out " +
                  (dir_ / out).string());
  }

  std::vector<RequestRow> requests(const std::string& out) {
    std::istringstream in(slurp(dir_ / out / "requests.csv"));
    std::string line;
    std::getline(in, line);
    EXPECT_EQ(line, "id,arrival_ns,start_ns,finish_ns,latency_ns,seq_len,padded_len");
    std::vector<RequestRow> rows;
    while (std::getline(in, line)) {
      RequestRow r{};
      char c;
      std::istringstream f(line);
      f >> r.id >> c >> r.arrival >> c >> r.start >> c >> r.finish >> c >> r.latency >> c >> r.seq_len >> c >>
          r.padded_len;
      EXPECT_FALSE(f.fail()) << line;
      rows.push_back(r);
    }
    return rows;
  }
};

// One row per request, each latency its finish less its arrival; the summary's percentiles are the rows'.
TEST_F(TraceRunTest, EveryRequestHasARowAndTheSummaryItsLatencies) {
  const Result r = run(first_rows(40), "t");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto rows = requests("t");
  ASSERT_EQ(rows.size(), 40u);
  std::uint64_t max_latency = 0, tokens = 0;
  for (const RequestRow& q : rows) {
    EXPECT_LE(q.arrival, q.start) << q.id;
    EXPECT_LT(q.start, q.finish) << q.id;
    EXPECT_EQ(q.latency, q.finish - q.arrival) << q.id;
    EXPECT_EQ(q.padded_len, q.seq_len) << q.id;  // length-aware batches are not padded
    max_latency = std::max(max_latency, q.latency);
    tokens += q.seq_len;
  }
  const auto s = stats("t");
  const auto& m = s["summary"];
  EXPECT_EQ(s["config"]["sim.workload"], "trace");
  EXPECT_EQ(s["config"]["scheduler.policy"], "length-aware");  // auto: length-aware for a trace
  EXPECT_EQ(m["check"], "off");
  EXPECT_EQ(m["requests"], 40);
  EXPECT_EQ(m["padding_macs"], 0);
  EXPECT_EQ(m["latency_ns_max"].get<std::uint64_t>(), max_latency);
  EXPECT_LE(m["latency_ns_p50"].get<std::uint64_t>(), m["latency_ns_p95"].get<std::uint64_t>());
  EXPECT_LE(m["latency_ns_p95"].get<std::uint64_t>(), m["latency_ns_p99"].get<std::uint64_t>());
  EXPECT_LE(m["latency_ns_p99"].get<std::uint64_t>(), max_latency);
  // Throughput over the run's simulated time: requests and their tokens alike.
  const double seconds = m["sim_time_ns"].get<double>() * 1e-9;
  EXPECT_NEAR(m["throughput_seq_per_s"].get<double>(), 40 / seconds, 1e-6 * 40 / seconds);
  EXPECT_NEAR(m["throughput_tokens_per_s"].get<double>(), tokens / seconds, 1e-6 * tokens / seconds);
  // Energy per request and per token of the trace's own tokens (no padding in length-aware batches).
  EXPECT_EQ(m["tokens"].get<std::uint64_t>(), tokens);
  EXPECT_DOUBLE_EQ(m["energy_pj_per_token"].get<double>(), m["energy_pj"].get<double>() / double(tokens));
  EXPECT_DOUBLE_EQ(m["energy_pj_per_sequence"].get<double>(), m["energy_pj"].get<double>() / 40);
  // The same run again: the same results, byte for byte outside `host`.
  ASSERT_EQ(run(first_rows(40), "again").code, 0);
  auto a = stats("t"), b = stats("again");
  a.erase("host");
  b.erase("host");
  EXPECT_EQ(a, b);
  EXPECT_EQ(slurp(dir_ / "t" / "requests.csv"), slurp(dir_ / "again" / "requests.csv"));
}

// The question the scheduler answers, on the whole bundled SST-2 dev trace (872 sequences) near the engine's
// capacity: length-aware batching (no padding, critical path first) has a lower p99 latency than padded
// batches of 8, which compute the padded tokens, and than one sequence at a time (fcfs), which fetches every
// weight once per sequence.
TEST_F(TraceRunTest, LengthAwareBeatsPaddedAndFcfsOnTheSst2Trace) {
  std::map<std::string, nlohmann::json> by_policy;
  for (const std::string policy : {"padded", "fcfs", "length-aware"}) {
    const Result r = run(sst2(), policy, "--policy " + policy + " --set trace.rate_per_s=45000");
    ASSERT_EQ(r.code, 0) << policy << ": " << r.err;
    by_policy[policy] = stats(policy)["summary"];
    EXPECT_EQ(by_policy[policy]["requests"], 872) << policy;
  }
  auto p99 = [&](const char* p) { return by_policy[p]["latency_ns_p99"].get<std::uint64_t>(); };
  EXPECT_LT(p99("length-aware"), p99("padded"));
  EXPECT_LT(p99("length-aware"), p99("fcfs"));
  EXPECT_GT(by_policy["padded"]["padding_macs"].get<std::uint64_t>(), 0u);
  EXPECT_EQ(by_policy["length-aware"]["padding_macs"], 0);
  EXPECT_EQ(by_policy["fcfs"]["padding_macs"], 0);
  EXPECT_EQ(by_policy["fcfs"]["batches"], 872);  // one sequence a batch
}

// Two engines share the memory through the interconnect, which grants both and counts what each asks for; at
// the same arrival rate the second engine takes work off the first, so requests wait less.
TEST_F(TraceRunTest, TwoEnginesShareTheMemoryAndCutTheLatency) {
  const std::string trace = first_rows(200);
  ASSERT_EQ(run(trace, "one", "--set trace.rate_per_s=60000").code, 0);
  const Result r = run(trace, "two", "--engines 2 --set trace.rate_per_s=60000");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto one = stats("one"), two = stats("two");
  EXPECT_LT(two["summary"]["latency_ns_p99"].get<std::uint64_t>(),
            one["summary"]["latency_ns_p99"].get<std::uint64_t>());
  EXPECT_TRUE(two["modules"].contains("accel.engine1.pe_array"));
  const auto& ic = two["modules"]["accel.interconnect"];
  EXPECT_GT(ic["initiator0_grants"].get<std::uint64_t>(), 0u);
  EXPECT_GT(ic["initiator1_grants"].get<std::uint64_t>(), 0u);
  // The engines asked for at least what the memory moved (the DRAM serves some reads from its write buffer).
  EXPECT_GE(ic["initiator0_bytes"].get<std::uint64_t>() + ic["initiator1_bytes"].get<std::uint64_t>(),
            two["summary"]["dram_bytes"].get<std::uint64_t>());
  EXPECT_GT(two["summary"]["engine1_busy_cycles"].get<std::uint64_t>(), 0u);
}

// A coarse-grained pipeline: engine0 serves attention, engine1 the FFN; each head's top-k attention runs on
// the attention engine's top-k unit only.
TEST_F(TraceRunTest, APipelineRunsEachStageOnItsEngine) {
  const Result r =
      run(first_rows(20), "p",
          "--set model.topk=8 --engines 2 --set accel.organisation=pipeline --set engine0.stage=attention "
          "--set engine1.stage=ffn");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto s = stats("p");
  EXPECT_EQ(s["modules"]["accel.engine0.topk_unit"]["heads"], 20 * 2 * 2);  // requests x layers x heads
  EXPECT_EQ(s["modules"]["accel.engine1.topk_unit"]["heads"], 0);
  EXPECT_GT(s["summary"]["engine1_busy_cycles"].get<std::uint64_t>(), 0u);
}

// Bad input: one line naming the file and line, or the key; exit 2; nothing written.
TEST_F(TraceRunTest, BadTraceInputIsAOneLineError) {
  const fs::path bad = dir_ / "bad.csv";
  std::ofstream(bad) << "id,arrival_ns,seq_len\n0,0,12\n1,100,-3\n";
  Result r = run(bad.string(), "bad");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err.rfind("tacsim: " + bad.string() + ":3: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "bad" / "stats.json"));
  EXPECT_FALSE(fs::exists(dir_ / "bad" / "requests.csv"));
  EXPECT_EQ(r.out, "");
  // Values are checked on a model's own sequences; a trace run is timing only.
  r = run(first_rows(5), "checked", "--check --policy fcfs");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("sim.check: trace runs are timing only"), std::string::npos) << r.err;
  r = tacsim("run --trace " + first_rows(5) + " --seq-len 64 --out " + (dir_ / "x").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--seq-len: a trace's requests have their own lengths"), std::string::npos) << r.err;
}

// --find-max-rate: the highest Poisson rate whose p99 meets the SLO, bracketed by a rate that misses it
// within the tolerance; every probe a run of its own, listed in max_rate.csv.
TEST_F(TraceRunTest, FindMaxRateBracketsTheRateThatMeetsTheSlo) {
  const std::string out = (dir_ / "cap").string();
  const Result r = tacsim("run --model bert-tiny --trace " + first_rows(40) +
                          " --find-max-rate --slo-p99 100us --rate-lo 20000 --rate-tol 0.1 --out " + out);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto answer = nlohmann::json::parse(slurp(dir_ / "cap" / "max_rate.json"));
  EXPECT_EQ(answer["slo_p99_ns"], 100000);
  ASSERT_TRUE(answer["max_rate_per_s"].is_number()) << answer;
  ASSERT_TRUE(answer["first_missing_rate_per_s"].is_number()) << answer;
  const double met = answer["max_rate_per_s"], missed = answer["first_missing_rate_per_s"];
  EXPECT_GT(missed, met);
  EXPECT_LE(missed / met - 1, 0.1);
  EXPECT_NE(r.out.find("max rate: "), std::string::npos) << r.out;
  // Each probe's own run says the same as its row.
  std::istringstream csv(slurp(dir_ / "cap" / "max_rate.csv"));
  std::string line;
  std::getline(csv, line);
  EXPECT_EQ(line, "rate_per_s,latency_ns_p99,latency_ns_p50,throughput_seq_per_s,meets_slo,probe");
  int probes = 0;
  while (std::getline(csv, line)) {
    probes += 1;
    const std::string probe = line.substr(line.rfind(',') + 1);
    const auto s = stats("cap/probes/" + probe)["summary"];
    const bool meets = line[line.rfind(',') - 1] == '1';
    EXPECT_EQ(meets, s["latency_ns_p99"].get<std::uint64_t>() <= 100000) << line;
  }
  EXPECT_EQ(probes, answer["probes"].get<int>());
  // The search needs an SLO, and a trace to re-time.
  EXPECT_EQ(tacsim("run --model bert-tiny --trace " + first_rows(5) + " --find-max-rate --out " + out).code,
            2);
  const Result m = tacsim("run --model bert-tiny --find-max-rate --slo-p99 1ms --out " + out);
  EXPECT_EQ(m.code, 2);
  EXPECT_NE(m.err.find("--find-max-rate: re-times a trace's requests"), std::string::npos) << m.err;
}

// Padding wastes exactly the padded work: two requests of 10 and 30 tokens in one padded batch perform, on
// the datapaths, the MACs of running them unpadded one at a time (fcfs) plus the run's padding_macs (the
// first request computed at 30 tokens).
TEST_F(TraceRunTest, PaddedWastesExactlyThePaddedWork) {
  const fs::path two = dir_ / "two.csv";
  std::ofstream(two) << "id,arrival_ns,seq_len\n0,0,10\n1,0,30\n";
  ASSERT_EQ(run(two.string(), "padded", "--policy padded --set scheduler.batch_size=2").code, 0);
  ASSERT_EQ(run(two.string(), "fcfs", "--policy fcfs").code, 0);
  const auto padded = stats("padded")["summary"], fcfs = stats("fcfs")["summary"];
  EXPECT_EQ(padded["batches"], 1);
  EXPECT_EQ(padded["padded_tokens"], 20);
  EXPECT_GT(padded["padding_macs"].get<std::uint64_t>(), 0u);
  EXPECT_EQ(padded["macs"].get<std::uint64_t>(),
            fcfs["macs"].get<std::uint64_t>() + padded["padding_macs"].get<std::uint64_t>());
  const auto rows = requests("padded");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].padded_len, 30u);
  EXPECT_EQ(rows[0].finish, rows[1].finish);  // the batch leaves together
}

}  // namespace
