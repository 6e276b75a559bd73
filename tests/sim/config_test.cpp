#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include <unistd.h>

#include "modules/common/error.h"
#include "sim/config.h"

namespace tacsim::sim {
namespace {

std::string write_temp(const std::string& text) {
  char name[] = "/tmp/tacsim-config-XXXXXX";
  const int fd = mkstemp(name);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(name) << text;
  return name;
}

std::string error_of(const std::string& ini, const std::vector<std::string>& sets = {}) {
  const std::string path = ini.empty() ? "" : write_temp(ini);
  try {
    resolve_config(path, sets);
  } catch (const InputError& e) {
    std::string msg = e.what();
    if (!path.empty()) {
      const auto at = msg.find(path);
      if (at != std::string::npos) msg.replace(at, path.size(), "FILE");
      std::remove(path.c_str());
    }
    return msg;
  }
  return "no error";
}

TEST(Config, DefaultsAreValid) {
  const SimConfig c = resolve_config("", {});
  EXPECT_EQ(c.pe_array.rows, 32u);
  EXPECT_EQ(c.gemm.m, 256u);
}

TEST(Config, IniThenSetOverrides) {
  const std::string path = write_temp(
      "# a comment\npe_array.macs_per_pe = 2\n[pe_array]\nrows = 16   ; inline comment\ncols=8\n\n[gemm]\nm = 64\n");
  const SimConfig c = resolve_config(path, {"pe_array.rows=24", "sim.workload=gemm", "gemm.k = 96"});
  std::remove(path.c_str());
  EXPECT_EQ(c.pe_array.rows, 24u);  // --set wins over the file
  EXPECT_EQ(c.pe_array.cols, 8u);
  EXPECT_EQ(c.gemm.m, 64u);
  EXPECT_EQ(c.gemm.k, 96u);
  EXPECT_EQ(c.pe_array.macs_per_pe, 2u);
}

TEST(Config, ResolvedIniReadsBackIdentically) {
  const SimConfig c = resolve_config("", {"pe_array.rows=7", "accel.clock_mhz=933.5", "sim.check=false"});
  const std::string path = write_temp(to_ini(c));
  const SimConfig back = resolve_config(path, {});
  std::remove(path.c_str());
  EXPECT_EQ(to_ini(back), to_ini(c));
  EXPECT_EQ(back.accel.clock_mhz, 933.5);
  EXPECT_FALSE(back.sim.check_enabled());
}

TEST(Config, ErrorsNameTheFileLineAndKey) {
  EXPECT_EQ(error_of("[pe_array]\nrowz = 3\n"),
            "FILE:2: unknown config key 'pe_array.rowz' (tacsim run --help lists them)");
  EXPECT_EQ(error_of("[pe_array]\nrows = many\n"),
            "FILE:2: pe_array.rows: expected an unsigned integer up to 4294967295, got 'many'");
  EXPECT_EQ(error_of("[pe_array]\nrows = -1\n"),
            "FILE:2: pe_array.rows: expected an unsigned integer up to 4294967295, got '-1'");
  EXPECT_EQ(error_of("\n\n[pe_array\n"), "FILE:3: expected a section header like [pe_array], got '[pe_array'");
  EXPECT_EQ(error_of("[gemm]\nm 12\n"), "FILE:2: expected 'key = value' or '[section]', got 'm 12'");
  EXPECT_EQ(error_of("rows = 3\n"), "FILE:1: key 'rows' is outside a section");
  EXPECT_EQ(error_of("[gemm]\nm = 1\nm = 2\n"), "FILE:3: gemm.m is set twice (first on line 2)");
  EXPECT_EQ(error_of("[sim]\ncheck = maybe\n"), "FILE:2: sim.check: expected auto, true or false, got 'maybe'");
  EXPECT_EQ(error_of("[accel]\nclock_mhz = 1GHz\n"), "FILE:2: accel.clock_mhz: expected a number, got '1GHz'");
}

TEST(Config, SetErrorsNameTheKey) {
  EXPECT_EQ(error_of("", {"pe_array.rows"}), "--set pe_array.rows: expected key=value, e.g. --set pe_array.rows=64");
  EXPECT_EQ(error_of("", {"nope.key=1"}), "--set unknown config key 'nope.key' (tacsim run --help lists them)");
  EXPECT_EQ(error_of("", {"pe_array.rows=0"}), "config: pe_array.rows: must be at least 1, got 0");
  EXPECT_EQ(error_of("", {"dma.max_transaction_bytes=1000"}),
            "config: dma.max_transaction_bytes: must be a power of two, got 1000");
  EXPECT_EQ(error_of("", {"sim.workload=bert"}), "config: sim.workload: must be gemm or model, got 'bert'");
}

TEST(Config, MissingFile) {
  try {
    resolve_config("/nonexistent/tacsim.ini", {});
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "/nonexistent/tacsim.ini: cannot open config file");
  }
}

TEST(Config, HelpListsEveryKeyWithItsDefault) {
  const std::string help = describe_keys();
  SimConfig c;
  for (const auto& k : config_keys(c)) {
    EXPECT_NE(help.find(k.key), std::string::npos) << k.key;
    EXPECT_FALSE(k.description.empty()) << k.key;
  }
  EXPECT_NE(help.find("pe_array.rows"), std::string::npos);
}

}  // namespace
}  // namespace tacsim::sim
