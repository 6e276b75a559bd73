#pragma once
// The formats a workload's weights come in, parsed once (in config resolution, or by lowering from a model's
// per-layer ratios). Each runs on one datapath: dense and N:M on the PE array (STA's unified sparse/dense
// engine), HP and unstructured on the HP datapath (modules/formats for the bytes). The mapper of a format:
// workloads/mapper.h's make_mapper.
#include <cstdint>
#include <string>

#include "modules/formats/nm.h"

namespace tacsim::workloads {

enum class WeightFormat : std::uint8_t { kDense, kNm, kHp, kUnstructured };

// "dense", "N:M", "hp", "unstructured".
const char* to_string(WeightFormat format);

// A format with its N:M ratio (kNm; 1:1 otherwise).
struct WeightSparsity {
  WeightFormat format = WeightFormat::kDense;
  sparsity::NmSpec nm{1, 1};

  static WeightSparsity of_nm(const sparsity::NmSpec& spec);  // kDense for any N:N
  // Canonical text, which parse_weight_sparsity reads back: "dense", "2:4", "hp", "unstructured".
  std::string text() const;
  bool on_hp_datapath() const { return format == WeightFormat::kHp || format == WeightFormat::kUnstructured; }
  friend bool operator==(const WeightSparsity& a, const WeightSparsity& b) {
    return a.format == b.format && a.nm == b.nm;
  }
  friend bool operator!=(const WeightSparsity& a, const WeightSparsity& b) { return !(a == b); }
};

// "dense", "N:M" (1 <= N <= M <= 16; N:N is dense), "hp" or "unstructured". Anything else throws parse_nm's
// InputError, which quotes the text and says what is allowed; the caller prefixes the key.
WeightSparsity parse_weight_sparsity(const std::string& text);

}  // namespace tacsim::workloads
