#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>

#include <unistd.h>

#include "modules/common/error.h"
#include "sim/config.h"
#include "sim/config_keys.h"

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
      "# a comment\npe_array.macs_per_pe = 2\n[pe_array]\nrows = 16   ; inline comment\ncols=8\n\n[gemm]\nm "
      "= 64\n");
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

// A saved config names its preset; the preset's own fields are comments, so editing the preset's name means
// the new preset's timings, while a field the user set stays set.
TEST(Config, EditingThePresetInASavedConfigMeansTheNewPreset) {
  const SimConfig c = resolve_config("", {"dram.preset=hbm2", "dram.tRP_cycles=12"});
  std::string ini = to_ini(c);
  EXPECT_NE(ini.find("\npreset = hbm2\n"), std::string::npos);
  EXPECT_NE(ini.find("\ntRP_cycles = 12\n"), std::string::npos);  // set by the user: a live line
  EXPECT_NE(ini.find("\n# tRCD_cycles = 14   # from the preset\n"), std::string::npos) << ini;
  ini.replace(ini.find("preset = hbm2"), 13, "preset = ddr4-3200");
  const std::string path = write_temp(ini);
  const SimConfig back = resolve_config(path, {});
  std::remove(path.c_str());
  const SimConfig ddr4 = resolve_config("", {"dram.preset=ddr4-3200"});
  EXPECT_EQ(back.dram.tRCD_cycles, ddr4.dram.tRCD_cycles);
  EXPECT_EQ(back.dram.channels, ddr4.dram.channels);
  EXPECT_EQ(back.dram.tRP_cycles, 12u);
}

TEST(Config, ErrorsNameTheFileLineAndKey) {
  EXPECT_EQ(error_of("[pe_array]\nrowz = 3\n"),
            "FILE:2: unknown config key 'pe_array.rowz' (did you mean pe_array.rows?)");
  EXPECT_EQ(error_of("[pe_array]\nwidth = 3\n"),
            "FILE:2: unknown config key 'pe_array.width' (tacsim run --help lists them)");
  EXPECT_EQ(error_of("[buffer]\nbank_map = hp\n"), "FILE:2: buffer.bank_map was renamed act_buffer.bank_map");
  EXPECT_EQ(error_of("[pe_array]\nrows = many\n"),
            "FILE:2: pe_array.rows: expected an unsigned integer up to 4294967295, got 'many'");
  EXPECT_EQ(error_of("[pe_array]\nrows = -1\n"),
            "FILE:2: pe_array.rows: expected an unsigned integer up to 4294967295, got '-1'");
  EXPECT_EQ(error_of("\n\n[pe_array\n"),
            "FILE:3: expected a section header like [pe_array], got '[pe_array'");
  EXPECT_EQ(error_of("[gemm]\nm 12\n"), "FILE:2: expected 'key = value' or '[section]', got 'm 12'");
  EXPECT_EQ(error_of("rows = 3\n"), "FILE:1: key 'rows' is outside a section");
  EXPECT_EQ(error_of("[gemm]\nm = 1\nm = 2\n"), "FILE:3: gemm.m is set twice (first on line 2)");
  EXPECT_EQ(error_of("[sim]\ncheck = maybe\n"),
            "FILE:2: sim.check: expected auto, true or false, got 'maybe'");
  EXPECT_EQ(error_of("[accel]\nclock_mhz = 1GHz\n"),
            "FILE:2: accel.clock_mhz: expected a number, got '1GHz'");
}

TEST(Config, SetErrorsNameTheKey) {
  EXPECT_EQ(error_of("", {"pe_array.rows"}),
            "--set pe_array.rows: expected key=value, e.g. --set pe_array.rows=64");
  EXPECT_EQ(error_of("", {"nope.key=1"}),
            "--set unknown config key 'nope.key' (tacsim run --help lists them)");
  EXPECT_EQ(error_of("", {"pe_array.rows=0"}), "config: pe_array.rows: must be at least 1, got 0");
  EXPECT_EQ(error_of("", {"dma.max_transaction_bytes=1000"}),
            "config: dma.max_transaction_bytes: must be a power of two, got 1000");
  EXPECT_EQ(error_of("", {"sim.workload=bert"}),
            "--set sim.workload: expected trace, model or gemm, got 'bert'");
  // A nested engine's field is its own key, and its error names that key.
  EXPECT_EQ(error_of("", {"topk_unit.softmax.lanes=0"}),
            "config: topk_unit.softmax.lanes: must be at least 1, got 0");
  EXPECT_EQ(error_of("", {"sfu.softmax.lanes=0"}), "config: sfu.softmax.lanes: must be at least 1, got 0");
  EXPECT_EQ(error_of("", {"sfu.vector.lanes=70000"}),
            "config: sfu.vector.lanes: must be at most 65536, got 70000");
  EXPECT_EQ(error_of("", {"pe_array.multiply_latency=2"}),
            "--set pe_array.multiply_latency was renamed pe_array.multiply_latency_cycles");
  EXPECT_EQ(error_of("", {"sparsity.pruned_fraction=1.5", "sim.workload=gemm", "gemm.sparsity=hp"}),
            "config: sparsity.pruned_fraction: must be in [0, 1), got 1.5");
  EXPECT_EQ(
      error_of("", {"sim.workload=model", "model.seq_lens=128,"}),
      "config: model.seq_lens: empty item in the list '128,' (items are separated by ',', without a trailing "
      "one)");
  EXPECT_EQ(error_of("", {"sim.workload=model", "model.seq_lens=64,,128"}),
            "config: model.seq_lens: empty item in the list '64,,128' (items are separated by ',', without a "
            "trailing "
            "one)");
}

TEST(Config, WeightFormatsAreParsedOnceHere) {
  const SimConfig cfg = resolve_config("", {"sparsity.weights=1:8"});
  EXPECT_EQ(cfg.model.weights.format, workloads::WeightFormat::kNm);
  EXPECT_EQ(cfg.model.weights.nm, (sparsity::NmSpec{1, 8}));
  EXPECT_EQ(resolve_config("", {"sim.workload=gemm", "gemm.sparsity=unstructured"}).gemm.sparsity.format,
            workloads::WeightFormat::kUnstructured);
  EXPECT_EQ(resolve_config("", {"sparsity.weights=8:8"}).model.weights.text(), "dense");
  EXPECT_EQ(
      error_of("", {"sparsity.weights=hq"}),
      "--set sparsity.weights: bad N:M sparsity 'hq': expected 'N:M' with 1 <= N <= M <= 16, or 'dense'");
  // HP pruning is its own section, for a GEMM and a model alike; the hp bank map's block follows it.
  const SimConfig hp = resolve_config("", {"sparsity.weights=hp", "sparsity.hp_block_cols=32"});
  EXPECT_EQ(hp.pruning.hp_block_cols, 32u);
  EXPECT_EQ(hp.hp_datapath.bank.block_cols, 32u);
  EXPECT_EQ(error_of("", {"sparsity.hp_block_cols=0"}),
            "config: sparsity.hp_block_cols: must be at least 1, got 0");
}

TEST(Config, AModelRunsRulesAcrossKeysAreCheckedWhenItResolves) {
  EXPECT_EQ(
      error_of("", {"sparsity.weights=hp", "sim.check=true"}),
      "config: sim.check: model runs check values with dense and N:M weights; with sparsity.weights = hp "
      "they are timing only (set sim.check=false)");
  EXPECT_EQ(error_of("", {"sparsity.weights=unstructured", "sparsity.overrides=x.txt"}),
            "config: sparsity.overrides: per-layer overrides take N:M ratios; they cannot be combined with "
            "sparsity.weights = unstructured");
  // Top-k attention serves causal models too (the unit masks each query's later keys).
  EXPECT_EQ(error_of("", {"model.name=gpt2-small", "model.topk=8"}), "no error");
  EXPECT_EQ(error_of("", {"sim.workload=model", "model.seq_lens=128,100000"})
                .rfind("config: model.seq_lens: seq_len: ", 0),
            0u);
  // A trace's lengths are its own; a model's sequences are for sim.workload=model.
  EXPECT_EQ(
      error_of("", {"sim.workload=trace", "model.seq_lens=64"}),
      "--set model.seq_lens=64: model.seq_lens applies to sim.workload=model, and this run is a trace (its "
      "requests are trace.file's; --seq-len and --batch make a model run)");
  EXPECT_EQ(error_of("", {"sim.workload=trace", "model.name=vit-b16"})
                .rfind("config: sim.workload: vit-b16 takes only sequences of 197", 0),
            0u);
  // The reference calibrates each sequence alone: values are checked for batches of one.
  EXPECT_EQ(error_of("", {"sim.workload=trace", "sim.check=true", "scheduler.policy=fcfs"}),
            "config: sim.check: trace runs are timing only (values are checked on a model's own sequences: "
            "sim.workload = model, or --seq-len)");
  EXPECT_EQ(
      error_of("", {"sim.check=true", "scheduler.policy=length-aware"}),
      "config: sim.check: values are checked against a reference of each sequence alone, so only for batches "
      "of one sequence; scheduler.policy = length-aware batches several (use fcfs, or padded with "
      "scheduler.batch_size = 1)");
  EXPECT_EQ(error_of("", {"sim.check=true", "scheduler.policy=padded"}).rfind("config: sim.check: ", 0), 0u);
  EXPECT_EQ(error_of("", {"sim.check=true", "scheduler.policy=padded", "scheduler.batch_size=1"}),
            "no error");
  EXPECT_EQ(error_of("", {"sim.check=true", "scheduler.policy=fcfs"}), "no error");
  // The same keys mean nothing to the GEMM workload.
  EXPECT_EQ(error_of("", {"sim.workload=gemm", "model.name=gpt2-small", "model.topk=8"}), "no error");
}

TEST(Config, MissingFile) {
  try {
    resolve_config("/nonexistent/tacsim.ini", {});
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "/nonexistent/tacsim.ini: cannot open config file (no such file)");
  }
}

TEST(Config, HelpListsEveryKeyWithItsDefault) {
  const std::string help = describe_keys(HelpFor::kRun) + describe_keys(HelpFor::kMemtest);
  SimConfig c;
  for (const auto& k : config_keys(c)) {
    EXPECT_NE(help.find(k.key), std::string::npos) << k.key;
    EXPECT_FALSE(k.description.empty()) << k.key;
  }
  // Each command's help lists its own keys only.
  EXPECT_EQ(describe_keys(HelpFor::kRun).find("memtest.pattern"), std::string::npos);
  EXPECT_EQ(describe_keys(HelpFor::kMemtest).find("pe_array.rows"), std::string::npos);
  EXPECT_NE(describe_keys(HelpFor::kMemtest).find("dram.tRCD_cycles"), std::string::npos);
  // A directory is not a config file.
  try {
    resolve_config("/tmp", {});
    ADD_FAILURE() << "a folder was read as a config";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "/tmp: cannot open config file (not a regular file)");
  }
}

// The run's kind picks its policy unless one is named: a trace length-aware, a model's sequences fcfs.
TEST(Config, AutoPolicyFollowsTheWorkload) {
  EXPECT_EQ(resolve_config("", {"sim.workload=trace"}).scheduler.policy, "length-aware");
  EXPECT_EQ(resolve_config("", {}).scheduler.policy, "fcfs");  // the default run: a model's own sequence
  EXPECT_EQ(resolve_config("", {"scheduler.policy=padded"}).scheduler.policy, "padded");
  EXPECT_EQ(error_of("", {"scheduler.policy=lifo"}),
            "--set scheduler.policy: expected auto, fcfs, padded or length-aware, got 'lifo'");
  EXPECT_EQ(error_of("", {"scheduler.batch_size=0"}),
            "config: scheduler.batch_size: must be in 1..4096, got 0");
  EXPECT_EQ(error_of("", {"trace.over_max=clip"}),
            "--set trace.over_max: expected error, truncate or drop, got 'clip'");
}

// engine<i>.<section>.<key> sets a key for engine i alone, after the shared keys, from a file or --set.
TEST(Config, EnginesTakeTheSharedKeysAndTheirOwn) {
  const std::string path =
      write_temp("[accel]\nengines = 3\n[engine1.pe_array]\nrows = 16\n[engine2]\ndma.max_outstanding = 4\n");
  const SimConfig c = resolve_config(path, {"pe_array.cols=8", "engine2.pe_array.cols=64"});
  std::remove(path.c_str());
  ASSERT_EQ(c.engines.size(), 3u);
  EXPECT_EQ(c.engines[0].pe_array.rows, 32u);
  EXPECT_EQ(c.engines[1].pe_array.rows, 16u);
  EXPECT_EQ(c.engines[1].pe_array.cols, 8u);   // the shared key, under its own override
  EXPECT_EQ(c.engines[2].pe_array.cols, 64u);  // its own beats the shared one, whatever the order
  EXPECT_EQ(c.engines[2].dma.max_outstanding, 4u);
  EXPECT_EQ(c.engines[0].dma.max_outstanding, 32u);
  // Written back: a section per engine with only its own keys; reading it back gives the same engines.
  const std::string ini = to_ini(c);
  EXPECT_NE(ini.find("\n[engine1]\npe_array.rows = 16\n"), std::string::npos) << ini;
  EXPECT_NE(ini.find("\n[engine2]\npe_array.cols = 64\ndma.max_outstanding = 4\n"), std::string::npos) << ini;
  const std::string back_path = write_temp(ini);
  const SimConfig back = resolve_config(back_path, {});
  std::remove(back_path.c_str());
  EXPECT_EQ(to_ini(back), ini);
  EXPECT_EQ(back.engines[1].pe_array.rows, 16u);
  const auto pairs = to_pairs(c);
  EXPECT_NE(std::find(pairs.begin(), pairs.end(),
                      std::make_pair(std::string("engine1.pe_array.rows"), std::string("16"))),
            pairs.end());
  // The mapper is the engine's too (its PE array's tilings).
  const SimConfig m =
      resolve_config("", {"accel.engines=2", "pe_array.mapper=greedy", "engine1.pe_array.mapper=search"});
  EXPECT_EQ(m.engines[0].pe_array_mapper, "greedy");
  EXPECT_EQ(m.engines[1].pe_array_mapper, "search");
}

TEST(Config, EngineKeysAndStagesAreChecked) {
  EXPECT_EQ(error_of("", {"accel.engines=2", "engine2.pe_array.rows=16"}),
            "--set engine2.pe_array.rows: there is no engine 2: accel.engines = 2 (engines 0 to 1)");
  EXPECT_EQ(error_of("", {"accel.engines=2", "engine1.pe_array.rowz=16"}),
            "--set unknown config key 'engine1.pe_array.rowz' (did you mean engine1.pe_array.rows?)");
  EXPECT_EQ(error_of("", {"engine0.model.name=bert-tiny"})
                .rfind("--set engine0.model.name: only an engine's units can differ between engines", 0),
            0u);
  EXPECT_EQ(error_of("", {"accel.engines=2", "engine1.pe_array.rows=x"}),
            "--set engine1.pe_array.rows: expected an unsigned integer up to 4294967295, got 'x'");
  EXPECT_EQ(error_of("", {"accel.engines=2", "engine1.pe_array.rows=0"}),
            "config: engine1.pe_array.rows: must be at least 1, got 0");
  EXPECT_EQ(error_of("", {"accel.engines=0"}), "config: accel.engines: must be in 1..64, got 0");
  EXPECT_EQ(
      error_of("", {"accel.engines=2", "engine1.stage=ffn"}),
      "--set engine1.stage: stages apply to accel.organisation = pipeline (this accelerator is a pool: every "
      "engine serves everything)");
  EXPECT_EQ(error_of("", {"accel.engines=2", "accel.organisation=pipeline", "engine1.stage=fnn"})
                .rfind("--set engine1.stage: expected a comma-separated list of all, attention, ffn", 0),
            0u);
  EXPECT_EQ(
      error_of("", {"accel.engines=2", "accel.organisation=pipeline", "engine0.stage=attention",
                    "engine1.stage=ffn@layers:0-5"}),
      "config: engine<i>.stage: in a pipeline every operation needs an engine, and nothing serves layer 6's "
      "ffn (engine0.stage = attention, engine1.stage = ffn@layers:0-5)");
  const SimConfig p = resolve_config(
      "", {"accel.engines=2", "accel.organisation=pipeline", "engine0.stage=attention", "engine1.stage=ffn"});
  EXPECT_EQ(p.engine_stages, (std::vector<std::string>{"attention", "ffn"}));
}

}  // namespace
}  // namespace tacsim::sim
