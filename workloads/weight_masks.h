#pragma once
// Masks of a really pruned model driving a run: one NumPy .npy file per weight matrix,
//   <dir>/layer<l>.<role>.npy      role: q_proj k_proj v_proj out_proj ffn_up ffn_down (lowering.h)
// each of shape (n, k) = (out_features, in_features), as a PyTorch nn.Linear weight is stored; any dtype the
// .npy reader takes (bool masks, or the pruned weights themselves): non-zero means kept. Every layer's six
// files must be present. The kept positions are what counts for timing: an N:M layer's mask must keep at most
// N of every M weights along k, HP masks must have HP's bank property, unstructured masks may be anything.
// An int8 file is a quantised model's weights: its values are the weights a checked run multiplies. Any other
// dtype is a mask: the values at kept positions stay seeded random int8 (non-zero).
#include <array>
#include <string>
#include <vector>

#include "modules/formats/hp.h"
#include "modules/formats/mask.h"
#include "workloads/lowering.h"
#include "workloads/model.h"

namespace tacsim::workloads {

struct WeightMasks {
  std::vector<std::array<sparsity::Mask, 6>> by_layer;          // [layer][role_index]
  std::vector<std::array<std::string, 6>> files;                // where each came from, for messages
  std::vector<std::array<std::vector<std::int8_t>, 6>> values;  // int8 files' weights (n x k); else empty
  bool empty() const { return by_layer.empty(); }
  const sparsity::Mask* find(std::uint32_t layer, std::size_t role) const {
    return empty() ? nullptr : &by_layer[layer][role];
  }
};

std::string mask_file_name(std::uint32_t layer, WeightRole role);  // "layer3.ffn_up.npy"

// Throws InputError naming the file: missing, unreadable or malformed, or of the wrong shape.
WeightMasks load_weight_masks(const std::string& dir, const ModelSpec& spec);

// Throws InputError naming `file`, the row and the group when `mask` keeps more than N of M weights of a
// group along k ("dense" accepts any mask).
void check_nm_mask(const sparsity::Mask& mask, const std::string& sparsity, const std::string& file,
                   const std::string& op_name);

// Throws InputError naming `file`, the rows and the columns when `mask` breaks HP's bank property as `hp`
// states it (modules/formats/FORMATS.md): a row's kept positions of a block in one bank, or more of the
// rows processed together (hp.group_rows) in one bank than it has ports.
void check_hp_mask(const sparsity::Mask& mask, const sparsity::HpParams& hp, const std::string& file);

}  // namespace tacsim::workloads
