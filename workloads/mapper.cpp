#include "workloads/mapper.h"

#include <fmt/format.h>

#include "modules/common/error.h"
#include "modules/common/text.h"

#include "workloads/hp_mapper.h"
#include "workloads/pe_array_mapper.h"

namespace tacsim::workloads {

TilingPolicy TilingPolicy::parse(const std::string& text, const std::string& key) {
  TilingPolicy p;
  if (text == "search") return p;
  if (text == "greedy") {
    p.kind = Kind::kGreedy;
    return p;
  }
  if (text.rfind("tiling:", 0) == 0 && text.size() > 7) {
    p.kind = Kind::kPinned;
    p.pinned = static_cast<std::uint32_t>(text::parse_unsigned(text.substr(7), key, 1u << 20));
    return p;
  }
  throw InputError(fmt::format("{}: expected search, greedy or tiling:N, got '{}'", key, text));
}

std::unique_ptr<GemmMapper> make_mapper(WeightFormat format, const EngineShape& engine) {
  switch (format) {
    case WeightFormat::kDense:
    case WeightFormat::kNm:
      return std::make_unique<PeArrayMapper>(engine);
    case WeightFormat::kHp:
    case WeightFormat::kUnstructured:
      return std::make_unique<HpMapper>(engine);
  }
  return nullptr;
}

}  // namespace tacsim::workloads
