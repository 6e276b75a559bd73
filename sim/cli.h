#pragma once
#include <boost/program_options.hpp>

#include "sim/run.h"

namespace tacsim::sim {

// The command line: `tacsim [--help|--version] <command> [options]`. Returns the process exit code:
// 0 success, 1 a check failed, 2 bad input or configuration (one line on stderr).
int cli_main(int argc, char** argv);

// `tacsim run`'s options, and the configuration a parsed command line of them asks for (--config, then the
// shorthands, then --set). `tacsim sweep` takes the same options as the base of every point.
boost::program_options::options_description run_options();
RunOptions run_options_from(const boost::program_options::variables_map& vm);

}  // namespace tacsim::sim
