#include "modules/pe_array/tile_command.h"

#include <cstring>

namespace tacsim::pe_array {

Chunk chunk_view(const ChunkCommand& ch, std::uint32_t cols, const std::uint8_t* act_half,
                 const std::uint8_t* weight_half, std::vector<std::uint8_t>& indices) {
  Chunk data;
  data.act = reinterpret_cast<const std::int8_t*>(act_half) + ch.act_offset;
  data.act_stride = ch.act_stride;
  data.values = reinterpret_cast<const std::int8_t*>(weight_half) + ch.weight_offset;
  data.col_stride = ch.weight_stride;
  data.slots = ch.slots;
  if (ch.n < ch.m) {
    indices.resize(std::size_t{cols} * ch.slots);
    for (std::uint32_t j = 0; j < cols; ++j) {
      const std::uint8_t* bits = weight_half + ch.index_offset + std::size_t{j} * ch.index_stride;
      for (std::uint32_t q = 0; q < ch.slots; ++q) {
        std::uint32_t v = 0;
        for (std::uint32_t b = 0; b < ch.index_bits; ++b) {
          const std::size_t p = std::size_t{q} * ch.index_bits + b;
          v |= ((bits[p / 8] >> (p % 8)) & 1u) << b;
        }
        indices[std::size_t{j} * ch.slots + q] = static_cast<std::uint8_t>(v);
      }
    }
    data.index = indices.data();
    data.index_stride = ch.slots;
    data.n = ch.n;
    data.m = ch.m;
  }
  return data;
}

void write_tile_outputs(const TileCommand& cmd, const std::vector<std::int32_t>& acc, std::uint8_t* half,
                        std::vector<std::int32_t>& scratch) {
  const std::uint32_t rows = cmd.shape.rows, cols = cmd.shape.cols;
  std::uint8_t* out = half + cmd.slot.offset;
  scratch.assign(acc.begin(), acc.end());
  if (cmd.slot.accumulate)
    for (std::size_t e = 0; e < scratch.size(); ++e) {
      std::int32_t partial;
      std::memcpy(&partial, out + e * 4, 4);
      scratch[e] += partial;
    }
  if (cmd.slot.partial) {
    std::memcpy(out, scratch.data(), scratch.size() * 4);
    return;
  }
  const OutputStage& o = cmd.output;
  for (std::uint32_t i = 0; i < rows; ++i)
    for (std::uint32_t j = 0; j < cols; ++j) {
      const std::size_t at = o.transpose ? std::size_t{j} * rows + i : std::size_t{i} * cols + j;
      const std::int32_t v = scratch[std::size_t{i} * cols + j];
      if (o.requant)
        out[at] = static_cast<std::uint8_t>(static_cast<std::int8_t>(o.rq.apply(v)));
      else
        std::memcpy(out + at * 4, &v, 4);
    }
}

}  // namespace tacsim::pe_array
