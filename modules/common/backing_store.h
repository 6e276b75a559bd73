#pragma once
// The bytes a memory holds, in 4 KiB pages allocated on first write, found through a two-level table (no
// hashing), so that a device of many GiB costs only what a run touches. A page first holds only the 64-byte
// lines written to it, up to kSparseLines of them, and becomes a whole 4 KiB page after that: scattered small
// writes (a random trace's 64-byte writes) cost about their own size, not a page each, while tensors written
// whole are plain pages. Unwritten bytes read as zero. A store told not to retain data (a timing-only run,
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
  bool contains(std::uint64_t addr, std::uint64_t len) const {
    return addr <= capacity_ && len <= capacity_ - addr;
  }
  // Both require contains(addr, len).
  void read(std::uint64_t addr, std::uint8_t* dst, std::uint64_t len) const;
  void write(std::uint64_t addr, const std::uint8_t* src, std::uint64_t len);

  void set_retain(bool retain) { retain_ = retain; }
  bool retains() const { return retain_; }
  std::uint64_t pages() const { return pages_; }            // pages with any written line
  std::uint64_t bytes_held() const { return bytes_held_; }  // data bytes allocated for them

 private:
  static constexpr std::uint64_t kPageBytes = 4096;
  static constexpr std::uint64_t kLineBytes = 64;
  static constexpr std::uint32_t kSparseLines = 8;       // a sparse page holds up to 512 bytes of lines
  static constexpr std::uint64_t kPagesPerBlock = 4096;  // a second-level table covers 16 MiB
  // Whole: `data` is the 4 KiB page. Sparse: `data` holds the lines in `present`, in line order.
  struct Page {
    std::uint64_t present = 0;  // sparse: a bit per 64-byte line written
    bool whole = false;
    std::unique_ptr<std::uint8_t[]> data;
  };
  using Block = std::array<std::unique_ptr<Page>, kPagesPerBlock>;

  const Page* find(std::uint64_t page) const;
  Page& page_for_write(std::uint64_t page);
  void write_in_page(Page& p, std::uint64_t off, const std::uint8_t* src, std::uint64_t n);
  static void read_in_page(const Page& p, std::uint64_t off, std::uint8_t* dst, std::uint64_t n);
  // The byte offset of `line` in a sparse page that holds the lines `present`.
  static std::uint64_t line_offset(std::uint64_t present, std::uint64_t line);

  std::uint64_t capacity_;
  std::vector<std::unique_ptr<Block>> blocks_;
  std::uint64_t pages_ = 0;
  std::uint64_t bytes_held_ = 0;
  bool retain_ = true;
};

}  // namespace tacsim
