#include "modules/sfu/sfu_op.h"

namespace tacsim::sfu {

std::string SfuParams::validate() const {
  if (score_buffer_kib == 0) return "score_buffer_kib: must be at least 1, got 0";
  if (stream_kib == 0) return "stream_kib: must be at least 1, got 0";
  if (epilogue_blocks == 0) return "epilogue_blocks: must be at least 1, got 0";
  if (const std::string e = softmax.validate(); !e.empty()) return "softmax." + e;
  if (const std::string e = vector.validate(); !e.empty()) return "vector." + e;
  return "";
}

const char* to_string(SfuKind kind) {
  switch (kind) {
    case SfuKind::kSoftmax:
      return "softmax";
    case SfuKind::kLayerNorm:
      return "layernorm";
    case SfuKind::kGelu:
      return "gelu";
    case SfuKind::kResidualAdd:
      return "residual_add";
  }
  return "?";
}

std::uint32_t input_bytes(SfuKind kind, std::size_t input) {
  switch (kind) {
    case SfuKind::kSoftmax:
    case SfuKind::kGelu:
      return 4;
    case SfuKind::kResidualAdd:
      return input == 0 ? 4 : 1;
    case SfuKind::kLayerNorm:
      return 1;
  }
  return 1;
}

}  // namespace tacsim::sfu
