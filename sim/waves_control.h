#pragma once
// VCD control for `tacsim run` and `tacsim memtest`: the --vcd options, the recorder behind them, the
// modules' signals, the scheduler's, and the files (the VCD and a GTKWave save file beside it, complete or
// absent with the result set).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "modules/common/clock.h"
#include "modules/common/waves.h"
#include "modules/scheduler/executor.h"
#include "modules/scheduler/scheduler_engine.h"
#include "sim/run.h"
#include "sim/vcd_recorder.h"

namespace tacsim::dram {
class Dram;
}

namespace tacsim::sim {

class Top;
class ResultSet;

// "START:END": cycles of `clock`, or durations with a unit (5us:7.5us); either end may be left out. Returns
// [start, end) in femtoseconds; throws InputError naming --vcd-window.
std::pair<std::uint64_t, std::uint64_t> parse_vcd_window(const std::string& text, const ClockDomain& clock);

// The GTKWave save file of a VCD: its signals grouped by module (each signal's scope), in declaration order.
std::string gtkw_text(const std::vector<VcdRecorder::Declared>& signals, const std::string& vcd_path,
                      const std::string& gtkw_path, std::uint64_t start_ps);

// The scheduler's signals: requests waiting and batches in flight (accel.scheduler), and per engine the
// operation it runs, its batch and the batch's first request (accel.engine<i>).
struct SchedulerWaves {
  waves::Signal waiting, in_flight;
  struct Engine {
    waves::Signal op, batch, request;
  };
  std::vector<Engine> engines;
};

class WaveSession {
 public:
  // Tracing into opts.vcd, staged in `results` with its save file; the window in cycles of `clock`.
  WaveSession(const WaveOptions& opts, ResultSet& results, const ClockDomain& clock);
  // --vcd-list: declarations only.
  explicit WaveSession(const WaveOptions& opts);
  WaveSession(const WaveSession&) = delete;
  WaveSession& operator=(const WaveSession&) = delete;

  // Declares the signals of every module of `top`; with `scheduler`, the scheduler's too (scheduler()).
  void attach(Top& top, bool scheduler);
  void attach(dram::Dram& memory);
  // After attaching: a pattern of --vcd-signals that selected nothing is an InputError.
  void check_selection() const;
  const SchedulerWaves& scheduler() const { return scheduler_; }

  // --vcd-list: every signal, its kind and what it shows.
  void print_list(std::ostream& os) const;
  // After the simulation: writes the VCD and its save file at their staged paths.
  void write();
  // After the result set is committed: where the waves are and how large.
  std::string describe() const;

 private:
  WaveOptions opts_;
  std::unique_ptr<VcdRecorder> recorder_;
  std::string vcd_staged_, gtkw_path_, gtkw_staged_;
  std::uint64_t start_ps_ = 0;
  std::uint64_t changes_ = 0, bytes_ = 0;
  SchedulerWaves scheduler_;
};

// The scheduler's observer that also traces the queue, forwarding to the run's report.
class QueueWaves : public scheduler::Observer {
 public:
  QueueWaves(const SchedulerWaves& waves, scheduler::Observer& next, const ClockDomain& clock)
      : waves_(waves), next_(next), clock_(clock) {}
  void queue_changed(Cycle at, std::size_t waiting, std::size_t in_flight) override;
  void busy(std::size_t engine, Cycle start, Cycle end) override { next_.busy(engine, start, end); }

 private:
  const SchedulerWaves& waves_;
  scheduler::Observer& next_;
  const ClockDomain& clock_;
};

// The executor that traces each engine's operation, batch and request around the run's own executor. `name`
// gives a step's operation name.
class StepWaves : public scheduler::Executor {
 public:
  StepWaves(const SchedulerWaves& waves, scheduler::Executor& next,
            const scheduler::SchedulerEngine& scheduler, const ClockDomain& clock,
            std::function<std::string(const scheduler::Step&)> name)
      : waves_(waves), next_(next), scheduler_(scheduler), clock_(clock), name_(std::move(name)) {}
  void execute(std::size_t engine, const scheduler::Step& step) override;

 private:
  const SchedulerWaves& waves_;
  scheduler::Executor& next_;
  const scheduler::SchedulerEngine& scheduler_;
  const ClockDomain& clock_;
  std::function<std::string(const scheduler::Step&)> name_;
};

}  // namespace tacsim::sim
