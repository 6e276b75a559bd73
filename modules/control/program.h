#pragma once
// What the controller runs: the loads that fill each operand buffer, in the order the PE array consumes them
// (load i of a buffer goes to its half i % 2), the tiles for the PE array, and the write-backs of the output
// buffer's fills.
// A workload's mapper produces it; the hardware modules know nothing about GEMMs or Transformers. Plain C++:
// the contract between workloads and hardware (DESIGN.md 3.10).
#include <cstdint>
#include <vector>

#include "modules/dma/block_move.h"
#include "modules/hp/hp_tile_command.h"
#include "modules/pe_array/tile_command.h"

namespace tacsim::control {

// One fill of a buffer half: one or more blocks (N:M weights cut along K move values and indices as two).
struct BufferLoad {
  std::vector<dma::BlockMove> blocks;
  std::uint32_t uses = 1;  // chunks that read it before its half is free again
  std::uint64_t bytes() const {
    std::uint64_t b = 0;
    for (const auto& m : blocks) b += m.bytes();
    return b;
  }
};

struct Program {
  std::vector<BufferLoad> act_loads;
  std::vector<BufferLoad> weight_loads;
  std::vector<pe_array::TileCommand> tiles;  // for the PE array (dense and N:M weights)
  std::vector<hp::HpTileCommand> hp_tiles;   // for the HP datapath (HP and unstructured weights)
  // One per output tile, in the order the tiles complete. Fill i of the output buffer (in half i % 2) holds
  // writeback_groups[i] of them, written back once the fill is complete; no groups: one tile per fill.
  std::vector<dma::BlockMove> writebacks;
  std::vector<std::uint32_t> writeback_groups;
};

}  // namespace tacsim::control
