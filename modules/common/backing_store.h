#pragma once
// The bytes a memory holds, in 4 KiB pages allocated on first write, found through a two-level table (no
// hashing), so that a device of many GiB costs only what a run touches, and scattered small writes do not
// each cost a large page. Unwritten bytes read as zero. A store told not to retain data (a timing-only run,
// e.g. `tacsim memtest` without data checks) drops writes and reads zeros, so its size stays flat however
// much is written.
#include <array>
#include <cstdint>
#include <memory>
#include <vector>

namespace tacsim {

class BackingStore {
 public:
  explicit BackingStore(std::uint64_t capacity_bytes);

  std::uint64_t capacity() const { return capacity_; }
  bool contains(std::uint64_t addr, std::uint64_t len) const { return addr <= capacity_ && len <= capacity_ - addr; }
  // Both require contains(addr, len).
  void read(std::uint64_t addr, std::uint8_t* dst, std::uint64_t len) const;
  void write(std::uint64_t addr, const std::uint8_t* src, std::uint64_t len);

  void set_retain(bool retain) { retain_ = retain; }
  bool retains() const { return retain_; }
  std::uint64_t pages() const { return pages_; }  // allocated so far

 private:
  static constexpr std::uint64_t kPageBytes = 4096;
  static constexpr std::uint64_t kPagesPerBlock = 4096;  // a second-level table covers 16 MiB
  using Page = std::array<std::uint8_t, kPageBytes>;
  using Block = std::array<std::unique_ptr<Page>, kPagesPerBlock>;

  const Page* find(std::uint64_t page) const;
  Page& page_for_write(std::uint64_t page);

  std::uint64_t capacity_;
  std::vector<std::unique_ptr<Block>> blocks_;
  std::uint64_t pages_ = 0;
  bool retain_ = true;
};

}  // namespace tacsim
