#pragma once
// What architects ask of a finished sweep: the Pareto front over two or three metrics (`tacsim pareto`), and
// the HP framework's question (Qi et al., ICCAD 2021), the cheapest design whose latency meets a bound and
// whose sparsity setting meets an accuracy bound (`tacsim select`). Plain C++ over numbers and tables.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace tacsim::sim {

// The rows of `values` (one vector of objective values per row) that no other row dominates: another row
// dominates when it is at least as good in every objective and better in one. `maximize[k]` says objective k
// is better when larger. Rows with equal values are all kept. Indices in ascending order.
std::vector<std::size_t> pareto_front(const std::vector<std::vector<double>>& values,
                                      const std::vector<bool>& maximize);

// A table of task accuracies by sparsity setting (the user's own, or the one tacsim ships), as CSV with '#'
// comment lines and the header model,task,weights,pruned_fraction,accuracy,method,source:
//   model            the model file's name (bert-base), or empty for any model
//   weights          sparsity.weights (or gemm.sparsity): dense, N:M, hp or unstructured
//   pruned_fraction  sparsity.pruned_fraction for hp and unstructured, empty otherwise
//   accuracy         a fraction in [0, 1]
//   method, source   how the weights were pruned, and where the number is published
struct AccuracyEntry {
  std::string model, task, weights;
  std::optional<double> pruned_fraction;
  double accuracy = 0;
  std::string method, source;
  int line = 0;
};

struct AccuracyTable {
  std::string path;
  std::vector<AccuracyEntry> entries;
  std::vector<std::string> tasks() const;  // distinct, in the file's order
};

// Throws InputError naming the file and line.
AccuracyTable read_accuracy_table(const std::string& path);

// The setting a point ran: its model and its weights' sparsity.
struct SparsitySetting {
  std::string model;    // the model file's stem, or "" for a GEMM
  std::string weights;  // dense, N:M, hp, unstructured
  double pruned_fraction = 0;
  std::string describe() const;  // "2:4", "unstructured 0.9"
};

// The most accurate entry of `task` for the setting (several methods may reach one setting), or nullptr.
const AccuracyEntry* find_accuracy(const AccuracyTable& table, const std::string& task,
                                   const SparsitySetting& s);

// "5ms", "250us", "1.5 s", "300ns" -> nanoseconds; throws InputError naming `what`.
double parse_duration_ns(const std::string& text, const std::string& what);

}  // namespace tacsim::sim
