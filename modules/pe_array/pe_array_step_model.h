#pragma once
// The clock-by-clock reference of the PE array: every cycle it decides whether the controller issues a step
// and whether it starts a tile's drain, shifts activation tokens (and drain tokens) one PE to the right and
// weight tokens one PE down (after the edge skew registers), advances each PE's P-stage pipelines,
// accumulates into the tile's accumulator set, and writes finished results through the column ports,
// asserting that no port carries two results in one cycle and no output register is overwritten. It is slow
// (rows x cols work per cycle) and exists to prove PeArrayEngine's closed-form timing and values exact; see
// the micro-architecture in pe_array_engine.h.
#include <cstdint>
#include <vector>

#include "modules/pe_array/pe_array_engine.h"

namespace tacsim::pe_array {

struct StepChunk {
  std::uint64_t steps = 0;
  Cycle ready = 0;
  Chunk data;
};

struct StepTile {
  TileShape shape;
  std::vector<StepChunk> chunks;
  Cycle out_ready = 0;  // the cycle its output half is free
};

struct StepTileResult {
  Cycle first_issue = 0;
  Cycle last_issue = 0;
  Cycle done = 0;
  std::vector<std::int32_t> outputs;  // Rt x Ct, row-major
};

// Runs the tiles back to back, cycle by cycle, and returns each tile's timing and outputs.
std::vector<StepTileResult> run_step_model(const Params& p, const std::vector<StepTile>& tiles);

}  // namespace tacsim::pe_array
