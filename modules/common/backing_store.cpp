#include "modules/common/backing_store.h"

#include <algorithm>
#include <cstring>

namespace tacsim {

void BackingStore::read(std::uint64_t addr, std::uint8_t* dst, std::uint64_t len) const {
  while (len > 0) {
    const std::uint64_t page = addr / kPageBytes, off = addr % kPageBytes;
    const std::uint64_t n = std::min(len, kPageBytes - off);
    const auto it = pages_.find(page);
    if (it == pages_.end())
      std::memset(dst, 0, n);
    else
      std::memcpy(dst, it->second->data() + off, n);
    addr += n;
    dst += n;
    len -= n;
  }
}

void BackingStore::write(std::uint64_t addr, const std::uint8_t* src, std::uint64_t len) {
  while (len > 0) {
    const std::uint64_t page = addr / kPageBytes, off = addr % kPageBytes;
    const std::uint64_t n = std::min(len, kPageBytes - off);
    auto& p = pages_[page];
    if (!p) p = std::make_unique<Page>(Page{});
    std::memcpy(p->data() + off, src, n);
    addr += n;
    src += n;
    len -= n;
  }
}

}  // namespace tacsim
