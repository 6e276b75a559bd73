#pragma once
// A 2-D block in one TLM transaction (DESIGN 3.9): `rows` rows of `row_bytes`, `stride` bytes apart in memory
// from the payload's address, packed back to back at its data pointer (data length rows x row_bytes). A DMA
// moves a tile this way in one request phase and one response, and the memory resolves the rows inside. A
// payload without the extension, or with one row, is one contiguous range of its data length.
#include <cstdint>

#include <tlm>

namespace tacsim {

struct BlockExtension : tlm::tlm_extension<BlockExtension> {
  std::uint32_t rows = 1;
  std::uint32_t row_bytes = 0;
  std::uint64_t stride = 0;

  tlm::tlm_extension_base* clone() const override { return new BlockExtension(*this); }
  void copy_from(const tlm::tlm_extension_base& other) override {
    *this = static_cast<const BlockExtension&>(other);
  }
};

struct Block {
  std::uint64_t address = 0;
  std::uint32_t rows = 1;
  std::uint32_t row_bytes = 0;
  std::uint64_t stride = 0;

  std::uint64_t row(std::uint32_t r) const { return address + std::uint64_t{r} * stride; }
  std::uint64_t end() const { return row(rows - 1) + row_bytes; }  // one past the last byte
};

// The payload's rows (its extension's, if it carries one with more than one row).
inline Block block_of(const tlm::tlm_generic_payload& p) {
  const BlockExtension* e = p.get_extension<BlockExtension>();
  if (e == nullptr || e->rows <= 1) return {p.get_address(), 1, p.get_data_length(), p.get_data_length()};
  return {p.get_address(), e->rows, e->row_bytes, e->stride};
}

// Makes `p` carry `rows` rows (one: a plain range, whatever extension it had before). The extension stays
// with the payload for its next uses: a pooled payload allocates it once.
inline void set_block(tlm::tlm_generic_payload& p, std::uint32_t rows, std::uint32_t row_bytes,
                      std::uint64_t stride) {
  BlockExtension* e = p.get_extension<BlockExtension>();
  if (e == nullptr) {
    if (rows <= 1) return;
    e = new BlockExtension;
    p.set_extension(e);
  }
  e->rows = rows;
  e->row_bytes = row_bytes;
  e->stride = stride;
}

}  // namespace tacsim
