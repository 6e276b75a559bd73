#pragma once
// A mapper turns one GEMM of a workload into a program for one engine: which blocks of A and W fill which
// buffer half, the tiles its datapath computes, and where each tile of C goes. One implementation per
// datapath, chosen by the weights' format (make_mapper): dense and N:M weights on the PE array
// (pe_array_mapper.h), HP and unstructured weights on the HP datapath (hp_mapper.h).
//
// Contract:
// - map() is a function of the task and the engine it was made for: the same task gives the same program,
//   images and weights, byte for byte. It writes no memory; what it keeps between calls (the PE array
//   mapper's choice of tiling per shape) changes no result.
// - Where the operands are: the caller places A, W (as stored) and C and describes them in task.layout. A
//   mapper whose datapath reads operands in another arrangement (the HP datapath: A transposed, W encoded in
//   row blocks, C int32) lays them out itself, from task.scratch on; its program then touches no tensor of
//   task.layout, and MappedGemm::c_address says where C lands.
// - Values: when task.a and task.w are given (a GEMM run alone), the mapper prunes W to the format and
//   returns every operand's bytes as its program expects them in `images`, and W as pruned in `weights`,
//   for a reference. When they are not (a model, whose tensors are already in memory), `images` holds only
//   what the timing depends on and the caller cannot know: the HP datapath's walk depends on where W's
//   non-zeros are, so the HP mapper draws W from task.seed (or keeps task.mask's positions), prunes it as
//   task.pruning says and returns its encoded bytes; the PE array mapper returns none.
// - Limits: the program's loads fit half of each operand buffer and its tiles fit the datapath and half the
//   output buffer. A GEMM that cannot be mapped throws InputError naming the buffer's key (or the
//   offending mask or pruning setting) and what it would need, before anything is simulated.
// - Every tile of the program runs on datapath(); its other tile list is empty.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "modules/control/program.h"
#include "modules/formats/mask.h"
#include "modules/hp/hp_datapath_engine.h"
#include "modules/pe_array/pe_array_engine.h"
#include "workloads/gemm.h"
#include "workloads/gemm_params.h"
#include "workloads/plan_cost.h"
#include "workloads/weight_format.h"

namespace tacsim::workloads {

enum class Datapath : std::uint8_t { kPeArray, kHp };

// How the PE array's mapper picks a GEMM's tiling (pe_array.mapper): "search" the tilings that fit for the
// fastest by its cost model, take the "greedy" one, or pin "tiling:N", the N-th the search lists (the last if
// there are fewer), to set a tiling's simulated cycles beside its estimate.
struct TilingPolicy {
  enum class Kind : std::uint8_t { kSearch, kGreedy, kPinned };
  Kind kind = Kind::kSearch;
  std::uint32_t pinned = 0;
  // Throws InputError naming `key` for anything else.
  static TilingPolicy parse(const std::string& text, const std::string& key);
};

// What a mapper knows of the engine it maps onto.
struct EngineShape {
  pe_array::Params pe_array;  // tile shape; the HP datapath takes tiles of pe_array.rows tokens
  std::uint64_t act_half_bytes = 0, weight_half_bytes = 0, out_half_bytes = 0;
  // The HP datapath: its row engines, and the activation buffer's banks (bank) its reads contend for, which
  // HP pruning keeps the reads of the rows processed together apart in.
  hp::HpDatapathParams hp_datapath;
  // The PE array's mapper: how it picks a tiling, and the memory as its cost model sees it.
  TilingPolicy tilings;
  MemoryModel memory = [] {
    MemoryModel m;
    m.bytes_per_cycle = 256;
    m.latency_cycles = 30;
    return m;
  }();
};

struct GemmTask {
  GemmParams gemm;
  GemmLayout layout;                     // A, W and C as the caller placed them
  std::uint64_t scratch = 0;             // where a mapper that lays out its own operands puts them
  std::uint64_t seed = 1;                // W's values when the mapper draws them itself
  PruningParams pruning;                 // how it prunes them (hp, unstructured)
  const sparsity::Mask* mask = nullptr;  // a pruned model's kept positions of W (n x k)
  // A GEMM run alone: A (m x k) and W (n x k, not yet pruned).
  const std::vector<std::int8_t>* a = nullptr;
  const std::vector<std::int8_t>* w = nullptr;
};

struct MemoryImage {
  std::uint64_t address = 0;
  std::vector<std::uint8_t> bytes;
};

struct MappedGemm {
  control::Program program;
  std::vector<MemoryImage> images;   // what must be in memory before the program runs (see the contract)
  std::vector<std::int8_t> weights;  // W as pruned, n x k, when the mapper chose the weights; else empty
  std::uint64_t c_address = 0;       // where C lands (int32, or as task.layout.out says on the PE array)
  std::uint64_t end = 0;             // first byte after everything the program touches
  std::string tiling;                // one line: how the GEMM was cut, and why
};

class GemmMapper {
 public:
  virtual ~GemmMapper() = default;
  virtual Datapath datapath() const = 0;
  virtual MappedGemm map(const GemmTask& task) const = 0;
};

// The mapper of the datapath that serves `format`.
std::unique_ptr<GemmMapper> make_mapper(WeightFormat format, const EngineShape& engine);

}  // namespace tacsim::workloads
