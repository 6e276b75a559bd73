#pragma once
// BlockMove: a 2-D block the DMA carries between memory and an on-chip buffer, as the controller, the SFU and
// the top-k unit describe their transfers. Plain C++: workloads build these without SystemC.
#include <cstdint>

#include "modules/common/backing_store.h"
#include "modules/dma/dma_engine.h"

namespace tacsim::dma {

// `rows` rows of `row_bytes`, `stride` bytes apart in memory; packed back to back on chip, starting
// `local_offset` bytes into the buffer half. An `on_chip` block never goes through the DMA: an earlier unit
// left it on chip (STA's attention: scores to the softmax unit, probabilities to S.V), so it is there at once
// and costs no DRAM traffic.
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
inline Move dma_move(const BlockMove& b, std::uint8_t* local, bool write) {
  Move m;
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

}  // namespace tacsim::dma
