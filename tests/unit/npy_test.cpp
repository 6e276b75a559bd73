#include "workloads/sparsity/npy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "modules/common/error.h"
#include "tests/support/errors.h"

namespace tacsim::sparsity {
namespace {

using testing_support::contains;
using testing_support::error_of;

using Bytes = std::vector<std::uint8_t>;

// A .npy file as numpy.save writes it: magic, version, header length (2 bytes for 1.0, 4 for 2.0 and 3.0),
// the dict padded with spaces and ended by '\n' so the data starts on a multiple of 64, then the data.
Bytes npy_file(int major, const std::string& dict, const Bytes& data) {
  Bytes out = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<std::uint8_t>(major), 0};
  const std::size_t len_size = major == 1 ? 2 : 4;
  std::string header = dict;
  while ((out.size() + len_size + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  for (std::size_t i = 0; i < len_size; ++i)
    out.push_back(static_cast<std::uint8_t>(header.size() >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

TEST(Npy, ReadsAVersion1Int8FileWrittenByHand) {
  // Every byte spelled out: 10-byte preamble + 118-byte header = 128, then 6 int8 values.
  std::string dict = "{'descr': '|i1', 'fortran_order': False, 'shape': (2, 3), }";
  dict.resize(117, ' ');
  dict += '\n';
  Bytes file = {0x93, 'N', 'U', 'M', 'P', 'Y', 0x01, 0x00, 118, 0};
  file.reserve(128 + 6);
  file.insert(file.end(), dict.begin(), dict.end());
  file.insert(file.end(), {0x01, 0xFF, 0x7F, 0x80, 0x00, 0x05});
  const NpyArray a = parse_npy(file, "w.npy");
  EXPECT_EQ(a.dtype, NpyDtype::kInt8);
  EXPECT_EQ(a.shape, (std::vector<std::uint64_t>{2, 3}));
  EXPECT_EQ(a.shape_text(), "(2, 3)");
  const Int8Matrix m = npy_to_int8_matrix(a, 2, 3);
  EXPECT_EQ(m.data, (std::vector<std::int8_t>{1, -1, 127, -128, 0, 5}));
}

TEST(Npy, Version2Float32AndVersion3Uint8) {
  // 1.0f = 0x3F800000, -2.5f = 0xC0200000, little-endian.
  const Bytes f32 = npy_file(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }",
                             {0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x20, 0xC0});
  EXPECT_EQ(f32.size(), 128u + 8u);  // 12-byte preamble + 59-byte dict + '\n' = 72, padded to 128; + 2 floats
  const FloatMatrix f = npy_to_float_matrix(parse_npy(f32, "f.npy"));
  EXPECT_EQ(f.data, (std::vector<float>{1.0f, -2.5f}));
  // Version 3.0 headers are UTF-8; keys may come in any order and with double quotes.
  const Bytes u8 =
      npy_file(3, "{\"shape\": (2, 2), \"fortran_order\": False, \"descr\": \"|u1\"}", {0, 200, 3, 127});
  const NpyArray a = parse_npy(u8, "u.npy");
  EXPECT_EQ(a.dtype, NpyDtype::kUint8);
  EXPECT_EQ(npy_to_mask(a).keep, (std::vector<std::uint8_t>{0, 1, 1, 1}));
  const std::string err = error_of([&] { npy_to_int8_matrix(a); });
  EXPECT_EQ(err, "u.npy: element (0, 1) of uint8 is 200.000000, not an int8 value; int8 weights expected");
}

TEST(Npy, BoolMaskAndFloat16) {
  const NpyArray b = parse_npy(
      npy_file(1, "{'descr': '|b1', 'fortran_order': False, 'shape': (2, 2), }", {1, 0, 0, 1}), "m.npy");
  EXPECT_EQ(b.dtype, NpyDtype::kBool);
  EXPECT_EQ(npy_to_mask(b, 2, 2).keep, (std::vector<std::uint8_t>{1, 0, 0, 1}));
  EXPECT_EQ(npy_to_int8_matrix(b).data, (std::vector<std::int8_t>{1, 0, 0, 1}));
  // float16: 1.0 = 0x3C00, -2.0 = 0xC000, 0.5 = 0x3800, 65504 = 0x7BFF (largest), 2^-24 = 0x0001 (smallest
  // subnormal), +inf = 0x7C00.
  const NpyArray h =
      parse_npy(npy_file(1, "{'descr': '<f2', 'fortran_order': False, 'shape': (1, 6), }",
                         {0x00, 0x3C, 0x00, 0xC0, 0x00, 0x38, 0xFF, 0x7B, 0x01, 0x00, 0x00, 0x7C}),
                "h.npy");
  const FloatMatrix f = npy_to_float_matrix(h, 1, 6);
  EXPECT_EQ(f.data[0], 1.0f);
  EXPECT_EQ(f.data[1], -2.0f);
  EXPECT_EQ(f.data[2], 0.5f);
  EXPECT_EQ(f.data[3], 65504.0f);
  EXPECT_EQ(f.data[4], std::ldexp(1.0f, -24));
  EXPECT_TRUE(std::isinf(f.data[5]));
  EXPECT_TRUE(std::isnan(half_to_float(0x7E00)));
  EXPECT_EQ(half_to_float(0x8000), -0.0f);
  EXPECT_EQ(half_to_float(0x03FF), std::ldexp(1023.0f, -24));  // largest subnormal
  // Float weights that hold integers read as int8; fractions do not.
  const NpyArray whole = parse_npy(
      npy_file(1, "{'descr': '<f2', 'fortran_order': False, 'shape': (1, 2), }", {0x00, 0x3C, 0x00, 0xC0}),
      "i.npy");
  EXPECT_EQ(npy_to_int8_matrix(whole).data, (std::vector<std::int8_t>{1, -2}));
  EXPECT_TRUE(contains(error_of([&] { npy_to_int8_matrix(h); }),
                       "element (0, 2) of float16 is 0.500000, not an int8 value"));
}

TEST(Npy, FortranOrderIsReorderedToC) {
  // The 2 x 3 matrix [[1, 2, 3], [4, 5, 6]] in Fortran order is stored column by column: 1 4 2 5 3 6.
  const NpyArray a = parse_npy(
      npy_file(1, "{'descr': '|i1', 'fortran_order': True, 'shape': (2, 3), }", {1, 4, 2, 5, 3, 6}), "f.npy");
  EXPECT_EQ(npy_to_int8_matrix(a).data, (std::vector<std::int8_t>{1, 2, 3, 4, 5, 6}));
  // 3-D, shape (2, 2, 2): element (i, j, k) = 100 i + 10 j + k sits at Fortran offset i + 2 j + 4 k.
  Bytes data(8);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j)
      for (int k = 0; k < 2; ++k) data[i + 2 * j + 4 * k] = static_cast<std::uint8_t>(100 * i + 10 * j + k);
  const NpyArray c =
      parse_npy(npy_file(1, "{'descr': '|u1', 'fortran_order': True, 'shape': (2, 2, 2), }", data), "c.npy");
  EXPECT_EQ(c.data, (Bytes{0, 1, 10, 11, 100, 101, 110, 111}));
}

TEST(Npy, BigEndianIsSwapped) {
  // int32 258 = 0x00000102 big-endian; float32 1.0 = 3F 80 00 00 big-endian.
  const NpyArray i = parse_npy(
      npy_file(1, "{'descr': '>i4', 'fortran_order': False, 'shape': (1, 1), }", {0, 0, 1, 2}), "b.npy");
  EXPECT_EQ(i.value(0), 258.0);
  const NpyArray f = parse_npy(
      npy_file(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", {0x3F, 0x80, 0, 0}), "b.npy");
  EXPECT_EQ(f.value(0), 1.0);
  EXPECT_EQ(f.shape_text(), "(1,)");
}

TEST(Npy, ScalarAndEmptyShapes) {
  const NpyArray s = parse_npy(
      npy_file(1, "{'descr': '<i2', 'fortran_order': False, 'shape': (), }", {0xFE, 0xFF}), "s.npy");
  EXPECT_EQ(s.element_count(), 1u);
  EXPECT_EQ(s.value(0), -2.0);
  const NpyArray e =
      parse_npy(npy_file(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 4), }", {}), "e.npy");
  EXPECT_EQ(e.element_count(), 0u);
  EXPECT_EQ(npy_to_float_matrix(e).rows, 0);
}

TEST(Npy, RejectsMalformedFilesNamingTheProblem) {
  const std::string ok = "{'descr': '|i1', 'fortran_order': False, 'shape': (2, 2), }";
  const Bytes data = {1, 2, 3, 4};
  auto err = [](const Bytes& b) { return error_of([&] { parse_npy(b, "x.npy"); }); };

  EXPECT_EQ(err({'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0}),
            "x.npy: not a .npy file (it does not start with \"\\x93NUMPY\" and a version)");
  Bytes v4 = npy_file(1, ok, data);
  v4[6] = 4;
  EXPECT_EQ(err(v4), "x.npy: unsupported .npy format version 4.0 (supported: 1.0, 2.0, 3.0)");
  Bytes v11 = npy_file(1, ok, data);
  v11[7] = 1;
  EXPECT_TRUE(contains(err(v11), "unsupported .npy format version 1.1"));
  const Bytes full = npy_file(1, ok, data);
  EXPECT_EQ(err(Bytes(full.begin(), full.begin() + 9)), "x.npy: truncated .npy preamble");
  EXPECT_EQ(err(Bytes(full.begin(), full.begin() + 40)),
            "x.npy: truncated .npy header: it declares 118 bytes, the file has 30");
  EXPECT_EQ(err(Bytes(full.begin(), full.end() - 1)),
            "x.npy: truncated data: shape (2, 2) of int8 needs 4 bytes, the file has 3 after the header");
  Bytes longer = full;
  longer.push_back(0);
  EXPECT_EQ(err(longer), "x.npy: 1 unexpected bytes after the array data (shape (2, 2) of int8)");

  EXPECT_TRUE(contains(err(npy_file(1, "['descr']", data)),
                       "x.npy: malformed .npy header at header offset 0: expected '{'"));
  EXPECT_TRUE(
      contains(err(npy_file(1, "{'descr': '|i1', 'shape': (2, 2), }", data)), "missing key 'fortran_order'"));
  EXPECT_TRUE(
      contains(err(npy_file(1, "{'descr': '|i1', 'fortran_order': False, 'shape': (2, 2), 'x': 1}", data)),
               "unknown key 'x'"));
  EXPECT_TRUE(contains(
      err(npy_file(1, "{'descr': '|i1', 'descr': '|i1', 'fortran_order': False, 'shape': (2, 2)}", data)),
      "key 'descr' appears twice"));
  EXPECT_TRUE(contains(err(npy_file(1, "{'descr': '|i1', 'fortran_order': 0, 'shape': (2, 2)}", data)),
                       "fortran_order must be True or False"));
  EXPECT_TRUE(contains(err(npy_file(1, "{'descr': '|i1', 'fortran_order': False, 'shape': (2, -2)}", data)),
                       "shape entries must be non-negative integers"));
  EXPECT_TRUE(contains(err(npy_file(1, "{'descr': '|i1', 'fortran_order': False, 'shape': (2 2)}", data)),
                       "expected ',' or ')' in the shape tuple"));
  EXPECT_TRUE(contains(err(npy_file(1, "{'descr': '|i1', 'fortran_order': False, 'shape': (2, 2)} x", data)),
                       "unexpected text after the dict"));
  EXPECT_TRUE(contains(err(npy_file(1, "{'descr: '|i1'}", data)), "malformed .npy header"));

  EXPECT_TRUE(contains(err(npy_file(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (2, 2), }", data)),
                       "x.npy: unsupported dtype '<c8' (supported: '|b1' bool"));
  EXPECT_TRUE(contains(err(npy_file(1, "{'descr': '<U4', 'fortran_order': False, 'shape': (2, 2), }", data)),
                       "unsupported dtype '<U4'"));
  EXPECT_TRUE(contains(err(npy_file(1, "{'descr': '|f4', 'fortran_order': False, 'shape': (1, 1), }", data)),
                       "'|' (no byte order) is only valid for one-byte types"));
  EXPECT_TRUE(
      contains(err(npy_file(1, "{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (1,), }", data)),
               "unsupported dtype: structured arrays"));
}

TEST(Npy, MatrixViewsCheckTheShape) {
  const NpyArray a = parse_npy(
      npy_file(1, "{'descr': '|i1', 'fortran_order': False, 'shape': (2, 3), }", {1, 2, 3, 4, 5, 6}),
      "w.npy");
  EXPECT_EQ(error_of([&] { npy_to_int8_matrix(a, 768, 768); }), "w.npy: shape (2, 3), expected (768, 768)");
  EXPECT_EQ(error_of([&] { npy_to_mask(a, -1, 4); }), "w.npy: shape (2, 3), expected (any, 4)");
  const NpyArray v = parse_npy(
      npy_file(1, "{'descr': '|i1', 'fortran_order': False, 'shape': (6,), }", {1, 2, 3, 4, 5, 6}), "v.npy");
  EXPECT_EQ(error_of([&] { npy_to_float_matrix(v); }),
            "v.npy: expected a 2-D array (out, in), got shape (6,)");
}

TEST(Npy, ReadsFromAFileAndNamesAMissingOne) {
  const std::string path = testing::TempDir() + "tacsim_npy_test.npy";
  const Bytes file =
      npy_file(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), }", {0, 0, 0x80, 0x3F});
  {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
  }
  EXPECT_EQ(npy_to_float_matrix(read_npy(path)).data, (std::vector<float>{1.0f}));
  std::remove(path.c_str());
  const std::string err = error_of([&] { read_npy(path); });
  EXPECT_EQ(err, path + ": cannot open .npy file (no such file)");
}

}  // namespace
}  // namespace tacsim::sparsity
