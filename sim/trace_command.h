#pragma once
// `tacsim trace`: builds a request trace (traces/README.md) from a list of lengths, from text through a
// WordPiece tokenizer, or from an Azure LLM trace, with an arrival process; or describes an existing trace.
#include <string>
#include <vector>

namespace tacsim::sim {

// Returns 0 on success; bad input throws InputError naming the option, file or line (exit 2).
int trace_main(const std::vector<std::string>& args);

}  // namespace tacsim::sim
