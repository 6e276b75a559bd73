#pragma once
// The N:M magnitude pruner (the format itself, its packing and encodings: modules/formats/nm.h).
#include "modules/formats/mask.h"
#include "modules/formats/matrix.h"
#include "modules/formats/nm.h"

namespace tacsim::sparsity {

// In every group of M along cols the N largest |w| are kept, ties to the lower index, so the mask keeps
// exactly N per group (zeros included when a group has fewer than N non-zeros). Throws InputError when spec
// is invalid or cols is not divisible by M.
Mask prune_nm_mask(const Int8Matrix& w, const NmSpec& spec);
Mask prune_nm_mask(const FloatMatrix& w, const NmSpec& spec);
// prune_nm_mask followed by to_nm.
NmMatrix prune_nm(const Int8Matrix& w, const NmSpec& spec);

}  // namespace tacsim::sparsity
