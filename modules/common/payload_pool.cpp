#include "modules/common/payload_pool.h"

namespace tacsim {

PayloadPool::~PayloadPool() {
  // A payload still referenced by someone at teardown must not call back into a destroyed pool.
  for (auto& p : all_) p->set_mm(nullptr);
}

tlm::tlm_generic_payload* PayloadPool::acquire() {
  tlm::tlm_generic_payload* p;
  if (free_.empty()) {
    all_.push_back(std::make_unique<tlm::tlm_generic_payload>(this));
    p = all_.back().get();
  } else {
    p = free_.back();
    free_.pop_back();
  }
  p->acquire();
  return p;
}

void PayloadPool::free(tlm::tlm_generic_payload* payload) {
  payload->reset();  // drops extensions and resets the payload's fields for its next use
  free_.push_back(payload);
}

}  // namespace tacsim
