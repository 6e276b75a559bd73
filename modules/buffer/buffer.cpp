#include "modules/buffer/buffer.h"

#include <algorithm>

#include <fmt/format.h>

namespace tacsim::buffer {

using namespace sc_core;

std::string Params::validate() const {
  if (capacity_kib == 0) return "capacity_kib: must be at least 1, got 0";
  // Both halves are allocated: 1 GiB bounds a typo well above any on-chip SRAM built.
  if (capacity_kib > kMaxCapacityKib)
    return fmt::format("capacity_kib: at most {} (1 GiB), got {}", kMaxCapacityKib, capacity_kib);
  return "";
}

Buffer::Buffer(const sc_module_name& name, const Params& params, const ClockDomain& clock)
    : sc_module(name), params_(params), clock_(clock) {
  for (auto& h : halves_) h.data.assign(params.half_bytes(), 0);
  SC_THREAD(delayed_full_thread);
  stats_.add("fills", &fills_, "loads", "halves filled");
  stats_.add("bytes_written", &bytes_written_, "bytes", "bytes written into the buffer");
  stats_.add("bytes_read", &bytes_read_, "bytes", "bytes read out of the buffer");
  stats_.add("peak_bytes", &peak_bytes_, "bytes", "largest load held in one half");
  const double half = double(params.half_bytes());
  stats_.add_derived(
      "peak_half_fill", [this, half] { return double(peak_bytes_) / half; }, "ratio",
      "largest load as a fraction of a half");
}

void Buffer::attach_waves(waves::Recorder& r) {
  for (int i = 0; i < 2; ++i)
    half_waves_[i] = r.enumerated(fmt::format("{}.half{}", name(), i), {"empty", "filling", "full"},
                                  "the ping-pong half's state: empty, being filled by the DMA, or full");
}

void Buffer::trace(int half) const {
  if (half_waves_[half])
    half_waves_[half].set(clock_.fs_at(halves_[half].since), static_cast<std::uint64_t>(halves_[half].state));
}

Cycle Buffer::wait_empty(int half) {
  Half& h = halves_[half];
  while (h.state != State::Empty) wait(h.changed);
  return h.since;
}

void Buffer::start_fill(int half, std::uint64_t bytes) {
  Half& h = halves_[half];
  if (h.state != State::Empty) SC_REPORT_FATAL(name(), "start_fill on a half that is not empty");
  if (bytes > half_bytes())
    SC_REPORT_FATAL(
        name(),
        fmt::format("a load of {} bytes does not fit a half of {} bytes", bytes, half_bytes()).c_str());
  h.state = State::Filling;
  h.bytes = bytes;
  h.since = clock_.now();
  trace(half);
}

void Buffer::mark_full(int half, std::uint32_t uses) {
  Half& h = halves_[half];
  if (h.state != State::Filling || uses == 0)
    SC_REPORT_FATAL(name(), "mark_full on a half that is not filling");
  h.state = State::Full;
  h.uses = uses;
  h.since = clock_.now();
  trace(half);
  ++fills_;
  bytes_written_ += h.bytes;
  peak_bytes_ = std::max(peak_bytes_, h.bytes);
  h.changed.notify(SC_ZERO_TIME);
}

void Buffer::mark_full_at(int half, std::uint32_t uses, Cycle at) {
  delayed_full_.push_back({half, uses, at});
  delayed_event_.notify(SC_ZERO_TIME);
}

void Buffer::delayed_full_thread() {
  for (;;) {
    while (delayed_full_.empty()) wait(delayed_event_);
    const DelayedFull d = delayed_full_.front();
    delayed_full_.pop_front();
    clock_.wait_until(d.at);
    mark_full(d.half, d.uses);
  }
}

Cycle Buffer::wait_full(int half) {
  Half& h = halves_[half];
  while (h.state != State::Full) wait(h.changed);
  return h.since;
}

void Buffer::release(int half, std::uint64_t bytes_read) {
  Half& h = halves_[half];
  if (h.state != State::Full || h.uses == 0) SC_REPORT_FATAL(name(), "release of a half that is not full");
  bytes_read_ += bytes_read;
  if (--h.uses == 0) {
    h.state = State::Empty;
    h.since = clock_.now();
    trace(half);
    h.changed.notify(SC_ZERO_TIME);
  }
}

}  // namespace tacsim::buffer
