#pragma once
// Engine: one compute engine of the accelerator, in its own SystemC scope (accel.engine0): a DMA that reaches
// the shared memory through the interconnect, the activation, weight and output buffers, the PE array, the HP
// datapath, the SFU, the top-k attention unit and the controller that sequences a GEMM's program on them, and
// the on-chip store that holds the values of blocks kept on chip. It owns and binds everything inside it;
// the Top binds its DMA's initiator socket to the interconnect.
//
//   dma ──► act_buffer ──┬─► pe_array ────┬─► out_buffer ─► dma
//       ├─► weight_buffer┴─► hp_datapath ─┘
//       ├─► sfu (softmax, layernorm, GELU, residual) ─► dma
//       └─► topk_unit ─► dma
#include <cstdint>
#include <string>

#include <systemc>

#include "modules/buffer/buffer.h"
#include "modules/common/backing_store.h"
#include "modules/common/clock.h"
#include "modules/control/controller.h"
#include "modules/dma/dma.h"
#include "modules/hp/hp_datapath.h"
#include "modules/pe_array/pe_array.h"
#include "modules/sfu/sfu.h"
#include "modules/sfu/topk_unit.h"

namespace tacsim::engine {

// Every unit's parameters; an accelerator's engines may differ (sim/config.h: engine<i>.<section>.<key>).
struct Params {
  pe_array::Params pe_array;
  std::string pe_array_mapper = "search";  // pe_array.mapper (workloads::TilingPolicy)
  buffer::Params act_buffer{128};
  buffer::Params weight_buffer{128};
  buffer::Params out_buffer{16};     // two 32 x 32 int32 tiles
  hp::HpDatapathParams hp_datapath;  // its bank fields are the activation buffer's banking
  sfu::SfuParams sfu;
  sfu::TopkAttentionParams topk_unit;
  dma::Params dma;
  control::Params controller;

  // "" or "<section>.<field>: <what was expected>", the section being the unit's member name.
  std::string validate() const;
};

class Engine : public sc_core::sc_module {
 public:
  // `memory_bytes`: the shared memory's capacity, which on-chip blocks are addressed like.
  Engine(const sc_core::sc_module_name& name, const Params& params, const ClockDomain& clock,
         std::uint64_t memory_bytes);
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  const Params& params() const { return params_; }

 private:
  Params params_;  // first: the units below keep references to parts of it

 public:
  dma::Dma dma;
  buffer::Buffer act_buffer;
  buffer::Buffer weight_buffer;
  buffer::Buffer out_buffer;
  pe_array::PeArray pe_array;
  hp::HpDatapath hp_datapath;
  sfu::Sfu sfu;
  sfu::TopkUnit topk_unit;
  control::Controller controller;
  // The values of blocks kept on chip (STA's attention scores and probabilities), addressed like memory.
  BackingStore on_chip_store;

  // Values through the datapaths (PE array, HP datapath, SFU, top-k unit); timing does not depend on them.
  void set_compute_values(bool on);
};

}  // namespace tacsim::engine
