#include "traces/trace_builder.h"

#include <optional>

#include <fmt/format.h>

#include "modules/common/error.h"
#include "modules/common/rng.h"
#include "modules/common/text.h"
#include "traces/arrivals.h"
#include "traces/azure_trace.h"

namespace tacsim::traces {

namespace {

TraceLayout layout_of(const BuildParams& p, bool output_len) {
  TraceLayout layout;
  if (output_len) layout.columns.push_back(Column::kOutputLen);
  if (!p.model.empty()) layout.columns.push_back(Column::kModel);
  if (!p.task.empty()) layout.columns.push_back(Column::kTask);
  if (p.arrival == ArrivalKind::kClosed) layout.closed_loop = p.closed_loop;
  return layout;
}

std::optional<RenewalArrivals> renewal_of(const BuildParams& p) {
  switch (p.arrival) {
    case ArrivalKind::kPoisson:
      return RenewalArrivals(p.rate_per_s, 1.0, p.seed);
    case ArrivalKind::kInterval:
      return RenewalArrivals(p.rate_per_s, 0.0, p.seed);
    case ArrivalKind::kGamma:
      return RenewalArrivals(p.rate_per_s, p.cv, p.seed);
    case ArrivalKind::kClosed:
    case ArrivalKind::kRecorded:
      break;
  }
  return std::nullopt;
}

// Numbers the requests, gives them their arrival times, applies the length limit, writes and counts them.
class Emitter {
 public:
  Emitter(const BuildParams& p, bool output_len, std::ostream& out)
      : p_(p),
        policy_(p.limit),
        renewal_(renewal_of(p)),
        writer_(out, layout_of(p, output_len), p.comments) {}

  // `recorded_ns`: the source's own arrival time, used by ArrivalKind::kRecorded.
  void add(std::uint32_t len, std::uint32_t output_len, std::uint64_t recorded_ns, std::string_view source,
           std::uint64_t line) {
    const auto kept = policy_.apply(len, source, line);
    if (!kept) return;
    request_.id = writer_.rows();
    request_.seq_len = *kept;
    request_.output_len = output_len;
    request_.model = p_.model;
    request_.task = p_.task;
    if (renewal_) {
      request_.arrival_ns = renewal_->next_ns();
    } else if (p_.arrival == ArrivalKind::kRecorded) {
      // The first request written arrives at 0, even when the source's first rows were dropped.
      if (writer_.rows() == 0) first_recorded_ns_ = recorded_ns;
      request_.arrival_ns = recorded_ns - first_recorded_ns_;
    } else {
      request_.arrival_ns = 0;  // closed loop: the scheduler releases each request
    }
    writer_.write(request_);
    stats_.add(request_);
  }

  BuildResult finish(const std::string& source) const {
    if (writer_.rows() == 0)
      throw InputError(
          fmt::format("{}: no request left to write: all {} were longer than the maximum of {} tokens "
                      "and dropped",
                      source, policy_.dropped(), p_.limit.max_len));
    return {stats_, policy_.truncated(), policy_.dropped()};
  }

 private:
  const BuildParams& p_;
  LengthPolicy policy_;
  std::optional<RenewalArrivals> renewal_;
  RequestTraceWriter writer_;
  TraceStats stats_;
  Request request_;
  std::uint64_t first_recorded_ns_ = 0;
};

}  // namespace

std::vector<ListedLength> read_length_list(const std::string& path) {
  std::ifstream in = text::open_input(path, "lengths file");
  std::vector<ListedLength> out;
  std::string line;
  for (std::uint64_t n = 1; std::getline(in, line); ++n) {
    const std::string t = text::trim(line);
    if (t.empty() || t.front() == '#') continue;
    const auto len = text::to_unsigned(t, kMaxTraceSeqLen);
    if (!len || *len == 0)
      throw InputError(fmt::format("{}:{}: expected a positive length in tokens (up to {}), got '{}'", path,
                                   n, kMaxTraceSeqLen, t));
    out.push_back({static_cast<std::uint32_t>(*len), n});
  }
  if (in.bad()) throw InputError(fmt::format("{}: read error", path));
  if (out.empty())
    throw InputError(fmt::format("{}: no lengths (expected one positive integer per line)", path));
  return out;
}

std::vector<ListedLength> tokenized_lengths(const std::string& path, const WordPieceTokenizer& tokenizer) {
  std::ifstream in = text::open_input(path, "text file");
  std::vector<ListedLength> out;
  std::string line;
  for (std::uint64_t n = 1; std::getline(in, line); ++n) {
    if (text::trim(line).empty()) continue;
    std::size_t len = 0;
    try {
      len = tokenizer.sequence_length(line);
    } catch (const InputError& e) {
      throw InputError(fmt::format("{}:{}: {}", path, n, e.what()));
    }
    if (len > kMaxTraceSeqLen)
      throw InputError(
          fmt::format("{}:{}: {} tokens, beyond the {} a trace accepts", path, n, len, kMaxTraceSeqLen));
    out.push_back({static_cast<std::uint32_t>(len), n});
  }
  if (in.bad()) throw InputError(fmt::format("{}: read error", path));
  if (out.empty()) throw InputError(fmt::format("{}: no text (expected one sequence per line)", path));
  return out;
}

BuildResult build_from_list(const std::vector<ListedLength>& list, const std::string& source,
                            const BuildParams& params, std::ostream& out) {
  if (params.arrival == ArrivalKind::kRecorded)
    throw InputError(fmt::format("{}: a list of lengths has no arrival times to keep", source));
  Emitter emit(params, false, out);
  Rng pick(params.seed ^ 0xd1b54a32d192ed03ull);  // its own stream, apart from the arrivals'
  const std::uint64_t count = params.count != 0 ? params.count : list.size();
  for (std::uint64_t i = 0; i < count; ++i) {
    const ListedLength& l = list[params.pick == Pick::kSample ? pick.below(list.size()) : i % list.size()];
    emit.add(l.len, 0, 0, source, l.line);
  }
  return emit.finish(source);
}

BuildResult build_from_azure(const std::string& path, const BuildParams& params, std::ostream& out) {
  AzureTraceReader reader(path);
  Emitter emit(params, true, out);
  AzureRow row;
  for (std::uint64_t i = 0; (params.count == 0 || i < params.count) && reader.next(row); ++i)
    emit.add(row.context_tokens, row.generated_tokens, row.arrival_ns, path, reader.line());
  return emit.finish(path);
}

}  // namespace tacsim::traces
