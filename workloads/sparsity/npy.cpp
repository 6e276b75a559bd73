#include "workloads/sparsity/npy.h"

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>

#include "modules/common/error.h"
#include "modules/common/text.h"

namespace tacsim::sparsity {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicSize = 6;

struct DtypeName {
  char kind;
  std::size_t size;
  NpyDtype dtype;
};
constexpr DtypeName kDtypes[] = {
    {'b', 1, NpyDtype::kBool},    {'i', 1, NpyDtype::kInt8},    {'u', 1, NpyDtype::kUint8},
    {'i', 2, NpyDtype::kInt16},   {'u', 2, NpyDtype::kUint16},  {'i', 4, NpyDtype::kInt32},
    {'u', 4, NpyDtype::kUint32},  {'i', 8, NpyDtype::kInt64},   {'u', 8, NpyDtype::kUint64},
    {'f', 2, NpyDtype::kFloat16}, {'f', 4, NpyDtype::kFloat32}, {'f', 8, NpyDtype::kFloat64},
};

const char* kSupported =
    "supported: '|b1' bool, '|i1' int8, '|u1' uint8, '<i2' '<i4' '<i8', '<u2' '<u4' '<u8', '<f2' '<f4' '<f8' "
    "(or '>' big-endian)";

// A cursor over the header's dict literal; every error names the source and the offset in the header.
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& source) : s_(text), source_(source) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(source_ + ": malformed .npy header at header offset " + std::to_string(pos_) + ": " +
                     what);
  }
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }
  bool peek(char c) {
    skip_space();
    return pos_ < s_.size() && s_[pos_] == c;
  }
  void expect(char c, const std::string& where) {
    if (!peek(c)) fail(std::string("expected '") + c + "' " + where);
    ++pos_;
  }
  std::string string_literal(const std::string& what) {
    skip_space();
    if (pos_ >= s_.size() || (s_[pos_] != '\'' && s_[pos_] != '"')) fail("expected a quoted " + what);
    const char quote = s_[pos_++];
    const std::size_t end = s_.find(quote, pos_);
    if (end == std::string::npos) fail("unterminated string");
    std::string out = s_.substr(pos_, end - pos_);
    if (out.find('\\') != std::string::npos) fail("escapes in strings are not supported");
    pos_ = end + 1;
    return out;
  }
  bool boolean() {
    skip_space();
    for (const char* word : {"True", "False"}) {
      const std::size_t n = std::strlen(word);
      if (s_.compare(pos_, n, word) == 0) {
        pos_ += n;
        return word[0] == 'T';
      }
    }
    fail("fortran_order must be True or False");
  }
  std::vector<std::uint64_t> shape_tuple() {
    expect('(', "to open the shape tuple");
    std::vector<std::uint64_t> dims;
    while (!peek(')')) {
      skip_space();
      if (pos_ >= s_.size() || s_[pos_] < '0' || s_[pos_] > '9')
        fail("shape entries must be non-negative integers");
      std::uint64_t v = 0;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
        if (v > (std::uint64_t{1} << 56)) fail("shape entry too large");
        v = v * 10 + static_cast<std::uint64_t>(s_[pos_++] - '0');
      }
      dims.push_back(v);
      if (peek(',')) {
        ++pos_;
      } else if (!peek(')')) {
        fail("expected ',' or ')' in the shape tuple");
      }
    }
    ++pos_;
    return dims;
  }
  void expect_end() {
    skip_space();
    if (pos_ != s_.size()) fail("unexpected text after the dict");
  }

 private:
  const std::string& s_;
  const std::string& source_;
  std::size_t pos_ = 0;
};

NpyDtype parse_descr(const std::string& descr, const std::string& source, bool& big_endian) {
  auto unsupported = [&](const std::string& why) -> InputError {
    return InputError(source + ": unsupported dtype '" + descr + "'" + why + " (" + kSupported + ")");
  };
  if (descr.size() < 3) throw unsupported("");
  const char order = descr[0];
  if (order != '<' && order != '>' && order != '|') throw unsupported(": byte order must be '<', '>' or '|'");
  const char kind = descr[1];
  const std::string size_text = descr.substr(2);
  if (size_text.size() != 1 || size_text[0] < '1' || size_text[0] > '8') throw unsupported("");
  const std::size_t size = static_cast<std::size_t>(size_text[0] - '0');
  for (const DtypeName& d : kDtypes) {
    if (d.kind == kind && d.size == size) {
      if (order == '|' && size != 1)
        throw unsupported(": '|' (no byte order) is only valid for one-byte types");
      big_endian = order == '>' && size > 1;
      return d.dtype;
    }
  }
  throw unsupported("");
}

template <typename T>
T load_le(const std::uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // items are stored little-endian, as this host is (x86-64, aarch64)
  return v;
}

void require_matrix(const NpyArray& a, int expected_rows, int expected_cols) {
  if (a.shape.size() != 2) {
    throw InputError(a.source + ": expected a 2-D array (out, in), got shape " + a.shape_text());
  }
  if (a.shape[0] > INT_MAX || a.shape[1] > INT_MAX) {
    throw InputError(a.source + ": shape " + a.shape_text() + " is too large for a weight matrix");
  }
  const bool rows_bad = expected_rows >= 0 && a.shape[0] != static_cast<std::uint64_t>(expected_rows);
  const bool cols_bad = expected_cols >= 0 && a.shape[1] != static_cast<std::uint64_t>(expected_cols);
  if (rows_bad || cols_bad) {
    const std::string want_rows = expected_rows >= 0 ? std::to_string(expected_rows) : "any";
    const std::string want_cols = expected_cols >= 0 ? std::to_string(expected_cols) : "any";
    throw InputError(a.source + ": shape " + a.shape_text() + ", expected (" + want_rows + ", " + want_cols +
                     ")");
  }
}

bool is_float(NpyDtype d) {
  return d == NpyDtype::kFloat16 || d == NpyDtype::kFloat32 || d == NpyDtype::kFloat64;
}

}  // namespace

std::string to_string(NpyDtype dtype) {
  switch (dtype) {
    case NpyDtype::kBool:
      return "bool";
    case NpyDtype::kInt8:
      return "int8";
    case NpyDtype::kUint8:
      return "uint8";
    case NpyDtype::kInt16:
      return "int16";
    case NpyDtype::kUint16:
      return "uint16";
    case NpyDtype::kInt32:
      return "int32";
    case NpyDtype::kUint32:
      return "uint32";
    case NpyDtype::kInt64:
      return "int64";
    case NpyDtype::kUint64:
      return "uint64";
    case NpyDtype::kFloat16:
      return "float16";
    case NpyDtype::kFloat32:
      return "float32";
    case NpyDtype::kFloat64:
      return "float64";
  }
  return "?";
}

std::size_t item_size(NpyDtype dtype) {
  for (const DtypeName& d : kDtypes) {
    if (d.dtype == dtype) return d.size;
  }
  return 0;
}

std::uint64_t NpyArray::element_count() const {
  std::uint64_t n = 1;
  for (std::uint64_t d : shape) n *= d;
  return n;
}

std::string NpyArray::shape_text() const {
  std::string out = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(shape[i]);
  }
  if (shape.size() == 1) out += ",";
  return out + ")";
}

double NpyArray::value(std::size_t i) const {
  const std::uint8_t* p = data.data() + i * item_size(dtype);
  switch (dtype) {
    case NpyDtype::kBool:
      return *p != 0 ? 1.0 : 0.0;
    case NpyDtype::kInt8:
      return static_cast<std::int8_t>(*p);
    case NpyDtype::kUint8:
      return *p;
    case NpyDtype::kInt16:
      return load_le<std::int16_t>(p);
    case NpyDtype::kUint16:
      return load_le<std::uint16_t>(p);
    case NpyDtype::kInt32:
      return load_le<std::int32_t>(p);
    case NpyDtype::kUint32:
      return load_le<std::uint32_t>(p);
    case NpyDtype::kInt64:
      return static_cast<double>(load_le<std::int64_t>(p));
    case NpyDtype::kUint64:
      return static_cast<double>(load_le<std::uint64_t>(p));
    case NpyDtype::kFloat16:
      return half_to_float(load_le<std::uint16_t>(p));
    case NpyDtype::kFloat32:
      return load_le<float>(p);
    case NpyDtype::kFloat64:
      return load_le<double>(p);
  }
  return 0.0;
}

float half_to_float(std::uint16_t bits) {
  const int sign = (bits >> 15) & 1;
  const int exponent = (bits >> 10) & 0x1F;
  const int mantissa = bits & 0x3FF;
  float magnitude_value;
  if (exponent == 0) {
    magnitude_value = std::ldexp(static_cast<float>(mantissa), -24);  // subnormal: m * 2^-14 / 2^10
  } else if (exponent == 31) {
    magnitude_value = mantissa == 0 ? INFINITY : NAN;
  } else {
    magnitude_value = std::ldexp(static_cast<float>(mantissa | 0x400), exponent - 25);  // 1.m * 2^(e-15)
  }
  return sign ? -magnitude_value : magnitude_value;
}

NpyArray parse_npy(const std::vector<std::uint8_t>& bytes, const std::string& source) {
  if (bytes.size() < kMagicSize + 2 || std::memcmp(bytes.data(), kMagic, kMagicSize) != 0) {
    throw InputError(source + ": not a .npy file (it does not start with \"\\x93NUMPY\" and a version)");
  }
  const int major = bytes[6];
  const int minor = bytes[7];
  if (!((major == 1 || major == 2 || major == 3) && minor == 0)) {
    throw InputError(source + ": unsupported .npy format version " + std::to_string(major) + "." +
                     std::to_string(minor) + " (supported: 1.0, 2.0, 3.0)");
  }
  const std::size_t len_size = major == 1 ? 2 : 4;
  if (bytes.size() < kMagicSize + 2 + len_size) throw InputError(source + ": truncated .npy preamble");
  std::size_t header_len = 0;
  for (std::size_t i = 0; i < len_size; ++i) header_len |= static_cast<std::size_t>(bytes[8 + i]) << (8 * i);
  const std::size_t header_start = kMagicSize + 2 + len_size;
  if (bytes.size() - header_start < header_len) {
    throw InputError(source + ": truncated .npy header: it declares " + std::to_string(header_len) +
                     " bytes, the file has " + std::to_string(bytes.size() - header_start));
  }
  const std::string header(reinterpret_cast<const char*>(bytes.data() + header_start), header_len);

  HeaderParser parser(header, source);
  bool have_descr = false;
  bool have_order = false;
  bool have_shape = false;
  std::string descr;
  bool fortran = false;
  NpyArray a;
  a.source = source;
  parser.expect('{', "at the start of the header dict");
  while (!parser.peek('}')) {
    const std::string key = parser.string_literal("key");
    parser.expect(':', "after key '" + key + "'");
    bool* seen = nullptr;
    if (key == "descr") {
      if (parser.peek('['))
        throw InputError(source + ": unsupported dtype: structured arrays (a field list in 'descr')");
      descr = parser.string_literal("descr");
      seen = &have_descr;
    } else if (key == "fortran_order") {
      fortran = parser.boolean();
      seen = &have_order;
    } else if (key == "shape") {
      a.shape = parser.shape_tuple();
      seen = &have_shape;
    } else {
      parser.fail("unknown key '" + key + "' (expected 'descr', 'fortran_order', 'shape')");
    }
    if (*seen) parser.fail("key '" + key + "' appears twice");
    *seen = true;
    if (parser.peek(',')) {
      parser.expect(',', "");
    } else if (!parser.peek('}')) {
      parser.fail("expected ',' or '}' after the value of '" + key + "'");
    }
  }
  parser.expect('}', "");
  parser.expect_end();
  if (!have_descr || !have_order || !have_shape) {
    throw InputError(source + ": malformed .npy header: missing key '" +
                     std::string(!have_descr   ? "descr"
                                 : !have_order ? "fortran_order"
                                               : "shape") +
                     "'");
  }
  bool big_endian = false;
  a.dtype = parse_descr(descr, source, big_endian);

  const std::size_t item = item_size(a.dtype);
  std::uint64_t count = 1;
  for (std::uint64_t d : a.shape) {
    if (d != 0 && count > (std::uint64_t{1} << 56) / d)
      throw InputError(source + ": shape " + a.shape_text() + " is too large");
    count *= d;
  }
  const std::uint64_t need = count * item;
  const std::size_t data_start = header_start + header_len;
  const std::uint64_t have = bytes.size() - data_start;
  if (have < need) {
    throw InputError(source + ": truncated data: shape " + a.shape_text() + " of " + to_string(a.dtype) +
                     " needs " + std::to_string(need) + " bytes, the file has " + std::to_string(have) +
                     " after the header");
  }
  if (have > need) {
    throw InputError(source + ": " + std::to_string(have - need) +
                     " unexpected bytes after the array data (shape " + a.shape_text() + " of " +
                     to_string(a.dtype) + ")");
  }
  const std::uint8_t* src = bytes.data() + data_start;
  a.data.resize(static_cast<std::size_t>(need));
  // Fortran order: element (i0, i1, ..., ik) is at i0 + s0 * (i1 + s1 * (...)). Walk the C-order multi-index
  // like an odometer and keep its Fortran offset alongside.
  const std::size_t dims = a.shape.size();
  std::vector<std::uint64_t> idx(dims, 0);
  std::vector<std::uint64_t> f_stride(dims, 1);
  for (std::size_t k = 1; k < dims; ++k) f_stride[k] = f_stride[k - 1] * a.shape[k - 1];
  std::uint64_t f_offset = 0;
  for (std::uint64_t c = 0; c < count; ++c) {
    const std::uint64_t from = fortran ? f_offset : c;
    for (std::size_t b = 0; b < item; ++b) {
      a.data[c * item + b] = src[from * item + (big_endian ? item - 1 - b : b)];
    }
    for (std::size_t k = dims; k-- > 0;) {
      if (++idx[k] < a.shape[k]) {
        f_offset += f_stride[k];
        break;
      }
      f_offset -= (a.shape[k] - 1) * f_stride[k];
      idx[k] = 0;
    }
  }
  return a;
}

NpyArray read_npy(const std::string& path) {
  std::ifstream in = text::open_input(path, ".npy file");
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw InputError(path + ": read error");
  return parse_npy(bytes, path);
}

Int8Matrix npy_to_int8_matrix(const NpyArray& a, int expected_rows, int expected_cols) {
  require_matrix(a, expected_rows, expected_cols);
  Int8Matrix m(static_cast<int>(a.shape[0]), static_cast<int>(a.shape[1]));
  for (std::size_t i = 0; i < m.size(); ++i) {
    const double v = a.value(i);
    if (!(v >= -128.0 && v <= 127.0) || v != std::floor(v)) {
      throw InputError(a.source + ": element (" + std::to_string(i / m.cols) + ", " +
                       std::to_string(i % m.cols) + ") of " + to_string(a.dtype) + " is " +
                       std::to_string(v) + ", not an int8 value; int8 weights expected" +
                       (is_float(a.dtype) ? " (quantize first, or read with npy_to_float_matrix)" : ""));
    }
    m.data[i] = static_cast<std::int8_t>(v);
  }
  return m;
}

FloatMatrix npy_to_float_matrix(const NpyArray& a, int expected_rows, int expected_cols) {
  require_matrix(a, expected_rows, expected_cols);
  FloatMatrix m(static_cast<int>(a.shape[0]), static_cast<int>(a.shape[1]));
  for (std::size_t i = 0; i < m.size(); ++i) m.data[i] = static_cast<float>(a.value(i));
  return m;
}

Mask npy_to_mask(const NpyArray& a, int expected_rows, int expected_cols) {
  require_matrix(a, expected_rows, expected_cols);
  Mask m(static_cast<int>(a.shape[0]), static_cast<int>(a.shape[1]));
  for (std::size_t i = 0; i < m.size(); ++i) m.keep[i] = a.value(i) != 0.0 ? 1 : 0;
  return m;
}

}  // namespace tacsim::sparsity
