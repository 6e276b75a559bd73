#include "traces/request_trace.h"

#include <algorithm>
#include <array>
#include <utility>

#include <fmt/format.h>

#include "modules/common/error.h"
#include "modules/common/text.h"

namespace tacsim::traces {

namespace {

constexpr std::array<std::pair<Column, std::string_view>, 6> kColumns = {{
    {Column::kId, "id"},
    {Column::kArrivalNs, "arrival_ns"},
    {Column::kSeqLen, "seq_len"},
    {Column::kOutputLen, "output_len"},
    {Column::kModel, "model"},
    {Column::kTask, "task"},
}};
constexpr std::size_t kRequiredColumns = 3;  // id, arrival_ns, seq_len: first, in this order
constexpr std::string_view kRequiredHeader = "id,arrival_ns,seq_len";
constexpr std::string_view kDirective = "arrival:";

// text::trim, without the copy: the reader trims every row and field and allocates nothing.
std::string_view trim_view(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

std::vector<std::string> optional_column_names() {
  std::vector<std::string> out;
  for (std::size_t i = kRequiredColumns; i < kColumns.size(); ++i) out.emplace_back(kColumns[i].second);
  return out;
}

std::string header_text(const TraceLayout& layout) {
  std::vector<std::string> names;
  for (Column c : layout.columns) names.emplace_back(column_name(c));
  return text::join(names, ",");
}

// "# arrival: open" or "# arrival: closed clients=N [think_ns=T]"; `body` is what follows "arrival:".
std::optional<ClosedLoop> parse_directive(std::string_view body, const std::string& where) {
  std::vector<std::string_view> words;
  for (std::size_t i = 0; i < body.size();) {
    const auto b = body.find_first_not_of(" \t\r", i);
    if (b == std::string_view::npos) break;
    const auto e = std::min(body.find_first_of(" \t\r", b), body.size());
    words.push_back(body.substr(b, e - b));
    i = e;
  }
  const std::string form = "'# arrival: open' or '# arrival: closed clients=N [think_ns=T]'";
  if (words.empty()) throw InputError(where + "expected " + form);
  if (words[0] == "open") {
    if (words.size() > 1)
      throw InputError(where + fmt::format("an open-loop trace takes no settings, got '{}'", words[1]));
    return std::nullopt;
  }
  if (words[0] != "closed") throw InputError(where + fmt::format("expected {}, got '{}'", form, words[0]));
  ClosedLoop loop;
  bool clients = false, think = false;
  for (std::size_t i = 1; i < words.size(); ++i) {
    const auto eq = words[i].find('=');
    const std::string_view key = words[i].substr(0, eq);
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view() : words[i].substr(eq + 1);
    if (key == "clients" && !clients) {
      const auto n = text::to_unsigned(value, kMaxClients);
      if (!n || *n == 0)
        throw InputError(where + fmt::format("clients: expected 1 to {}, got '{}'", kMaxClients, value));
      loop.clients = static_cast<std::uint32_t>(*n);
      clients = true;
    } else if (key == "think_ns" && !think) {
      const auto t = text::to_unsigned(value, kMaxArrivalNs);
      if (!t)
        throw InputError(where +
                         fmt::format("think_ns: expected nanoseconds from 0 to 2^62, got '{}'", value));
      loop.think_ns = *t;
      think = true;
    } else {
      throw InputError(where +
                       fmt::format("expected clients=N or think_ns=T (once each), got '{}'", words[i]));
    }
  }
  if (!clients) throw InputError(where + "a closed loop needs clients=N (requests in flight)");
  return loop;
}

}  // namespace

std::string_view column_name(Column c) {
  for (const auto& [column, name] : kColumns)
    if (column == c) return name;
  return "?";
}

bool TraceLayout::has(Column c) const {
  return std::find(columns.begin(), columns.end(), c) != columns.end();
}

std::optional<OverMax> parse_over_max(std::string_view s) {
  if (s == "error") return OverMax::kError;
  if (s == "truncate") return OverMax::kTruncate;
  if (s == "drop") return OverMax::kDrop;
  return std::nullopt;
}

std::string_view over_max_name(OverMax p) {
  switch (p) {
    case OverMax::kError:
      return "error";
    case OverMax::kTruncate:
      return "truncate";
    case OverMax::kDrop:
      return "drop";
  }
  return "?";
}

void split_csv_fields(std::string_view line, std::vector<std::string_view>& out) {
  out.clear();
  std::size_t start = 0;
  while (true) {
    const auto comma = line.find(',', start);
    out.push_back(trim_view(line.substr(start, comma == std::string_view::npos ? comma : comma - start)));
    if (comma == std::string_view::npos) return;
    start = comma + 1;
  }
}

std::optional<std::uint32_t> LengthPolicy::apply(std::uint32_t len, std::string_view source,
                                                 std::uint64_t line) {
  if (limit_.max_len == 0 || len <= limit_.max_len) return len;
  switch (limit_.policy) {
    case OverMax::kTruncate:
      ++truncated_;
      return limit_.max_len;
    case OverMax::kDrop:
      ++dropped_;
      return std::nullopt;
    case OverMax::kError:
      break;
  }
  throw InputError(
      fmt::format("{}:{}: seq_len {} is beyond the model's maximum of {} (a length policy of "
                  "truncate or drop would accept it)",
                  source, line, len, limit_.max_len));
}

bool is_trace_name(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("._-+/:").find(c) != std::string_view::npos;
  });
}

std::string RowOrder::check(const Request& r, const TraceLayout& layout) {
  if (r.seq_len == 0 || r.seq_len > kMaxTraceSeqLen)
    return fmt::format("seq_len: expected 1 to {} tokens, got {}", kMaxTraceSeqLen, r.seq_len);
  if (r.output_len > kMaxTraceSeqLen)
    return fmt::format("output_len: expected 0 to {} tokens, got {}", kMaxTraceSeqLen, r.output_len);
  if (r.arrival_ns > kMaxArrivalNs)
    return fmt::format("arrival_ns: expected nanoseconds from 0 to 2^62, got {}", r.arrival_ns);
  if (layout.closed_loop && r.arrival_ns != 0)
    return fmt::format(
        "arrival_ns: expected 0 in a closed-loop trace (a request arrives when a client's previous "
        "one finishes), got {}",
        r.arrival_ns);
  if (any_ && r.id == id_)
    return fmt::format("id {} repeats the previous request's (ids must increase)", r.id);
  if (any_ && r.id < id_)
    return fmt::format("id {} is below the previous request's {} (ids must increase)", r.id, id_);
  if (any_ && r.arrival_ns < arrival_ns_)
    return fmt::format("arrival_ns {} is before the previous request's {} (arrivals must not decrease)",
                       r.arrival_ns, arrival_ns_);
  any_ = true;
  id_ = r.id;
  arrival_ns_ = r.arrival_ns;
  return {};
}

RequestTraceReader::RequestTraceReader(const std::string& path, const LengthLimit& limit)
    : RequestTraceReader(std::make_unique<std::ifstream>(text::open_input(path, "request trace")), path,
                         limit) {}

RequestTraceReader::RequestTraceReader(std::unique_ptr<std::istream> in, std::string source,
                                       const LengthLimit& limit)
    : in_(std::move(in)), source_(std::move(source)), policy_(limit) {
  read_preamble();
  ahead_ = read_row(row_);
  if (ahead_) return;
  if (rows_ == 0)
    throw InputError(
        fmt::format("{}:{}: expected request rows after the header on line {}, found the end of the trace",
                    source_, line_no_ + 1, header_line_));
  throw InputError(
      fmt::format("{}: all {} requests are longer than the maximum of {} tokens and were dropped", source_,
                  rows_, policy_.limit().max_len));
}

std::string RequestTraceReader::location() const {
  return fmt::format("{}:{}", source_, line_no_);
}

void RequestTraceReader::fail(const std::string& what) const {
  throw InputError(location() + ": " + what);
}

void RequestTraceReader::read_preamble() {
  bool directive = false;
  while (std::getline(*in_, line_)) {
    ++line_no_;
    const std::string_view t = trim_view(line_);
    if (t.empty()) continue;
    if (t.front() == '#') {
      const std::string_view body = trim_view(t.substr(1));
      if (body.substr(0, kDirective.size()) != kDirective) continue;
      if (directive) fail("a second '# arrival:' directive (a trace has at most one)");
      layout_.closed_loop = parse_directive(body.substr(kDirective.size()), location() + ": ");
      directive = true;
      continue;
    }
    parse_header(t);
    return;
  }
  if (in_->bad()) throw InputError(fmt::format("{}: read error", source_));
  throw InputError(fmt::format("{}:{}: empty trace: expected a header line {}[,{}] and request rows", source_,
                               line_no_ + 1, kRequiredHeader, text::join(optional_column_names(), ",")));
}

void RequestTraceReader::parse_header(std::string_view t) {
  header_line_ = line_no_;
  split_csv_fields(t, fields_);
  layout_.columns.clear();
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    const std::string name(fields_[i]);
    const auto known =
        std::find_if(kColumns.begin(), kColumns.end(), [&](const auto& c) { return c.second == name; });
    if (known == kColumns.end()) {
      std::vector<std::string> all;
      for (const auto& c : kColumns) all.emplace_back(c.second);
      const auto hint = text::closest(name, all);
      fail(fmt::format("unknown column '{}'{} (a header is {} then any of {})", name,
                       hint ? fmt::format(" (did you mean {}?)", *hint) : "", kRequiredHeader,
                       text::one_of(optional_column_names())));
    }
    if (layout_.has(known->first)) fail(fmt::format("column '{}' appears twice", name));
    layout_.columns.push_back(known->first);
  }
  for (std::size_t i = 0; i < kRequiredColumns; ++i) {
    if (!layout_.has(kColumns[i].first))
      fail(fmt::format("missing column '{}' (a header starts {})", kColumns[i].second, kRequiredHeader));
    if (layout_.columns[i] != kColumns[i].first)
      fail(fmt::format("expected the header to start {}, got '{}'", kRequiredHeader, t));
  }
}

bool RequestTraceReader::next(Request& out) {
  if (!ahead_) return false;
  std::swap(out, row_);
  ahead_ = read_row(row_);
  return true;
}

bool RequestTraceReader::read_row(Request& out) {
  while (std::getline(*in_, line_)) {
    ++line_no_;
    const std::string_view t = trim_view(line_);
    if (t.empty()) continue;
    if (t.front() == '#') {
      if (trim_view(t.substr(1)).substr(0, kDirective.size()) == kDirective)
        fail("the '# arrival:' directive must come before the header");
      continue;
    }
    ++rows_;
    parse_row(t, out);
    if (const auto len = policy_.apply(out.seq_len, source_, line_no_)) {
      out.seq_len = *len;
      return true;
    }
  }
  if (in_->bad()) throw InputError(fmt::format("{}: read error", source_));
  return false;
}

void RequestTraceReader::parse_row(std::string_view line, Request& out) {
  split_csv_fields(line, fields_);
  if (fields_.size() != layout_.columns.size())
    fail(fmt::format("expected {} fields ({}, the header on line {}), got {}", layout_.columns.size(),
                     header_text(layout_), header_line_, fields_.size()));
  out.output_len = 0;
  out.model.clear();
  out.task.clear();
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    const std::string_view f = fields_[i];
    switch (layout_.columns[i]) {
      case Column::kId:
        if (const auto v = text::to_unsigned(f))
          out.id = *v;
        else
          fail(fmt::format("id: expected a non-negative integer, got '{}'", f));
        break;
      case Column::kArrivalNs:
        if (const auto v = text::to_unsigned(f, kMaxArrivalNs))
          out.arrival_ns = *v;
        else
          fail(fmt::format("arrival_ns: expected a whole number of nanoseconds from 0 to 2^62, got '{}'", f));
        break;
      case Column::kSeqLen: {
        const auto v = text::to_unsigned(f, kMaxTraceSeqLen);
        if (!v || *v == 0)
          fail(fmt::format("seq_len: expected a positive number of tokens up to {}, got '{}'",
                           kMaxTraceSeqLen, f));
        out.seq_len = static_cast<std::uint32_t>(*v);
        break;
      }
      case Column::kOutputLen:
        if (f.empty()) break;
        if (const auto v = text::to_unsigned(f, kMaxTraceSeqLen))
          out.output_len = static_cast<std::uint32_t>(*v);
        else
          fail(
              fmt::format("output_len: expected a number of tokens up to {} (or nothing), "
                          "got '{}'",
                          kMaxTraceSeqLen, f));
        break;
      case Column::kModel:
      case Column::kTask:
        if (!f.empty() && !is_trace_name(f))
          fail(
              fmt::format("{}: expected a name of letters, digits and . _ - + / : (or "
                          "nothing), got '{}'",
                          column_name(layout_.columns[i]), f));
        (layout_.columns[i] == Column::kModel ? out.model : out.task).assign(f);
        break;
    }
  }
  if (const std::string wrong = order_.check(out, layout_); !wrong.empty()) fail(wrong);
}

RequestTraceWriter::RequestTraceWriter(std::ostream& out, const TraceLayout& layout,
                                       const std::vector<std::string>& comments)
    : out_(out), layout_(layout) {
  for (const auto& c : comments) out_ << "# " << c << "\n";
  if (layout_.closed_loop)
    out_ << fmt::format("# {} closed clients={} think_ns={}\n", kDirective, layout_.closed_loop->clients,
                        layout_.closed_loop->think_ns);
  out_ << header_text(layout_) << "\n";
}

void RequestTraceWriter::write(const Request& r) {
  const auto fail = [&](const std::string& what) {
    throw InputError(fmt::format("request trace row {} (id {}): {}", rows_ + 1, r.id, what));
  };
  if (const std::string wrong = order_.check(r, layout_); !wrong.empty()) fail(wrong);
  buffer_.clear();
  for (std::size_t i = 0; i < layout_.columns.size(); ++i) {
    if (i > 0) buffer_ += ',';
    switch (layout_.columns[i]) {
      case Column::kId:
        fmt::format_to(std::back_inserter(buffer_), "{}", r.id);
        break;
      case Column::kArrivalNs:
        fmt::format_to(std::back_inserter(buffer_), "{}", r.arrival_ns);
        break;
      case Column::kSeqLen:
        fmt::format_to(std::back_inserter(buffer_), "{}", r.seq_len);
        break;
      case Column::kOutputLen:
        fmt::format_to(std::back_inserter(buffer_), "{}", r.output_len);
        break;
      case Column::kModel:
      case Column::kTask: {
        const std::string& name = layout_.columns[i] == Column::kModel ? r.model : r.task;
        if (!name.empty() && !is_trace_name(name))
          fail(fmt::format("{}: expected a name of letters, digits and . _ - + / :, got '{}'",
                           column_name(layout_.columns[i]), name));
        buffer_ += name;
        break;
      }
    }
  }
  buffer_ += '\n';
  out_ << buffer_;
  ++rows_;
}

}  // namespace tacsim::traces
