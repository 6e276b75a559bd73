#pragma once
// The HP storage format of hierarchically pruned weights (Qi et al., "Accelerating Framework of Transformer
// by Hardware Design and Model Compression Co-Optimization", ICCAD 2021), as this project defines it
// (DESIGN.md section 4): whole block_rows x block_cols blocks of W are kept or dropped, and every row of a
// kept block keeps exactly nnz_per_row entries whose activation banks (hp_bank() of their column) are
// pairwise distinct, so the activations one row needs are fetched from a banked activation buffer in one
// cycle without a bank conflict. The rows processed together (aligned groups of group_rows rows, one per row
// engine) keep their entries of a block spread so that no bank holds more than ports_per_bank of them: the
// reads all engines issue in one cycle are served in that cycle too. Storage: a block bitmap plus, per kept
// block, values and in-block column offsets (FORMATS.md). The pruner that chooses the blocks and entries:
// workloads/sparsity/hp_pruner.h.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "modules/formats/mask.h"
#include "modules/formats/matrix.h"

namespace tacsim::sparsity {

inline constexpr int kMaxHpBlockDim = 256;  // in-block offsets and block dims fit the stream's fields

struct HpParams {
  int block_rows = 16;  // DESIGN.md's example block shape
  int block_cols = 16;
  int banks = 8;  // activation buffer banks B; a mapper sets the act buffer's bank count
  // Rows processed together: aligned groups of group_rows rows (a divisor of block_rows) whose entries in a
  // block may hold at most ports_per_bank reads of any one bank. 1 and 1: the single-row rule above.
  int group_rows = 1;
  int ports_per_bank = 1;
  // The pruner's targets (hp_pruner.h); the format itself uses only the shape and banks above.
  double target_sparsity = 0.9;
  // Share of the target that level 1 takes, in log-density terms: with target density d, level 1 aims to keep
  // d^level1_share of the blocks and level 2 d^(1 - level1_share) of each kept row. 0.5 splits the pruning
  // evenly between the levels (our default, not the paper's); 1 = block pruning only, 0 = in-block only.
  double level1_share = 0.5;

  std::string validate() const;
};

// The 'hp' activation bank map: the activation at reduction index k (a column of W) lives in bank
// (k mod block_cols) mod banks. When banks divides block_cols this is plain k mod banks interleaving.
// A banked activation buffer configured with the hp map must use exactly this function.
inline int hp_bank(std::int64_t k, int block_cols, int banks) {
  return static_cast<int>((k % block_cols) % banks);
}

// The most non-zeros one row of a block can hold: pairwise distinct banks among the min(banks, block_cols)
// its columns reach, and group_rows rows of that many within those banks' ports.
inline int hp_max_nnz_per_row(const HpParams& p) {
  const int reached = p.banks < p.block_cols ? p.banks : p.block_cols;
  const long group_cap =
      static_cast<long>(reached) * p.ports_per_bank / (p.group_rows > 0 ? p.group_rows : 1);
  return group_cap < reached ? static_cast<int>(group_cap) : reached;
}

// Throws InputError when params are invalid or rows / cols are not multiples of the block shape.
void require_hp_fits(int rows, int cols, const HpParams& params);

// In-memory HP matrix. Blocks are numbered row-major over the block grid: id = block_row * (cols /
// block_cols)
// + block_col. Slot s of row i of the j-th kept block is values/offsets[(j * block_rows + i) * nnz_per_row +
// s]; offsets are in-block columns, strictly ascending within a row, with pairwise distinct hp banks.
struct HpMatrix {
  int rows = 0;
  int cols = 0;
  int block_rows = 16;
  int block_cols = 16;
  int banks = 8;
  int group_rows = 1;
  int ports_per_bank = 1;
  int nnz_per_row = 0;
  std::vector<std::uint32_t> kept_blocks;  // ascending block ids
  std::vector<std::int8_t> values;
  std::vector<std::uint8_t> offsets;

  int grid_cols() const { return block_cols > 0 ? cols / block_cols : 0; }
  std::int64_t total_blocks() const {
    return block_rows > 0 && block_cols > 0
               ? static_cast<std::int64_t>(rows / block_rows) * static_cast<std::int64_t>(cols / block_cols)
               : 0;
  }
  std::size_t slot(std::size_t kept_index, int row_in_block, int s) const {
    return (kept_index * static_cast<std::size_t>(block_rows) + static_cast<std::size_t>(row_in_block)) *
               static_cast<std::size_t>(nnz_per_row) +
           static_cast<std::size_t>(s);
  }
  friend bool operator==(const HpMatrix& a, const HpMatrix& b) {
    return a.rows == b.rows && a.cols == b.cols && a.block_rows == b.block_rows &&
           a.block_cols == b.block_cols && a.banks == b.banks && a.group_rows == b.group_rows &&
           a.ports_per_bank == b.ports_per_bank && a.nnz_per_row == b.nnz_per_row &&
           a.kept_blocks == b.kept_blocks && a.values == b.values && a.offsets == b.offsets;
  }
  friend bool operator!=(const HpMatrix& a, const HpMatrix& b) { return !(a == b); }
};

// "" when x keeps every invariant above, else the first violation.
std::string validate_hp(const HpMatrix& x);
// 1 - stored slots / (rows * cols): the structural sparsity (padding slots holding 0 count as stored).
double sparsity(const HpMatrix& x);

// Packs the positions a mask keeps, with params' block shape, banks and group rule (its targets are not
// used). Kept blocks are those with any kept position; nnz_per_row is the most any row of a kept block keeps,
// and rows with fewer get value-0 slots at the lowest columns of unused banks that keep the group rule
// (HpGroupFill). Throws InputError when the mask breaks the bank property, the shapes do not fit, or the
// padding cannot keep the rule.
HpMatrix to_hp(const Int8Matrix& w, const Mask& mask, const HpParams& params);
Int8Matrix to_dense(const HpMatrix& x);
Mask slot_mask(const HpMatrix& x);

// The bank property on any mask, with p's block_cols, banks, group_rows and ports_per_bank: within each row
// segment of block_cols columns (one block row), the kept positions must lie in pairwise distinct hp banks;
// within each group segment (the same columns of an aligned group of group_rows rows), no bank may hold more
// than ports_per_bank kept positions. A group segment whose busiest bank holds c needs ceil(c / ports)
// cycles to fetch when its rows are read together; extra_fetch_cycles adds up ceil(c / ports) - 1 over all
// group segments (with 1 and 1: c - 1 per row segment). first_conflict names the rows and columns.
struct BankCheck {
  bool ok = true;
  std::uint64_t conflicting_segments = 0;  // group segments breaking either rule
  std::uint64_t extra_fetch_cycles = 0;
  std::string first_conflict;  // "" when ok
};
BankCheck check_hp_banks(const Mask& mask, const HpParams& p);

// Level 2 inside one group segment: `chosen` (group_rows x block_cols, row-major) holds 0 (not chosen),
// 1 (fixed: chosen by the caller, never moved) or 2 (chosen here). fill() completes every row to exactly k
// entries with p's rule: first greedily, taking `order`'s (row, column) pairs in turn when the row is short
// and the bank is free to it, then, for a row left short, by moving entries chosen here to other banks
// along an augmenting path (a row entering a bank takes its first column of that bank in `order`). `order`
// must list every (row, column) pair. Returns false when no move completes a row. One filler serves many
// groups: it keeps its scratch between calls.
class HpGroupFill {
 public:
  explicit HpGroupFill(const HpParams& p);
  bool fill(std::vector<std::uint8_t>& chosen, int k, const std::vector<std::pair<int, int>>& order);

 private:
  bool free_port_from(int bank);
  int& col_in(int r, int b) { return col_in_[static_cast<std::size_t>(r) * banks_ + b]; }
  int& pref(int r, int b) { return pref_[static_cast<std::size_t>(r) * banks_ + b]; }
  void place(int r, int c, std::uint8_t how);
  void unplace(int r, int c);

  HpParams p_;
  int banks_;  // the banks a block reaches
  std::vector<std::uint8_t>* chosen_ = nullptr;
  std::vector<int> load_, count_, col_in_, pref_;
  std::vector<std::uint8_t> seen_, on_path_;
  std::vector<std::pair<int, int>> moves_;  // (row, bank it enters), in path order
};

// Stream: 32-byte header, block bitmap, then per kept block its values and offsets (FORMATS.md).
inline constexpr std::uint64_t kHpHeaderBytes = 32;
std::uint64_t hp_block_bytes(int block_rows, int block_cols, int nnz_per_row);
std::uint64_t hp_encoded_bytes(int rows, int cols, int block_rows, int block_cols, int nnz_per_row,
                               std::int64_t kept_blocks);
std::uint64_t hp_encoded_bytes(const HpMatrix& x);

std::vector<std::uint8_t> encode_hp(const HpMatrix& x);
// Inverse of encode_hp; malformed or truncated input throws InputError naming `source`, the byte offset and
// what is wrong (bank conflicts included: the decoder hardware relies on the property).
HpMatrix decode_hp(const std::vector<std::uint8_t>& bytes, const std::string& source = "HP stream");

}  // namespace tacsim::sparsity
