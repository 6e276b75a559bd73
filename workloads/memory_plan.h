#pragma once
// Where a model run keeps its tensors in memory: the plan of the whole memory (inputs, weights, activation
// arenas, scratch), and each sequence's tensors in it, one per operation's result.
//
// Memory, in this order: each sequence's input, the weights of every layer (layer by layer, the six matrices
// in role order, as stored), two activation arenas that layers use in turn (layer l writes arena l % 2 and
// reads its input from the other), and a scratch area for the HP mapper (which lays out its own operands).
// Every region starts on a 4 KiB boundary.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "modules/pe_array/tile_command.h"
#include "workloads/lowering.h"
#include "workloads/weight_format.h"
#include "workloads/model.h"

namespace tacsim::workloads {

// Bytes per element as operations store them (the formats of layer_reference.h): int32 accumulators, int8
// activations.
inline constexpr std::uint32_t kAccBytes = 4, kActBytes = 1;

// A tensor in memory: row-major, `stride` bytes from one row to the next.
struct Tensor {
  std::uint64_t address = 0;
  std::uint64_t stride = 0;
  std::uint32_t elem = 1;  // bytes per element
};

struct MemoryMap {
  std::uint64_t input = 0, input_bytes = 0;  // sequence q's input at input + q * input_bytes
  std::uint64_t weights = 0;
  std::vector<std::array<std::uint64_t, 6>> weight_at;  // by layer and role index
  std::uint64_t arena[2] = {0, 0}, arena_bytes = 0;
  std::uint64_t scratch = 0, end = 0;
};

// `layer_sparsity[l][r]`: the sparsity of layer l's weights of role index r, which sizes them as stored.
// `hp_scratch`: the weights run on the HP datapath, which needs a scratch area.
MemoryMap plan_memory(const ModelSpec& spec, const std::vector<std::uint32_t>& lengths,
                      const std::vector<std::array<WeightSparsity, 6>>& layer_sparsity, bool hp_scratch);

// How a weight GEMM's outputs leave the array: projections feeding Q.K^T and S.V as int8 (rq left to the
// caller), V transposed for S.V (its rows are V^T's, the n x k operand) when attention is dense (the top-k
// unit takes V's rows as they are); the others int32, for the SFU.
pe_array::OutputStage projection_output(WeightRole role, bool dense_attention);

// A layer's tensors that several operations share: the context, which every head writes a column slice of,
// and a head's scores and probabilities, two blocks of query rows each (the attention pipeline's double
// buffer), reused by every head.
struct LayerTensors {
  Tensor ctx;
  Tensor scores[2], probs[2];
};

// One sequence's tensors.
struct SequenceTensors {
  Tensor input;             // the first layer's input
  std::vector<Tensor> out;  // each operation's result (a head's: its first block's scores, probabilities)
  std::vector<LayerTensors> layers;

  // The tensor an operation reads as its operand k (op.inputs[k]).
  const Tensor& operand(const Op& op, std::size_t k) const;
};

// Places sequence q (ops as lowered, L = the sequence's length) in its layers' arenas, in operation order;
// `block_rows`: query rows per attention block.
SequenceTensors place_tensors(const ModelSpec& spec, const std::vector<Op>& ops, const MemoryMap& mm,
                              std::size_t q, std::uint32_t seq_len, std::uint32_t block_rows);

}  // namespace tacsim::workloads
