// The energy and area model's arithmetic without a kernel: table parsing and its errors, SRAM interpolation,
// DRAM command energies from the datasheet currents worked by hand, and the ledger's totals.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "modules/common/text.h"
#include "modules/dram/dram_params.h"
#include "modules/energy/cost_table.h"
#include "modules/energy/dram_energy.h"
#include "modules/energy/energy_model.h"
#include "tests/support/input_error.h"

namespace tacsim::energy {
namespace {

using testing_support::error_of;

const std::string kTable = std::string(TACSIM_SOURCE_DIR) + "/modules/energy/tables/45nm-horowitz.ini";

CostTable shipped() {
  return CostTable::load(kTable);
}

TEST(CostTable, ShippedTableGivesEveryFigureWithItsSource) {
  std::ifstream in(kTable);
  std::string line;
  int values = 0;
  while (std::getline(in, line)) {
    const std::string t = text::trim(line);
    if (t.empty() || t[0] == '#' || t[0] == '[') continue;
    ++values;
    const auto hash = t.find('#');
    ASSERT_NE(hash, std::string::npos) << "no source: " << t;
    EXPECT_GT(text::trim(t.substr(hash + 1)).size(), 10u) << "no source: " << t;
  }
  EXPECT_GT(values, 40);
  const CostTable c = shipped();
  EXPECT_EQ(c.at("energy.int8_mult", "x"), 0.2);  // Horowitz, ISSCC 2014
  EXPECT_EQ(c.at("energy.int32_add", "x"), 0.1);
  EXPECT_EQ(c.at("area.int8_mult", "x"), 282.0);
}

TEST(CostTable, MissingFigureNamesTheActionAndTheTable) {
  const CostTable t = CostTable::parse("[energy]\nint32_add = 0.1\n", "t.ini");
  Ledger l;
  EXPECT_EQ(error_of([&] { l.add(t, "accel.pe_array", "multiply", 0, "energy.int8_mult"); }),
            "t.ini: no figure for 'energy.int8_mult' (the price of accel.pe_array.multiply)");
  EXPECT_EQ(error_of([&] { sram_access_pj(t, "energy.sram_read_64b", 8, "accel.act_buffer.read"); }),
            "t.ini: no figure for 'energy.sram_read_64b.<size>kib' (the price of accel.act_buffer.read)");
  EXPECT_EQ(error_of([&] { DramCurrents::from_table(t, "hbm2"); }),
            "t.ini: no figure for 'dram.hbm2.VDD_V' (the price of memory.dram (preset hbm2))");
  EXPECT_EQ(error_of([] { CostTable::parse("[energy]\nint8_mult = cheap\n", "t.ini"); }),
            "t.ini:2: energy.int8_mult: expected a number, got 'cheap'");
}

TEST(CostTable, SramEnergyInterpolatesInLogSize) {
  const CostTable t = shipped();
  auto read = [&](double kib) { return sram_access_pj(t, "energy.sram_read_64b", kib, "read"); };
  EXPECT_DOUBLE_EQ(read(8), 10);  // Horowitz's points
  EXPECT_DOUBLE_EQ(read(32), 20);
  EXPECT_DOUBLE_EQ(read(1024), 100);
  EXPECT_DOUBLE_EQ(read(16), 15);  // halfway in log2 between 8 and 32
  EXPECT_DOUBLE_EQ(read(64), 36);  // 20 + 80 x log(64/32) / log(1024/32) = 20 + 80 / 5
  EXPECT_DOUBLE_EQ(read(1), 10);   // below the smallest point: its figure
  EXPECT_DOUBLE_EQ(read(4096), 100);
}

dram::Params preset(const std::string& name) {
  return dram::load_preset(name, std::string(TACSIM_SOURCE_DIR) + "/modules/dram/presets");
}

// DDR4-3200 (x8 devices, 8 per 64-bit rank, VDD 1.2 V, tCK 0.625 ns): mA x V x cycles x tCK x 8 devices,
// i.e. 6 pJ per mA-cycle.
TEST(DramEnergy, Ddr4CommandsByHand) {
  const auto c = dram_command_energy(DramCurrents::from_table(shipped(), "ddr4-3200"), preset("ddr4-3200"));
  // One read burst: (IDD4R 168 - IDD3N 52) x BL8 / 2 = 4 cycles = 464 mA-cycles x 6 = 2784 pJ.
  EXPECT_DOUBLE_EQ(c.read_pj, 2784);
  // One write burst: (150 - 52) x 4 = 392 x 6 = 2352 pJ.
  EXPECT_DOUBLE_EQ(c.write_pj, 2352);
  // ACT + PRE: IDD0 57 x tRC 74 - (IDD3N 52 x tRAS 52 + IDD2N 37 x (74 - 52)) = 4218 - 3518 = 700 x 6 = 4200
  // pJ.
  EXPECT_DOUBLE_EQ(c.act_pj, 4200);
  // REF: (IDD5AB 250 - 52) x tRFC 560 = 110880 x 6 = 665280 pJ.
  EXPECT_DOUBLE_EQ(c.refresh_pj, 665280);
  EXPECT_DOUBLE_EQ(c.standby_pj_per_cycle, 52 * 6);
}

// HBM2 (one 128-bit device per channel, VDD 1.2 V, tCK 1 ns, BL4): 1.2 pJ per mA-cycle; these equal
// DRAMsim3's per-command energies for configs/HBM2_8Gb_x128.ini (its act/read energy increments x tCK).
TEST(DramEnergy, Hbm2ReadByHand) {
  const auto c = dram_command_energy(DramCurrents::from_table(shipped(), "hbm2"), preset("hbm2"));
  EXPECT_DOUBLE_EQ(c.read_pj, (390 - 55) * 2 * 1.2);                        // 804 pJ per 64-byte burst
  EXPECT_DOUBLE_EQ(c.act_pj, (65.0 * 48 - (55.0 * 34 + 40.0 * 14)) * 1.2);  // tRC = tRAS 34 + tRP 14
}

TEST(Ledger, TotalsByModuleAndAction) {
  const CostTable t = shipped();
  Ledger l;
  // One 32 x 32 tile over K = 64: 65536 MACs.
  l.add(t, "accel.pe_array", "multiply", 65536, "energy.int8_mult");
  l.add(t, "accel.pe_array", "add", 65536, "energy.int32_add");
  l.add_priced("accel.act_buffer", "read_64b", 256, 10, "8 KiB");
  l.add(t, "accel.dma", "address", 0, "energy.int32_add");  // priced, not listed
  EXPECT_DOUBLE_EQ(l.module_total("accel.pe_array"), 65536 * 0.3);
  EXPECT_DOUBLE_EQ(l.total(), 65536 * 0.3 + 2560);
  EXPECT_EQ(l.items().size(), 3u);
  const auto j = l.to_json("pJ");
  EXPECT_DOUBLE_EQ(j["by_module"]["accel.pe_array"]["multiply"]["each_pJ"].get<double>(), 0.2);
  EXPECT_FALSE(j["by_module"].contains("accel.dma"));
}

}  // namespace
}  // namespace tacsim::energy
