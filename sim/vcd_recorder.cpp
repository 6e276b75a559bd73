#include "sim/vcd_recorder.h"

#include <fnmatch.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <queue>
#include <stdexcept>

#include <fmt/format.h>

#include "modules/common/error.h"
#include "sim/version.h"

namespace tacsim::sim {

namespace {

bool selects(const std::string& pattern, const std::string& name) {
  // A scope's name selects everything below it: "accel.memory" as well as "accel.memory.*".
  return ::fnmatch(pattern.c_str(), name.c_str(), 0) == 0 ||
         ::fnmatch((pattern + ".*").c_str(), name.c_str(), 0) == 0;
}

// VCD identifiers: printable ASCII from '!' to '~', shortest first.
std::string identifier(std::uint32_t n) {
  std::string id;
  do {
    id.push_back(static_cast<char>('!' + n % 94));
    n /= 94;
  } while (n != 0);
  return id;
}

// A value token has no whitespace: a text's blanks become '_'.
std::string token(std::string_view s) {
  std::string t(s.empty() ? "-" : s);
  for (char& c : t)
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') c = '_';
  return t;
}

void write_or_throw(std::FILE* f, const std::string& text, const std::string& path) {
  if (std::fwrite(text.data(), 1, text.size(), f) != text.size())
    throw InputError(fmt::format("--vcd: {}: cannot write ({})", path, std::strerror(errno)));
}

}  // namespace

VcdRecorder::VcdRecorder(VcdOptions options)
    : options_(std::move(options)), pattern_used_(options_.patterns.size(), false) {
  if (options_.buffer_changes == 0)
    throw std::invalid_argument("VcdRecorder: buffer_changes must be at least 1");
}

VcdRecorder::~VcdRecorder() {
  if (spill_ != nullptr) {
    std::fclose(spill_);
    std::remove(options_.spill_path.c_str());
  }
}

waves::Signal VcdRecorder::add(const std::string& name, Kind kind, std::uint32_t width, std::uint64_t initial,
                               bool on_request, const std::string& description) {
  bool selected = options_.patterns.empty() && !on_request;
  for (std::size_t i = 0; i < options_.patterns.size(); ++i)
    if (selects(options_.patterns[i], name)) selected = true, pattern_used_[i] = true;
  declared_.push_back({name, kind, width, description, selected, on_request});
  if (!selected) return {};
  signals_.push_back({name, kind, width, initial});
  return {this, static_cast<std::uint32_t>(signals_.size() - 1)};
}

waves::Signal VcdRecorder::integer(const std::string& name, std::uint32_t width,
                                   const std::string& description, waves::Selection selection) {
  if (width == 0 || width > 64)
    throw std::invalid_argument("VcdRecorder: " + name + ": width must be 1 to 64");
  return add(name, Kind::kInteger, width, waves::kUnknown, selection == waves::Selection::kOnRequest,
             description);
}

waves::Signal VcdRecorder::enumerated(const std::string& name, const std::vector<std::string>& labels,
                                      const std::string& description) {
  if (labels.empty()) throw std::invalid_argument("VcdRecorder: " + name + ": no labels");
  // Labels are interned in order and contiguously when first declared, so label i is labels_base + i; a
  // second signal with the same labels shares them.
  const std::string key = [&] {
    std::string k;
    for (const auto& l : labels) k += token(l) + ' ';
    return k;
  }();
  auto it = enum_base_.find(key);
  if (it == enum_base_.end()) {
    it = enum_base_.emplace(key, static_cast<std::uint32_t>(strings_.size())).first;
    for (const auto& l : labels) strings_.push_back(token(l));
  }
  waves::Signal s =
      add(name, Kind::kEnumerated, static_cast<std::uint32_t>(labels.size()), it->second, false, description);
  if (s) signals_.back().labels_base = it->second;
  return s;
}

waves::Signal VcdRecorder::text(const std::string& name, const std::string& description) {
  return add(name, Kind::kText, 0, intern("-"), false, description);
}

std::uint32_t VcdRecorder::intern(std::string_view s) {
  const std::string t = token(s);
  const auto [it, added] = string_index_.emplace(t, static_cast<std::uint32_t>(strings_.size()));
  if (added) strings_.push_back(t);
  return it->second;
}

void VcdRecorder::change(std::uint32_t signal, std::uint64_t t_fs, std::uint64_t value) {
  SignalState& s = signals_[signal];
  if (s.kind == Kind::kEnumerated) {
    if (value >= s.width) throw std::logic_error(fmt::format("{}: no label {}", s.name, value));
    value += s.labels_base;
  }
  if (t_fs < options_.start_fs) {
    // Of changes at one time the last one made counts, as in the window.
    if (!s.has_before || t_fs >= s.before_fs) s.has_before = true, s.before_fs = t_fs, s.before = value;
    return;
  }
  if (t_fs >= options_.end_fs) return;
  buffer_.push_back({t_fs / 1000, value, signal});
  ++kept_;
  if (buffer_.size() >= options_.buffer_changes) spill();
}

void VcdRecorder::change_text(std::uint32_t signal, std::uint64_t t_fs, std::string_view value) {
  if (t_fs >= options_.end_fs) return;
  change(signal, t_fs, intern(value));
}

void VcdRecorder::spill() {
  if (spill_ == nullptr) {
    if (options_.spill_path.empty())
      throw std::logic_error("VcdRecorder: the buffer is full and no spill file is set");
    spill_ = std::fopen(options_.spill_path.c_str(), "w+b");
    if (spill_ == nullptr)
      throw InputError(
          fmt::format("--vcd: {}: cannot write ({})", options_.spill_path, std::strerror(errno)));
  }
  std::stable_sort(buffer_.begin(), buffer_.end(),
                   [](const Record& a, const Record& b) { return a.t_ps < b.t_ps; });
  if (std::fwrite(buffer_.data(), sizeof(Record), buffer_.size(), spill_) != buffer_.size())
    throw InputError(fmt::format("--vcd: {}: cannot write ({})", options_.spill_path, std::strerror(errno)));
  runs_.push_back({spilled_, buffer_.size()});
  spilled_ += buffer_.size();
  buffer_.clear();
}

std::vector<std::string> VcdRecorder::unmatched_patterns() const {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < options_.patterns.size(); ++i)
    if (!pattern_used_[i]) out.push_back(options_.patterns[i]);
  return out;
}

namespace {

// A scope tree of the selected signals, in first-declaration order.
struct Scope {
  std::string name;
  std::vector<std::unique_ptr<Scope>> children;
  std::vector<std::pair<std::string, std::uint32_t>> vars;  // leaf name, signal

  Scope& child(const std::string& n) {
    for (auto& c : children)
      if (c->name == n) return *c;
    children.push_back(std::make_unique<Scope>());
    children.back()->name = n;
    return *children.back();
  }
};

// Reads one spilled run back in blocks.
class RunReader {
 public:
  RunReader(std::FILE* f, std::uint64_t offset, std::uint64_t count, std::size_t block)
      : f_(f), next_(offset), left_(count), block_(block) {}
  template <typename R>
  bool next(R& r, const std::string& path) {
    if (pos_ == buf_.size()) {
      if (left_ == 0) return false;
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left_, block_));
      buf_.resize(n * sizeof(R));
      if (::fseeko(f_, static_cast<off_t>(next_ * sizeof(R)), SEEK_SET) != 0 ||
          std::fread(buf_.data(), sizeof(R), n, f_) != n)
        throw InputError(fmt::format("--vcd: {}: cannot read back ({})", path, std::strerror(errno)));
      next_ += n;
      left_ -= n;
      pos_ = 0;
    }
    std::memcpy(&r, buf_.data() + pos_, sizeof(R));
    pos_ += sizeof(R);
    return true;
  }

 private:
  std::FILE* f_;
  std::uint64_t next_, left_;
  std::size_t block_;
  std::vector<char> buf_;
  std::size_t pos_ = 0;
};

}  // namespace

std::uint64_t VcdRecorder::write(const std::string& path, const std::string& comment) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!file) throw InputError(fmt::format("--vcd: {}: cannot write ({})", path, std::strerror(errno)));
  std::FILE* f = file.get();

  std::vector<std::string> ids(signals_.size());
  for (std::uint32_t i = 0; i < signals_.size(); ++i) ids[i] = identifier(i);
  Scope root;
  for (std::uint32_t i = 0; i < signals_.size(); ++i) {
    const std::string& n = signals_[i].name;
    Scope* s = &root;
    std::size_t from = 0;
    for (std::size_t dot; (dot = n.find('.', from)) != std::string::npos; from = dot + 1)
      s = &s->child(n.substr(from, dot - from));
    s->vars.emplace_back(n.substr(from), i);
  }
  std::string out =
      fmt::format("$version tacsim {} $end\n$comment {} $end\n$timescale 1ps $end\n", kVersion, comment);
  const auto declare = [&](const Scope& s, int depth, const auto& self) -> void {
    if (depth > 0) out += fmt::format("$scope module {} $end\n", s.name);
    for (const auto& [leaf, i] : s.vars) {
      const SignalState& sig = signals_[i];
      if (sig.kind == Kind::kInteger)
        out += fmt::format("$var wire {} {} {} $end\n", sig.width, ids[i], leaf);
      else
        out += fmt::format("$var string 1 {} {} $end\n", ids[i], leaf);
    }
    for (const auto& c : s.children) self(*c, depth + 1, self);
    if (depth > 0) out += "$upscope $end\n";
  };
  declare(root, 0, declare);
  out += "$enddefinitions $end\n";

  // Values written so far, and those of the time being gathered (touched: in first-change order).
  std::vector<std::uint64_t> written(signals_.size()), pending(signals_.size());
  std::vector<bool> is_touched(signals_.size(), false);
  std::vector<std::uint32_t> touched;
  std::uint64_t changes = 0;
  const auto format_value = [&](std::uint32_t i, std::uint64_t v) {
    const SignalState& s = signals_[i];
    if (s.kind != Kind::kInteger) {
      out += 's';
      out += strings_[v];
      out += ' ';
    } else if (s.width == 1) {
      out += v == waves::kUnknown ? 'x' : v != 0 ? '1' : '0';
    } else if (v == waves::kUnknown) {
      out += "bx ";
    } else {
      out += 'b';
      if (v == 0) out += '0';
      for (int b = 63 - __builtin_clzll(v | 1); v != 0 && b >= 0; --b) out += (v >> b) & 1 ? '1' : '0';
      out += ' ';
    }
    out += ids[i];
    out += '\n';
  };
  const auto touch = [&](std::uint32_t i, std::uint64_t v) {
    pending[i] = v;
    if (!is_touched[i]) is_touched[i] = true, touched.push_back(i);
  };
  const auto flush = [&](std::uint64_t t, bool dumpvars) {
    std::size_t before = out.size();
    out += fmt::format("#{}\n", t);
    if (dumpvars) out += "$dumpvars\n";
    bool any = false;
    for (std::uint32_t i : touched) {
      is_touched[i] = false;
      if (!dumpvars && pending[i] == written[i]) continue;  // $dumpvars holds every signal
      written[i] = pending[i];
      format_value(i, pending[i]);
      any = true;
      ++changes;
    }
    touched.clear();
    if (dumpvars) out += "$end\n";
    if (!any && !dumpvars) out.resize(before);
    if (out.size() >= (1u << 20)) {
      write_or_throw(f, out, path);
      out.clear();
    }
  };

  // The window opens with every signal's value: its last before the window, or its initial one.
  const std::uint64_t start_ps = options_.start_fs / 1000;
  for (std::uint32_t i = 0; i < signals_.size(); ++i)
    touch(i, signals_[i].has_before ? signals_[i].before : signals_[i].initial);
  bool first = true;
  std::uint64_t current = start_ps;
  const auto take = [&](const Record& r) {
    if (r.t_ps != current) {
      flush(current, first);
      first = false;
      current = r.t_ps;
    }
    touch(r.signal, r.value);
  };

  // The buffer is a last run; runs merge in time order, earlier runs first among equal times.
  std::stable_sort(buffer_.begin(), buffer_.end(),
                   [](const Record& a, const Record& b) { return a.t_ps < b.t_ps; });
  if (runs_.empty()) {
    for (const Record& r : buffer_) take(r);
  } else {
    constexpr std::size_t kBlock = 8192;
    std::vector<RunReader> readers;
    for (const Run& r : runs_) readers.emplace_back(spill_, r.offset, r.count, kBlock);
    std::vector<Record> head(readers.size() + 1);
    using Entry = std::pair<std::uint64_t, std::size_t>;  // time, run
    std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap;
    std::size_t buffer_pos = 0;
    const auto advance = [&](std::size_t k) {
      if (k < readers.size()) {
        if (readers[k].next(head[k], options_.spill_path)) heap.emplace(head[k].t_ps, k);
      } else if (buffer_pos < buffer_.size()) {
        head[k] = buffer_[buffer_pos++];
        heap.emplace(head[k].t_ps, k);
      }
    };
    for (std::size_t k = 0; k <= readers.size(); ++k) advance(k);
    while (!heap.empty()) {
      const std::size_t k = heap.top().second;
      heap.pop();
      take(head[k]);
      advance(k);
    }
  }
  flush(current, first);
  write_or_throw(f, out, path);
  if (std::fflush(f) != 0 || std::ferror(f))
    throw InputError(fmt::format("--vcd: {}: cannot write ({})", path, std::strerror(errno)));
  if (std::fclose(file.release()) != 0)
    throw InputError(fmt::format("--vcd: {}: cannot write ({})", path, std::strerror(errno)));
  if (spill_ != nullptr) {  // merged: the runs are not needed any more
    std::fclose(spill_);
    spill_ = nullptr;
    std::remove(options_.spill_path.c_str());
  }
  return changes;
}

}  // namespace tacsim::sim
