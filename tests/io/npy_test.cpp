#include "ecgtwin/io/npy.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/files.hpp"
#include "test_support.hpp"

namespace ecgtwin::io {
namespace {

// The preamble of an NPY 1.0 file, per numpy/lib/format.py: magic, version 1.0, and the
// header length as a little-endian uint16.
std::string preamble_v1(std::size_t header_len) {
  std::string p("\x93NUMPY\x01\x00", 8);
  p.push_back(static_cast<char>(header_len & 0xff));
  p.push_back(static_cast<char>(header_len >> 8));
  return p;
}

template <typename T>
std::string raw_bytes(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

// Whether parse_npy refuses `bytes` with an InputError that says `problem`.
::testing::AssertionResult refused(const std::string& bytes, const std::string& problem) {
  return test::throws_input_error([&] { parse_npy(bytes, "x.npy"); }, {problem});
}

TEST(Npy, EncodeMatchesTheSpecificationByteForByte) {
  // {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } is 59 characters; with the
  // 10-byte preamble and the final '\n', 128 - 70 = 58 spaces pad the header to 128 bytes
  // (the next multiple of 64).
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  ASSERT_EQ(dict.size(), 59u);
  std::string expected = preamble_v1(118) + dict + std::string(58, ' ') + "\n";
  ASSERT_EQ(expected.size(), 128u);
  std::vector<float> values = {0.f, 1.5f, -2.25f, 3.f, 1e-7f, -0.f};
  expected += raw_bytes(values);
  EXPECT_EQ(encode_npy(values.data(), {2, 3}), expected);
}

TEST(Npy, OneDimensionalShapeHasATrailingComma) {
  // Python writes a 1-tuple as "(5,)"; the 57-character dict leaves 60 spaces of padding.
  const std::string dict = "{'descr': '<i2', 'fortran_order': False, 'shape': (5,), }";
  std::vector<std::int16_t> values = {-32768, -1, 0, 1, 32767};
  std::string expected = preamble_v1(118) + dict + std::string(128 - 10 - dict.size() - 1, ' ') +
                         "\n" + raw_bytes(values);
  EXPECT_EQ(encode_npy(values.data(), {5}), expected);
  EXPECT_EQ(expected.size() - values.size() * 2, 128u);
}

template <typename T>
void round_trip(NpyType type, const std::vector<T>& values, const std::vector<std::int64_t>& shape) {
  test::TempDir dir;
  auto path = dir / "a.npy";
  write_npy(path, values.data(), shape);
  NpyArray array = read_npy(path);
  EXPECT_EQ(array.type, type);
  EXPECT_EQ(array.shape, shape);
  ASSERT_EQ(array.size(), static_cast<std::int64_t>(values.size()));
  EXPECT_EQ(array.bytes.size(), values.size() * sizeof(T));
  if (!values.empty())  // memcmp of empty (null) buffers is undefined behaviour
    EXPECT_EQ(std::memcmp(array.bytes.data(), values.data(), array.bytes.size()), 0);
  auto as_double = array.to_double();
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (std::isnan(static_cast<double>(values[i])))
      EXPECT_TRUE(std::isnan(as_double[i]));
    else
      EXPECT_EQ(as_double[i], static_cast<double>(values[i])) << i;
  }
  // The data starts at a multiple of 64 bytes (numpy.lib.format.ARRAY_ALIGN).
  EXPECT_EQ((std::filesystem::file_size(path) - values.size() * sizeof(T)) % 64, 0u);
}

TEST(Npy, RoundTripsEveryDtype) {
  round_trip<float>(NpyType::kFloat32,
                    {1.f, -0.5f, std::numeric_limits<float>::quiet_NaN(),
                     std::numeric_limits<float>::infinity(), 3.25e-30f, 7.f},
                    {3, 2});
  round_trip<double>(NpyType::kFloat64, {0.1, -1e300, 2.0, 1.0 / 3.0}, {2, 1, 2});
  round_trip<std::int16_t>(NpyType::kInt16, {-32768, 32767, 0, 5}, {4});
  round_trip<std::int32_t>(NpyType::kInt32, {std::numeric_limits<std::int32_t>::min(), 1, -7}, {1, 3});
  round_trip<float>(NpyType::kFloat32, {}, {0, 12});
  round_trip<double>(NpyType::kFloat64, {42.0}, {});
}

TEST(Npy, ReadsVersion2HeadersAndAnyKeyOrder) {
  // Version 2.0 has a 4-byte header length; numpy >= 1.23 also leaves spare spaces after
  // the dict. Keys may come in any order.
  std::string dict = "{'shape': (2,), 'fortran_order': False, 'descr': '<f8'}";
  std::string header = dict + std::string(200, ' ');
  std::size_t total = 12 + header.size() + 1;
  header += std::string((64 - total % 64) % 64, ' ') + "\n";
  std::string bytes("\x93NUMPY\x02\x00", 8);
  for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<char>((header.size() >> (8 * i)) & 0xff));
  bytes += header;
  std::vector<double> values = {-1.25, 8.5};
  bytes += raw_bytes(values);
  NpyArray array = parse_npy(bytes, "v2.npy");
  EXPECT_EQ(array.type, NpyType::kFloat64);
  EXPECT_EQ(array.shape, std::vector<std::int64_t>({2}));
  EXPECT_EQ(array.to_float(), std::vector<float>({-1.25f, 8.5f}));
}

std::string with_dict(const std::string& dict, const std::string& data) {
  std::string header = dict + "\n";
  return preamble_v1(header.size()) + header + data;
}

TEST(Npy, RefusesWhatItCannotRead) {
  // Headers over 16 bytes of data, and what the refusal must say.
  const std::vector<std::pair<std::string, std::string>> headers = {
      {"{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", "Fortran"},
      {"{'descr': '>f4', 'fortran_order': False, 'shape': (4,), }", "big-endian"},
      {"{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", "'<i8'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", "truncated"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", "after the array"},
      {"{'descr': '<f4', 'shape': (4,), }", "fortran_order"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (4,-1), }", "bad NPY header"}};
  const std::string four_floats(16, '\0');
  for (const auto& [dict, problem] : headers)
    EXPECT_TRUE(refused(with_dict(dict, four_floats), problem)) << dict;
  EXPECT_TRUE(refused("PK\x03\x04 not npy", "not an NPY file"));
  // A header length beyond the end of the file.
  EXPECT_TRUE(refused(preamble_v1(500) + "{'descr'", "truncated NPY header"));
  // A shape whose byte count overflows.
  EXPECT_THROW(parse_npy(with_dict("{'descr': '<f8', 'fortran_order': False, "
                                   "'shape': (4294967296, 4294967296), }", ""), "x.npy"),
               InputError);
}

TEST(Npy, ErrorsNameTheFile) {
  test::TempDir dir;
  auto path = dir / "short.npy";
  std::vector<float> values(24, 1.f);
  std::string bytes = encode_npy(values.data(), {2, 12});
  util::write_file_atomic(path, bytes.substr(0, bytes.size() - 3));
  EXPECT_TRUE(test::throws_input_error([&] { read_npy(path); }, {path.string(), "truncated"}));
  EXPECT_THROW(read_npy(dir / "missing.npy"), InputError);
}

}  // namespace
}  // namespace ecgtwin::io
