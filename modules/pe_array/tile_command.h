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

// Where a tile's outputs go in its output half. A half may hold several tiles, filled one after another:
// the first claims it (waits for it to be Empty), the last completes it (it is Full once that tile is done).
// A long reduction may be cut into passes over the same output tile, each a TileCommand: a later pass adds
// its sums to the int32 partial sums the earlier ones left in the slot (the drain path reads the slot and
// adds, one adder per column port, with no extra cycles; pe_array::Params::partial_sums), and only the last
// pass applies the output stage. A slot holds Rt x Ct int32 while partial sums live in it.
struct OutputSlot {
  std::uint32_t offset = 0;      // bytes from the start of the out half
  bool claim = true;             // the first tile of the half's fill
  bool complete = true;          // the last one
  std::uint64_t fill_bytes = 0;  // on the claiming tile: bytes of the whole fill (0: this tile's outputs)
  bool accumulate = false;       // add to the partial sums in the slot
  bool partial = false;          // leave int32 partial sums for a later pass: no output stage
};

struct TileCommand {
  TileShape shape;
  int out_half = 0;
  std::vector<ChunkCommand> chunks;
  OutputStage output;
  OutputSlot slot;
  std::uint64_t out_bytes() const {
    return std::uint64_t{shape.rows} * shape.cols * (slot.partial ? 4 : output.element_bytes());
  }
};

// The operands of chunk `ch` of a tile of `cols` columns as the engine reads them from the halves: the index
// decoder unpacks each column's packed in-group indices (LSB-first) into `indices`, a byte per slot.
Chunk chunk_view(const ChunkCommand& ch, std::uint32_t cols, const std::uint8_t* act_half,
                 const std::uint8_t* weight_half, std::vector<std::uint8_t>& indices);

// A drained tile's sums (`acc`, Rt x Ct row-major) into its slot of the output half `half`: added to the
// partial sums there (slot.accumulate), then left as int32 partial sums (slot.partial) or through the
// output stage. `scratch` is working space.
void write_tile_outputs(const TileCommand& cmd, const std::vector<std::int32_t>& acc, std::uint8_t* half,
                        std::vector<std::int32_t>& scratch);

}  // namespace tacsim::pe_array
