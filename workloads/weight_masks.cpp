#include "workloads/weight_masks.h"

#include <fmt/format.h>

#include "modules/common/error.h"
#include "modules/formats/nm.h"
#include "workloads/sparsity/npy.h"

namespace tacsim::workloads {

std::string mask_file_name(std::uint32_t layer, WeightRole role) {
  return fmt::format("layer{}.{}.npy", layer, to_string(role));
}

WeightMasks load_weight_masks(const std::string& dir, const ModelSpec& spec) {
  WeightMasks m;
  m.by_layer.resize(spec.layers);
  m.files.resize(spec.layers);
  m.values.resize(spec.layers);
  const auto& roles = weight_roles();
  for (std::uint32_t l = 0; l < spec.layers; ++l)
    for (std::size_t r = 0; r < roles.size(); ++r) {
      const std::string path = dir + "/" + mask_file_name(l, roles[r]);
      const auto [n, k] = weight_shape(spec, roles[r]);
      // read_npy names the file when it cannot be opened or parsed; the matrix view checks the shape.
      const sparsity::NpyArray a = sparsity::read_npy(path);
      m.by_layer[l][r] = sparsity::npy_to_mask(a, static_cast<int>(n), static_cast<int>(k));
      if (a.dtype == sparsity::NpyDtype::kInt8)
        m.values[l][r] = sparsity::npy_to_int8_matrix(a, static_cast<int>(n), static_cast<int>(k)).data;
      m.files[l][r] = path;
    }
  return m;
}

void check_nm_mask(const sparsity::Mask& mask, const std::string& sparsity, const std::string& file,
                   const std::string& op_name) {
  const sparsity::NmSpec spec = sparsity::parse_nm(sparsity);
  if (spec.is_dense()) return;
  for (int r = 0; r < mask.rows; ++r)
    for (int g = 0; g + spec.m <= mask.cols; g += spec.m) {
      int kept = 0;
      for (int c = g; c < g + spec.m; ++c)
        kept += mask.keep[static_cast<std::size_t>(r) * mask.cols + c] ? 1 : 0;
      if (kept > spec.n)
        throw InputError(
            fmt::format("{}: row {}, columns {}..{} keep {} weights; {} is {} (at most {} of every {})", file,
                        r, g, g + spec.m - 1, kept, op_name, sparsity, spec.n, spec.m));
    }
}

void check_hp_mask(const sparsity::Mask& mask, const sparsity::HpParams& hp, const std::string& file) {
  const sparsity::BankCheck c = sparsity::check_hp_banks(mask, hp);
  if (!c.ok)
    throw InputError(fmt::format("{}: the mask breaks the HP bank property: {} ({} block segments break it)",
                                 file, c.first_conflict, c.conflicting_segments));
}

}  // namespace tacsim::workloads
