#pragma once
// Comparing two results (`tacsim diff`): every deterministic figure a run wrote, read from a result folder's
// stats.json (outside `host`) and its CSV files, flattened to one named figure each, and compared pairwise
// with per-key relative tolerances. Plain C++: no SystemC.
//
// Figure names, which --tol globs match:
//   config.<section.key>                 the resolved configuration (stats.json's `config`)
//   summary.<name>                       stats.json's `summary`
//   modules.<module>.<stat>[.<sub>...]   a module's stats, e.g. modules.accel.memory.row_hits
//   <file>.csv.<row>.<column>            a CSV cell; rows count from 1 after the header
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tacsim::sim {

struct Figure {
  std::string group;  // "config", "summary", "modules.accel.dram", "ops.csv"
  std::string key;    // the full name, as above
  std::string label;  // what a reader sees for the key within its group (a CSV row shows its `name`)
  std::string text;   // the value as written
};

// A result as a flat, ordered list of figures. `path` is a result folder (stats.json and every *.csv in it)
// or one stats.json file. Throws InputError naming the path (or file and line) when it cannot be read.
std::vector<Figure> load_result(const std::string& path);

// One line of a CSV file into fields: commas separate, double quotes enclose fields that hold commas, "" is a
// quote. Throws InputError "<path>:<line_no>: unterminated quoted field".
std::vector<std::string> split_csv_line(const std::string& line, const std::filesystem::path& path,
                                        std::size_t line_no);

struct Tolerance {
  std::string glob;  // fnmatch pattern over figure names; '*' also matches dots
  double relative = 0;
};

// Parses "KEY_OR_GLOB=REL" (REL >= 0, a number); throws InputError naming the --tol otherwise.
Tolerance parse_tolerance(const std::string& text);

struct Change {
  std::string group, key, label;
  std::optional<std::string> old_text, new_text;  // nullopt: the figure is missing on that side
  std::optional<double> relative;  // |new - old| / |old| for two numbers (inf when old is 0); else nullopt
  double tolerance = 0;            // the tolerance that applied
  bool beyond = true;              // moved beyond its tolerance
};

struct DiffReport {
  std::vector<Change> changes;  // config first, then in the order the figures appear in the old result
  std::size_t compared = 0;     // figures present on either side
  std::size_t beyond() const;
};

// Compares two flat results. The last tolerance whose glob matches a figure's name applies (so a later,
// more specific --tol refines an earlier, broad one); a figure no glob matches must be identical. Strings
// and figures present on one side only are always beyond tolerance.
DiffReport compare_results(const std::vector<Figure>& old_result, const std::vector<Figure>& new_result,
                           const std::vector<Tolerance>& tolerances);

}  // namespace tacsim::sim
