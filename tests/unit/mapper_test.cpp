// The mapper interface (workloads/mapper.h): the factory's choice of datapath, and each implementation
// keeping the contract: programs on one datapath, operands where the contract puts them, limits as
// InputError.
#include <gtest/gtest.h>

#include <algorithm>

#include "modules/common/error.h"
#include "workloads/mapper.h"

namespace tacsim::workloads {
namespace {

EngineShape engine() {
  EngineShape e;
  e.pe_array.rows = 16;
  e.pe_array.cols = 16;
  e.act_half_bytes = 64 * 1024;
  e.weight_half_bytes = 64 * 1024;
  e.out_half_bytes = 8 * 1024;
  e.hp_datapath.bank.banks = 8;  // 16 row engines, 4 ports: HP keeps k <= 8 x 4 / 16 = 2
  return e;
}

GemmParams gemm(const std::string& sparsity) {
  GemmParams g;
  g.m = 40;
  g.n = 64;
  g.k = 128;
  g.sparsity = parse_weight_sparsity(sparsity);
  return g;
}

std::vector<std::int8_t> values(std::size_t n, int salt) {
  std::vector<std::int8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::int8_t>((i * 37 + salt) % 255 - 127);
  return v;
}

TEST(Mapper, TheFactoryPicksTheDatapathOfTheFormat) {
  EXPECT_EQ(make_mapper(WeightFormat::kDense, engine())->datapath(), Datapath::kPeArray);
  EXPECT_EQ(make_mapper(WeightFormat::kNm, engine())->datapath(), Datapath::kPeArray);
  EXPECT_EQ(make_mapper(WeightFormat::kHp, engine())->datapath(), Datapath::kHp);
  EXPECT_EQ(make_mapper(WeightFormat::kUnstructured, engine())->datapath(), Datapath::kHp);
  EXPECT_EQ(parse_weight_sparsity("dense").format, WeightFormat::kDense);
  EXPECT_EQ(parse_weight_sparsity("4:4").text(), "dense");
  EXPECT_EQ(parse_weight_sparsity("2:4").format, WeightFormat::kNm);
  EXPECT_EQ(parse_weight_sparsity(" 2:4 ").text(), "2:4");
  EXPECT_EQ(parse_weight_sparsity("hp").format, WeightFormat::kHp);
  EXPECT_EQ(parse_weight_sparsity("unstructured").format, WeightFormat::kUnstructured);
  EXPECT_THROW(parse_weight_sparsity("sparse"), InputError);
}

TEST(Mapper, PeArrayKeepsTheCallersLayoutAndPrunesWhatItIsGiven) {
  const GemmParams g = gemm("2:4");
  const auto mapper = make_mapper(g.sparsity.format, engine());
  GemmTask task;
  task.gemm = g;
  task.layout = layout_gemm(g, 1 << 20);
  const MappedGemm timing = mapper->map(task);
  EXPECT_TRUE(timing.images.empty());  // a model's tensors are already in memory
  EXPECT_TRUE(timing.weights.empty());
  EXPECT_EQ(timing.program.tiles.size(), 3u * 4);  // ceil(40 / 16) x 64 / 16
  EXPECT_TRUE(timing.program.hp_tiles.empty());
  EXPECT_EQ(timing.c_address, task.layout.c_address);

  const auto a = values(std::size_t{g.m} * g.k, 1), w = values(std::size_t{g.n} * g.k, 2);
  task.a = &a;
  task.w = &w;
  const MappedGemm alone = mapper->map(task);
  ASSERT_EQ(alone.images.size(), 2u);
  EXPECT_EQ(alone.images[0].address, task.layout.a_address);
  EXPECT_EQ(alone.images[0].bytes.size(), a.size());
  EXPECT_EQ(alone.images[1].address, task.layout.w_address);
  // 2:4 rows: 64 values then 64 two-bit indices (16 bytes) per row of 128.
  EXPECT_EQ(alone.images[1].bytes.size(), std::size_t{g.n} * (64 + 16));
  ASSERT_EQ(alone.weights.size(), w.size());
  for (std::size_t g0 = 0; g0 < w.size(); g0 += 4)
    EXPECT_LE(std::count_if(alone.weights.begin() + g0, alone.weights.begin() + g0 + 4,
                            [](auto x) { return x != 0; }),
              2);
  // The same program either way: values do not change the tiling.
  EXPECT_EQ(alone.tiling, timing.tiling);
}

TEST(Mapper, HpLaysOutItsOwnOperandsFromScratch) {
  for (const char* sparsity : {"hp", "unstructured"}) {
    const GemmParams g = gemm(sparsity);
    const auto mapper = make_mapper(g.sparsity.format, engine());
    GemmTask task;
    task.gemm = g;
    task.scratch = 3 << 20;
    task.seed = 7;
    const MappedGemm timing = mapper->map(task);
    EXPECT_TRUE(timing.program.tiles.empty()) << sparsity;
    EXPECT_FALSE(timing.program.hp_tiles.empty()) << sparsity;
    ASSERT_EQ(timing.images.size(), 1u) << sparsity;  // the encoded weights: the walk depends on them
    EXPECT_GE(timing.images[0].address, task.scratch);
    EXPECT_GE(timing.c_address, task.scratch);
    EXPECT_EQ(timing.end, timing.c_address + std::uint64_t{g.m} * g.n * 4);
    for (const auto& l : timing.program.act_loads)
      for (const auto& b : l.blocks) EXPECT_GE(b.address, task.scratch);
    for (const auto& b : timing.program.writebacks) EXPECT_GE(b.address, timing.c_address);

    // The weights drawn from the seed are the ones a caller passes after drawing them the same way.
    const auto a = values(std::size_t{g.m} * g.k, 3);
    GemmParams dense = g;
    dense.sparsity = {};
    const auto w = make_operands(dense, task.seed).w;
    task.a = &a;
    task.w = &w;
    const MappedGemm alone = mapper->map(task);
    ASSERT_EQ(alone.images.size(), 2u) << sparsity;  // A^T, then the weights
    EXPECT_EQ(alone.images[0].bytes.size(), a.size());
    EXPECT_EQ(alone.images[1].bytes, timing.images[0].bytes) << sparsity;
    const auto kept =
        std::count_if(alone.weights.begin(), alone.weights.end(), [](auto x) { return x != 0; });
    EXPECT_NEAR(double(kept) / double(w.size()), 0.1, 0.02) << sparsity;  // target_sparsity 0.9
  }
}

TEST(Mapper, HpFitsALongReductionWithFewerTokensAndSharesEachWeightLoad) {
  // K = 6144 on a 64 KiB half: the array's 16 tokens would need 96 KiB, 10 fit (60 KiB), so the 40 tokens go
  // in 4 blocks of 10, one block per group.
  GemmParams g = gemm("hp");
  g.k = 6144;
  const auto mapper = make_mapper(g.sparsity.format, engine());
  GemmTask task;
  task.gemm = g;
  const MappedGemm m = mapper->map(task);
  ASSERT_EQ(m.program.act_loads.size(), 4u);
  for (const auto& l : m.program.act_loads) EXPECT_EQ(l.bytes(), 10u * 6144);
  for (const auto& t : m.program.hp_tiles) EXPECT_EQ(t.tokens, 10u);
  // K = 3072: 16 tokens fit (48 KiB); 40 tokens in ceil(40 / 16) = 3 blocks, balanced to 14, 14 and 12.
  g.k = 3072;
  task.gemm = g;
  const MappedGemm even = mapper->map(task);
  ASSERT_EQ(even.program.act_loads.size(), 3u);
  EXPECT_EQ(even.program.act_loads[0].bytes(), 14u * 3072);
  EXPECT_EQ(even.program.act_loads[2].bytes(), 12u * 3072);
  // K = 128: the 3 token blocks (14, 14, 12 tokens) are one group: each weight load serves the 3 of them.
  g.k = 128;
  task.gemm = g;
  const MappedGemm shared = mapper->map(task);
  ASSERT_EQ(shared.program.act_loads.size(), 1u);
  EXPECT_EQ(shared.program.act_loads[0].blocks.size(), 1u);  // A^T by token block: one contiguous load
  EXPECT_EQ(shared.program.act_loads[0].uses, shared.program.hp_tiles.size());
  for (const auto& l : shared.program.weight_loads) EXPECT_EQ(l.uses, 3u);
  EXPECT_EQ(shared.program.hp_tiles.size(), 3u * shared.program.weight_loads.size());
  EXPECT_EQ(shared.program.hp_tiles[1].act_offset, 14u * 128);  // the group's second token block
  EXPECT_EQ(shared.program.hp_tiles[1].weight_half, shared.program.hp_tiles[0].weight_half);
}

TEST(Mapper, HpRowEnginesMustDivideTheBlockRows) {
  EngineShape e = engine();
  e.hp_datapath.row_engines = 6;
  GemmTask task;
  task.gemm = gemm("hp");
  try {
    make_mapper(WeightFormat::kHp, e)->map(task);
    ADD_FAILURE() << "6 row engines accepted for 16-row HP blocks";
  } catch (const InputError& err) {
    EXPECT_EQ(std::string(err.what())
                  .rfind("hp_datapath.row_engines: 6 does not divide sparsity.hp_block_rows = 16", 0),
              0u)
        << err.what();
  }
  task.gemm = gemm("unstructured");  // any engine count walks unstructured weights
  EXPECT_FALSE(make_mapper(WeightFormat::kUnstructured, e)->map(task).program.hp_tiles.empty());
}

TEST(Mapper, AGemmThatDoesNotFitNamesTheBuffer) {
  EngineShape small = engine();
  small.act_half_bytes = 32;  // less than one 16-row chunk of 4 activations
  for (const char* sparsity : {"dense", "hp"}) {
    GemmTask task;
    task.gemm = gemm(sparsity);
    task.layout = layout_gemm(task.gemm);
    try {
      make_mapper(parse_weight_sparsity(sparsity).format, small)->map(task);
      ADD_FAILURE() << sparsity << " mapped onto a 32-byte act buffer half";
    } catch (const InputError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("act_buffer.capacity_kib: ", 0), 0u) << e.what();
    }
  }
}

}  // namespace
}  // namespace tacsim::workloads
