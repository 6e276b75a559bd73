#include "modules/formats/nm.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <climits>

#include "modules/common/error.h"
#include "modules/common/text.h"
#include "modules/formats/bit_stream.h"

// Stream layout (the same text, with examples, is in FORMATS.md):
//   header, 16 bytes: "TSNM" | u8 version = 1 | u8 encoding (0 index, 1 bitmap) | u8 N | u8 M |
//                     u32 rows | u32 cols            (little-endian)
//   then rows * nm_row_bytes, each row starting on a byte:
//     values:   G*N int8, slot order (group-major, then slot)
//     metadata: index encoding:  G*N fields of ceil(log2 M) bits, the slots' in-group indices, slot order
//               bitmap encoding: G fields of M bits, bit i of group g set iff index i is a slot
//               fields LSB-first from the row's first metadata byte; zero padding to the next byte
//   where G = cols / M. No padding between rows beyond that, no trailer.
// Each row starts on a byte so a DMA can fetch any row (and so any tile of rows) at a fixed stride.

namespace tacsim::sparsity {
namespace {

constexpr std::array<char, 4> kMagic = {'T', 'S', 'N', 'M'};
constexpr std::uint8_t kVersion = 1;

std::string allowed_text() {
  return "expected 'N:M' with 1 <= N <= M <= 16, or 'dense'";
}

void require_valid(const NmSpec& spec) {
  const std::string err = spec.validate();
  if (!err.empty())
    throw InputError("N:M spec " + std::to_string(spec.n) + ":" + std::to_string(spec.m) + ": " + err);
}

void require_divisible(int cols, const NmSpec& spec) {
  if (cols % spec.m != 0) {
    throw InputError("N:M " + spec.to_string() + ": in (cols) = " + std::to_string(cols) +
                     " is not divisible by M = " + std::to_string(spec.m) +
                     "; groups of M run along the reduction dimension");
  }
}

// Parses a non-empty run of decimal digits; false on anything else or on overflow past 16 bits.
bool parse_small_int(const std::string& s, int& out) {
  if (s.empty() || s.size() > 5) return false;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

void write_header(ByteWriter& out, const NmMatrix& x, NmEncoding encoding) {
  out.bytes(kMagic.data(), kMagic.size());
  out.u8(kVersion);
  out.u8(static_cast<unsigned>(encoding));
  out.u8(static_cast<unsigned>(x.n));
  out.u8(static_cast<unsigned>(x.m));
  out.u32(static_cast<std::uint32_t>(x.rows));
  out.u32(static_cast<std::uint32_t>(x.cols));
}

}  // namespace

void require_nm_fits(int cols, const NmSpec& spec) {
  require_valid(spec);
  require_divisible(cols, spec);
}

std::string NmSpec::to_string() const {
  if (n == 1 && m == 1) return "dense";
  return std::to_string(n) + ":" + std::to_string(m);
}

std::string NmSpec::validate() const {
  if (m < 1 || m > kMaxNmM) return "m: must be in 1..16, got " + std::to_string(m);
  if (n < 1 || n > m) return "n: must be in 1..m (m = " + std::to_string(m) + "), got " + std::to_string(n);
  return "";
}

NmSpec parse_nm(const std::string& spec_text) {
  const std::string t = text::trim(spec_text);
  std::string lower = t;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "dense") return NmSpec{1, 1};
  const std::size_t colon = t.find(':');
  int n = 0;
  int m = 0;
  if (colon == std::string::npos || !parse_small_int(t.substr(0, colon), n) ||
      !parse_small_int(t.substr(colon + 1), m)) {
    throw InputError("bad N:M sparsity '" + spec_text + "': " + allowed_text());
  }
  if (m < 1 || m > kMaxNmM) {
    throw InputError("bad N:M sparsity '" + spec_text + "': M must be in 1..16, got " + std::to_string(m) +
                     "; " + allowed_text());
  }
  if (n < 1 || n > m) {
    throw InputError("bad N:M sparsity '" + spec_text + "': N must be in 1..M (M = " + std::to_string(m) +
                     "), got " + std::to_string(n) + "; " + allowed_text());
  }
  return NmSpec{n, m};
}

std::string validate_nm(const NmMatrix& x) {
  const std::string err = x.spec().validate();
  if (!err.empty()) return err;
  if (x.rows < 0 || x.cols < 0) return "rows, cols: must not be negative";
  if (x.cols % x.m != 0)
    return "cols: " + std::to_string(x.cols) + " is not divisible by m = " + std::to_string(x.m);
  const std::size_t slots = static_cast<std::size_t>(x.rows) * static_cast<std::size_t>(x.groups_per_row()) *
                            static_cast<std::size_t>(x.n);
  if (x.values.size() != slots)
    return "values: expected " + std::to_string(slots) + " slots, got " + std::to_string(x.values.size());
  if (x.index.size() != slots)
    return "index: expected " + std::to_string(slots) + " slots, got " + std::to_string(x.index.size());
  for (int r = 0; r < x.rows; ++r) {
    for (int g = 0; g < x.groups_per_row(); ++g) {
      for (int s = 0; s < x.n; ++s) {
        const int idx = x.index[x.slot(r, g, s)];
        const int prev = s > 0 ? x.index[x.slot(r, g, s - 1)] : -1;
        if (idx >= x.m || idx <= prev) {
          return "index: row " + std::to_string(r) + " group " + std::to_string(g) + " slot " +
                 std::to_string(s) + ": " + std::to_string(idx) +
                 " is not an ascending in-group index below m = " + std::to_string(x.m);
        }
      }
    }
  }
  return "";
}

NmMatrix to_nm(const Int8Matrix& w, const Mask& mask, const NmSpec& spec) {
  require_valid(spec);
  require_divisible(w.cols, spec);
  if (mask.rows != w.rows || mask.cols != w.cols) {
    throw InputError("to_nm: mask is " + std::to_string(mask.rows) + " x " + std::to_string(mask.cols) +
                     " but the matrix is " + std::to_string(w.rows) + " x " + std::to_string(w.cols));
  }
  const std::string err = check_nm(mask, spec);
  if (!err.empty()) throw InputError("to_nm: " + err);
  NmMatrix x;
  x.rows = w.rows;
  x.cols = w.cols;
  x.n = spec.n;
  x.m = spec.m;
  const std::size_t slots = static_cast<std::size_t>(w.rows) * static_cast<std::size_t>(w.cols / spec.m) *
                            static_cast<std::size_t>(spec.n);
  x.values.resize(slots);
  x.index.resize(slots);
  for (int r = 0; r < w.rows; ++r) {
    for (int g = 0; g < x.groups_per_row(); ++g) {
      const int c0 = g * spec.m;
      int kept = 0;
      for (int i = 0; i < spec.m; ++i) kept += mask.at(r, c0 + i) ? 1 : 0;
      int pad = spec.n - kept;  // unused indices to take, lowest first
      int s = 0;
      // One ascending pass over the group: take an index if the mask keeps it or padding is still owed.
      for (int i = 0; i < spec.m && s < spec.n; ++i) {
        const bool kept_here = mask.at(r, c0 + i);
        if (!kept_here && pad == 0) continue;
        if (!kept_here) --pad;
        const std::size_t k = x.slot(r, g, s++);
        x.index[k] = static_cast<std::uint8_t>(i);
        x.values[k] = kept_here ? w.at(r, c0 + i) : std::int8_t{0};
      }
    }
  }
  return x;
}

NmMatrix to_nm(const Int8Matrix& w, const NmSpec& spec) {
  return to_nm(w, mask_of_nonzeros(w), spec);
}

Int8Matrix to_dense(const NmMatrix& x) {
  Int8Matrix w(x.rows, x.cols);
  for (int r = 0; r < x.rows; ++r) {
    for (int g = 0; g < x.groups_per_row(); ++g) {
      for (int s = 0; s < x.n; ++s) {
        const std::size_t k = x.slot(r, g, s);
        w.at(r, g * x.m + x.index[k]) = x.values[k];
      }
    }
  }
  return w;
}

Mask slot_mask(const NmMatrix& x) {
  Mask mask(x.rows, x.cols);
  for (int r = 0; r < x.rows; ++r) {
    for (int g = 0; g < x.groups_per_row(); ++g) {
      for (int s = 0; s < x.n; ++s) mask.set(r, g * x.m + x.index[x.slot(r, g, s)], true);
    }
  }
  return mask;
}

std::string check_nm(const Mask& mask, const NmSpec& spec) {
  const std::string err = spec.validate();
  if (!err.empty()) return err;
  if (mask.cols % spec.m != 0) {
    return "cols = " + std::to_string(mask.cols) + " is not divisible by M = " + std::to_string(spec.m);
  }
  for (int r = 0; r < mask.rows; ++r) {
    for (int c0 = 0; c0 < mask.cols; c0 += spec.m) {
      int kept = 0;
      for (int i = 0; i < spec.m; ++i) kept += mask.at(r, c0 + i) ? 1 : 0;
      if (kept > spec.n) {
        return "row " + std::to_string(r) + " group " + std::to_string(c0 / spec.m) + " (cols " +
               std::to_string(c0) + ".." + std::to_string(c0 + spec.m - 1) + ") keeps " +
               std::to_string(kept) + ", more than N = " + std::to_string(spec.n) + " of " + spec.to_string();
      }
    }
  }
  return "";
}

int min_n_for(const Mask& mask, int m) {
  if (m < 1 || m > kMaxNmM) throw InputError("m: must be in 1..16, got " + std::to_string(m));
  if (mask.cols % m != 0) {
    throw InputError("min_n_for: cols = " + std::to_string(mask.cols) +
                     " is not divisible by M = " + std::to_string(m));
  }
  int most = 0;
  for (int r = 0; r < mask.rows; ++r) {
    for (int c0 = 0; c0 < mask.cols; c0 += m) {
      int kept = 0;
      for (int i = 0; i < m; ++i) kept += mask.at(r, c0 + i) ? 1 : 0;
      most = std::max(most, kept);
    }
  }
  return most;
}

std::uint64_t nm_row_bytes(int cols, const NmSpec& spec, NmEncoding encoding) {
  require_valid(spec);
  require_divisible(cols, spec);
  const std::uint64_t groups = static_cast<std::uint64_t>(cols / spec.m);
  const std::uint64_t value_bytes = groups * static_cast<std::uint64_t>(spec.n);
  const std::uint64_t meta_bits = encoding == NmEncoding::kIndex
                                      ? value_bytes * static_cast<std::uint64_t>(bits_for(spec.m))
                                      : groups * static_cast<std::uint64_t>(spec.m);
  return value_bytes + bytes_for_bits(meta_bits);
}

std::uint64_t nm_payload_bytes(int rows, int cols, const NmSpec& spec, NmEncoding encoding) {
  return static_cast<std::uint64_t>(rows) * nm_row_bytes(cols, spec, encoding);
}

std::uint64_t nm_encoded_bytes(int rows, int cols, const NmSpec& spec, NmEncoding encoding) {
  return kNmHeaderBytes + nm_payload_bytes(rows, cols, spec, encoding);
}

std::vector<std::uint8_t> encode_nm(const NmMatrix& x, NmEncoding encoding) {
  const std::string err = validate_nm(x);
  if (!err.empty()) throw std::invalid_argument("encode_nm: " + err);
  std::vector<std::uint8_t> out;
  out.reserve(nm_encoded_bytes(x.rows, x.cols, x.spec(), encoding));
  ByteWriter bytes(out);
  write_header(bytes, x, encoding);
  const int groups = x.groups_per_row();
  const int index_bits = bits_for(x.m);
  for (int r = 0; r < x.rows; ++r) {
    const std::size_t first = x.slot(r, 0, 0);
    const std::size_t count = static_cast<std::size_t>(groups) * static_cast<std::size_t>(x.n);
    for (std::size_t k = first; k < first + count; ++k) bytes.u8(static_cast<std::uint8_t>(x.values[k]));
    BitWriter bits(out);
    if (encoding == NmEncoding::kIndex) {
      for (std::size_t k = first; k < first + count; ++k) bits.put(x.index[k], index_bits);
    } else {
      for (int g = 0; g < groups; ++g) {
        std::uint32_t bitmap = 0;
        for (int s = 0; s < x.n; ++s) bitmap |= 1u << x.index[x.slot(r, g, s)];
        bits.put(bitmap, x.m);
      }
    }
    bits.flush();
  }
  return out;
}

NmMatrix decode_nm(const std::vector<std::uint8_t>& bytes, const std::string& source,
                   NmEncoding* encoding_out) {
  ByteReader in(bytes, source);
  const std::uint8_t* magic = in.take(4, "the N:M header");
  if (!std::equal(kMagic.begin(), kMagic.end(), magic)) {
    throw InputError(source + ": byte 0: not an N:M stream: magic is not \"TSNM\"");
  }
  const unsigned version = in.u8("the N:M header");
  if (version != kVersion)
    in.fail("unsupported N:M stream version " + std::to_string(version) + ", expected 1");
  const unsigned enc = in.u8("the N:M header");
  if (enc > 1) in.fail("unknown N:M encoding " + std::to_string(enc) + ", expected 0 (index) or 1 (bitmap)");
  const auto encoding = static_cast<NmEncoding>(enc);
  NmMatrix x;
  x.n = in.u8("the N:M header");
  x.m = in.u8("the N:M header");
  const std::uint32_t rows = in.u32("the N:M header");
  const std::uint32_t cols = in.u32("the N:M header");
  const std::string spec_err = x.spec().validate();
  if (!spec_err.empty()) in.fail("bad N:M in header: " + spec_err);
  if (rows > INT_MAX || cols > INT_MAX) in.fail("rows or cols above 2^31 - 1");
  x.rows = static_cast<int>(rows);
  x.cols = static_cast<int>(cols);
  if (x.cols % x.m != 0) {
    in.fail("cols = " + std::to_string(x.cols) + " is not divisible by M = " + std::to_string(x.m));
  }
  const std::uint64_t row_bytes = nm_row_bytes(x.cols, x.spec(), encoding);
  const std::uint64_t payload = checked_mul(row_bytes, rows, source + ": N:M payload");
  if (payload != in.remaining()) {
    in.fail((payload > in.remaining() ? "truncated: " : "") + std::string("a ") + std::to_string(rows) +
            " x " + std::to_string(cols) + " " + x.spec().to_string() + " payload needs " +
            std::to_string(payload) + " bytes, the stream has " + std::to_string(in.remaining()));
  }
  const int groups = x.groups_per_row();
  const std::size_t per_row = static_cast<std::size_t>(groups) * static_cast<std::size_t>(x.n);
  x.values.resize(per_row * rows);
  x.index.resize(per_row * rows);
  const int index_bits = bits_for(x.m);
  // A row of zero bytes (cols = 0) holds nothing; skip the loop so a huge row count costs no time.
  for (int r = 0; r < x.rows && row_bytes > 0; ++r) {
    const std::string where = "row " + std::to_string(r);
    const std::size_t row_start = in.offset();
    const std::uint8_t* vals = in.take(per_row, where + " values");
    const std::size_t meta_bytes = static_cast<std::size_t>(row_bytes) - per_row;
    const std::size_t meta_start = in.offset();
    BitReader bits(in.take(meta_bytes, where + " metadata"), meta_bytes);
    const std::size_t first = x.slot(r, 0, 0);
    for (std::size_t k = 0; k < per_row; ++k) x.values[first + k] = static_cast<std::int8_t>(vals[k]);
    for (int g = 0; g < groups; ++g) {
      auto bad = [&](const std::string& what) {
        throw InputError(source + ": bytes " + std::to_string(meta_start) + "..: " + where + " group " +
                         std::to_string(g) + ": " + what);
      };
      if (encoding == NmEncoding::kIndex) {
        int prev = -1;
        for (int s = 0; s < x.n; ++s) {
          const int idx = static_cast<int>(bits.get(index_bits));
          if (idx >= x.m) bad("index " + std::to_string(idx) + " is not below M = " + std::to_string(x.m));
          if (idx <= prev)
            bad("indices not strictly ascending (" + std::to_string(prev) + " then " + std::to_string(idx) +
                ")");
          x.index[x.slot(r, g, s)] = static_cast<std::uint8_t>(idx);
          prev = idx;
        }
      } else {
        const std::uint32_t bitmap = bits.get(x.m);
        int s = 0;
        for (int i = 0; i < x.m; ++i) {
          if (!((bitmap >> i) & 1u)) continue;
          if (s == x.n) break;
          x.index[x.slot(r, g, s++)] = static_cast<std::uint8_t>(i);
        }
        int set = 0;
        for (int i = 0; i < x.m; ++i) set += static_cast<int>((bitmap >> i) & 1u);
        if (set != x.n)
          bad("bitmap has " + std::to_string(set) + " bits set, expected exactly N = " + std::to_string(x.n));
      }
    }
    if (!bits.padding_is_zero()) {
      throw InputError(source + ": byte " + std::to_string(row_start) + ": " + where +
                       ": padding bits after the metadata are not zero");
    }
  }
  in.expect_end();
  if (encoding_out != nullptr) *encoding_out = encoding;
  return x;
}

}  // namespace tacsim::sparsity
