#pragma once
// Unstructured magnitude pruning: the kept entries may sit anywhere in the matrix.
#include "modules/formats/mask.h"
#include "modules/formats/matrix.h"

namespace tacsim::sparsity {

// Keeps the round(density * rows * cols) entries of largest |w| anywhere in the matrix; ties go to the lower
// row-major position, so the result is deterministic. density outside [0, 1] and NaN weights throw
// InputError.
Mask prune_unstructured(const Int8Matrix& w, double density);
Mask prune_unstructured(const FloatMatrix& w, double density);

}  // namespace tacsim::sparsity
