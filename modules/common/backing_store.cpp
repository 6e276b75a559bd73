#include "modules/common/backing_store.h"

#include <algorithm>
#include <bitset>
#include <cstring>

namespace tacsim {
namespace {

std::uint32_t count(std::uint64_t bits) {
  return static_cast<std::uint32_t>(std::bitset<64>(bits).count());
}

// The bits of lines first..last (inclusive) of a page.
std::uint64_t lines_mask(std::uint64_t first, std::uint64_t last) {
  const std::uint64_t upto_last = last == 63 ? ~std::uint64_t{0} : (std::uint64_t{2} << last) - 1;
  return upto_last & ~((std::uint64_t{1} << first) - 1);
}

}  // namespace

BackingStore::BackingStore(std::uint64_t capacity_bytes) : capacity_(capacity_bytes) {}

// A sparse page holds its present lines in line order: line `line` follows those below it.
std::uint64_t BackingStore::line_offset(std::uint64_t present, std::uint64_t line) {
  return count(present & ((std::uint64_t{1} << line) - 1)) * kLineBytes;
}

const BackingStore::Page* BackingStore::find(std::uint64_t page) const {
  const std::uint64_t b = page / kPagesPerBlock;
  if (b >= blocks_.size() || !blocks_[b]) return nullptr;
  return (*blocks_[b])[page % kPagesPerBlock].get();
}

BackingStore::Page& BackingStore::page_for_write(std::uint64_t page) {
  const std::uint64_t b = page / kPagesPerBlock;
  if (b >= blocks_.size()) blocks_.resize(b + 1);  // the table grows with the highest address written
  std::unique_ptr<Block>& block = blocks_[b];
  if (!block) block = std::make_unique<Block>();
  std::unique_ptr<Page>& p = (*block)[page % kPagesPerBlock];
  if (!p) {
    p = std::make_unique<Page>();
    ++pages_;
  }
  return *p;
}

void BackingStore::read_in_page(const Page& p, std::uint64_t off, std::uint8_t* dst, std::uint64_t n) {
  if (p.whole) {
    std::memcpy(dst, p.data.get() + off, n);
    return;
  }
  while (n > 0) {
    const std::uint64_t line = off / kLineBytes, in_line = off % kLineBytes;
    const std::uint64_t k = std::min(n, kLineBytes - in_line);
    const std::uint64_t bit = std::uint64_t{1} << line;
    if (p.present & bit)
      std::memcpy(dst, p.data.get() + line_offset(p.present, line) + in_line, k);
    else
      std::memset(dst, 0, k);
    off += k;
    dst += k;
    n -= k;
  }
}

void BackingStore::write_in_page(Page& p, std::uint64_t off, const std::uint8_t* src, std::uint64_t n) {
  if (!p.whole) {
    const std::uint64_t wanted = p.present | lines_mask(off / kLineBytes, (off + n - 1) / kLineBytes);
    if (wanted != p.present) {
      // Room for the new lines: a larger sparse page, or the whole page once it would hold too many.
      const bool whole = count(wanted) > kSparseLines;
      const std::uint64_t bytes = whole ? kPageBytes : count(wanted) * kLineBytes;
      auto data = std::make_unique<std::uint8_t[]>(bytes);  // value-initialised: zeros
      for (std::uint64_t bits = p.present; bits != 0; bits &= bits - 1) {
        const auto line = static_cast<std::uint64_t>(__builtin_ctzll(bits));
        const std::uint64_t to = whole ? line * kLineBytes : line_offset(wanted, line);
        std::memcpy(data.get() + to, p.data.get() + line_offset(p.present, line), kLineBytes);
      }
      bytes_held_ += bytes - count(p.present) * kLineBytes;
      p.data = std::move(data);
      p.whole = whole;
      p.present = whole ? 0 : wanted;
    }
  }
  if (p.whole) {
    std::memcpy(p.data.get() + off, src, n);
    return;
  }
  while (n > 0) {
    const std::uint64_t line = off / kLineBytes, in_line = off % kLineBytes;
    const std::uint64_t k = std::min(n, kLineBytes - in_line);
    std::memcpy(p.data.get() + line_offset(p.present, line) + in_line, src, k);
    off += k;
    src += k;
    n -= k;
  }
}

void BackingStore::read(std::uint64_t addr, std::uint8_t* dst, std::uint64_t len) const {
  while (len > 0) {
    const std::uint64_t page = addr / kPageBytes, off = addr % kPageBytes;
    const std::uint64_t n = std::min(len, kPageBytes - off);
    const Page* p = find(page);
    if (p == nullptr)
      std::memset(dst, 0, n);
    else
      read_in_page(*p, off, dst, n);
    addr += n;
    dst += n;
    len -= n;
  }
}

void BackingStore::write(std::uint64_t addr, const std::uint8_t* src, std::uint64_t len) {
  if (!retain_) return;
  while (len > 0) {
    const std::uint64_t page = addr / kPageBytes, off = addr % kPageBytes;
    const std::uint64_t n = std::min(len, kPageBytes - off);
    write_in_page(page_for_write(page), off, src, n);
    addr += n;
    src += n;
    len -= n;
  }
}

}  // namespace tacsim
