#pragma once
// The parts of a run's summary that every simulating command shares: the MAC figures under one set of names
// and definitions, and where the cycles went, split so that the parts add up to the run.
//   dense_macs                the dense computation's MACs (what a dense array would do)
//   macs                      the MACs the datapaths performed (N:M and HP skip pruned weights)
//   pe_utilization            macs / (peak MACs per cycle x cycles): how busy the multipliers were
//   effective_macs_per_cycle  dense_macs / cycles: throughput in the dense computation's currency
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "modules/common/types.h"

namespace tacsim::sim {

// Where a run's cycles went. The parts are drawn from the same counters as ops.csv and add up to `cycles`
// (with several engines, to every engine's cycles: cycles x engines): the array computing at its peak, the
// array stalled (operands late, no output half free, column ports busy), the array idle while the SFU works
// alone, the engine without a task (waiting for requests, or for its stage's work), and the rest (pipeline
// fill and drain, partial tiles, DMA between operations).
struct CycleBreakdown {
  Cycle cycles = 0;
  std::uint64_t peak_compute = 0, operand_stall = 0, out_stall = 0, drain_stall = 0, sfu_only = 0, idle = 0;
  std::uint64_t other() const;  // cycles - the others, 0 if they overlap (then the note says so)
  bool overlapping() const;     // the named parts add up to more than the run

  void add_to(nlohmann::ordered_json& summary) const;
  std::string describe(double peak_macs_per_cycle) const;  // the summary's "where the cycles go" lines
};

struct MacFigures {
  std::uint64_t dense_macs = 0, macs = 0;
  double peak_macs_per_cycle = 0;  // of the datapath that performed them
  std::string peak_what;           // "the PE array", "the HP datapath"
  void add_to(nlohmann::ordered_json& summary, Cycle cycles) const;
  std::string describe(Cycle cycles) const;  // MACs, PE utilization and effective MACs/cycle, each defined
};

// Unit and description of every figure in `summary` ({"cycles": {"unit": "cycles", "description": ...}}), for
// stats.schema.json. A figure without an entry here is a bug: it throws std::logic_error naming it.
nlohmann::ordered_json summary_schema(const nlohmann::ordered_json& summary);

// "  name                  value" as every summary prints its rows.
std::string summary_row(const std::string& name, const std::string& value);

}  // namespace tacsim::sim
