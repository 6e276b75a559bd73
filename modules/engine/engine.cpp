#include "modules/engine/engine.h"

namespace tacsim::engine {

std::string Params::validate() const {
  const std::pair<const char*, std::string> checks[] = {
      {"pe_array", pe_array.validate()},
      {"act_buffer", act_buffer.validate()},
      {"weight_buffer", weight_buffer.validate()},
      {"out_buffer", out_buffer.validate()},
      {"dma", dma.validate()},
      {"controller", controller.validate()},
      {"act_buffer", hp_datapath.bank.validate()},
      {"hp_datapath", hp_datapath.validate()},
      {"sfu", sfu.validate()},
      {"topk_unit", topk_unit.validate()},
  };
  for (const auto& [section, msg] : checks)
    if (!msg.empty()) return std::string(section) + "." + msg;
  return "";
}

Engine::Engine(const sc_core::sc_module_name& name, const Params& params, const ClockDomain& clock,
               std::uint64_t memory_bytes)
    : sc_module(name),
      params_(params),
      dma("dma", params_.dma, clock),
      act_buffer("act_buffer", params_.act_buffer, clock),
      weight_buffer("weight_buffer", params_.weight_buffer, clock),
      out_buffer("out_buffer", params_.out_buffer, clock),
      pe_array("pe_array", params_.pe_array, clock, act_buffer, weight_buffer, out_buffer),
      hp_datapath("hp_datapath", params_.hp_datapath, clock, act_buffer, weight_buffer, out_buffer),
      sfu("sfu", params_.sfu, clock, dma),
      topk_unit("topk_unit", params_.topk_unit, clock, dma),
      controller("controller", params_.controller, clock, dma, act_buffer, weight_buffer, out_buffer,
                 pe_array, hp_datapath),
      on_chip_store(memory_bytes) {
  controller.set_on_chip_store(&on_chip_store);
  sfu.set_on_chip_store(&on_chip_store);
  topk_unit.set_on_chip_store(&on_chip_store);
}

void Engine::set_compute_values(bool on) {
  pe_array.set_compute_values(on);
  hp_datapath.set_compute_values(on);
  sfu.set_compute_values(on);
  topk_unit.set_compute_values(on);
}

}  // namespace tacsim::engine
