#pragma once
// Byte and bit packing shared by the N:M and HP stream encoders. Bit order everywhere: LSB-first, i.e. stream
// bit p is bit (p % 8) of byte (p / 8), and a field of w bits written at bit p occupies bits p .. p+w-1 with
// its least significant bit at p. Multi-byte integers are little-endian.
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "modules/common/error.h"

namespace tacsim::sparsity {

// Bits needed to tell m things apart: ceil(log2 m), 0 for m <= 1.
inline int bits_for(int m) {
  int b = 0;
  while ((1 << b) < m) ++b;
  return b;
}

inline std::uint64_t bytes_for_bits(std::uint64_t bits) {
  return (bits + 7) / 8;
}

class ByteWriter {
 public:
  explicit ByteWriter(std::vector<std::uint8_t>& out) : out_(out) {}
  void u8(unsigned v) { out_.push_back(static_cast<std::uint8_t>(v)); }
  void u16(unsigned v) {
    u8(v & 0xFF);
    u8((v >> 8) & 0xFF);
  }
  void u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) u8((v >> (8 * i)) & 0xFF);
  }
  void bytes(const char* s, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) u8(static_cast<unsigned char>(s[i]));
  }

 private:
  std::vector<std::uint8_t>& out_;
};

// Appends fields LSB-first; flush() zero-pads the last partial byte, so what follows starts on a byte.
class BitWriter {
 public:
  explicit BitWriter(std::vector<std::uint8_t>& out) : out_(out) {}
  void put(std::uint32_t value, int width) {
    for (int i = 0; i < width; ++i) {
      if (fill_ == 0) out_.push_back(0);
      out_.back() = static_cast<std::uint8_t>(out_.back() | (((value >> i) & 1u) << fill_));
      fill_ = (fill_ + 1) % 8;
    }
  }
  void flush() { fill_ = 0; }

 private:
  std::vector<std::uint8_t>& out_;
  int fill_ = 0;  // bits already used in out_.back(); 0 means start a new byte
};

// Reads a byte stream with bounds checks. Every failure throws InputError naming the source, what was being
// read and the byte offset, so a truncated or corrupted file is reported, never read past its end.
class ByteReader {
 public:
  ByteReader(const std::vector<std::uint8_t>& in, std::string source) : in_(in), source_(std::move(source)) {}

  std::size_t offset() const { return pos_; }
  std::size_t remaining() const { return in_.size() - pos_; }
  const std::string& source() const { return source_; }

  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(source_ + ": byte " + std::to_string(pos_) + ": " + what);
  }
  void need(std::size_t n, const std::string& what) const {
    if (remaining() < n) {
      throw InputError(source_ + ": truncated: " + what + " needs " + std::to_string(n) + " bytes at byte " +
                       std::to_string(pos_) + ", only " + std::to_string(remaining()) + " left");
    }
  }
  std::uint8_t u8(const std::string& what) {
    need(1, what);
    return in_[pos_++];
  }
  std::uint16_t u16(const std::string& what) {
    need(2, what);
    const auto v = static_cast<std::uint16_t>(in_[pos_] | (in_[pos_ + 1] << 8));
    pos_ += 2;
    return v;
  }
  std::uint32_t u32(const std::string& what) {
    need(4, what);
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(in_[pos_ + i]) << (8 * i);
    pos_ += 4;
    return v;
  }
  // Start of the next n bytes, after checking they exist.
  const std::uint8_t* take(std::size_t n, const std::string& what) {
    need(n, what);
    const std::uint8_t* p = in_.data() + pos_;
    pos_ += n;
    return p;
  }
  void expect_end() const {
    if (remaining() != 0) fail(std::to_string(remaining()) + " unexpected bytes after the end of the stream");
  }

 private:
  const std::vector<std::uint8_t>& in_;
  std::string source_;
  std::size_t pos_ = 0;
};

// Reads LSB-first fields out of a span already bounds-checked by ByteReader::take().
class BitReader {
 public:
  BitReader(const std::uint8_t* data, std::size_t bytes) : data_(data), bits_(bytes * 8) {}
  std::uint32_t get(int width) {
    std::uint32_t v = 0;
    for (int i = 0; i < width; ++i, ++pos_)
      v |= static_cast<std::uint32_t>((data_[pos_ / 8] >> (pos_ % 8)) & 1u) << i;
    return v;
  }
  // The bits after the last field, up to the span's end, must be zero: a non-zero pad means a corrupted
  // stream or a writer that disagrees with this layout.
  bool padding_is_zero() const {
    for (std::size_t p = pos_; p < bits_; ++p) {
      if ((data_[p / 8] >> (p % 8)) & 1u) return false;
    }
    return true;
  }

 private:
  const std::uint8_t* data_;
  std::size_t bits_;
  std::size_t pos_ = 0;
};

// a * b, or throws InputError naming `what` when the product does not fit in 63 bits (a malformed header
// could otherwise make a size wrap around and pass the truncation check).
inline std::uint64_t checked_mul(std::uint64_t a, std::uint64_t b, const std::string& what) {
  constexpr std::uint64_t kLimit = std::uint64_t{1} << 62;
  if (a != 0 && b > kLimit / a) throw InputError(what + ": size overflows");
  return a * b;
}

}  // namespace tacsim::sparsity
