#include "sim/top.h"

namespace tacsim::sim {

Top::Top(const sc_core::sc_module_name& name, const SimConfig& cfg)
    : sc_module(name),
      clock(cfg.accel.clock_mhz),
      memory("memory", cfg.memory),
      dma("dma", cfg.dma, clock),
      act_buffer("act_buffer", cfg.act_buffer, clock),
      weight_buffer("weight_buffer", cfg.weight_buffer, clock),
      out_buffer("out_buffer", cfg.out_buffer, clock),
      pe_array("pe_array", cfg.pe_array, clock, act_buffer, weight_buffer, out_buffer),
      controller("controller", clock, dma, act_buffer, weight_buffer, out_buffer, pe_array) {
  dma.initiator_socket.bind(memory.target_socket);
  SC_THREAD(stop_when_done);
}

void Top::stop_when_done() {
  sc_core::wait(controller.finished());
  sc_core::sc_stop();
}

}  // namespace tacsim::sim
