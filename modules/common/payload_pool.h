#pragma once
// A pool of TLM generic payloads with reference counting (tlm_mm_interface): initiators acquire() a payload,
// targets may acquire()/release() it while they hold it, and it returns to the free list when the count drops
// to zero. Payloads are reused, never freed during a run, so a long simulation allocates only at its start.
#include <memory>
#include <vector>

#include <tlm>

namespace tacsim {

class PayloadPool : public tlm::tlm_mm_interface {
 public:
  PayloadPool() = default;
  PayloadPool(const PayloadPool&) = delete;
  PayloadPool& operator=(const PayloadPool&) = delete;
  ~PayloadPool() override;

  // A reset payload with this pool as its memory manager and a reference count of one.
  tlm::tlm_generic_payload* acquire();
  void free(tlm::tlm_generic_payload* payload) override;

  std::size_t allocated() const { return all_.size(); }
  std::size_t in_use() const { return all_.size() - free_.size(); }

 private:
  std::vector<std::unique_ptr<tlm::tlm_generic_payload>> all_;
  std::vector<tlm::tlm_generic_payload*> free_;
};

}  // namespace tacsim
