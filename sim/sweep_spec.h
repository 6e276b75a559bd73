#pragma once
// What a sweep varies, before any configuration is resolved: the sweep file and the --grid, --zip and
// --random options, expanded into points (one value per swept key). Plain C++: no SystemC, no config
// resolution.
//
// A sweep file is INI, like a config:
//   [sweep]   metrics = cycles, dram_bytes     the figures results.csv keeps (see sweep_results.h)
//             samples = 20                     how many random points [random] draws
//             seed = 7                         the draws' seed (default 1)
//   [base]    pe_array.cols = 32               config keys every point shares (before the command line's
//   --set) [grid]    pe_array.rows = 16, 32, 64       the cartesian product of these lists [zip]
//   act_buffer.banks = 8, 16         lists of one length, walked together
//             act_buffer.capacity_kib = 64, 128
//   [random]  accel.clock_mhz = uniform(500, 1500)   uniform(lo, hi), loguniform(lo, hi), int(lo, hi)
//             dram.preset = choice(hbm2, ddr4-3200)   (both ends included), choice(a, b, ...)
// A list item in double quotes may hold commas ("32,64"); range(lo, hi[, step]) stands for the integers from
// lo to hi, both included. The points are the grid's combinations (its first key varies slowest), each with
// every zip row, each with every random sample (the same samples for every grid cell).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tacsim::sim {

// A swept key with its values (a grid or zip list).
struct SweepAxis {
  std::string key;
  std::vector<std::string> values;
  std::string where;  // where it was given, for messages: "--grid" or "file:line"
};

// A key drawn at random for each sample.
struct RandomAxis {
  enum class Kind { kUniform, kLogUniform, kInt, kChoice };
  std::string key;
  Kind kind = Kind::kUniform;
  double lo = 0, hi = 0;
  std::vector<std::string> choices;
  std::string where;
};

struct SweepSpec {
  std::vector<std::string> base;  // "key=value"
  std::vector<SweepAxis> grid, zip;
  std::vector<RandomAxis> random;
  std::uint64_t samples = 0;
  std::uint64_t sample_seed = 1;
  std::vector<std::string> metrics;

  // The swept keys in column order: grid, zip, random.
  std::vector<std::string> parameters() const;
  // Throws InputError naming the key or option: nothing swept, a key swept twice, zip lists of different
  // lengths, random keys without samples (or samples without random keys), more than kMaxPoints points.
  void validate() const;
  std::uint64_t point_count() const;  // after validate()
  // Each point's values in parameters() order, in the order described at the top of this file.
  std::vector<std::vector<std::string>> expand() const;
};

// More points than this is a typo, not a sweep: refused before anything is resolved.
constexpr std::uint64_t kMaxSweepPoints = 1000000;

// "KEY=V1,V2,..." (a grid or zip list); `where` names the option or file line in messages.
SweepAxis parse_axis(std::string_view text, const std::string& where);
// "KEY=DIST" for --random.
RandomAxis parse_random_axis(std::string_view text, const std::string& where);
// A comma-separated value list with quotes and range(); an empty item is an error naming `what`.
std::vector<std::string> parse_value_list(std::string_view list, const std::string& what);
// Metric names, comma-separated (--metric cycles,dram_bytes).
std::vector<std::string> parse_metric_list(std::string_view list, const std::string& what);

// Reads a sweep file into `spec` (its lists join those already there). Errors name the file and line.
void read_sweep_file(const std::string& path, SweepSpec& spec);

}  // namespace tacsim::sim
