#include "workloads/mapper.h"

#include "workloads/hp_mapper.h"
#include "workloads/pe_array_mapper.h"

namespace tacsim::workloads {

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
