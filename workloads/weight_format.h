#pragma once
// The formats a workload's weights come in. Each runs on one datapath: dense and N:M on the PE array (STA's
// unified sparse/dense engine), HP and unstructured on the HP datapath (modules/formats for the bytes).
#include <cstdint>
#include <string>

namespace tacsim::workloads {

enum class WeightFormat : std::uint8_t { kDense, kNm, kHp, kUnstructured };

// "dense", "N:M", "hp", "unstructured".
const char* to_string(WeightFormat format);
// The format of a sparsity text: "dense" and any N:N are kDense, another valid "N:M" kNm, "hp" kHp,
// "unstructured" kUnstructured. Anything else throws parse_nm's InputError, which quotes the text.
WeightFormat weight_format_of(const std::string& sparsity);

}  // namespace tacsim::workloads
