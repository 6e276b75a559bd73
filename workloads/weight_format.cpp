#include "workloads/weight_format.h"

#include "modules/formats/nm.h"

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

WeightFormat weight_format_of(const std::string& sparsity) {
  if (sparsity == "hp") return WeightFormat::kHp;
  if (sparsity == "unstructured") return WeightFormat::kUnstructured;
  return sparsity::parse_nm(sparsity).is_dense() ? WeightFormat::kDense : WeightFormat::kNm;
}

}  // namespace tacsim::workloads
