#pragma once
// Builds request traces (the `tacsim trace` command): lengths from a list, from text through a WordPiece
// tokenizer, or from an Azure LLM trace, with arrival times from a renewal process (arrivals.h), a closed
// loop, or the Azure trace's own timestamps. Output is the request trace format (request_trace.h); the same
// inputs and seed give the same bytes. Plain C++.
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "traces/request_trace.h"
#include "traces/trace_stats.h"
#include "traces/wordpiece.h"

namespace tacsim::traces {

// One length of a list, with the line it came from for messages.
struct ListedLength {
  std::uint32_t len = 0;
  std::uint64_t line = 0;
};

// A lengths file: one positive integer per line; blank lines and '#' comments are skipped.
std::vector<ListedLength> read_length_list(const std::string& path);
// A text file, one sequence per line (blank lines skipped): each line's tokens plus [CLS] and [SEP].
std::vector<ListedLength> tokenized_lengths(const std::string& path, const WordPieceTokenizer& tokenizer);

enum class ArrivalKind { kPoisson, kInterval, kGamma, kClosed, kRecorded };
enum class Pick { kCycle, kSample };

struct BuildParams {
  ArrivalKind arrival = ArrivalKind::kPoisson;
  double rate_per_s = 0;   // poisson, interval, gamma
  double cv = 1;           // gamma: the gaps' coefficient of variation
  ClosedLoop closed_loop;  // closed
  std::uint64_t seed = 1;
  LengthLimit limit;
  std::uint64_t count = 0;            // requests to write; 0: each listed length once, or every Azure row
  Pick pick = Pick::kCycle;           // lists: cycle through in order, or sample uniformly with replacement
  std::string model, task;            // when set, a column holding them on every row
  std::vector<std::string> comments;  // written at the top, one '#' line each
};

struct BuildResult {
  TraceStats stats;  // of the requests written
  std::uint64_t truncated = 0, dropped = 0;
};

// Throws InputError naming the source (file:line) for a length beyond the limit under `error`, and when no
// request is left to write.
BuildResult build_from_list(const std::vector<ListedLength>& list, const std::string& source,
                            const BuildParams& params, std::ostream& out);
BuildResult build_from_azure(const std::string& path, const BuildParams& params, std::ostream& out);

}  // namespace tacsim::traces
