// The ablation (issue 15): each mechanism that makes the modelled machine faster is a config switch, on by
// default. Turning any one off must give the figures without it or worse, never better; all of them off is
// the machine before them (the regression case tinybert4-all-off holds those figures).
#include <cstdint>
#include <string>

#include "tests/support/system_test.h"

namespace {

using namespace tacsim::testing_support;

class AblationTest : public SystemTest {
 protected:
  struct Figures {
    std::uint64_t cycles = 0;
    double pe_utilization = 0;
  };
  Figures run(const std::string& args, const std::string& out) {
    const Result r = tacsim("run -q " + args + " --out " + (dir_ / out).string());
    EXPECT_EQ(r.code, 0) << args << "\n" << r.err;
    const auto s = stats(out)["summary"];
    EXPECT_EQ(s["check"], "pass") << args;
    return {s["cycles"].get<std::uint64_t>(), s["pe_utilization"].get<double>()};
  }
  void no_faster(const std::string& workload, const std::string& on_args, const std::string& off_args) {
    const Figures on = run(workload + on_args, "on");
    const Figures off = run(workload + on_args + off_args, "off");
    EXPECT_GE(off.cycles, on.cycles) << workload << on_args << " with" << off_args;
    EXPECT_LE(off.pe_utilization, on.pe_utilization) << workload << on_args << " with" << off_args;
  }
  // The searching mapper's choices depend on the other switches, and its estimate can rank two tilings
  // within a fraction of a percent the wrong way round; so the drain overlap, which changes no tiling by
  // itself, is compared under the greedy mapper, the others from the default.
  void each_switch_off_is_no_faster(const std::string& workload, bool drain_overlap = true) {
    for (const char* off : {" --set pe_array.partial_sums=false", " --set pe_array.mapper=greedy",
                            " --set sfu.fuse_epilogues=false", " --set controller.overlap_operations=false"})
      no_faster(workload, "", off);
    if (drain_overlap)
      no_faster(workload, " --set pe_array.mapper=greedy", " --set pe_array.overlap_drain=false");
  }
};

// Values checked: fusion cuts the GEMMs into blocks (128 tokens: four of 32 rows), the mapper picks tilings
// with two chunks in both halves, partial sums and two accumulator sets change when outputs are written.
TEST_F(AblationTest, EachSwitchOffIsNoFasterOnAModel) {
  each_switch_off_is_no_faster("--model tinybert-4 --seq-len 128 --check");
}

// The GEMM: short 2:4 tiles, where the search matters most: its estimate charges the DRAM rows each
// strided int32 output row opens, so it keeps the tilings whose write-backs do not bound the run, and there
// the drain overlap changes nothing. (Under the greedy mapper the run is bound by those write-backs, 65 of
// 256 GB/s: with pe_array.overlap_drain the array runs ahead and its extra reads meet the writes in the DRAM,
// 55854 cycles against 54746 without; the drain overlap cannot help a run its memory bounds.)
TEST_F(AblationTest, EachSwitchOffIsNoFasterOnAGemm) {
  const std::string gemm =
      "--workload gemm --set gemm.m=512 --set gemm.n=1024 --set gemm.k=512 --set gemm.sparsity=2:4";
  each_switch_off_is_no_faster(gemm, false);
  no_faster(gemm, "", " --set pe_array.overlap_drain=false");
}

// The SFU's widths (README: the table under the ablation): a wider softmax and vector unit is never slower,
// computes the same values, and costs area.
TEST_F(AblationTest, AWiderSfuIsNoSlowerAndCostsArea) {
  const std::string model = "--model tinybert-4 --seq-len 128 --check";
  const Figures narrow = run(model, "narrow");
  const double narrow_area = stats("narrow")["summary"]["area_mm2"].get<double>();
  const Figures wide = run(model + " --set sfu.softmax.lanes=64 --set sfu.vector.lanes=64", "wide");
  EXPECT_LT(wide.cycles, narrow.cycles);
  EXPECT_GT(stats("wide")["summary"]["area_mm2"].get<double>(), narrow_area);
}

// Top-k attention's next-head read (topk_unit.prefetch_next_head): a head's Q, K and V are read while the
// head before it computes, on the engine the scheduler chained it to. On the only engine serving attention
// in a pipeline (as on a single engine) the chain is a hint, and several batches in flight may take a head
// out of turn: that read is counted unused. In a pool the chained head is reserved for the engine, so none
// is unused. Off, nothing is read ahead, the scheduler chooses as before, and the run is slower.
TEST_F(AblationTest, TopkNextHeadPrefetchInAPipelineAndAPool) {
  const std::string model =
      "--model tinybert-4 --seq-len 32,64,48,128,16,96 --batch 1 --set model.topk=8 --check --engines 2";
  const std::string pipeline =
      " --set accel.organisation=pipeline --set engine0.stage=attention --set engine1.stage=ffn";
  const std::string off = " --set topk_unit.prefetch_next_head=false";
  auto unit = [this](const std::string& out, int engine, const char* counter) {
    return stats(out)["modules"]["accel.engine" + std::to_string(engine) + ".topk_unit"][counter]
        .get<std::uint64_t>();
  };
  auto both = [&](const std::string& out, const char* counter) {
    return unit(out, 0, counter) + unit(out, 1, counter);
  };
  // 6 sequences x 4 layers x 12 heads; each layer's first head of a batch has no head before it.
  const std::uint64_t heads = 6 * 4 * 12, firsts = 6 * 4;

  EXPECT_LT(run(model + pipeline, "pipeline").cycles, run(model + pipeline + off, "pipeline-off").cycles);
  EXPECT_EQ(unit("pipeline", 0, "heads"), heads);
  EXPECT_EQ(unit("pipeline", 1, "heads"), 0u);  // the FFN engine
  EXPECT_EQ(both("pipeline", "prefetched_heads") + both("pipeline", "prefetches_unused"), heads - firsts);
  EXPECT_GT(both("pipeline", "prefetched_heads"), 9 * heads / 10);
  EXPECT_EQ(both("pipeline-off", "prefetched_heads"), 0u);

  EXPECT_LT(run(model, "pool").cycles, run(model + off, "pool-off").cycles);
  EXPECT_EQ(both("pool", "heads"), heads);
  EXPECT_GT(unit("pool", 0, "prefetched_heads"), 0u);
  EXPECT_GT(unit("pool", 1, "prefetched_heads"), 0u);
  EXPECT_GT(both("pool", "prefetched_heads"), heads / 2);
  EXPECT_EQ(both("pool", "prefetches_unused"), 0u);
  EXPECT_EQ(both("pool-off", "prefetched_heads"), 0u);
}

}  // namespace
