// The energy and area model end to end: stats.json's energy, area and power for runs whose actions can be
// counted by hand, sparsity's effect on the MAC energy, the cost table as a key, and its errors.
#include <fstream>

#include "tests/support/system_test.h"

namespace {

using namespace tacsim::testing_support;

class EnergyTest : public SystemTest {
 protected:
  static double at(const nlohmann::json& s, const std::string& module, const std::string& action) {
    return s["energy"]["by_module"][module][action]["total"].get<double>();
  }
};

// One 32 x 32 output tile over K = 64 on the 32 x 32 x 4 array: 32 x 32 x 64 = 65536 MACs, each an int8
// multiply (0.2 pJ) and a 32-bit add (0.1 pJ): 19660.8 pJ. The tile reads its 32 x 64 activations from the
// activation buffer (128 KiB in two halves of 8 banks: 8 KiB banks, 10 pJ per 64-bit read): 2048 / 8 x 10 =
// 2560 pJ; its 64 x 32 weights from the weight buffer (64 KiB halves: 36 pJ, see the unit test): 2048 / 8 x
// 36 = 9216 pJ.
TEST_F(EnergyTest, OneGemmTileByHand) {
  ASSERT_EQ(tacsim("run -q --workload gemm --set gemm.m=32 --set gemm.n=32 --set gemm.k=64 --out " +
                   (dir_ / "t").string())
                .code,
            0);
  const auto s = stats("t");
  EXPECT_EQ(s["modules"]["accel.engine0.pe_array"]["macs"], 65536);
  EXPECT_DOUBLE_EQ(at(s, "accel.engine0.pe_array", "multiply"), 65536 * 0.2);
  EXPECT_DOUBLE_EQ(at(s, "accel.engine0.pe_array", "add"), 65536 * 0.1);
  EXPECT_FALSE(s["energy"]["by_module"]["accel.engine0.pe_array"].contains("select"));  // dense: no selector
  EXPECT_EQ(s["modules"]["accel.engine0.act_buffer"]["bytes_read"], 2048);
  EXPECT_DOUBLE_EQ(at(s, "accel.engine0.act_buffer", "read_64b"), 2560);
  EXPECT_EQ(s["modules"]["accel.engine0.weight_buffer"]["bytes_read"], 2048);
  EXPECT_DOUBLE_EQ(at(s, "accel.engine0.weight_buffer", "read_64b"), 9216);
  // The parts add up, and the summary's figures follow from the total.
  double sum = 0;
  for (const auto& [m, v] : s["energy"]["by_module"].items()) sum += v["total"].get<double>();
  const auto& m = s["summary"];
  const double pj = m["energy_pj"].get<double>();
  EXPECT_DOUBLE_EQ(sum, pj);
  EXPECT_DOUBLE_EQ(m["power_w"].get<double>(), pj / m["sim_time_ns"].get<double>() * 1e-3);
  EXPECT_DOUBLE_EQ(m["tops_per_w"].get<double>(), 2 * 65536 / pj);
  EXPECT_GT(m["area_mm2"].get<double>(), 1.0);
}

// 2:4 weights: the same GEMM does half the MACs, and the MAC energy halves exactly; the selectors are priced.
TEST_F(EnergyTest, TwoFourHalvesTheMacEnergy) {
  const std::string g = "run -q --workload gemm --set gemm.m=64 --set gemm.n=128 --set gemm.k=256 --out ";
  ASSERT_EQ(tacsim(g + (dir_ / "dense").string()).code, 0);
  ASSERT_EQ(tacsim(g + (dir_ / "sparse").string() + " --set gemm.sparsity=2:4").code, 0);
  const auto d = stats("dense"), s = stats("sparse");
  EXPECT_EQ(d["summary"]["macs"], 64 * 128 * 256);
  EXPECT_EQ(s["summary"]["macs"], 64 * 128 * 256 / 2);
  EXPECT_DOUBLE_EQ(at(s, "accel.engine0.pe_array", "multiply") * 2,
                   at(d, "accel.engine0.pe_array", "multiply"));
  EXPECT_DOUBLE_EQ(at(s, "accel.engine0.pe_array", "add") * 2, at(d, "accel.engine0.pe_array", "add"));
  EXPECT_DOUBLE_EQ(at(s, "accel.engine0.pe_array", "select"), 64 * 128 * 256 / 2 * 0.03);
  EXPECT_LT(s["summary"]["energy_pj"].get<double>(), d["summary"]["energy_pj"].get<double>());
}

// One DRAM read burst on DDR4-3200 (memtest, one 64-byte request): (IDD4R - IDD3N) x 4 cycles x 1.2 V x 0.625
// ns x 8 devices = 2784 pJ, one ACT (4200 pJ), and standby for every cycle of both ranks.
TEST_F(EnergyTest, OneDramReadByHand) {
  ASSERT_EQ(
      tacsim("memtest -q --preset ddr4-3200 --pattern random --bytes 64 --out " + (dir_ / "m").string()).code,
      0);
  const auto s = stats("m");
  const auto& d = s["energy"]["by_module"].begin().value();
  EXPECT_EQ(d["read_burst"]["count"], 1);
  EXPECT_DOUBLE_EQ(d["read_burst"]["total"].get<double>(), 2784);
  EXPECT_DOUBLE_EQ(d["activate"]["total"].get<double>(), 4200);
  const double cycles = s["summary"]["cycles"].get<double>();
  EXPECT_DOUBLE_EQ(d["standby_rank_cycle"]["count"].get<double>(), cycles * 2);
  EXPECT_DOUBLE_EQ(s["summary"]["energy_pj"].get<double>(), 2784 + 4200 + cycles * 2 * 52 * 6);
  EXPECT_EQ(s["summary"]["area_mm2"], 0.0);  // the DRAM is off chip
}

TEST_F(EnergyTest, TableIsAKeyAndCanBeTurnedOff) {
  ASSERT_EQ(tacsim("run -q --workload gemm --set gemm.m=32 --set energy.enabled=false --out " +
                   (dir_ / "off").string())
                .code,
            0);
  const auto s = stats("off");
  EXPECT_FALSE(s.contains("energy"));
  EXPECT_FALSE(s["summary"].contains("energy_pj"));
  EXPECT_EQ(s["config"]["energy.table"], "45nm-horowitz");

  const Result r = tacsim("run -q --workload gemm --set energy.table=7nm --out " + (dir_ / "x").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(
      r.err,
      "tacsim: config: energy.table: no table '7nm' (bundled: 45nm-horowitz; or the path of a .ini file)\n");
}

// A table without a price for a counted action: exit 2 before simulating, naming the action and the figure.
TEST_F(EnergyTest, MissingPriceNamesTheAction) {
  std::ifstream in(std::string(TACSIM_SOURCE_DIR) + "/modules/energy/tables/45nm-horowitz.ini");
  std::ofstream out(dir_ / "t.ini");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("int8_mult", 0) != 0) out << line << "\n";
  out.close();
  const Result r = tacsim("run -q --workload gemm --set energy.table=" + (dir_ / "t.ini").string() +
                          " --out " + (dir_ / "x").string());
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "tacsim: " + (dir_ / "t.ini").string() +
                       ": no figure for 'energy.int8_mult' (the price of accel.engine0.pe_array.multiply)\n");
  EXPECT_FALSE(fs::exists(dir_ / "x" / "stats.json"));
}

// stats.schema.json describes the energy, area and power sections figure by figure, for run and memtest.
TEST_F(EnergyTest, SectionsHaveUnitsAndDescriptions) {
  for (const std::string args : {"run -q --workload gemm --set gemm.m=32", "memtest -q --bytes 4096"}) {
    SCOPED_TRACE(args);
    const fs::path out = dir_ / "s";
    fs::remove_all(out);
    ASSERT_EQ(tacsim(args + " --out " + out.string()).code, 0);
    const auto values = nlohmann::json::parse(slurp(out / "stats.json"));
    const auto schema = nlohmann::json::parse(slurp(out / "stats.schema.json"));
    for (const char* section : {"energy", "area", "power"}) {
      ASSERT_TRUE(values.contains(section)) << section;
      for (const auto& [k, v] : values[section].items()) {
        ASSERT_TRUE(schema[section].contains(k)) << section << "." << k;
        EXPECT_FALSE(schema[section][k]["description"].get<std::string>().empty()) << section << "." << k;
      }
    }
  }
}

}  // namespace
