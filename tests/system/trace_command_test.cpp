// `tacsim trace` end to end: the commands in traces/README.md rebuild the bundled traces byte for byte, the
// output is deterministic and written atomically, every option's bad value is an exit-2 error naming the
// option, and --describe counts what each length policy changes.
#include <fstream>
#include <sstream>

#include "tests/support/system_test.h"

namespace {

using namespace tacsim::testing_support;

const fs::path kSource = TACSIM_SOURCE_DIR;

class TraceCommandTest : public SystemTest {
 protected:
  std::string p(const std::string& rel) { return (dir_ / rel).string(); }
  std::string src(const std::string& rel) { return (kSource / rel).string(); }
  std::string sst2() { return src("traces/sources/sst2_dev_bert_uncased_lengths.txt"); }
  void write(const std::string& rel, const std::string& text) { std::ofstream(dir_ / rel) << text; }
  // The data rows of a trace (no comments, no header).
  std::vector<std::string> rows(const std::string& rel) {
    std::vector<std::string> out;
    std::ifstream f(dir_ / rel);
    bool header = false;
    for (std::string line; std::getline(f, line);) {
      if (line.empty() || line[0] == '#') continue;
      if (header) out.push_back(line);
      header = true;
    }
    return out;
  }
};

// The ```sh commands that rebuild a bundled trace: in traces/README.md those that write `--out traces/X.csv`,
// in README.md those whose comment says `# = traces/X.csv`. Returns {arguments without --out, traces/X.csv}.
std::vector<std::pair<std::string, std::string>> readme_rebuild_commands() {
  const auto bundled = [](const std::string& path) {
    return path.rfind("traces/", 0) == 0 && path.size() > 11 && path.compare(path.size() - 4, 4, ".csv") == 0;
  };
  std::vector<std::pair<std::string, std::string>> out;
  for (const char* readme : {"traces/README.md", "README.md"}) {
    std::ifstream f(kSource / readme);
    bool in_sh = false;
    for (std::string line; std::getline(f, line);) {
      if (line.rfind("```", 0) == 0) {
        in_sh = line == "```sh";
        continue;
      }
      const std::string prefix = "build/tacsim ", flag = " --out ";
      const auto at = line.find(flag);
      if (!in_sh || line.rfind(prefix + "trace ", 0) != 0 || at == std::string::npos) continue;
      std::istringstream rest(line.substr(at + flag.size()));
      std::string path, hash, equals, same;
      rest >> path >> hash >> equals >> same;
      const std::string args = line.substr(prefix.size(), at - prefix.size());
      if (bundled(path))
        out.emplace_back(args, path);
      else if (hash == "#" && equals == "=" && bundled(same))
        out.emplace_back(args, same);
    }
  }
  return out;
}

TEST_F(TraceCommandTest, TheReadmeCommandsRebuildTheBundledTracesByteForByte) {
  const auto commands = readme_rebuild_commands();
  ASSERT_GE(commands.size(), 3u) << "traces/README.md should give the command behind each bundled trace";
  for (const auto& [args, trace] : commands) {
    // As the README says: from the repository's root, where the relative paths point.
    const fs::path out = dir_ / fs::path(trace).filename();
    const std::string cmd =
        "cd " + kSource.string() + " && " + TACSIM_BINARY + " " + args + " -q --out " + out.string();
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    EXPECT_EQ(slurp(out), slurp(kSource / trace))
        << trace << " differs from what its README command writes: " << cmd;
  }
}

TEST_F(TraceCommandTest, PoissonTraceIsDeterministicAndSeeded) {
  ASSERT_EQ(tacsim("trace -q --lengths " + sst2() + " --rate 800 --seed 5 --out " + p("a.csv")).code, 0);
  ASSERT_EQ(tacsim("trace -q --lengths " + sst2() + " --rate 800 --seed 5 --out " + p("b.csv")).code, 0);
  ASSERT_EQ(tacsim("trace -q --lengths " + sst2() + " --rate 800 --seed 6 --out " + p("c.csv")).code, 0);
  EXPECT_EQ(slurp(dir_ / "a.csv"), slurp(dir_ / "b.csv"));
  EXPECT_NE(rows("a.csv"), rows("c.csv"));
  const auto r = rows("a.csv");
  ASSERT_EQ(r.size(), 872u);
  EXPECT_EQ(r[0], "0,0,12");  // the first length of the list, arriving at 0
  EXPECT_EQ(r[1].substr(r[1].rfind(',')), ",10");
  // The first line says how the trace was made (without --out).
  EXPECT_EQ(slurp(dir_ / "a.csv").rfind("# made by: tacsim trace --lengths ", 0), 0u);
}

TEST_F(TraceCommandTest, ThePrintedSummaryHasCountLengthsAndRate) {
  const Result r = tacsim("trace --lengths " + sst2() + " --rate 800 --out " + p("a.csv"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("Poisson arrivals at 800/s, seed 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("requests     872\n"), std::string::npos) << r.out;
  // The data README: mean 25.2, p95 44, max 55.
  EXPECT_NE(r.out.find("seq_len      mean 25.2, p50 24, p95 44, p99 52, max 55"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("mean rate "), std::string::npos) << r.out;
}

TEST_F(TraceCommandTest, CountCyclesOrSamplesTheList) {
  write("l.txt", "# three lengths\n10\n\n20\n30\n");
  ASSERT_EQ(tacsim("trace -q --lengths " + p("l.txt") + " --arrival interval --rate 1000 --count 5 --out " +
                   p("c.csv"))
                .code,
            0);
  EXPECT_EQ(rows("c.csv"), (std::vector<std::string>{"0,0,10", "1,1000000,20", "2,2000000,30", "3,3000000,10",
                                                     "4,4000000,20"}));
  ASSERT_EQ(tacsim("trace -q --lengths " + p("l.txt") +
                   " --arrival closed --clients 2 --think-ns 7 --count 50 "
                   "--pick sample --seed 3 --out " +
                   p("s.csv"))
                .code,
            0);
  const std::string s = slurp(dir_ / "s.csv");
  EXPECT_NE(s.find("\n# arrival: closed clients=2 think_ns=7\nid,arrival_ns,seq_len\n"), std::string::npos)
      << s;
  const auto sampled = rows("s.csv");
  ASSERT_EQ(sampled.size(), 50u);
  std::set<std::string> lens;
  for (const auto& row : sampled) {
    EXPECT_EQ(row.substr(row.find(','), 3), ",0,");  // closed loop: every arrival is 0
    lens.insert(row.substr(row.rfind(',') + 1));
  }
  EXPECT_EQ(lens, (std::set<std::string>{"10", "20", "30"}));
}

TEST_F(TraceCommandTest, GammaArrivalsWithModelAndTaskColumns) {
  const Result r = tacsim("trace --lengths " + sst2() +
                          " --arrival gamma --rate 500 --cv 3 --model bert-base --task sst2 "
                          "--out " +
                          p("g.csv"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("Gamma arrivals at 500/s, cv 3, seed 1"), std::string::npos) << r.out;
  const auto g = rows("g.csv");
  ASSERT_EQ(g.size(), 872u);
  EXPECT_EQ(g[0], "0,0,12,bert-base,sst2");
}

TEST_F(TraceCommandTest, AzureTraceKeepsItsTimesAndCountsThePolicy) {
  write("az.csv",
        "TIMESTAMP,ContextTokens,GeneratedTokens\n"
        "2023-11-16 18:15:46.6805900,374,44\n"
        "2023-11-16 18:15:50.9951690,600,109\n"
        "2023-11-16 18:15:51.2224670,879,55\n"
        "2023-11-16 18:15:51.3910170,91,16\n");
  ASSERT_EQ(tacsim("trace -q --azure " + p("az.csv") + " --out " + p("a.csv")).code, 0);
  EXPECT_EQ(rows("a.csv"), (std::vector<std::string>{"0,0,374,44", "1,4314579000,600,109",
                                                     "2,4541877000,879,55", "3,4710427000,91,16"}));
  EXPECT_NE(slurp(dir_ / "a.csv").find("\nid,arrival_ns,seq_len,output_len\n"), std::string::npos);
  Result r =
      tacsim("trace --azure " + p("az.csv") + " --max-len 512 --over-max truncate --out " + p("t.csv"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("beyond 512   2 truncated, 0 dropped (--over-max truncate)"), std::string::npos)
      << r.out;
  EXPECT_EQ(rows("t.csv")[1], "1,4314579000,512,109");
  ASSERT_EQ(
      tacsim("trace -q --azure " + p("az.csv") + " --max-len 512 --over-max drop --out " + p("d.csv")).code,
      0);
  EXPECT_EQ(rows("d.csv"), (std::vector<std::string>{"0,0,374,44", "1,4710427000,91,16"}));
  r = tacsim("trace --azure " + p("az.csv") + " --max-len 512 --out " + p("e.csv"));
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err,
            "tacsim: " + p("az.csv") +
                ":3: seq_len 600 is beyond the model's maximum of 512 (a length policy of truncate or drop "
                "would accept it)\n");
  EXPECT_FALSE(fs::exists(dir_ / "e.csv"));
  // --count takes the first rows; another arrival process replaces the recorded times.
  ASSERT_EQ(
      tacsim("trace -q --azure " + p("az.csv") + " --count 2 --arrival interval --rate 2 --out " + p("c.csv"))
          .code,
      0);
  EXPECT_EQ(rows("c.csv"), (std::vector<std::string>{"0,0,374,44", "1,500000000,600,109"}));
}

TEST_F(TraceCommandTest, TextThroughAVocabulary) {
  write("vocab.txt", "[UNK]\nthe\ncat\nsat\n##s\n.\n");
  write("text.txt", "The cat sat.\n\nThe cats sat on the mat.\n");
  ASSERT_EQ(tacsim("trace -q --text " + p("text.txt") + " --vocab " + p("vocab.txt") +
                   " --arrival interval --rate 1 --out " + p("t.csv"))
                .code,
            0);
  // "the cat sat ." = 4 + 2; "the cat ##s sat [UNK] the [UNK] ." = 8 + 2.
  EXPECT_EQ(rows("t.csv"), (std::vector<std::string>{"0,0,6", "1,1000000000,10"}));
  ASSERT_EQ(tacsim("trace -q --text " + p("text.txt") + " --vocab " + p("vocab.txt") +
                   " --arrival interval --rate 1 --max-len 8 --over-max truncate --out " + p("m.csv"))
                .code,
            0);
  EXPECT_EQ(rows("m.csv"), (std::vector<std::string>{"0,0,6", "1,1000000000,8"}));
  write("bad.txt", "fine\n\xC3(\n");
  const Result r =
      tacsim("trace --text " + p("bad.txt") + " --vocab " + p("vocab.txt") + " --rate 1 --out " + p("b.csv"));
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "tacsim: " + p("bad.txt") + ":2: byte 1: expected UTF-8 text\n");
}

TEST_F(TraceCommandTest, DescribeCountsWhatEachPolicyChanges) {
  const Result r = tacsim("trace --describe " + src("traces/azure-conv.csv") + " --max-len 512");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("requests     19366\n"), std::string::npos) << r.out;
  EXPECT_NE(
      r.out.find(
          "beyond 512   11723 of 19366 requests (60.5 %): truncate shortens them to 512; drop leaves 7643"),
      std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("error stops at the first:\n  " + src("traces/azure-conv.csv") +
                       ":5: seq_len 879 is beyond"),
            std::string::npos)
      << r.out;
}

TEST_F(TraceCommandTest, BadValuesAreErrorsNamingTheOption) {
  const std::string l = " --lengths " + sst2();
  const std::string o = " --out " + p("x.csv");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {l + " --rate -1" + o, "--rate: expected a number above 0, up to 1e+09, got '-1'"},
      {l + " --rate fast" + o, "--rate: expected a number above 0, up to 1e+09, got 'fast'"},
      {l + o, "--rate: needed by --arrival poisson (requests per second)"},
      {l + " --arrival gamma --rate 5" + o,
       "--cv: needed by --arrival gamma (the gaps' coefficient of variation)"},
      {l + " --arrival gamma --rate 5 --cv 0" + o, "--cv: expected a number above 0, up to 10, got '0'"},
      {l + " --rate 5 --cv 2" + o, "--cv: applies to --arrival gamma, not poisson"},
      {l + " --arrival closed" + o, "--clients: needed by --arrival closed (requests in flight)"},
      {l + " --arrival closed --clients 0" + o, "--clients: expected an integer from 1 to 1048576, got '0'"},
      {l + " --arrival closed --clients 2 --rate 5" + o,
       "--rate: applies to poisson, interval and gamma arrivals, not closed"},
      {l + " --rate 5 --think-ns 3" + o, "--think-ns: applies to --arrival closed, not poisson"},
      {l + " --arrival burst" + o,
       "--arrival: expected poisson, interval, gamma, closed or recorded, got 'burst'"},
      {l + " --arrival recorded" + o,
       "--arrival: recorded needs --azure (only an Azure trace has arrival times)"},
      {l + " --rate 5 --seed x" + o, "--seed: expected an integer from 0 to 18446744073709551615, got 'x'"},
      {l + " --rate 5 --count 0" + o, "--count: expected an integer from 1 to 10000000, got '0'"},
      {l + " --rate 5 --pick random" + o, "--pick: expected cycle or sample, got 'random'"},
      {l + " --rate 5 --max-len 0" + o, "--max-len: expected an integer from 1 to 16777216, got '0'"},
      {l + " --rate 5 --max-len 64 --over-max clip" + o,
       "--over-max: expected error, truncate or drop, got 'clip'"},
      {l + " --rate 5 --over-max drop" + o, "--over-max: needs --max-len (the length it applies beyond)"},
      {l + " --rate 5 --model 'bert base'" + o,
       "--model: expected a name of letters, digits and . _ - + / :, got 'bert base'"},
      {l + " --rate 5 --vocab v.txt" + o, "--vocab: applies to --text"},
      {l + " --rate 5", "--out: needed (the trace file to write, or - for standard output)"},
      {l + " --rate 5 --out " + dir_.string(), "--out: '" + dir_.string() +
                                                   "' is a folder; expected a file name, like " +
                                                   (dir_ / "trace.csv").string()},
      {" --rate 5" + o, "trace: expected one of --lengths, --text, --azure or --describe, got 0"},
      {l + " --azure a.csv --rate 5" + o,
       "trace: expected one of --lengths, --text, --azure or --describe, got 2"},
      {" --text t.txt --rate 5" + o, "--vocab: needed by --text (a WordPiece vocabulary, vocab.txt)"},
      {" --azure " + sst2() + " --pick sample" + o,
       "--pick: applies to --lengths and --text; an Azure trace is read in order"},
      {" --describe " + sst2() + " --rate 5",
       "--rate: does not apply to --describe, which reads a trace and changes nothing"},
  };
  for (const auto& [args, message] : cases) {
    const Result r = tacsim("trace" + args);
    EXPECT_EQ(r.code, 2) << args;
    EXPECT_EQ(r.err, "tacsim: " + message + "\n") << args;
  }
}

TEST_F(TraceCommandTest, BadInputFilesNameTheFileAndLine) {
  write("l.txt", "10\n-3\n");
  Result r = tacsim("trace --lengths " + p("l.txt") + " --rate 5 --out " + p("x.csv"));
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "tacsim: " + p("l.txt") +
                       ":2: expected a positive length in tokens (up to 16777216), got '-3'\n");
  write("az.csv",
        "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:47,3,4\n2023-11-16 18:15:46,3,4\n");
  r = tacsim("trace --azure " + p("az.csv") + " --out " + p("x.csv"));
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(
      r.err,
      "tacsim: " + p("az.csv") +
          ":3: TIMESTAMP 2023-11-16 18:15:46 is before the previous row's (arrivals must not decrease)\n");
  write("t.csv", "id,arrival_ns,seq_len\n0,10,5\n1,5,5\n");
  r = tacsim("trace --describe " + p("t.csv"));
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "tacsim: " + p("t.csv") +
                       ":3: arrival_ns 5 is before the previous request's 10 (arrivals must not "
                       "decrease)\n");
  EXPECT_FALSE(fs::exists(dir_ / "x.csv"));
}

TEST_F(TraceCommandTest, AFailedBuildLeavesThePreviousTraceUntouched) {
  ASSERT_EQ(tacsim("trace -q --lengths " + sst2() + " --rate 800 --out " + p("t.csv")).code, 0);
  const std::string before = slurp(dir_ / "t.csv");
  write("l.txt", "10\n600\n");
  EXPECT_EQ(tacsim("trace -q --lengths " + p("l.txt") + " --rate 5 --max-len 512 --out " + p("t.csv")).code,
            2);
  EXPECT_EQ(slurp(dir_ / "t.csv"), before);
  for (const auto& e : fs::directory_iterator(dir_))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
}

TEST_F(TraceCommandTest, HelpListsTheOptions) {
  const Result r = tacsim("trace --help");
  EXPECT_EQ(r.code, 0);
  for (const char* opt :
       {"--lengths", "--text", "--vocab", "--azure", "--describe", "--arrival", "--rate", "--cv", "--clients",
        "--seed", "--count", "--pick", "--max-len", "--over-max", "--out"})
    EXPECT_NE(r.out.find(opt), std::string::npos) << opt;
}

}  // namespace
