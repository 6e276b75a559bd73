#include "sim/trace_command.h"

#include <filesystem>
#include <iostream>
#include <limits>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <boost/program_options.hpp>

#include "modules/common/error.h"
#include "modules/common/text.h"
#include "sim/output.h"
#include "traces/request_trace.h"
#include "traces/trace_builder.h"
#include "traces/trace_stats.h"
#include "traces/wordpiece.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace tacsim::sim {

namespace {

const char* kTraceUsage =
    "usage: tacsim trace (--lengths FILE | --text FILE --vocab FILE | --azure FILE) [options] --out FILE\n"
    "       tacsim trace --describe TRACE [--max-len L]\n"
    "\n"
    "Builds a request trace (traces/README.md: id,arrival_ns,seq_len[,output_len,model,task] per row) from\n"
    "a list of lengths, from text (one sequence per line, BERT WordPiece tokens plus [CLS] and [SEP]) or\n"
    "from an Azure LLM inference trace (TIMESTAMP,ContextTokens,GeneratedTokens), with arrivals from a\n"
    "process: poisson, interval (fixed), gamma (bursty, --cv), closed (--clients in flight) or recorded\n"
    "(the Azure trace's own times). The same inputs and --seed give the same bytes. --describe prints a\n"
    "trace's statistics and, with --max-len, how many requests each length policy would change.\n";

po::options_description trace_options() {
  po::options_description d("tacsim trace options");
  d.add_options()("help,h", "print this help")("lengths", po::value<std::string>()->value_name("FILE"),
                                               "lengths in tokens, one per line ('#' comments)")(
      "text", po::value<std::string>()->value_name("FILE"),
      "text, one sequence per line, tokenized with --vocab")(
      "vocab", po::value<std::string>()->value_name("FILE"),
      "WordPiece vocabulary (vocab.txt: one token per line)")(
      "cased", "keep case and accents (a cased vocabulary); default: lowercase and strip accents (uncased)")(
      "azure", po::value<std::string>()->value_name("FILE"),
      "Azure LLM trace: context tokens become seq_len, generated tokens output_len")(
      "describe", po::value<std::string>()->value_name("TRACE"), "print the statistics of a request trace")(
      "arrival", po::value<std::string>()->value_name("KIND"),
      "poisson, interval, gamma, closed or recorded (default: recorded for --azure, else poisson)")(
      "rate", po::value<std::string>()->value_name("R"), "requests per second (poisson, interval, gamma)")(
      "cv", po::value<std::string>()->value_name("C"),
      "gamma: coefficient of variation of the gaps, 0 < C <= 10 (1 is Poisson; above 1, bursts)")(
      "clients", po::value<std::string>()->value_name("N"), "closed: requests in flight")(
      "think-ns", po::value<std::string>()->value_name("T"),
      "closed: wait between a request's finish and its client's next (default 0)")(
      "seed", po::value<std::string>()->value_name("N"),
      "seed of the arrival draws and of --pick sample (default 1)")(
      "count", po::value<std::string>()->value_name("N"),
      "requests to draw (default: each length once; --azure: every row; at most 10000000)")(
      "pick", po::value<std::string>()->value_name("HOW"),
      "lists: cycle (in file order, wrapping around; the default) or sample (uniformly, with replacement)")(
      "max-len", po::value<std::string>()->value_name("L"), "a model's maximum sequence length")(
      "over-max", po::value<std::string>()->value_name("POLICY"),
      "a length beyond --max-len: error (the default), truncate or drop")(
      "model", po::value<std::string>()->value_name("NAME"), "a model column with NAME on every row")(
      "task", po::value<std::string>()->value_name("NAME"), "a task column with NAME on every row")(
      "out,o", po::value<std::string>()->value_name("FILE"), "the trace to write ('-': standard output)")(
      "quiet,q", "print nothing on success");
  return d;
}

constexpr std::uint64_t kMaxCount = 10'000'000;  // the trace is built in memory before its atomic write

class Options {
 public:
  explicit Options(const po::variables_map& vm) : vm_(vm) {}
  bool has(const char* name) const { return vm_.count(name) > 0; }
  std::string str(const char* name) const { return vm_[name].as<std::string>(); }
  std::uint64_t unsigned_in(const char* name, std::uint64_t min, std::uint64_t max) const {
    const auto v = text::to_unsigned(str(name), max);
    if (!v || *v < min)
      throw InputError(
          fmt::format("--{}: expected an integer from {} to {}, got '{}'", name, min, max, str(name)));
    return *v;
  }
  double positive(const char* name, double max) const {
    const auto v = text::to_double(str(name));
    if (!v || *v <= 0 || *v > max)
      throw InputError(
          fmt::format("--{}: expected a number above 0, up to {:g}, got '{}'", name, max, str(name)));
    return *v;
  }
  // An option that means nothing with the others is an error, not a silent no-op.
  void forbid(const char* name, const std::string& why) const {
    if (has(name)) throw InputError(fmt::format("--{}: {}", name, why));
  }
  std::string name_option(const char* name) const {
    if (!traces::is_trace_name(str(name)))
      throw InputError(
          fmt::format("--{}: expected a name of letters, digits and . _ - + / :, got '{}'", name, str(name)));
    return str(name);
  }

 private:
  const po::variables_map& vm_;
};

std::optional<traces::LengthLimit> length_limit(const Options& o) {
  if (!o.has("max-len")) {
    o.forbid("over-max", "needs --max-len (the length it applies beyond)");
    return std::nullopt;
  }
  traces::LengthLimit limit;
  limit.max_len = static_cast<std::uint32_t>(o.unsigned_in("max-len", 1, traces::kMaxTraceSeqLen));
  if (o.has("over-max")) {
    const auto p = traces::parse_over_max(o.str("over-max"));
    if (!p)
      throw InputError(
          fmt::format("--over-max: expected error, truncate or drop, got '{}'", o.str("over-max")));
    limit.policy = *p;
  }
  return limit;
}

traces::ArrivalKind arrival_kind(const Options& o) {
  if (!o.has("arrival"))
    return o.has("azure") ? traces::ArrivalKind::kRecorded : traces::ArrivalKind::kPoisson;
  const std::string a = o.str("arrival");
  if (a == "poisson") return traces::ArrivalKind::kPoisson;
  if (a == "interval") return traces::ArrivalKind::kInterval;
  if (a == "gamma") return traces::ArrivalKind::kGamma;
  if (a == "closed") return traces::ArrivalKind::kClosed;
  if (a == "recorded") {
    if (!o.has("azure"))
      throw InputError("--arrival: recorded needs --azure (only an Azure trace has arrival times)");
    return traces::ArrivalKind::kRecorded;
  }
  throw InputError(
      fmt::format("--arrival: expected poisson, interval, gamma, closed or recorded, got '{}'", a));
}

traces::BuildParams build_params(const Options& o) {
  traces::BuildParams p;
  p.arrival = arrival_kind(o);
  const std::string kind =
      o.has("arrival") ? o.str("arrival") : std::string(o.has("azure") ? "recorded" : "poisson");
  const bool renewal = p.arrival == traces::ArrivalKind::kPoisson ||
                       p.arrival == traces::ArrivalKind::kInterval ||
                       p.arrival == traces::ArrivalKind::kGamma;
  if (renewal) {
    if (!o.has("rate"))
      throw InputError(fmt::format("--rate: needed by --arrival {} (requests per second)", kind));
    p.rate_per_s = o.positive("rate", 1e9);
  } else {
    o.forbid("rate", fmt::format("applies to poisson, interval and gamma arrivals, not {}", kind));
  }
  if (p.arrival == traces::ArrivalKind::kGamma) {
    if (!o.has("cv"))
      throw InputError("--cv: needed by --arrival gamma (the gaps' coefficient of variation)");
    p.cv = o.positive("cv", 10);
  } else {
    o.forbid("cv", fmt::format("applies to --arrival gamma, not {}", kind));
  }
  if (p.arrival == traces::ArrivalKind::kClosed) {
    if (!o.has("clients")) throw InputError("--clients: needed by --arrival closed (requests in flight)");
    p.closed_loop.clients = static_cast<std::uint32_t>(o.unsigned_in("clients", 1, traces::kMaxClients));
    if (o.has("think-ns")) p.closed_loop.think_ns = o.unsigned_in("think-ns", 0, traces::kMaxArrivalNs);
  } else {
    o.forbid("clients", fmt::format("applies to --arrival closed, not {}", kind));
    o.forbid("think-ns", fmt::format("applies to --arrival closed, not {}", kind));
  }
  if (o.has("seed")) p.seed = o.unsigned_in("seed", 0, std::numeric_limits<std::uint64_t>::max());
  if (const auto limit = length_limit(o)) p.limit = *limit;
  if (o.has("count")) p.count = o.unsigned_in("count", 1, kMaxCount);
  if (o.has("pick")) {
    const std::string pick = o.str("pick");
    if (pick == "cycle")
      p.pick = traces::Pick::kCycle;
    else if (pick == "sample")
      p.pick = traces::Pick::kSample;
    else
      throw InputError(fmt::format("--pick: expected cycle or sample, got '{}'", pick));
  }
  if (o.has("model")) p.model = o.name_option("model");
  if (o.has("task")) p.task = o.name_option("task");
  return p;
}

// The command line that made a trace, for its first comment; --out and --quiet do not change the trace.
std::string command_line(const std::vector<std::string>& args) {
  std::string out = "tacsim trace";
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--out" || a == "-o") {
      ++i;
      continue;
    }
    if (a == "--quiet" || a == "-q" || text::starts_with(a, "--out=")) continue;
    const bool plain = a.find_first_of(" \t'\"#\\$") == std::string::npos && !a.empty();
    out += " " + (plain ? a : "'" + a + "'");
  }
  return out;
}

std::string describe_build(const Options& o, const traces::BuildParams& p) {
  switch (p.arrival) {
    case traces::ArrivalKind::kPoisson:
      return fmt::format("Poisson arrivals at {:g}/s, seed {}", p.rate_per_s, p.seed);
    case traces::ArrivalKind::kInterval:
      return fmt::format("one arrival every {:g} ns ({:g}/s)", 1e9 / p.rate_per_s, p.rate_per_s);
    case traces::ArrivalKind::kGamma:
      return fmt::format("Gamma arrivals at {:g}/s, cv {:g}, seed {}", p.rate_per_s, p.cv, p.seed);
    case traces::ArrivalKind::kClosed:
      return fmt::format("closed loop, {} clients, think {} ns", p.closed_loop.clients,
                         p.closed_loop.think_ns);
    case traces::ArrivalKind::kRecorded:
      return fmt::format("the arrival times of {}", o.str("azure"));
  }
  return "";
}

void write_trace(const std::string& out, const std::string& text) {
  if (out == "-") {
    std::cout << text;
    return;
  }
  const fs::path path(out);
  if (fs::is_directory(path) || path.filename().empty())
    throw InputError(fmt::format("--out: '{}' is a folder; expected a file name, like {}", out,
                                 (path / "trace.csv").string()));
  const std::string dir = path.parent_path().empty() ? "." : path.parent_path().string();
  prepare_output_dir(dir);
  write_file_atomic(dir, path.filename().string(), text);
}

int describe_main(const Options& o) {
  for (const char* name : {"arrival", "rate", "cv", "clients", "think-ns", "seed", "count", "pick", "model",
                           "task", "out", "over-max", "vocab", "cased"})
    o.forbid(name, "does not apply to --describe, which reads a trace and changes nothing");
  const std::string path = o.str("describe");
  traces::RequestTraceReader reader(path);
  traces::TraceStats stats;
  traces::Request r;
  while (reader.next(r)) stats.add(r);
  std::string out = fmt::format("{}\n", path);
  if (const auto& loop = reader.layout().closed_loop)
    out += fmt::format("closed loop  {} clients, think {} ns\n", loop->clients, loop->think_ns);
  out += stats.describe(reader.layout().has(traces::Column::kOutputLen));
  if (const auto limit = length_limit(o)) {
    const std::uint64_t n = stats.longer_than(limit->max_len);
    out +=
        fmt::format("beyond {}   {} of {} requests ({:.1f} %): truncate shortens them to {}; drop leaves {}",
                    limit->max_len, n, stats.requests(), 100.0 * double(n) / double(stats.requests()),
                    limit->max_len, stats.requests() - n);
    if (n > 0) {
      try {
        traces::RequestTraceReader strict(path, {limit->max_len, traces::OverMax::kError});
        while (strict.next(r)) {
        }
      } catch (const InputError& e) {
        out += fmt::format("; error stops at the first:\n  {}", e.what());
      }
    }
    out += "\n";
  }
  if (!o.has("quiet")) std::cout << out;
  return 0;
}

}  // namespace

int trace_main(const std::vector<std::string>& args) {
  const auto desc = trace_options();
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << kTraceUsage << "\n" << desc;
    return 0;
  }
  const Options o(vm);
  const int sources =
      int(o.has("lengths")) + int(o.has("text")) + int(o.has("azure")) + int(o.has("describe"));
  if (sources != 1)
    throw InputError(
        fmt::format("trace: expected one of --lengths, --text, --azure or --describe, got {}", sources));
  if (o.has("describe")) return describe_main(o);
  if (!o.has("text")) {
    o.forbid("vocab", "applies to --text");
    o.forbid("cased", "applies to --text");
  }
  if (o.has("azure") && o.has("pick"))
    o.forbid("pick", "applies to --lengths and --text; an Azure trace is read in order");
  if (!o.has("out")) throw InputError("--out: needed (the trace file to write, or - for standard output)");
  traces::BuildParams p = build_params(o);
  p.comments.push_back("made by: " + command_line(args));

  std::ostringstream trace;
  traces::BuildResult result;
  if (o.has("azure")) {
    result = traces::build_from_azure(o.str("azure"), p, trace);
  } else if (o.has("lengths")) {
    result = traces::build_from_list(traces::read_length_list(o.str("lengths")), o.str("lengths"), p, trace);
  } else {
    if (!o.has("vocab")) throw InputError("--vocab: needed by --text (a WordPiece vocabulary, vocab.txt)");
    traces::TokenizerParams tp;
    tp.lower_case = !o.has("cased");
    const auto tokenizer = traces::WordPieceTokenizer::from_file(o.str("vocab"), tp);
    result =
        traces::build_from_list(traces::tokenized_lengths(o.str("text"), tokenizer), o.str("text"), p, trace);
  }
  const std::string out = o.str("out");
  write_trace(out, trace.str());
  if (!o.has("quiet")) {
    std::ostream& info = out == "-" ? std::cerr : std::cout;
    info << fmt::format("wrote {}: {}\n", out == "-" ? "standard output" : out, describe_build(o, p))
         << result.stats.describe(o.has("azure"));
    if (p.limit.max_len != 0)
      info << fmt::format("beyond {}   {} truncated, {} dropped (--over-max {})\n", p.limit.max_len,
                          result.truncated, result.dropped, traces::over_max_name(p.limit.policy));
  }
  return 0;
}

}  // namespace tacsim::sim
