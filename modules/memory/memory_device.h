#pragma once
// What the top module needs of any memory behind the DMA, whichever model it is (FixedLatencyMemory, Dram):
// its TLM target socket, its bytes for loading operands and reading results, and the traffic it carried.
#include <cstdint>

#include <tlm>

#include "modules/common/backing_store.h"

namespace tacsim::memory {

class MemoryDevice {
 public:
  virtual ~MemoryDevice() = default;
  virtual tlm::tlm_target_socket<>& target() = 0;
  virtual BackingStore& store() = 0;
  // Bytes that crossed the memory's data bus (a DRAM moves whole bursts, so this can exceed what was asked).
  virtual std::uint64_t bytes_transferred() const = 0;
};

}  // namespace tacsim::memory
