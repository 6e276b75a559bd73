#pragma once
// What the scheduler dispatches: requests (one sequence's operations each, arriving at a cycle), cut into
// tasks, the units of dispatch. Plain C++: a workload builds requests without SystemC; the scheduler knows
// units, dependencies and pipelines, never Transformers.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "modules/common/types.h"

namespace tacsim::scheduler {

// The engine unit a task occupies. kArray: the GEMM datapath (the PE array, or the HP datapath).
enum class Unit : std::uint8_t { kArray, kSfu, kTopk };

struct Task {
  std::size_t op = 0;  // the workload's index of the operation it stands for (a pipelined head: its Q.K^T)
  Unit unit = Unit::kArray;
  std::vector<std::size_t> deps;  // tasks of the same request whose results it reads, all before it
  // STA's attention head on the array and the SFU at once: Q.K^T, softmax and S.V in `blocks` blocks of query
  // rows, the softmax of block b running while the array computes S.V of b - 1 and Q.K^T of b + 1 (the steps:
  // scheduler_engine.h). 0: a single operation.
  std::uint32_t blocks = 0;
};

struct Request {
  std::uint64_t id = 0;
  Cycle arrival = 0;
  std::vector<Task> tasks;
};

}  // namespace tacsim::scheduler
