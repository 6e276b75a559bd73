#include "modules/common/backing_store.h"

#include <algorithm>
#include <cstring>

namespace tacsim {

BackingStore::BackingStore(std::uint64_t capacity_bytes) : capacity_(capacity_bytes) {}

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
    p = std::make_unique<Page>();  // value-initialised: zeros
    ++pages_;
  }
  return *p;
}

void BackingStore::read(std::uint64_t addr, std::uint8_t* dst, std::uint64_t len) const {
  while (len > 0) {
    const std::uint64_t page = addr / kPageBytes, off = addr % kPageBytes;
    const std::uint64_t n = std::min(len, kPageBytes - off);
    const Page* p = find(page);
    if (p == nullptr)
      std::memset(dst, 0, n);
    else
      std::memcpy(dst, p->data() + off, n);
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
    std::memcpy(page_for_write(page).data() + off, src, n);
    addr += n;
    src += n;
    len -= n;
  }
}

}  // namespace tacsim
