#include "workloads/weight_format.h"

namespace tacsim::workloads {

const char* to_string(WeightFormat format) {
  switch (format) {
    case WeightFormat::kDense:
      return "dense";
    case WeightFormat::kNm:
      return "N:M";
    case WeightFormat::kHp:
      return "hp";
    case WeightFormat::kUnstructured:
      return "unstructured";
  }
  return "?";
}

WeightSparsity WeightSparsity::of_nm(const sparsity::NmSpec& spec) {
  if (spec.is_dense()) return {};
  return {WeightFormat::kNm, spec};
}

std::string WeightSparsity::text() const {
  return format == WeightFormat::kNm ? nm.to_string() : to_string(format);
}

WeightSparsity parse_weight_sparsity(const std::string& text) {
  if (text == "hp") return {WeightFormat::kHp, {1, 1}};
  if (text == "unstructured") return {WeightFormat::kUnstructured, {1, 1}};
  return WeightSparsity::of_nm(sparsity::parse_nm(text));
}

}  // namespace tacsim::workloads
