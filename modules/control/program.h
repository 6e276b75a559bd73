#pragma once
// What the controller runs: the loads that fill each operand buffer, in the order the PE array consumes them
// (load i of a buffer goes to its half i % 2), the tiles for the PE array, and one write-back per tile.
// A workload's mapper produces it; the hardware modules know nothing about GEMMs or Transformers.
#include <cstdint>
#include <vector>

#include "modules/common/backing_store.h"
#include "modules/dma/dma_engine.h"
#include "modules/hp/hp_datapath.h"
#include "modules/pe_array/pe_array.h"

namespace tacsim::control {

// A 2-D block in memory: `rows` rows of `row_bytes`, `stride` bytes apart; packed back to back on chip,
// starting `local_offset` bytes into the buffer half. An `on_chip` block never goes through the DMA: an
// earlier unit left it on chip (STA's attention: scores to the softmax unit, probabilities to S.V), so it is
// there at once and costs no DRAM traffic.
struct BlockMove {
  std::uint64_t address = 0;
  std::uint32_t rows = 0;
  std::uint32_t row_bytes = 0;
  std::uint64_t stride = 0;
  std::uint64_t local_offset = 0;
  bool on_chip = false;
  std::uint64_t bytes() const { return std::uint64_t{rows} * row_bytes; }
};

// The DMA move that carries block `b` between memory and `local`, its place on chip (on_done left unset).
inline dma::Move dma_move(const BlockMove& b, std::uint8_t* local, bool write) {
  dma::Move m;
  m.write = write;
  m.address = b.address;
  m.rows = b.rows;
  m.row_bytes = b.row_bytes;
  m.stride_bytes = b.stride;
  m.local = local;
  return m;
}

// Values of an on-chip block: the on-chip score buffer is modelled as a store of its own, addressed like
// memory, so that a producer's on-chip outputs reach their consumer without DRAM traffic or time.
// `to_store`: local -> store (a producer's outputs), else store -> local.
inline void copy_on_chip(BackingStore& store, const BlockMove& b, std::uint8_t* local, bool to_store) {
  for (std::uint32_t r = 0; r < b.rows; ++r) {
    const std::uint64_t at = b.address + r * b.stride;
    if (to_store)
      store.write(at, local + std::uint64_t{r} * b.row_bytes, b.row_bytes);
    else
      store.read(at, local + std::uint64_t{r} * b.row_bytes, b.row_bytes);
  }
}

// One fill of a buffer half: one or more blocks (N:M weights cut along K move values and indices as two).
struct BufferLoad {
  std::vector<BlockMove> blocks;
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
  std::vector<BlockMove> writebacks;         // one per tile, from out half (tile index % 2)
};

}  // namespace tacsim::control
