#pragma once
// `tacsim format-report`: the bytes one weight matrix takes in HP, CSR, COO, bitmap, N:M and dense storage at
// several sparsities, as a table on stdout and formats.csv in the output folder.
#include <string>
#include <vector>

namespace tacsim::sim {

int format_report_main(const std::vector<std::string>& args);

}  // namespace tacsim::sim
