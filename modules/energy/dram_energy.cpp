#include "modules/energy/dram_energy.h"

#include <fmt/format.h>

#include "modules/common/error.h"

namespace tacsim::energy {

DramCurrents DramCurrents::from_table(const CostTable& table, const std::string& preset) {
  const std::string s = "dram." + preset + ".";
  const std::string what = fmt::format("memory.dram (preset {})", preset);
  DramCurrents c;
  c.vdd_v = table.at(s + "VDD_V", what);
  c.idd0_ma = table.at(s + "IDD0_mA", what);
  c.idd2n_ma = table.at(s + "IDD2N_mA", what);
  c.idd3n_ma = table.at(s + "IDD3N_mA", what);
  c.idd4r_ma = table.at(s + "IDD4R_mA", what);
  c.idd4w_ma = table.at(s + "IDD4W_mA", what);
  c.idd5ab_ma = table.at(s + "IDD5AB_mA", what);
  c.device_width_bits = table.at(s + "device_width_bits", what);
  if (!(c.device_width_bits > 0))
    throw InputError(fmt::format("{}: {}device_width_bits: must be > 0", table.source(), s));
  return c;
}

DramCommandEnergy dram_command_energy(const DramCurrents& i, const dram::Params& p) {
  const double tck_ns = 1000.0 / p.clock_mhz;
  const double devices = double(p.bus_width_bits) / i.device_width_bits;
  const double scale = i.vdd_v * tck_ns * devices;  // mA x cycles -> pJ for the whole rank
  const double tRC = p.tRC_cycles, tRAS = p.tRAS_cycles;
  DramCommandEnergy e;
  e.act_pj = (i.idd0_ma * tRC - (i.idd3n_ma * tRAS + i.idd2n_ma * (tRC - tRAS))) * scale;
  e.read_pj = (i.idd4r_ma - i.idd3n_ma) * p.burst_cycles() * scale;
  e.write_pj = (i.idd4w_ma - i.idd3n_ma) * p.burst_cycles() * scale;
  e.refresh_pj = (i.idd5ab_ma - i.idd3n_ma) * p.tRFC_cycles * scale;
  e.standby_pj_per_cycle = i.idd3n_ma * scale;
  return e;
}

}  // namespace tacsim::energy
