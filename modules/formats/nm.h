#pragma once
// N:M structured sparsity: every group of M consecutive weights along the reduction dimension (cols) keeps at
// most N. Any 1 <= N <= M <= 16; N == M is dense. The exact byte layouts are in FORMATS.md beside this file.
#include <cstdint>
#include <string>
#include <vector>

#include "modules/formats/mask.h"
#include "modules/formats/matrix.h"

namespace tacsim::sparsity {

inline constexpr int kMaxNmM = 16;

struct NmSpec {
  int n = 2;
  int m = 4;

  bool is_dense() const { return n == m; }
  // "2:4"; "dense" for 1:1, so parse_nm(to_string()) gives the spec back.
  std::string to_string() const;
  // "" when 1 <= m <= 16 and 1 <= n <= m, else a message starting with the field name.
  std::string validate() const;
  friend bool operator==(const NmSpec& a, const NmSpec& b) { return a.n == b.n && a.m == b.m; }
  friend bool operator!=(const NmSpec& a, const NmSpec& b) { return !(a == b); }
};

// "N:M" (decimal, surrounding spaces ignored) or "dense" (gives 1:1). Anything else throws InputError that
// quotes the text and says what is allowed; the config layer prefixes the key.
NmSpec parse_nm(const std::string& text);

// The in-memory form the PE array consumes. For every row and every group exactly n slots, laid out row-major
// by group: slot s of group g of row r is at (r * (cols / m) + g) * n + s. Within a group the in-group
// indices are strictly ascending; a group with fewer than n non-zeros carries value 0 at unused indices.
struct NmMatrix {
  int rows = 0;
  int cols = 0;
  int n = 0;
  int m = 0;
  std::vector<std::int8_t> values;
  std::vector<std::uint8_t> index;  // in-group index 0..m-1 of each slot

  int groups_per_row() const { return m > 0 ? cols / m : 0; }
  std::size_t slot(int r, int g, int s) const {
    return (static_cast<std::size_t>(r) * static_cast<std::size_t>(groups_per_row()) +
            static_cast<std::size_t>(g)) *
               static_cast<std::size_t>(n) +
           static_cast<std::size_t>(s);
  }
  NmSpec spec() const { return NmSpec{n, m}; }
  friend bool operator==(const NmMatrix& a, const NmMatrix& b) {
    return a.rows == b.rows && a.cols == b.cols && a.n == b.n && a.m == b.m && a.values == b.values &&
           a.index == b.index;
  }
  friend bool operator!=(const NmMatrix& a, const NmMatrix& b) { return !(a == b); }
};

// "" when x keeps the invariants above (shape, vector sizes, indices < m and ascending in each group), else
// the first violation.
std::string validate_nm(const NmMatrix& x);

// Throws InputError when spec is invalid or M does not divide cols (groups of M run along cols).
void require_nm_fits(int cols, const NmSpec& spec);

// Packs the positions the mask keeps (at most N per group, else InputError naming the group); a group with
// fewer gets value-0 slots at its lowest unused indices.
NmMatrix to_nm(const Int8Matrix& w, const Mask& mask, const NmSpec& spec);
// Packs the non-zeros of a matrix that is already N:M.
NmMatrix to_nm(const Int8Matrix& w, const NmSpec& spec);
Int8Matrix to_dense(const NmMatrix& x);
// The slots' positions, padding included.
Mask slot_mask(const NmMatrix& x);

// "" when every group of M along cols keeps at most N, else the first offending row and group.
std::string check_nm(const Mask& mask, const NmSpec& spec);
// Smallest N for which the mask is N:M with this M (0 for an all-pruned mask); cols must divide by m.
int min_n_for(const Mask& mask, int m);

// The two storage encodings (FORMATS.md): kIndex stores per group N values and N indices of ceil(log2 M)
// bits; kBitmap stores per group N values and an M-bit bitmap with exactly N bits set.
enum class NmEncoding : std::uint8_t { kIndex = 0, kBitmap = 1 };

inline constexpr std::uint64_t kNmHeaderBytes = 16;
// One row: G*N value bytes, then the row's metadata bits zero-padded to a byte.
std::uint64_t nm_row_bytes(int cols, const NmSpec& spec, NmEncoding encoding);
// All rows, no header: what the weights cost in DRAM and in the weight buffer.
std::uint64_t nm_payload_bytes(int rows, int cols, const NmSpec& spec, NmEncoding encoding);
// Header + payload: the size of encode_nm()'s output.
std::uint64_t nm_encoded_bytes(int rows, int cols, const NmSpec& spec, NmEncoding encoding);

std::vector<std::uint8_t> encode_nm(const NmMatrix& x, NmEncoding encoding);
// Inverse of encode_nm. Malformed or truncated input throws InputError naming `source` (a file name, say),
// the byte offset and what is wrong. `encoding_out`, when given, receives the stream's encoding.
NmMatrix decode_nm(const std::vector<std::uint8_t>& bytes, const std::string& source = "N:M stream",
                   NmEncoding* encoding_out = nullptr);

}  // namespace tacsim::sparsity
