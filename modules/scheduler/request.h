#pragma once
// What the scheduler works with: requests (sequences that arrive over time), batches of them admitted
// together, and a batch's tasks, the units of dispatch. Plain C++: a workload builds tasks without SystemC;
// the scheduler knows lengths, units, dependencies and stages, never Transformers.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "modules/common/types.h"

namespace tacsim::scheduler {

// A sequence that has arrived and waits to join a batch.
struct Request {
  std::uint64_t id = 0;   // the trace's name for it
  std::size_t index = 0;  // in arrival order, from 0
  Cycle arrival = 0;
  std::uint64_t arrival_ns = 0;  // the source's own time of it, carried into reports
  std::uint32_t length = 0;      // tokens
};

// The engine unit a step occupies. kArray: the GEMM datapath (the PE array, or the HP datapath).
enum class Unit : std::uint8_t { kArray, kSfu, kTopk };

struct Task {
  std::size_t op = 0;  // the workload's index of the operation it stands for (a pipelined head: its Q.K^T)
  Unit unit = Unit::kArray;
  std::vector<std::size_t> deps;  // tasks of the same batch whose results it reads, all before it
  // STA's attention head on the array and the SFU at once: Q.K^T, softmax and S.V in blocks of query rows,
  // the softmax of block b running while the array computes S.V of b - 1 and Q.K^T of b + 1 (the steps:
  // scheduler_engine.h). blocks[e]: how many on engine e (engines differ). Empty: a single operation.
  std::vector<std::uint32_t> blocks;
  std::uint32_t group = 0;  // what a pipeline stage serves (engines that serve this group may run it)
  double rank = 0;          // length-aware: the longest path from it to the batch's end, in estimated cycles
  // Siblings (the same non-zero chain in one batch: a layer's top-k heads) that an engine may take one after
  // another, preparing the next while it runs one (scheduler_engine.h). 0: none.
  std::uint32_t chain = 0;
};

// A member of a batch: a request, run at its own length or padded to a longer one.
struct Member {
  Request request;
  std::uint32_t padded_length = 0;  // what it runs at: its length, or the batch's longest (padded policy)
};

// Sequences admitted together: they share each weight GEMM (their tokens stacked), hold one slot of
// activation memory, and leave together.
struct Batch {
  std::size_t id = 0;  // in admission order, from 0
  std::vector<Member> members;
  std::uint32_t slot = 0;
  Cycle admitted = 0;
  std::uint32_t ranking_length = 0;  // the running average length when admitted: what ranks are estimated at
  std::vector<Task> tasks;           // the workload's, in dependency order
  std::uint32_t tokens() const;      // the members' padded lengths, summed
};

// Where requests come from (a trace, or a model's sequences at cycle 0): the scheduler takes each when it
// arrives and reports each finish (a closed loop releases the next).
class ArrivalSource {
 public:
  virtual ~ArrivalSource() = default;
  // When the next request arrives; nullopt while none will until a request finishes, or at the end.
  virtual std::optional<Cycle> next_arrival() const = 0;
  // Precondition: next_arrival() has a value. Its arrival is set (a closed loop's: its release).
  virtual Request take() = 0;
  // A request finished at `cycle` (non-decreasing).
  virtual void finished(Cycle cycle) = 0;
  // No request will ever arrive again.
  virtual bool exhausted() const = 0;
};

}  // namespace tacsim::scheduler
