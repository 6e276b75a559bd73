#pragma once
// The bytes a memory holds, allocated in 64 KiB pages on first write so that a device of many GiB costs only
// what a run touches. Unwritten bytes read as zero.
#include <array>
#include <cstdint>
#include <memory>
#include <unordered_map>

namespace tacsim {

class BackingStore {
 public:
  explicit BackingStore(std::uint64_t capacity_bytes) : capacity_(capacity_bytes) {}

  std::uint64_t capacity() const { return capacity_; }
  bool contains(std::uint64_t addr, std::uint64_t len) const { return addr <= capacity_ && len <= capacity_ - addr; }
  // Both require contains(addr, len).
  void read(std::uint64_t addr, std::uint8_t* dst, std::uint64_t len) const;
  void write(std::uint64_t addr, const std::uint8_t* src, std::uint64_t len);

 private:
  static constexpr std::uint64_t kPageBytes = 64 * 1024;
  using Page = std::array<std::uint8_t, kPageBytes>;
  std::uint64_t capacity_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Page>> pages_;
};

}  // namespace tacsim
