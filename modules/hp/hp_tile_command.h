#pragma once
// What the HP datapath consumes: one tile of Rt tokens times a block of encoded weight rows. Plain C++: the
// workloads' mappers build these without SystemC (the shell: hp_datapath.h).
#include <cstdint>

namespace tacsim::hp {

// How the weight half holds the block: an HP stream or CSR bytes (modules/formats).
enum class WeightEncoding { kHp, kCsr };

struct HpTileCommand {
  int act_half = 0, weight_half = 0, out_half = 0;
  std::uint32_t act_offset = 0;    // bytes to the tile's first activation column
  std::uint32_t tokens = 0;        // Rt
  std::uint32_t rows = 0;          // weight rows (outputs per token) in this tile
  std::uint32_t cols = 0;          // K
  std::uint64_t weight_bytes = 0;  // the encoded block in the weight half
  WeightEncoding encoding = WeightEncoding::kHp;
  bool release_act = true;
};

}  // namespace tacsim::hp
