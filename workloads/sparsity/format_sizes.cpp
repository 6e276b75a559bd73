#include "workloads/sparsity/format_sizes.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "modules/common/error.h"
#include "modules/formats/bit_stream.h"
#include "workloads/sparsity/hp_pruner.h"
#include "workloads/sparsity/nm_pruner.h"
#include "workloads/sparsity/unstructured_pruner.h"

namespace tacsim::sparsity {
namespace {

std::uint64_t array_bytes(std::uint64_t count, int bits) {
  return bytes_for_bits(count * static_cast<std::uint64_t>(bits));
}

// Largest value an unsigned field of `bits` can hold (bits <= 64).
std::uint64_t field_max(int bits) {
  return bits >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << bits) - 1;
}

void require_index_fits(const char* field, int bits, std::uint64_t largest, const std::string& what) {
  if (largest > field_max(bits)) {
    throw InputError(std::string(field) + ": " + std::to_string(bits) + " bits cannot hold " + what + " " +
                     std::to_string(largest));
  }
}

void require_valid(const FormatSizeParams& p) {
  const std::string err = p.validate();
  if (!err.empty()) throw InputError("format sizes: " + err);
}

}  // namespace

std::string FormatSizeParams::validate() const {
  auto width = [](const char* name, int v) -> std::string {
    if (v >= 1 && v <= 64) return "";
    return std::string(name) + ": must be in 1..64 bits, got " + std::to_string(v);
  };
  for (const std::string& err :
       {width("value_bits", value_bits), width("csr_col_index_bits", csr_col_index_bits),
        width("csr_row_ptr_bits", csr_row_ptr_bits), width("coo_row_index_bits", coo_row_index_bits),
        width("coo_col_index_bits", coo_col_index_bits)}) {
    if (!err.empty()) return err;
  }
  if (nm_m < 1 || nm_m > kMaxNmM) return "nm_m: must be in 1..16, got " + std::to_string(nm_m);
  const std::string hp_err = hp.validate();
  if (!hp_err.empty()) return "hp." + hp_err;
  return "";
}

std::uint64_t dense_bytes(int rows, int cols, const FormatSizeParams& p) {
  require_valid(p);
  return array_bytes(static_cast<std::uint64_t>(rows) * static_cast<std::uint64_t>(cols), p.value_bits);
}

std::uint64_t bitmap_bytes(int rows, int cols, std::uint64_t nnz, const FormatSizeParams& p) {
  require_valid(p);
  return bytes_for_bits(static_cast<std::uint64_t>(rows) * static_cast<std::uint64_t>(cols)) +
         array_bytes(nnz, p.value_bits);
}

std::uint64_t csr_bytes(int rows, int cols, std::uint64_t nnz, const FormatSizeParams& p) {
  require_valid(p);
  if (cols > 0)
    require_index_fits("csr_col_index_bits", p.csr_col_index_bits, static_cast<std::uint64_t>(cols - 1),
                       "column index");
  require_index_fits("csr_row_ptr_bits", p.csr_row_ptr_bits, nnz, "row pointer");
  return array_bytes(nnz, p.value_bits) + array_bytes(nnz, p.csr_col_index_bits) +
         array_bytes(static_cast<std::uint64_t>(rows) + 1, p.csr_row_ptr_bits);
}

std::uint64_t coo_bytes(int rows, int cols, std::uint64_t nnz, const FormatSizeParams& p) {
  require_valid(p);
  if (rows > 0)
    require_index_fits("coo_row_index_bits", p.coo_row_index_bits, static_cast<std::uint64_t>(rows - 1),
                       "row index");
  if (cols > 0)
    require_index_fits("coo_col_index_bits", p.coo_col_index_bits, static_cast<std::uint64_t>(cols - 1),
                       "column index");
  return array_bytes(nnz, p.value_bits) + array_bytes(nnz, p.coo_row_index_bits) +
         array_bytes(nnz, p.coo_col_index_bits);
}

FormatSizes sizes_of(const Mask& mask, const FormatSizeParams& p) {
  require_valid(p);
  FormatSizes s;
  s.nnz = count_kept(mask);
  s.dense = dense_bytes(mask.rows, mask.cols, p);
  s.bitmap = bitmap_bytes(mask.rows, mask.cols, s.nnz, p);
  s.csr = csr_bytes(mask.rows, mask.cols, s.nnz, p);
  s.coo = coo_bytes(mask.rows, mask.cols, s.nnz, p);
  // N:M and HP store int8 values by construction; their byte counts below assume value_bits = 8.
  if (mask.cols % p.nm_m == 0) {
    s.nm_n = std::max(1, min_n_for(mask, p.nm_m));
    const NmSpec spec{s.nm_n, p.nm_m};
    s.nm_index = nm_payload_bytes(mask.rows, mask.cols, spec, NmEncoding::kIndex);
    s.nm_bitmap = nm_payload_bytes(mask.rows, mask.cols, spec, NmEncoding::kBitmap);
  }
  const HpParams& hp = p.hp;
  if (mask.rows % hp.block_rows == 0 && mask.cols % hp.block_cols == 0 && check_hp_banks(mask, hp).ok) {
    s.hp_fits = true;
    // Same rule as to_hp: a block is kept when it keeps anything; k is the fullest row of any block.
    for (int r0 = 0; r0 < mask.rows; r0 += hp.block_rows) {
      for (int c0 = 0; c0 < mask.cols; c0 += hp.block_cols) {
        int most = 0;
        for (int i = 0; i < hp.block_rows; ++i) {
          int kept = 0;
          for (int c = 0; c < hp.block_cols; ++c) kept += mask.at(r0 + i, c0 + c) ? 1 : 0;
          most = std::max(most, kept);
        }
        if (most > 0) ++s.hp_kept_blocks;
        s.hp_nnz_per_row = std::max(s.hp_nnz_per_row, most);
      }
    }
    s.hp = hp_encoded_bytes(mask.rows, mask.cols, hp.block_rows, hp.block_cols, s.hp_nnz_per_row,
                            s.hp_kept_blocks) -
           kHpHeaderBytes;
  }
  return s;
}

std::vector<FormatSizeRow> compare_formats(const Int8Matrix& w, const std::vector<double>& target_sparsities,
                                           Pruner pruner, const FormatSizeParams& p) {
  require_valid(p);
  std::vector<FormatSizeRow> rows;
  for (double target : target_sparsities) {
    if (!(target >= 0.0 && target <= 1.0)) {
      throw InputError("target sparsity: must be in [0, 1], got " + std::to_string(target));
    }
    FormatSizeRow row;
    row.target_sparsity = target;
    Mask mask;
    switch (pruner) {
      case Pruner::kUnstructured:
        mask = prune_unstructured(w, 1.0 - target);
        row.pattern = "unstructured";
        break;
      case Pruner::kNm: {
        const int n = std::clamp(static_cast<int>(std::lround((1.0 - target) * p.nm_m)), 1, p.nm_m);
        const NmSpec spec{n, p.nm_m};
        mask = prune_nm_mask(w, spec);
        row.pattern = spec.to_string();
        break;
      }
      case Pruner::kHp: {
        HpParams hp = p.hp;
        hp.target_sparsity = target;
        mask = prune_hp_mask(w, hp);
        row.pattern = "hp";
        break;
      }
    }
    row.sizes = sizes_of(mask, p);
    row.achieved_sparsity = mask.size() == 0 ? 0.0 : 1.0 - density(mask);
    rows.push_back(row);
  }
  return rows;
}

std::string format_size_table(const std::vector<FormatSizeRow>& rows) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-12s %7s %7s %10s %10s %10s %10s %10s %6s %10s %10s %10s\n", "pattern",
                "target", "actual", "nnz", "dense", "bitmap", "csr", "coo", "nm_n", "nm_index", "nm_bitmap",
                "hp");
  out += line;
  for (const FormatSizeRow& r : rows) {
    const FormatSizes& s = r.sizes;
    const std::string nm = s.nm_n > 0 ? std::to_string(s.nm_n) : "-";
    const std::string nm_index = s.nm_n > 0 ? std::to_string(s.nm_index) : "-";
    const std::string nm_bitmap = s.nm_n > 0 ? std::to_string(s.nm_bitmap) : "-";
    const std::string hp = s.hp_fits ? std::to_string(s.hp) : "-";
    std::snprintf(
        line, sizeof line, "%-12s %7.4f %7.4f %10llu %10llu %10llu %10llu %10llu %6s %10s %10s %10s\n",
        r.pattern.c_str(), r.target_sparsity, r.achieved_sparsity, static_cast<unsigned long long>(s.nnz),
        static_cast<unsigned long long>(s.dense), static_cast<unsigned long long>(s.bitmap),
        static_cast<unsigned long long>(s.csr), static_cast<unsigned long long>(s.coo), nm.c_str(),
        nm_index.c_str(), nm_bitmap.c_str(), hp.c_str());
    out += line;
  }
  return out;
}

}  // namespace tacsim::sparsity
