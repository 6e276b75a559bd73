#include "modules/formats/hp.h"

#include <algorithm>
#include <array>
#include <climits>

#include "modules/common/error.h"
#include "modules/formats/bit_stream.h"

// Stream layout (the same text, with an example, is in FORMATS.md):
//   header, 32 bytes, little-endian:
//     0 "TSHP" | 4 u8 version = 1 | 5..7 reserved, 0 | 8 u32 rows | 12 u32 cols | 16 u16 block_rows |
//     18 u16 block_cols | 20 u16 banks | 22 u16 nnz_per_row (k) | 24 u32 kept blocks | 28 u32 reserved, 0
//   block bitmap: T = (rows / block_rows) * (cols / block_cols) bits, bit t set iff block id t is kept,
//     LSB-first, zero-padded to a byte
//   kept blocks in ascending id, each hp_block_bytes long and starting on a byte:
//     values:  block_rows * k int8, row by row, each row's slots in ascending column
//     offsets: block_rows * k fields of ceil(log2 block_cols) bits (same order), LSB-first, zero-padded to a
//     byte
// Every kept block has the same size, so the decoder finds block j at a fixed stride.

namespace tacsim::sparsity {
namespace {

constexpr std::array<char, 4> kMagic = {'T', 'S', 'H', 'P'};
constexpr std::uint8_t kVersion = 1;

void require_valid(const HpParams& p) {
  const std::string err = p.validate();
  if (!err.empty()) throw InputError("HP params: " + err);
}

void require_shape(int rows, int cols, int block_rows, int block_cols) {
  if (rows < 0 || cols < 0) throw InputError("HP: negative matrix shape");
  if (rows % block_rows != 0) {
    throw InputError("HP: rows (out) = " + std::to_string(rows) +
                     " is not divisible by block_rows = " + std::to_string(block_rows));
  }
  if (cols % block_cols != 0) {
    throw InputError("HP: cols (in) = " + std::to_string(cols) +
                     " is not divisible by block_cols = " + std::to_string(block_cols));
  }
}

std::string segment_name(int r, int c0, int block_cols) {
  return "row " + std::to_string(r) + ", cols " + std::to_string(c0) + ".." +
         std::to_string(c0 + block_cols - 1);
}

}  // namespace

std::string HpParams::validate() const {
  auto range = [](const char* name, int v) {
    return std::string(name) + ": must be in 1.." + std::to_string(kMaxHpBlockDim) + ", got " +
           std::to_string(v);
  };
  if (block_rows < 1 || block_rows > kMaxHpBlockDim) return range("block_rows", block_rows);
  if (block_cols < 1 || block_cols > kMaxHpBlockDim) return range("block_cols", block_cols);
  if (banks < 1 || banks > 65535) return "banks: must be in 1..65535, got " + std::to_string(banks);
  if (!(target_sparsity >= 0.0 && target_sparsity <= 1.0)) {
    return "target_sparsity: must be in [0, 1], got " + std::to_string(target_sparsity);
  }
  if (!(level1_share >= 0.0 && level1_share <= 1.0)) {
    return "level1_share: must be in [0, 1], got " + std::to_string(level1_share);
  }
  return "";
}

void require_hp_fits(int rows, int cols, const HpParams& p) {
  require_valid(p);
  require_shape(rows, cols, p.block_rows, p.block_cols);
}

std::string validate_hp(const HpMatrix& x) {
  HpParams shape;
  shape.block_rows = x.block_rows;
  shape.block_cols = x.block_cols;
  shape.banks = x.banks;
  std::string err = shape.validate();
  if (!err.empty()) return err;
  if (x.rows < 0 || x.cols < 0) return "rows, cols: must not be negative";
  if (x.rows % x.block_rows != 0 || x.cols % x.block_cols != 0) {
    return "rows, cols: " + std::to_string(x.rows) + " x " + std::to_string(x.cols) +
           " is not a multiple of the " + std::to_string(x.block_rows) + " x " +
           std::to_string(x.block_cols) + " block";
  }
  if (x.nnz_per_row < 0 || x.nnz_per_row > hp_max_nnz_per_row(shape)) {
    return "nnz_per_row: must be in 0.." + std::to_string(hp_max_nnz_per_row(shape)) + ", got " +
           std::to_string(x.nnz_per_row);
  }
  if ((x.nnz_per_row == 0) != x.kept_blocks.empty()) {
    return "nnz_per_row: must be 0 exactly when no block is kept, got " + std::to_string(x.nnz_per_row) +
           " with " + std::to_string(x.kept_blocks.size()) + " kept blocks";
  }
  for (std::size_t j = 0; j < x.kept_blocks.size(); ++j) {
    if (x.kept_blocks[j] >= x.total_blocks() || (j > 0 && x.kept_blocks[j] <= x.kept_blocks[j - 1])) {
      return "kept_blocks: entry " + std::to_string(j) + " (" + std::to_string(x.kept_blocks[j]) +
             ") is not an ascending block id below " + std::to_string(x.total_blocks());
    }
  }
  const std::size_t slots =
      x.kept_blocks.size() * static_cast<std::size_t>(x.block_rows) * static_cast<std::size_t>(x.nnz_per_row);
  if (x.values.size() != slots)
    return "values: expected " + std::to_string(slots) + " slots, got " + std::to_string(x.values.size());
  if (x.offsets.size() != slots)
    return "offsets: expected " + std::to_string(slots) + " slots, got " + std::to_string(x.offsets.size());
  std::vector<std::uint8_t> bank_used(static_cast<std::size_t>(hp_max_nnz_per_row(shape)));
  for (std::size_t j = 0; j < x.kept_blocks.size(); ++j) {
    for (int i = 0; i < x.block_rows; ++i) {
      std::fill(bank_used.begin(), bank_used.end(), 0);
      for (int s = 0; s < x.nnz_per_row; ++s) {
        const int off = x.offsets[x.slot(j, i, s)];
        const int prev = s > 0 ? x.offsets[x.slot(j, i, s - 1)] : -1;
        const std::string where = "offsets: kept block " + std::to_string(j) + " row " + std::to_string(i) +
                                  " slot " + std::to_string(s) + ": ";
        if (off >= x.block_cols || off <= prev) {
          return where + std::to_string(off) +
                 " is not an ascending offset below block_cols = " + std::to_string(x.block_cols);
        }
        const int b = hp_bank(off, x.block_cols, x.banks);
        if (bank_used[b])
          return where + "column " + std::to_string(off) + " repeats bank " + std::to_string(b);
        bank_used[b] = 1;
      }
    }
  }
  return "";
}

double sparsity(const HpMatrix& x) {
  const double total = static_cast<double>(x.rows) * x.cols;
  if (total == 0) return 0.0;
  return 1.0 - static_cast<double>(x.values.size()) / total;
}

HpMatrix to_hp(const Int8Matrix& w, const Mask& mask, const HpParams& p) {
  require_valid(p);
  require_shape(w.rows, w.cols, p.block_rows, p.block_cols);
  if (mask.rows != w.rows || mask.cols != w.cols) {
    throw InputError("to_hp: mask is " + std::to_string(mask.rows) + " x " + std::to_string(mask.cols) +
                     " but the matrix is " + std::to_string(w.rows) + " x " + std::to_string(w.cols));
  }
  const BankCheck banks = check_hp_banks(mask, p.block_cols, p.banks);
  if (!banks.ok) throw InputError("to_hp: the mask breaks the HP bank property: " + banks.first_conflict);
  HpMatrix x;
  x.rows = w.rows;
  x.cols = w.cols;
  x.block_rows = p.block_rows;
  x.block_cols = p.block_cols;
  x.banks = p.banks;
  const int grid_cols = x.grid_cols();
  for (std::int64_t id = 0; id < x.total_blocks(); ++id) {
    const int r0 = static_cast<int>(id / grid_cols) * p.block_rows;
    const int c0 = static_cast<int>(id % grid_cols) * p.block_cols;
    int most = 0;
    for (int i = 0; i < p.block_rows; ++i) {
      int kept = 0;
      for (int c = 0; c < p.block_cols; ++c) kept += mask.at(r0 + i, c0 + c) ? 1 : 0;
      most = std::max(most, kept);
    }
    if (most > 0) x.kept_blocks.push_back(static_cast<std::uint32_t>(id));
    x.nnz_per_row = std::max(x.nnz_per_row, most);
  }
  const std::size_t slots =
      x.kept_blocks.size() * static_cast<std::size_t>(p.block_rows) * static_cast<std::size_t>(x.nnz_per_row);
  x.values.resize(slots);
  x.offsets.resize(slots);
  std::vector<std::uint8_t> bank_used(static_cast<std::size_t>(hp_max_nnz_per_row(p)));
  std::vector<std::uint8_t> take(static_cast<std::size_t>(p.block_cols));
  for (std::size_t j = 0; j < x.kept_blocks.size(); ++j) {
    const int r0 = static_cast<int>(x.kept_blocks[j] / grid_cols) * p.block_rows;
    const int c0 = static_cast<int>(x.kept_blocks[j] % grid_cols) * p.block_cols;
    for (int i = 0; i < p.block_rows; ++i) {
      std::fill(bank_used.begin(), bank_used.end(), 0);
      int count = 0;
      for (int c = 0; c < p.block_cols; ++c) {
        take[c] = mask.at(r0 + i, c0 + c) ? 1 : 0;
        if (take[c]) {
          bank_used[hp_bank(c, p.block_cols, p.banks)] = 1;
          ++count;
        }
      }
      // Padding: the lowest column of each still unused bank, until the row has nnz_per_row slots. There are
      // enough banks because the row's kept positions already use distinct ones.
      for (int c = 0; c < p.block_cols && count < x.nnz_per_row; ++c) {
        const int b = hp_bank(c, p.block_cols, p.banks);
        if (take[c] || bank_used[b]) continue;
        take[c] = 2;
        bank_used[b] = 1;
        ++count;
      }
      int s = 0;
      for (int c = 0; c < p.block_cols; ++c) {
        if (!take[c]) continue;
        const std::size_t k = x.slot(j, i, s++);
        x.offsets[k] = static_cast<std::uint8_t>(c);
        x.values[k] = take[c] == 1 ? w.at(r0 + i, c0 + c) : std::int8_t{0};
      }
    }
  }
  return x;
}

Int8Matrix to_dense(const HpMatrix& x) {
  Int8Matrix w(x.rows, x.cols);
  const int grid_cols = x.grid_cols();
  for (std::size_t j = 0; j < x.kept_blocks.size(); ++j) {
    const int r0 = static_cast<int>(x.kept_blocks[j] / grid_cols) * x.block_rows;
    const int c0 = static_cast<int>(x.kept_blocks[j] % grid_cols) * x.block_cols;
    for (int i = 0; i < x.block_rows; ++i) {
      for (int s = 0; s < x.nnz_per_row; ++s) {
        const std::size_t k = x.slot(j, i, s);
        w.at(r0 + i, c0 + x.offsets[k]) = x.values[k];
      }
    }
  }
  return w;
}

Mask slot_mask(const HpMatrix& x) {
  Mask mask(x.rows, x.cols);
  const int grid_cols = x.grid_cols();
  for (std::size_t j = 0; j < x.kept_blocks.size(); ++j) {
    const int r0 = static_cast<int>(x.kept_blocks[j] / grid_cols) * x.block_rows;
    const int c0 = static_cast<int>(x.kept_blocks[j] % grid_cols) * x.block_cols;
    for (int i = 0; i < x.block_rows; ++i) {
      for (int s = 0; s < x.nnz_per_row; ++s) mask.set(r0 + i, c0 + x.offsets[x.slot(j, i, s)], true);
    }
  }
  return mask;
}

BankCheck check_hp_banks(const Mask& mask, int block_cols, int banks) {
  if (block_cols < 1 || banks < 1) {
    throw InputError("check_hp_banks: block_cols and banks must be at least 1, got " +
                     std::to_string(block_cols) + " and " + std::to_string(banks));
  }
  BankCheck check;
  std::vector<int> count(static_cast<std::size_t>(std::min(block_cols, banks)));
  for (int r = 0; r < mask.rows; ++r) {
    for (int c0 = 0; c0 < mask.cols; c0 += block_cols) {
      std::fill(count.begin(), count.end(), 0);
      const int c_end = std::min(mask.cols, c0 + block_cols);
      for (int c = c0; c < c_end; ++c) {
        if (mask.at(r, c)) ++count[hp_bank(c, block_cols, banks)];
      }
      const int busiest = *std::max_element(count.begin(), count.end());
      if (busiest <= 1) continue;
      check.ok = false;
      ++check.conflicting_segments;
      check.extra_fetch_cycles += static_cast<std::uint64_t>(busiest - 1);
      if (!check.first_conflict.empty()) continue;
      // Name the first two kept columns that share a bank.
      for (int a = c0; a < c_end && check.first_conflict.empty(); ++a) {
        for (int b = a + 1; b < c_end && mask.at(r, a); ++b) {
          if (mask.at(r, b) && hp_bank(a, block_cols, banks) == hp_bank(b, block_cols, banks)) {
            check.first_conflict = segment_name(r, c0, block_cols) + ": cols " + std::to_string(a) + " and " +
                                   std::to_string(b) + " are both in bank " +
                                   std::to_string(hp_bank(a, block_cols, banks));
            break;
          }
        }
      }
    }
  }
  return check;
}

std::uint64_t hp_block_bytes(int block_rows, int block_cols, int nnz_per_row) {
  const std::uint64_t slots =
      static_cast<std::uint64_t>(block_rows) * static_cast<std::uint64_t>(nnz_per_row);
  return slots + bytes_for_bits(slots * static_cast<std::uint64_t>(bits_for(block_cols)));
}

std::uint64_t hp_encoded_bytes(int rows, int cols, int block_rows, int block_cols, int nnz_per_row,
                               std::int64_t kept_blocks) {
  const std::uint64_t total_blocks =
      static_cast<std::uint64_t>(rows / block_rows) * static_cast<std::uint64_t>(cols / block_cols);
  return kHpHeaderBytes + bytes_for_bits(total_blocks) +
         static_cast<std::uint64_t>(kept_blocks) * hp_block_bytes(block_rows, block_cols, nnz_per_row);
}

std::uint64_t hp_encoded_bytes(const HpMatrix& x) {
  return hp_encoded_bytes(x.rows, x.cols, x.block_rows, x.block_cols, x.nnz_per_row,
                          static_cast<std::int64_t>(x.kept_blocks.size()));
}

std::vector<std::uint8_t> encode_hp(const HpMatrix& x) {
  const std::string err = validate_hp(x);
  if (!err.empty()) throw std::invalid_argument("encode_hp: " + err);
  std::vector<std::uint8_t> out;
  out.reserve(hp_encoded_bytes(x));
  ByteWriter bytes(out);
  bytes.bytes(kMagic.data(), kMagic.size());
  bytes.u8(kVersion);
  for (int i = 0; i < 3; ++i) bytes.u8(0);
  bytes.u32(static_cast<std::uint32_t>(x.rows));
  bytes.u32(static_cast<std::uint32_t>(x.cols));
  bytes.u16(static_cast<unsigned>(x.block_rows));
  bytes.u16(static_cast<unsigned>(x.block_cols));
  bytes.u16(static_cast<unsigned>(x.banks));
  bytes.u16(static_cast<unsigned>(x.nnz_per_row));
  bytes.u32(static_cast<std::uint32_t>(x.kept_blocks.size()));
  bytes.u32(0);
  BitWriter map(out);
  std::size_t next = 0;
  for (std::int64_t id = 0; id < x.total_blocks(); ++id) {
    const bool kept = next < x.kept_blocks.size() && x.kept_blocks[next] == id;
    if (kept) ++next;
    map.put(kept ? 1 : 0, 1);
  }
  map.flush();
  const std::size_t per_block =
      static_cast<std::size_t>(x.block_rows) * static_cast<std::size_t>(x.nnz_per_row);
  const int offset_bits = bits_for(x.block_cols);
  for (std::size_t j = 0; j < x.kept_blocks.size(); ++j) {
    const std::size_t first = x.slot(j, 0, 0);
    for (std::size_t k = first; k < first + per_block; ++k) bytes.u8(static_cast<std::uint8_t>(x.values[k]));
    BitWriter bits(out);
    for (std::size_t k = first; k < first + per_block; ++k) bits.put(x.offsets[k], offset_bits);
    bits.flush();
  }
  return out;
}

HpMatrix decode_hp(const std::vector<std::uint8_t>& bytes, const std::string& source) {
  ByteReader in(bytes, source);
  const std::string header = "the HP header";
  const std::uint8_t* magic = in.take(4, header);
  if (!std::equal(kMagic.begin(), kMagic.end(), magic)) {
    throw InputError(source + ": byte 0: not an HP stream: magic is not \"TSHP\"");
  }
  const unsigned version = in.u8(header);
  if (version != kVersion)
    in.fail("unsupported HP stream version " + std::to_string(version) + ", expected 1");
  for (int i = 0; i < 3; ++i) {
    if (in.u8(header) != 0) in.fail("reserved header byte is not zero");
  }
  const std::uint32_t rows = in.u32(header);
  const std::uint32_t cols = in.u32(header);
  HpMatrix x;
  x.block_rows = in.u16(header);
  x.block_cols = in.u16(header);
  x.banks = in.u16(header);
  x.nnz_per_row = in.u16(header);
  const std::uint32_t kept = in.u32(header);
  if (in.u32(header) != 0) in.fail("reserved header word is not zero");
  HpParams shape;
  shape.block_rows = x.block_rows;
  shape.block_cols = x.block_cols;
  shape.banks = x.banks;
  const std::string shape_err = shape.validate();
  if (!shape_err.empty()) in.fail("bad HP header: " + shape_err);
  if (rows > INT_MAX || cols > INT_MAX) in.fail("rows or cols above 2^31 - 1");
  x.rows = static_cast<int>(rows);
  x.cols = static_cast<int>(cols);
  if (x.rows % x.block_rows != 0 || x.cols % x.block_cols != 0) {
    in.fail("a " + std::to_string(rows) + " x " + std::to_string(cols) + " matrix is not a multiple of the " +
            std::to_string(x.block_rows) + " x " + std::to_string(x.block_cols) + " block");
  }
  if (x.nnz_per_row > hp_max_nnz_per_row(shape)) {
    in.fail("nnz_per_row " + std::to_string(x.nnz_per_row) +
            " exceeds min(banks, block_cols) = " + std::to_string(hp_max_nnz_per_row(shape)));
  }
  const std::uint64_t total = static_cast<std::uint64_t>(x.total_blocks());
  if (kept > total)
    in.fail(std::to_string(kept) + " kept blocks but the matrix has " + std::to_string(total));
  if ((x.nnz_per_row == 0) != (kept == 0)) in.fail("nnz_per_row must be 0 exactly when no block is kept");
  const std::uint64_t map_bytes = bytes_for_bits(total);
  const std::uint64_t block_bytes = hp_block_bytes(x.block_rows, x.block_cols, x.nnz_per_row);
  const std::uint64_t body = map_bytes + checked_mul(block_bytes, kept, source + ": HP payload");
  if (body != in.remaining()) {
    in.fail((body > in.remaining() ? "truncated: " : "") + std::string("the block map and ") +
            std::to_string(kept) + " kept blocks need " + std::to_string(body) + " bytes, the stream has " +
            std::to_string(in.remaining()));
  }
  const std::size_t map_start = in.offset();
  BitReader map(in.take(map_bytes, "the block map"), map_bytes);
  for (std::uint64_t id = 0; id < total; ++id) {
    if (map.get(1)) x.kept_blocks.push_back(static_cast<std::uint32_t>(id));
  }
  if (x.kept_blocks.size() != kept) {
    throw InputError(source + ": byte " + std::to_string(map_start) + ": the block map marks " +
                     std::to_string(x.kept_blocks.size()) + " blocks, the header says " +
                     std::to_string(kept));
  }
  if (!map.padding_is_zero()) {
    throw InputError(source + ": byte " + std::to_string(map_start) +
                     ": padding bits after the block map are not zero");
  }
  const std::size_t per_block =
      static_cast<std::size_t>(x.block_rows) * static_cast<std::size_t>(x.nnz_per_row);
  x.values.resize(per_block * kept);
  x.offsets.resize(per_block * kept);
  const int offset_bits = bits_for(x.block_cols);
  std::vector<std::uint8_t> bank_used(static_cast<std::size_t>(hp_max_nnz_per_row(shape)));
  for (std::size_t j = 0; j < kept; ++j) {
    const std::size_t block_start = in.offset();
    const std::string where =
        "kept block " + std::to_string(j) + " (id " + std::to_string(x.kept_blocks[j]) + ")";
    const std::uint8_t* vals = in.take(per_block, where + " values");
    const std::size_t offsets_bytes = static_cast<std::size_t>(block_bytes) - per_block;
    BitReader bits(in.take(offsets_bytes, where + " offsets"), offsets_bytes);
    const std::size_t first = x.slot(j, 0, 0);
    for (std::size_t k = 0; k < per_block; ++k) x.values[first + k] = static_cast<std::int8_t>(vals[k]);
    for (int i = 0; i < x.block_rows; ++i) {
      std::fill(bank_used.begin(), bank_used.end(), 0);
      int prev = -1;
      for (int s = 0; s < x.nnz_per_row; ++s) {
        const int off = static_cast<int>(bits.get(offset_bits));
        auto bad = [&](const std::string& what) {
          throw InputError(source + ": byte " + std::to_string(block_start) + ": " + where + " row " +
                           std::to_string(i) + ": " + what);
        };
        if (off >= x.block_cols)
          bad("offset " + std::to_string(off) + " is not below block_cols = " + std::to_string(x.block_cols));
        if (off <= prev)
          bad("offsets not strictly ascending (" + std::to_string(prev) + " then " + std::to_string(off) +
              ")");
        const int b = hp_bank(off, x.block_cols, x.banks);
        if (bank_used[b])
          bad("offset " + std::to_string(off) + " repeats bank " + std::to_string(b) + " (bank conflict)");
        bank_used[b] = 1;
        x.offsets[x.slot(j, i, s)] = static_cast<std::uint8_t>(off);
        prev = off;
      }
    }
    if (!bits.padding_is_zero()) in.fail(where + ": padding bits after the offsets are not zero");
  }
  in.expect_end();
  return x;
}

}  // namespace tacsim::sparsity
