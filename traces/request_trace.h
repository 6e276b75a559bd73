#pragma once
// The request trace format (traces/README.md): sequences that arrive over time, one CSV row each.
//
//   # any comment; before the header, at most one directive:
//   # arrival: closed clients=8 think_ns=0
//   id,arrival_ns,seq_len,output_len,model,task
//   0,0,25,,bert-base,sst2
//
// The header starts id,arrival_ns,seq_len; output_len, model and task may follow, in any order. Ids
// increase, arrivals never decrease, lengths are positive. The reader streams: it holds one row ahead, so
// its memory does not grow with the trace. Errors are InputError "<file>:<line>: <what was expected>".
// Plain C++.
#include <cstdint>
#include <istream>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace tacsim::traces {

// Sizes the format accepts: lengths beyond 2^24 tokens and times beyond 2^62 ns (146 years) are typos.
constexpr std::uint32_t kMaxTraceSeqLen = 1u << 24;
constexpr std::uint64_t kMaxArrivalNs = 1ull << 62;
constexpr std::uint32_t kMaxClients = 1u << 20;

struct Request {
  std::uint64_t id = 0;
  std::uint64_t arrival_ns = 0;
  std::uint32_t seq_len = 0;     // tokens, after the reader's length limit
  std::uint32_t output_len = 0;  // tokens a decoder generates after the prompt; 0 when the trace has none
  std::string model;             // empty: the run's model
  std::string task;              // empty: none given
};

enum class Column { kId, kArrivalNs, kSeqLen, kOutputLen, kModel, kTask };
std::string_view column_name(Column c);

// Closed loop: `clients` requests in flight; a client's next request arrives `think_ns` after its previous
// one finishes (RequestSource implements it). Every row's arrival_ns is 0.
struct ClosedLoop {
  std::uint32_t clients = 1;
  std::uint64_t think_ns = 0;
};

// What a trace's header and directive say.
struct TraceLayout {
  std::vector<Column> columns = {Column::kId, Column::kArrivalNs, Column::kSeqLen};
  std::optional<ClosedLoop> closed_loop;  // nullopt: open loop, each request arrives at its arrival_ns
  bool has(Column c) const;
};

// What to do with a sequence longer than a model's maximum.
enum class OverMax { kError, kTruncate, kDrop };
// "error", "truncate" or "drop"; nullopt otherwise.
std::optional<OverMax> parse_over_max(std::string_view s);
std::string_view over_max_name(OverMax p);

struct LengthLimit {
  std::uint32_t max_len = 0;  // 0: no limit
  OverMax policy = OverMax::kError;
};

// Applies a LengthLimit to one length after another and counts what it changed.
class LengthPolicy {
 public:
  explicit LengthPolicy(const LengthLimit& limit) : limit_(limit) {}
  // The length to keep, or nullopt to drop the request. Throws InputError("<source>:<line>: ...") under
  // kError. Allocates nothing unless it throws: the reader calls it on every row.
  std::optional<std::uint32_t> apply(std::uint32_t len, std::string_view source, std::uint64_t line);
  std::uint64_t truncated() const { return truncated_; }
  std::uint64_t dropped() const { return dropped_; }
  const LengthLimit& limit() const { return limit_; }

 private:
  LengthLimit limit_;
  std::uint64_t truncated_ = 0, dropped_ = 0;
};

// The rules that tie a row to the one before: ids increase, arrivals never decrease (and are 0 in a closed
// loop). Returns what is wrong, or an empty string.
class RowOrder {
 public:
  std::string check(const Request& r, const TraceLayout& layout);

 private:
  bool any_ = false;
  std::uint64_t id_ = 0, arrival_ns_ = 0;
};

// Cuts a CSV line at its commas into fields trimmed of blanks (no quoting: a field holds no comma). `fields`
// is reused, so a reader splits every row without allocating.
void split_csv_fields(std::string_view line, std::vector<std::string_view>& fields);

// Model and task names: letters, digits and . _ - + / : (no commas, quotes or spaces, so rows stay plain
// CSV).
bool is_trace_name(std::string_view s);

class RequestTraceReader {
 public:
  // Reads the comments, directive and header, and the first request: a trace without one is an error here.
  explicit RequestTraceReader(const std::string& path, const LengthLimit& limit = {});
  // The same from a stream; `source` names it in messages.
  RequestTraceReader(std::unique_ptr<std::istream> in, std::string source, const LengthLimit& limit = {});

  const TraceLayout& layout() const { return layout_; }
  // The next request, in file order; false at the end of the trace.
  bool next(Request& out);
  // The request next() will return, or nullptr at the end.
  const Request* peek() const { return ahead_ ? &row_ : nullptr; }

  std::uint64_t rows() const { return rows_; }  // request rows read so far, dropped ones included
  std::uint64_t truncated() const { return policy_.truncated(); }  // so far, by the length limit
  std::uint64_t dropped() const { return policy_.dropped(); }

 private:
  void read_preamble();  // comments, the directive and the header
  void parse_header(std::string_view line);
  bool read_row(Request& out);  // the next kept row; false at the end
  void parse_row(std::string_view line, Request& out);
  std::string location() const;  // "<source>:<line>"
  [[noreturn]] void fail(const std::string& what) const;

  std::unique_ptr<std::istream> in_;
  std::string source_;
  LengthPolicy policy_;
  TraceLayout layout_;
  std::string line_;
  std::uint64_t line_no_ = 0, rows_ = 0;
  std::uint64_t header_line_ = 0;
  std::vector<std::string_view> fields_;
  RowOrder order_;
  Request row_;  // the row ahead
  bool ahead_ = false;
};

class RequestTraceWriter {
 public:
  // Writes `comments` (each becomes a "# " line), the directive when closed loop, and the header.
  RequestTraceWriter(std::ostream& out, const TraceLayout& layout,
                     const std::vector<std::string>& comments = {});
  // Throws InputError when the row breaks a rule the reader checks (order, lengths, names).
  void write(const Request& r);
  std::uint64_t rows() const { return rows_; }

 private:
  std::ostream& out_;
  TraceLayout layout_;
  RowOrder order_;
  std::uint64_t rows_ = 0;
  std::string buffer_;
};

}  // namespace tacsim::traces
