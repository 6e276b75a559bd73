#include "modules/formats/hp.h"

#include <algorithm>
#include <array>
#include <climits>

#include "modules/common/error.h"
#include "modules/formats/bit_stream.h"

// Stream layout (the same text, with an example, is in FORMATS.md):
//   header, 32 bytes, little-endian:
//     0 "TSHP" | 4 u8 version = 2 | 5..7 reserved, 0 | 8 u32 rows | 12 u32 cols | 16 u16 block_rows |
//     18 u16 block_cols | 20 u16 banks | 22 u16 nnz_per_row (k) | 24 u32 kept blocks | 28 u16 group_rows |
//     30 u16 ports_per_bank
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
constexpr std::uint8_t kVersion = 2;

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

std::string group_name(int r0, int rows, int c0, int block_cols) {
  return "rows " + std::to_string(r0) + ".." + std::to_string(r0 + rows - 1) +
         " (processed together), cols " + std::to_string(c0) + ".." + std::to_string(c0 + block_cols - 1);
}

std::string overload_text(int bank, int held, int ports) {
  return "bank " + std::to_string(bank) + " holds " + std::to_string(held) +
         " of their entries, more than the " + std::to_string(ports) +
         " reads a bank serves in a cycle (ports_per_bank)";
}

// The banks a block's columns reach.
std::size_t reached_banks(const HpParams& p) {
  return static_cast<std::size_t>(std::min(p.banks, p.block_cols));
}

// The shape and rule fields of x as params, for validation.
HpParams rule_of(const HpMatrix& x) {
  HpParams p;
  p.block_rows = x.block_rows;
  p.block_cols = x.block_cols;
  p.banks = x.banks;
  p.group_rows = x.group_rows;
  p.ports_per_bank = x.ports_per_bank;
  return p;
}

// "" when every group of x's kept blocks keeps the group rule, else the first violation.
std::string check_groups(const HpMatrix& x, std::size_t* bad_block = nullptr) {
  std::vector<int> load(static_cast<std::size_t>(std::min(x.banks, x.block_cols)));
  for (std::size_t j = 0; j < x.kept_blocks.size(); ++j)
    for (int g = 0; g < x.block_rows; g += x.group_rows) {
      std::fill(load.begin(), load.end(), 0);
      for (int i = g; i < g + x.group_rows; ++i)
        for (int s = 0; s < x.nnz_per_row; ++s)
          ++load[hp_bank(x.offsets[x.slot(j, i, s)], x.block_cols, x.banks)];
      const auto busiest = std::max_element(load.begin(), load.end());
      if (*busiest <= x.ports_per_bank) continue;
      if (bad_block != nullptr) *bad_block = j;
      return "kept block " + std::to_string(j) + " rows " + std::to_string(g) + ".." +
             std::to_string(g + x.group_rows - 1) + ": " +
             overload_text(static_cast<int>(busiest - load.begin()), *busiest, x.ports_per_bank);
    }
  return "";
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
  if (group_rows < 1 || group_rows > block_rows || block_rows % group_rows != 0) {
    return "group_rows: must divide block_rows = " + std::to_string(block_rows) + ", got " +
           std::to_string(group_rows);
  }
  if (ports_per_bank < 1 || ports_per_bank > 65535)
    return "ports_per_bank: must be in 1..65535, got " + std::to_string(ports_per_bank);
  if (hp_max_nnz_per_row(*this) < 1) {
    return "group_rows: " + std::to_string(group_rows) + " rows of one entry each need more reads than the " +
           std::to_string(std::min(banks, block_cols)) + " banks a block reaches serve with " +
           std::to_string(ports_per_bank) + " ports each";
  }
  return "";
}

void require_hp_fits(int rows, int cols, const HpParams& p) {
  require_valid(p);
  require_shape(rows, cols, p.block_rows, p.block_cols);
}

std::string validate_hp(const HpMatrix& x) {
  const HpParams shape = rule_of(x);
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
  std::vector<std::uint8_t> bank_used(reached_banks(shape));
  for (std::size_t j = 0; j < x.kept_blocks.size(); ++j) {
    for (int i = 0; i < x.block_rows; ++i) {
      std::fill(bank_used.begin(), bank_used.end(), 0);
      for (int s = 0; s < x.nnz_per_row; ++s) {
        const int off = x.offsets[x.slot(j, i, s)];
        const int prev = s > 0 ? x.offsets[x.slot(j, i, s - 1)] : -1;
        auto where = [&] {
          return "offsets: kept block " + std::to_string(j) + " row " + std::to_string(i) + " slot " +
                 std::to_string(s) + ": ";
        };
        if (off >= x.block_cols || off <= prev) {
          return where() + std::to_string(off) +
                 " is not an ascending offset below block_cols = " + std::to_string(x.block_cols);
        }
        const int b = hp_bank(off, x.block_cols, x.banks);
        if (bank_used[b])
          return where() + "column " + std::to_string(off) + " repeats bank " + std::to_string(b);
        bank_used[b] = 1;
      }
    }
  }
  return check_groups(x);
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
  const BankCheck banks = check_hp_banks(mask, p);
  if (!banks.ok) throw InputError("to_hp: the mask breaks the HP bank property: " + banks.first_conflict);
  HpMatrix x;
  x.rows = w.rows;
  x.cols = w.cols;
  x.block_rows = p.block_rows;
  x.block_cols = p.block_cols;
  x.banks = p.banks;
  x.group_rows = p.group_rows;
  x.ports_per_bank = p.ports_per_bank;
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
  if (x.nnz_per_row > hp_max_nnz_per_row(p)) {
    throw InputError("to_hp: a row keeps " + std::to_string(x.nnz_per_row) + " entries of a block, and " +
                     std::to_string(p.group_rows) + " rows processed together of that many exceed the " +
                     std::to_string(reached_banks(p)) + " banks x " + std::to_string(p.ports_per_bank) +
                     " ports a block's reads reach");
  }
  const std::size_t slots =
      x.kept_blocks.size() * static_cast<std::size_t>(p.block_rows) * static_cast<std::size_t>(x.nnz_per_row);
  x.values.resize(slots);
  x.offsets.resize(slots);
  // Padding prefers, row by row, the lowest columns: the single-row rule's choice when group_rows is 1.
  std::vector<std::pair<int, int>> order;
  for (int i = 0; i < p.group_rows; ++i)
    for (int c = 0; c < p.block_cols; ++c) order.emplace_back(i, c);
  std::vector<std::uint8_t> take(static_cast<std::size_t>(p.group_rows) * p.block_cols);
  HpGroupFill filler(p);
  for (std::size_t j = 0; j < x.kept_blocks.size(); ++j) {
    const int r0 = static_cast<int>(x.kept_blocks[j] / grid_cols) * p.block_rows;
    const int c0 = static_cast<int>(x.kept_blocks[j] % grid_cols) * p.block_cols;
    for (int g = 0; g < p.block_rows; g += p.group_rows) {
      for (int i = 0; i < p.group_rows; ++i)
        for (int c = 0; c < p.block_cols; ++c)
          take[static_cast<std::size_t>(i) * p.block_cols + c] = mask.at(r0 + g + i, c0 + c) ? 1 : 0;
      if (!filler.fill(take, x.nnz_per_row, order)) {
        throw InputError("to_hp: " + group_name(r0 + g, p.group_rows, c0, p.block_cols) + ": no padding to " +
                         std::to_string(x.nnz_per_row) + " entries per row keeps every bank within " +
                         std::to_string(p.ports_per_bank) + " reads");
      }
      for (int i = 0; i < p.group_rows; ++i) {
        int s = 0;
        for (int c = 0; c < p.block_cols; ++c) {
          const std::uint8_t t = take[static_cast<std::size_t>(i) * p.block_cols + c];
          if (t == 0) continue;
          const std::size_t k = x.slot(j, g + i, s++);
          x.offsets[k] = static_cast<std::uint8_t>(c);
          x.values[k] = t == 1 ? w.at(r0 + g + i, c0 + c) : std::int8_t{0};
        }
      }
    }
  }
  return x;
}

HpGroupFill::HpGroupFill(const HpParams& p) : p_(p), banks_(static_cast<int>(reached_banks(p))) {
  const std::size_t rows = static_cast<std::size_t>(p.group_rows);
  load_.resize(static_cast<std::size_t>(banks_));
  count_.resize(rows);
  col_in_.resize(rows * banks_);
  pref_.resize(rows * banks_);
  seen_.resize(static_cast<std::size_t>(banks_));
  on_path_.resize(rows);
}

void HpGroupFill::place(int r, int c, std::uint8_t how) {
  (*chosen_)[static_cast<std::size_t>(r) * p_.block_cols + c] = how;
  const int b = hp_bank(c, p_.block_cols, p_.banks);
  ++load_[b];
  ++count_[r];
  col_in(r, b) = c;
}

void HpGroupFill::unplace(int r, int c) {
  (*chosen_)[static_cast<std::size_t>(r) * p_.block_cols + c] = 0;
  const int b = hp_bank(c, p_.block_cols, p_.banks);
  --load_[b];
  --count_[r];
  col_in(r, b) = -1;
}

// Depth first over banks, each visited once per search, no row moved twice on a path: true when bank b has
// a free port, or some row holding a movable entry in b can move it to a bank from which one is reached.
bool HpGroupFill::free_port_from(int b) {
  if (load_[b] < p_.ports_per_bank) return true;
  for (int r = 0; r < p_.group_rows; ++r) {
    const int c = col_in(r, b);
    if (c < 0 || (*chosen_)[static_cast<std::size_t>(r) * p_.block_cols + c] != 2 || on_path_[r]) continue;
    for (int b1 = 0; b1 < banks_; ++b1) {
      if (seen_[b1] || col_in(r, b1) >= 0) continue;
      seen_[b1] = 1;
      on_path_[r] = 1;
      moves_.emplace_back(r, b1);
      if (free_port_from(b1)) return true;
      moves_.pop_back();
      on_path_[r] = 0;
    }
  }
  return false;
}

bool HpGroupFill::fill(std::vector<std::uint8_t>& chosen, int k,
                       const std::vector<std::pair<int, int>>& order) {
  chosen_ = &chosen;
  std::fill(load_.begin(), load_.end(), 0);
  std::fill(count_.begin(), count_.end(), 0);
  std::fill(col_in_.begin(), col_in_.end(), -1);
  std::fill(pref_.begin(), pref_.end(), -1);
  for (const auto& [r, c] : order) {
    int& f = pref(r, hp_bank(c, p_.block_cols, p_.banks));
    if (f < 0) f = c;
  }
  for (int r = 0; r < p_.group_rows; ++r)
    for (int c = 0; c < p_.block_cols; ++c) {
      const std::uint8_t how = chosen[static_cast<std::size_t>(r) * p_.block_cols + c];
      if (how != 0) place(r, c, how);
    }
  for (const auto& [r, c] : order) {
    const int b = hp_bank(c, p_.block_cols, p_.banks);
    if (count_[r] < k && chosen[static_cast<std::size_t>(r) * p_.block_cols + c] == 0 && col_in(r, b) < 0 &&
        load_[b] < p_.ports_per_bank)
      place(r, c, 2);
  }
  // Augmenting paths for the rows the greedy pass left short: r enters a bank b it does not use; if b is
  // full, a row holding a movable entry in b moves it to a bank it does not use, and so on until a bank
  // with a free port.
  for (int r = 0; r < p_.group_rows; ++r)
    while (count_[r] < k) {
      std::fill(seen_.begin(), seen_.end(), 0);
      std::fill(on_path_.begin(), on_path_.end(), 0);
      on_path_[r] = 1;
      bool done = false;
      for (int b = 0; b < banks_ && !done; ++b) {
        if (seen_[b] || col_in(r, b) >= 0) continue;
        seen_[b] = 1;
        moves_.assign(1, {r, b});
        done = free_port_from(b);
      }
      if (!done) return false;
      // From the far end: each row leaves the bank the previous move enters.
      for (std::size_t m = moves_.size(); m-- > 1;) {
        const auto [r1, b1] = moves_[m];
        unplace(r1, col_in(r1, moves_[m - 1].second));
        place(r1, pref(r1, b1), 2);
      }
      place(r, pref(r, moves_[0].second), 2);
    }
  return true;
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

BankCheck check_hp_banks(const Mask& mask, const HpParams& p) {
  require_valid(p);
  const int block_cols = p.block_cols, banks = p.banks, group = p.group_rows;
  BankCheck check;
  std::vector<int> row_load(reached_banks(p)), group_load(reached_banks(p));
  for (int r0 = 0; r0 < mask.rows; r0 += group) {
    const int r_end = std::min(mask.rows, r0 + group);
    for (int c0 = 0; c0 < mask.cols; c0 += block_cols) {
      const int c_end = std::min(mask.cols, c0 + block_cols);
      std::fill(group_load.begin(), group_load.end(), 0);
      std::string conflict;
      for (int r = r0; r < r_end; ++r) {
        std::fill(row_load.begin(), row_load.end(), 0);
        for (int c = c0; c < c_end; ++c)
          if (mask.at(r, c)) {
            ++row_load[hp_bank(c, block_cols, banks)];
            ++group_load[hp_bank(c, block_cols, banks)];
          }
        if (!conflict.empty() || *std::max_element(row_load.begin(), row_load.end()) <= 1) continue;
        // Name the first two kept columns of the row that share a bank.
        for (int a = c0; a < c_end && conflict.empty(); ++a)
          for (int b = a + 1; b < c_end && mask.at(r, a); ++b)
            if (mask.at(r, b) && hp_bank(a, block_cols, banks) == hp_bank(b, block_cols, banks)) {
              conflict = segment_name(r, c0, block_cols) + ": cols " + std::to_string(a) + " and " +
                         std::to_string(b) + " are both in bank " +
                         std::to_string(hp_bank(a, block_cols, banks));
              break;
            }
      }
      const auto busiest = std::max_element(group_load.begin(), group_load.end());
      if (conflict.empty() && *busiest > p.ports_per_bank)
        conflict = group_name(r0, r_end - r0, c0, block_cols) + ": " +
                   overload_text(static_cast<int>(busiest - group_load.begin()), *busiest, p.ports_per_bank);
      if (conflict.empty()) continue;
      check.ok = false;
      ++check.conflicting_segments;
      check.extra_fetch_cycles +=
          static_cast<std::uint64_t>((*busiest + p.ports_per_bank - 1) / p.ports_per_bank - 1);
      if (check.first_conflict.empty()) check.first_conflict = conflict;
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
  bytes.u16(static_cast<unsigned>(x.group_rows));
  bytes.u16(static_cast<unsigned>(x.ports_per_bank));
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
    in.fail("unsupported HP stream version " + std::to_string(version) + ", expected 2");
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
  x.group_rows = in.u16(header);
  x.ports_per_bank = in.u16(header);
  const HpParams shape = rule_of(x);
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
    in.fail("nnz_per_row " + std::to_string(x.nnz_per_row) + " exceeds " +
            std::to_string(hp_max_nnz_per_row(shape)) +
            ", the most distinct banks of min(banks, block_cols) that group_rows rows can hold within "
            "ports_per_bank");
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
  std::vector<std::uint8_t> bank_used(reached_banks(shape));
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
  std::size_t bad = 0;
  if (const std::string e = check_groups(x, &bad); !e.empty()) {
    throw InputError(source + ": byte " + std::to_string(map_start + map_bytes + bad * block_bytes) + ": " +
                     e + " (bank conflict)");
  }
  return x;
}

}  // namespace tacsim::sparsity
