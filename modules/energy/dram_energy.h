#pragma once
// DRAM energy from a device's datasheet currents, the way Micron's power note (TN-41-01, "Calculating Memory
// System Power for DDR3") and DRAMPower compute it: each command's energy is the current it draws above the
// standby current, times the supply voltage, times how long it draws it. Currents in mA, times in ns: mA x V
// x ns = pJ. Plain C++: no SystemC.
#include <string>

#include "modules/dram/dram_params.h"
#include "modules/energy/cost_table.h"

namespace tacsim::energy {

// One device's supply and datasheet currents (JEDEC IDD names), as a table's [dram.<preset>] section holds
// them.
struct DramCurrents {
  double vdd_v = 0;
  double idd0_ma = 0;            // one bank ACT-PRE cycling at tRC
  double idd2n_ma = 0;           // precharge standby
  double idd3n_ma = 0;           // active standby
  double idd4r_ma = 0;           // burst reads
  double idd4w_ma = 0;           // burst writes
  double idd5ab_ma = 0;          // all-bank refresh at tRFC
  double device_width_bits = 0;  // data pins per device: a rank is bus_width_bits / device_width_bits devices

  // From "dram.<preset>.<field>"; a missing figure is an InputError naming it and the preset.
  static DramCurrents from_table(const CostTable& table, const std::string& preset);
};

// Energy of one command of one rank (every device of the rank), and the standby energy of one rank per cycle.
struct DramCommandEnergy {
  double act_pj = 0;                // ACT and its PRE: (IDD0 tRC - (IDD3N tRAS + IDD2N (tRC - tRAS))) VDD tCK
  double read_pj = 0;               // one read burst: (IDD4R - IDD3N) VDD x burst cycles x tCK
  double write_pj = 0;              // one write burst: (IDD4W - IDD3N) VDD x burst cycles x tCK
  double refresh_pj = 0;            // one all-bank REF: (IDD5AB - IDD3N) VDD tRFC tCK
  double standby_pj_per_cycle = 0;  // IDD3N VDD tCK: active standby (an open page keeps rows open)
};

DramCommandEnergy dram_command_energy(const DramCurrents& i, const dram::Params& p);

}  // namespace tacsim::energy
