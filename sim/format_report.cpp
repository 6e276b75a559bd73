#include "sim/format_report.h"

#include <iostream>

#include <fmt/format.h>
#include <boost/program_options.hpp>

#include "modules/common/error.h"
#include "modules/common/rng.h"
#include "modules/common/text.h"
#include "sim/output.h"
#include "workloads/sparsity/format_sizes.h"
#include "workloads/sparsity/npy.h"

namespace po = boost::program_options;

namespace tacsim::sim {

namespace {

std::vector<double> parse_sparsities(const std::string& list) {
  std::vector<double> out;
  for (const std::string& item : text::split_list(list, ',', "--sparsities")) {
    const auto v = text::to_double(item);
    if (!v || !(*v >= 0 && *v < 1))
      throw InputError(
          fmt::format("--sparsities: expected numbers in [0, 1) separated by commas, got '{}'", item));
    out.push_back(*v);
  }
  return out;
}

sparsity::Pruner parse_pruner(const std::string& p) {
  if (p == "hp") return sparsity::Pruner::kHp;
  if (p == "unstructured") return sparsity::Pruner::kUnstructured;
  if (p == "nm") return sparsity::Pruner::kNm;
  throw InputError(fmt::format("--pruner: expected hp, unstructured or nm, got '{}'", p));
}

}  // namespace

int format_report_main(const std::vector<std::string>& args) {
  po::options_description d("tacsim format-report options");
  d.add_options()("help,h", "print this help")("rows", po::value<int>()->default_value(768)->value_name("N"),
                                               "rows of W (outputs)")(
      "cols", po::value<int>()->default_value(768)->value_name("N"), "columns of W (reduction)")(
      "npy", po::value<std::string>()->value_name("FILE"),
      "weights from a .npy file (int8, or integer-valued floats)")(
      "sparsities", po::value<std::string>()->default_value("0.5,0.75,0.9,0.95")->value_name("S[,S...]"),
      "target sparsities")("pruner", po::value<std::string>()->default_value("hp")->value_name("NAME"),
                           "hp, unstructured or nm: how the pattern is made")(
      "banks", po::value<int>()->default_value(16)->value_name("B"), "activation banks (HP level 2)")(
      "block-rows", po::value<int>()->default_value(16)->value_name("N"), "HP block rows")(
      "block-cols", po::value<int>()->default_value(16)->value_name("N"), "HP block columns")(
      "seed", po::value<std::uint64_t>()->default_value(1)->value_name("N"), "seed of the random weights")(
      "out,o", po::value<std::string>()->default_value("results/latest")->value_name("DIR"),
      "folder for formats.csv");
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(d).run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << "usage: tacsim format-report [options]\n\n" << d;
    return 0;
  }
  const std::string out = vm["out"].as<std::string>();
  sparsity::FormatSizeParams p;
  p.hp.banks = vm["banks"].as<int>();
  p.hp.block_rows = vm["block-rows"].as<int>();
  p.hp.block_cols = vm["block-cols"].as<int>();
  if (const std::string e = p.validate(); !e.empty()) throw InputError("format-report: " + e);
  const auto targets = parse_sparsities(vm["sparsities"].as<std::string>());
  const auto pruner = parse_pruner(vm["pruner"].as<std::string>());

  sparsity::Int8Matrix w;
  if (vm.count("npy")) {
    w = sparsity::npy_to_int8_matrix(sparsity::read_npy(vm["npy"].as<std::string>()));
  } else {
    const int rows = vm["rows"].as<int>(), cols = vm["cols"].as<int>();
    if (rows <= 0 || cols <= 0)
      throw InputError(fmt::format("--rows, --cols: must be positive, got {} x {}", rows, cols));
    w = sparsity::Int8Matrix(rows, cols);
    Rng rng(vm["seed"].as<std::uint64_t>());
    for (auto& x : w.data) x = rng.int8();
  }
  prepare_output_dir(out);
  const auto rows = sparsity::compare_formats(w, targets, pruner, p);

  std::string csv =
      "target_sparsity,achieved_sparsity,pattern,nnz,dense,bitmap,csr,coo,nm_n,nm_index,nm_bitmap,hp\n";
  for (const auto& r : rows) {
    const auto& s = r.sizes;
    csv += fmt::format("{},{:.6f},{},{},{},{},{},{},{},{},{},{}\n", r.target_sparsity, r.achieved_sparsity,
                       r.pattern, s.nnz, s.dense, s.bitmap, s.csr, s.coo, s.nm_n, s.nm_index, s.nm_bitmap,
                       s.hp_fits ? std::to_string(s.hp) : std::string());
  }
  write_file_atomic(out, "formats.csv", csv);
  std::cout << fmt::format("weights {} x {}, int8; bytes per format ({} pruning):\n", w.rows, w.cols,
                           vm["pruner"].as<std::string>())
            << sparsity::format_size_table(rows) << fmt::format("formats.csv in {}/\n", out);
  return 0;
}

}  // namespace tacsim::sim
