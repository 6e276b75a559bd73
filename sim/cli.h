#pragma once

namespace tacsim::sim {

// The command line: `tacsim [--help|--version] <command> [options]`. Returns the process exit code:
// 0 success, 1 a check failed, 2 bad input or configuration (one line on stderr).
int cli_main(int argc, char** argv);

}  // namespace tacsim::sim
