#include "sim/waves_control.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <ostream>
#include <tuple>

#include <fmt/format.h>

#include "modules/common/error.h"
#include "modules/common/text.h"
#include "modules/dram/dram.h"
#include "sim/result_set.h"
#include "sim/sweep_analysis.h"
#include "sim/top.h"
#include "sim/version.h"

namespace tacsim::sim {

namespace fs = std::filesystem;

namespace {

const char* kWindowHelp = "expected START:END in cycles or with a unit (10000:20000, 5us:7.5us, 10000:)";

// One end of the window in femtoseconds: plain digits are cycles of `clock`.
std::uint64_t window_end_fs(const std::string& text, const ClockDomain& clock, const std::string& whole) {
  const std::string t = text::trim(text);
  const auto cycles = text::to_unsigned(t);
  double ns = 0;
  if (cycles) {
    ns = double(*cycles) * clock.period_ns();
  } else {
    try {
      ns = parse_duration_ns(t, "--vcd-window");
    } catch (const InputError&) {
      throw InputError(fmt::format("--vcd-window: {}, got '{}'", kWindowHelp, whole));
    }
  }
  // 10 s of simulated time: far beyond any run, and well inside 64 bits of femtoseconds.
  if (ns > 1e10) throw InputError(fmt::format("--vcd-window: '{}': at most 10 s", whole));
  return cycles ? clock.fs_at(*cycles) : static_cast<std::uint64_t>(std::llround(ns * 1e6));
}

std::string gtkw_name(const std::string& vcd) {
  return fs::path(vcd).replace_extension(".gtkw").string();
}

const char* kind_name(VcdRecorder::Kind k) {
  switch (k) {
    case VcdRecorder::Kind::kInteger:
      return "integer";
    case VcdRecorder::Kind::kEnumerated:
      return "enumerated";
    case VcdRecorder::Kind::kText:
      return "text";
  }
  return "";
}

}  // namespace

std::pair<std::uint64_t, std::uint64_t> parse_vcd_window(const std::string& text, const ClockDomain& clock) {
  const auto colon = text.find(':');
  if (colon == std::string::npos || text.find(':', colon + 1) != std::string::npos)
    throw InputError(fmt::format("--vcd-window: {}, got '{}'", kWindowHelp, text));
  const std::string a = text::trim(text.substr(0, colon)), b = text::trim(text.substr(colon + 1));
  const std::uint64_t start = a.empty() ? 0 : window_end_fs(a, clock, text);
  const std::uint64_t end = b.empty() ? kNever : window_end_fs(b, clock, text);
  if (end <= start)
    throw InputError(fmt::format("--vcd-window: '{}': the end must come after the start", text));
  return {start, end};
}

std::string gtkw_text(const std::vector<VcdRecorder::Declared>& signals, const std::string& vcd_path,
                      const std::string& gtkw_path, std::uint64_t start_ps) {
  // Modules in the order their first signal was declared, each a group (GTKWave's flags: 0x800200 opens a
  // blank group row, 0x1000200 closes it; 0x24 decimal, 0x28 binary).
  std::vector<std::string> modules;
  for (const auto& s : signals)
    if (s.selected) {
      const std::string m = s.name.substr(0, s.name.rfind('.'));
      if (std::find(modules.begin(), modules.end(), m) == modules.end()) modules.push_back(m);
    }
  // Absolute paths: GTKWave resolves a relative [dumpfile] from the current folder, and, when the files were
  // moved together, finds the VCD where it sits relative to the save file ([savefile]).
  const auto absolute = [](const std::string& p) { return fs::absolute(p).lexically_normal().string(); };
  std::string out =
      fmt::format("[*] tacsim {}: gtkwave {}\n[dumpfile] \"{}\"\n[savefile] \"{}\"\n[timestart] {}\n",
                  kVersion, gtkw_path, absolute(vcd_path), absolute(gtkw_path), start_ps);
  out += "[size] 1600 900\n[sst_width] 260\n[signals_width] 320\n[sst_expanded] 1\n[treeopen] accel.\n";
  for (const auto& m : modules) {
    out += fmt::format("@800200\n-{}\n", m);
    for (const auto& s : signals) {
      if (!s.selected || s.name.substr(0, s.name.rfind('.')) != m) continue;
      if (s.kind != VcdRecorder::Kind::kInteger)
        out += fmt::format("@24\n{}\n", s.name);
      else if (s.width == 1)
        out += fmt::format("@28\n{}\n", s.name);
      else  // GTKWave names a vector declared without a range name[w-1:0]
        out += fmt::format("@24\n{}[{}:0]\n", s.name, s.width - 1);
    }
    out += fmt::format("@1000200\n-{}\n", m);
  }
  return out;
}

WaveSession::WaveSession(const WaveOptions& opts) : opts_(opts) {
  VcdOptions v;
  v.patterns = opts.signals;
  recorder_ = std::make_unique<VcdRecorder>(v);
}

WaveSession::WaveSession(const WaveOptions& opts, ResultSet& results, const ClockDomain& clock)
    : opts_(opts) {
  VcdOptions v;
  v.patterns = opts.signals;
  if (!opts.window.empty()) std::tie(v.start_fs, v.end_fs) = parse_vcd_window(opts.window, clock);
  start_ps_ = v.start_fs / 1000;
  // The extension keeps the pair apart from a result set's own files when it is written inside --out.
  if (fs::path(opts.vcd).extension() != ".vcd")
    throw InputError(
        fmt::format("--vcd: {}: give a name ending in .vcd (its GTKWave view is written beside it, "
                    "NAME.gtkw)",
                    opts.vcd));
  vcd_staged_ = results.stage_file(opts.vcd, "--vcd");
  gtkw_path_ = gtkw_name(opts.vcd);
  gtkw_staged_ = results.stage_file(gtkw_path_, "--vcd");
  // Runs beyond the buffer are spilled into the staging folder, which a stopped run removes.
  v.spill_path = (fs::path(results.staging_dir()) / ".vcd-runs").string();
  // Both files must be writable before anything is simulated.
  for (const auto& [staged, path] : {std::pair{vcd_staged_, opts.vcd}, std::pair{gtkw_staged_, gtkw_path_}}) {
    std::FILE* f = std::fopen(staged.c_str(), "wb");
    if (f == nullptr)
      throw InputError(fmt::format("--vcd: {}: cannot write ({})", path, std::strerror(errno)));
    std::fclose(f);
  }
  recorder_ = std::make_unique<VcdRecorder>(v);
}

void WaveSession::attach(Top& top, bool scheduler) {
  // Declaration order is the order of scopes in the VCD and of groups in the save file: the scheduler, then
  // each engine (what it runs, then its units), the interconnect, the memory.
  waves::Recorder& r = *recorder_;
  if (scheduler) {
    const std::string s = std::string(top.name()) + ".scheduler.";
    scheduler_.waiting = r.integer(s + "waiting", 32, "requests that have arrived and wait for a batch");
    scheduler_.in_flight = r.integer(s + "in_flight", 16, "batches admitted and not yet done");
    scheduler_.waiting.set(0, 0);
    scheduler_.in_flight.set(0, 0);
  }
  for (auto& e : top.engines) {
    if (scheduler) {
      const std::string n = std::string(e->name()) + ".";
      SchedulerWaves::Engine w;
      w.op = r.text(n + "op", "the operation the engine runs (a scheduler step; - between steps)");
      w.batch = r.integer(n + "batch", 32, "the batch it serves");
      w.request = r.integer(n + "request", 64, "the trace's id of the batch's first request");
      scheduler_.engines.push_back(w);
    }
    e->pe_array.attach_waves(r);
    e->hp_datapath.attach_waves(r);
    e->sfu.attach_waves(r);
    e->act_buffer.attach_waves(r);
    e->weight_buffer.attach_waves(r);
    e->out_buffer.attach_waves(r);
    e->dma.attach_waves(r);
  }
  top.interconnect.attach_waves(r);
  if (auto* dram = dynamic_cast<dram::Dram*>(top.memory_module.get())) attach(*dram);
}

void WaveSession::attach(dram::Dram& memory) {
  memory.attach_waves(*recorder_);
}

void WaveSession::check_selection() const {
  for (const auto& p : recorder_->unmatched_patterns())
    throw InputError(fmt::format("--vcd-signals: '{}' matches no signal (--vcd-list lists them)", p));
}

void WaveSession::print_list(std::ostream& os) const {
  // Without --vcd-signals: everything, those traced only on request marked so.
  const auto listed = [&](const VcdRecorder::Declared& d) { return d.selected || opts_.signals.empty(); };
  std::size_t width = 0;
  for (const auto& d : recorder_->declared())
    if (listed(d)) width = std::max(width, d.name.size());
  for (const auto& d : recorder_->declared())
    if (listed(d)) {
      const std::string kind =
          d.kind == VcdRecorder::Kind::kInteger ? fmt::format("integer[{}]", d.width) : kind_name(d.kind);
      os << fmt::format("{:<{}}  {:<12} {}{}\n", d.name, width, kind, d.description,
                        d.on_request ? " (traced when --vcd-signals names it)" : "");
    }
}

void WaveSession::write() {
  changes_ = recorder_->write(vcd_staged_, fmt::format("window from {} ps; {} of {} signals", start_ps_,
                                                       recorder_->selected(), recorder_->declared().size()));
  std::error_code ec;
  bytes_ = fs::file_size(vcd_staged_, ec);
  std::FILE* f = std::fopen(gtkw_staged_.c_str(), "wb");
  const std::string text = gtkw_text(recorder_->declared(), opts_.vcd, gtkw_path_, start_ps_);
  if (f == nullptr || std::fwrite(text.data(), 1, text.size(), f) != text.size() || std::fclose(f) != 0)
    throw InputError(fmt::format("--vcd: {}: cannot write ({})", gtkw_path_, std::strerror(errno)));
}

std::string WaveSession::describe() const {
  return fmt::format("  waves in {} ({:.1f} MiB, {} value changes of {} signals); view: gtkwave {}\n",
                     opts_.vcd, double(bytes_) / (1 << 20), changes_, recorder_->selected(), gtkw_path_);
}

void QueueWaves::queue_changed(Cycle at, std::size_t waiting, std::size_t in_flight) {
  next_.queue_changed(at, waiting, in_flight);
  const std::uint64_t t = clock_.fs_at(at);
  waves_.waiting.set(t, waiting);
  waves_.in_flight.set(t, in_flight);
}

void StepWaves::execute(std::size_t engine, const scheduler::Step& step) {
  const SchedulerWaves::Engine& w = waves_.engines[engine];
  if (step.kind != scheduler::Step::Kind::kRun) return next_.execute(engine, step);
  const scheduler::Batch& b = scheduler_.batch(step.batch);
  std::uint64_t t = clock_.fs_at(clock_.now());
  w.op.set_text(t, name_(step));
  w.batch.set(t, b.id);
  w.request.set(t, b.members.empty() ? waves::kUnknown : b.members.front().request.id);
  next_.execute(engine, step);
  t = clock_.fs_at(clock_.now());
  w.op.set_text(t, "-");
  w.batch.set(t, waves::kUnknown);
  w.request.set(t, waves::kUnknown);
}

}  // namespace tacsim::sim
