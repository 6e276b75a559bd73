#include "modules/dram/dram_params.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "modules/common/error.h"

namespace tacsim::dram {
namespace {

std::string presets() {
  return default_presets_dir();
}

// Writes `text` to a fresh file and returns its path.
std::string write_file(const std::string& name, const std::string& text) {
  // One folder per process: CTest may run these tests in parallel processes.
  const auto dir =
      std::filesystem::temp_directory_path() / ("tacsim_dram_params_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / name).string();
  std::ofstream(path) << text;
  return path;
}

// The message load_preset_file throws for `text`, or "" when it loads.
std::string load_error(const std::string& name, const std::string& text) {
  try {
    load_preset_file(write_file(name, text));
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.rfind(prefix, 0) == 0;
}

TEST(DramParams, DefaultsAreValid) {
  EXPECT_EQ(Params{}.validate(), "");
}

TEST(DramParams, BundledPresetsLoadWithTheirFigures) {
  EXPECT_EQ(preset_names(presets()),
            (std::vector<std::string>{"ddr4-2400", "ddr4-3200", "hbm2", "lpddr4-3200"}));
  const Params d4 = load_preset("ddr4-3200", presets());
  EXPECT_EQ(d4.tRCD_cycles, 22u);
  EXPECT_EQ(d4.tRC_cycles, 74u);
  EXPECT_EQ(d4.tRFC_cycles, 560u);
  EXPECT_EQ(d4.burst_bytes(), 64u);
  EXPECT_EQ(d4.capacity_bytes(), 16ull << 30);  // 2 ranks of 8 x 8Gb
  const Params d24 = load_preset("ddr4-2400", presets());
  EXPECT_EQ(d24.clock_mhz, 1200.0);
  EXPECT_EQ(d24.CL_cycles, 16u);
  EXPECT_EQ(d24.tREFI_cycles, 9360u);  // 7.8 us x 1200 MHz
  const Params lp = load_preset("lpddr4-3200", presets());
  EXPECT_EQ(lp.bankgroups, 1u);
  EXPECT_EQ(lp.burst_bytes(), 32u);  // x16, BL16
  EXPECT_EQ(lp.burst_cycles(), 8u);
  EXPECT_EQ(lp.capacity_bytes(), 2ull << 30);  // two 8Gb channels
  const Params hbm = load_preset("hbm2", presets());
  EXPECT_EQ(hbm.channels, 8u);
  EXPECT_EQ(hbm.bus_width_bits, 128u);
  EXPECT_EQ(hbm.burst_bytes(), 64u);
  EXPECT_EQ(hbm.capacity_bytes(), 8ull << 30);  // 8 channels of 8Gb
  // 8 channels x 128 bit x 2 transfers per 1 GHz clock = 256 GB/s, HBM2's per-stack figure.
  EXPECT_EQ(hbm.channels * hbm.bus_width_bits / 8 * 2 * hbm.clock_mhz / 1000, 256.0);
}

TEST(DramParams, ValidateNamesTheOffendingField) {
  auto message = [](auto change) {
    Params p;
    change(p);
    return p.validate();
  };
  EXPECT_EQ(message([](Params& p) { p.tRC_cycles = 60; }),
            "tRC_cycles: must be at least tRAS_cycles + tRP_cycles = 74, got 60");
  EXPECT_EQ(message([](Params& p) { p.tFAW_cycles = 10; }),
            "tFAW_cycles: must be at least 4 * tRRD_S_cycles = 16, got 10");
  EXPECT_EQ(message([](Params& p) { p.banks_per_group = 3; }),
            "banks_per_group: must be a power of two (the address map slices bit fields), got 3");
  EXPECT_EQ(message([](Params& p) { p.tCCD_L_cycles = 2; }),
            "tCCD_L_cycles: must be at least tCCD_S_cycles = 4, got 2");
  EXPECT_EQ(message([](Params& p) { p.tRRD_L_cycles = 2; }),
            "tRRD_L_cycles: must be at least tRRD_S_cycles = 4, got 2");
  EXPECT_EQ(message([](Params& p) { p.tWTR_L_cycles = 1; }),
            "tWTR_L_cycles: must be at least tWTR_S_cycles = 4, got 1");
  EXPECT_EQ(message([](Params& p) { p.tRAS_cycles = 10; }),
            "tRAS_cycles: must be at least tRCD_cycles = 22, got 10");
  EXPECT_EQ(message([](Params& p) { p.tREFI_cycles = 500; }),
            "tREFI_cycles: must be at least tRFC_cycles + 1 = 561, got 500");
  EXPECT_EQ(message([](Params& p) { p.read_queue_bursts = 0; }),
            "read_queue_bursts: must be at least 1, got 0");
  EXPECT_EQ(message([](Params& p) { p.write_high_watermark_bursts = 40; }),
            "write_high_watermark_bursts: must be at most write_buffer_bursts = 32, got 40");
  EXPECT_EQ(message([](Params& p) { p.write_low_watermark_bursts = 32; }),
            "write_low_watermark_bursts: must be below write_high_watermark_bursts = 32, got 32");
  EXPECT_EQ(message([](Params& p) { p.tRTP_S_cycles = 20; }),
            "tRTP_L_cycles: must be at least tRTP_S_cycles = 20, got 12");
  EXPECT_EQ(message([](Params& p) { p.columns = 4; }), "columns: must be at least burst_length = 8, got 4");
  EXPECT_EQ(message([](Params& p) { p.clock_mhz = 0; }),
            "clock_mhz: must be from 0.001 to 100000 MHz, got 0");
  EXPECT_TRUE(starts_with(message([](Params& p) { p.address_mapping = "RoBaFoo"; }), "address_mapping: "));
}

TEST(DramParams, UnknownPresetListsTheKnownOnes) {
  try {
    load_preset("ddr5-4800", presets());
    FAIL() << "loaded a preset that does not exist";
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_TRUE(starts_with(m, "dram preset 'ddr5-4800': no file ")) << m;
    EXPECT_NE(m.find("known presets: ddr4-2400, ddr4-3200, hbm2, lpddr4-3200"), std::string::npos) << m;
  }
  EXPECT_THROW(load_preset("../presets/ddr4-3200", presets()), InputError);  // names, not paths
}

TEST(DramParams, BadPresetFilesNameFileLineAndKey) {
  const std::string good = to_ini(Params{});
  EXPECT_EQ(load_error("good.ini", good), "");

  const std::string path = write_file("bad_line.ini", "");
  EXPECT_EQ(load_error("bad_line.ini", "# a comment\nclock_mhz = 1600\nthis is not a pair\n"),
            path + ":3: expected 'key = value', got 'this is not a pair'");
  EXPECT_EQ(load_error("bad_line.ini", "tFOO_cycles = 3\n"), path + ":1: unknown key 'tFOO_cycles'");
  EXPECT_EQ(load_error("bad_line.ini", "\n\ntRCD_cycles = fast   # comment\n"),
            path + ":3: tRCD_cycles: expected an unsigned integer, got 'fast'");
  EXPECT_EQ(load_error("bad_line.ini", "rows = -1\n"),
            path + ":1: rows: expected an unsigned integer, got '-1'");
  EXPECT_EQ(load_error("bad_line.ini", "rows = 99999999999\n"),
            path + ":1: rows: expected an unsigned integer, got '99999999999'");
  EXPECT_EQ(load_error("bad_line.ini", "page_policy = half\n"),
            path + ":1: page_policy: expected open or closed, got 'half'");
  EXPECT_EQ(load_error("bad_line.ini", "rows = 8\nrows = 16\n"),
            path + ":2: key 'rows' already set on line 1");
  EXPECT_EQ(load_error("bad_line.ini", "rows = 8\n"), path + ": missing key 'clock_mhz'");

  // A complete file whose figures contradict each other: the message points at the offending key's line.
  Params contradicting;
  contradicting.tRC_cycles = 70;
  const std::string inconsistent = to_ini(contradicting);
  const std::string before = inconsistent.substr(0, inconsistent.find("tRC_cycles"));
  const auto trc_line = std::count(before.begin(), before.end(), '\n') + 1;
  EXPECT_EQ(load_error("bad_line.ini", inconsistent),
            path + ":" + std::to_string(trc_line) +
                ": tRC_cycles: must be at least tRAS_cycles + tRP_cycles = 74, got 70");

  // Device fields come first and every one of them is required; controller settings only in their section.
  EXPECT_EQ(load_error("bad_line.ini", "[controller]\nclock_mhz = 1600\n"),
            path + ":2: clock_mhz: a device field, expected before the [controller] section");
  EXPECT_EQ(load_error("bad_line.ini", "row_hit_cap = 4\n"),
            path + ":1: row_hit_cap: a controller setting, expected in the [controller] section");
  EXPECT_EQ(load_error("bad_line.ini", "[controller]\n[controller]\n"),
            path + ":2: expected one '[controller]' section after the device fields, got '[controller]'");
  std::string device_only = good.substr(0, good.find("[controller]"));
  EXPECT_EQ(load_error("device_only.ini", device_only), "") << "controller settings keep their defaults";
}

TEST(DramParams, SetFieldAndToIniRoundTrip) {
  Params p = load_preset("hbm2", presets());
  EXPECT_EQ(set_field(p, "tRCD_cycles", "20"), "");
  EXPECT_EQ(p.tRCD_cycles, 20u);
  EXPECT_EQ(set_field(p, "page_policy", "closed"), "");
  EXPECT_EQ(set_field(p, "refresh_enabled", "no"), "refresh_enabled: expected true or false, got 'no'");
  EXPECT_EQ(set_field(p, "clock_mhz", "1e3x"), "clock_mhz: expected a number, got '1e3x'");
  EXPECT_EQ(set_field(p, "banks", "4"), "unknown key 'banks'");
  EXPECT_EQ(set_field(p, "queue_depth_bursts", "8"),
            "queue_depth_bursts: replaced by read_queue_bursts, write_buffer_bursts and bank_queue_bursts");
  EXPECT_EQ(set_field(p, "scheduler", "fifo"), "scheduler: expected fr-fcfs or bank-round-robin, got 'fifo'");
  EXPECT_EQ(set_field(p, "address_mapping", "dramsim3-ddr4"), "");
  EXPECT_EQ(set_field(p, "address_mapping", "rochrababgco"), "");  // DRAMsim3's spelling
  const Params back = load_preset_file(write_file("round_trip.ini", to_ini(p)));
  EXPECT_EQ(to_ini(back), to_ini(p));
  EXPECT_EQ(back.page_policy, PagePolicyKind::kClosed);
  EXPECT_EQ(back.tRCD_cycles, 20u);
}

}  // namespace
}  // namespace tacsim::dram
