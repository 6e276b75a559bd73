#pragma once
// What the PE array consumes: a tile of outputs, its chunks of operands in the buffer halves, and the output
// stage. Plain C++: the workloads' mappers build these without SystemC (the shell: pe_array.h).
#include <cstdint>
#include <vector>

#include "modules/common/requant.h"
#include "modules/pe_array/pe_array_engine.h"

namespace tacsim::pe_array {

// One chunk of a tile: which halves hold its operands and how they are laid out there.
struct ChunkCommand {
  int act_half = 0;
  int weight_half = 0;
  std::uint32_t act_offset = 0;     // bytes from the start of the act half to the chunk's first activation
  std::uint32_t weight_offset = 0;  // bytes from the start of the weight half to the chunk's first weight
  std::uint32_t act_stride = 0;     // bytes between activation rows in the act half
  std::uint32_t weight_stride = 0;  // bytes between weight columns in the weight half
  std::uint32_t slots = 0;          // kept weights per column in this chunk (dense: the chunk's K)
  // N:M sparse chunks (n < m): each column's in-group indices, packed LSB-first at index_bits bits per slot
  // (modules/formats/FORMATS.md), start at index_offset + j * index_stride in the weight half.
  std::uint32_t n = 1, m = 1;
  std::uint32_t index_bits = 0;
  std::uint32_t index_offset = 0;
  std::uint32_t index_stride = 0;
  bool release_act = true;  // this chunk is a use of the act half's load
  bool release_weight = true;
};

// The array's output path: int32 accumulators as they are, or requantised to int8 (the rescale between one
// GEMM and the next, e.g. a projection feeding Q.K^T); optionally transposed, so that a tile of C lands in
// the out half as C^T (column j of the tile as one row of `rows` elements). Both sit in the drain path,
// one requantiser per column, and add no cycles.
struct OutputStage {
  bool requant = false;  // int8 outputs
  Requant rq;
  bool transpose = false;
  std::uint32_t element_bytes() const { return requant ? 1 : 4; }
};

struct TileCommand {
  TileShape shape;
  int out_half = 0;
  std::vector<ChunkCommand> chunks;
  OutputStage output;
};

}  // namespace tacsim::pe_array
