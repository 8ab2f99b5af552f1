#pragma once
// NumPy .npy files (format version 1.0/2.0/3.0 read, 1.0 written): float32, float64, int16,
// int32, little-endian, C order. Anything else is an InputError naming the file.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace ecgtwin::io {

enum class NpyType { kFloat32, kFloat64, kInt16, kInt32 };

struct NpyArray {
  NpyType type = NpyType::kFloat32;
  std::vector<std::int64_t> shape;
  std::vector<char> bytes;  // little-endian, C order
  std::int64_t size() const;
  std::vector<float> to_float() const;
  std::vector<double> to_double() const;
};

NpyArray parse_npy(std::string_view bytes, const std::string& source);
NpyArray read_npy(const std::filesystem::path& path);

std::string encode_npy(const float* data, const std::vector<std::int64_t>& shape);
std::string encode_npy(const double* data, const std::vector<std::int64_t>& shape);
std::string encode_npy(const std::int16_t* data, const std::vector<std::int64_t>& shape);
std::string encode_npy(const std::int32_t* data, const std::vector<std::int64_t>& shape);
// Atomic writes.
void write_npy(const std::filesystem::path& path, const float* data,
               const std::vector<std::int64_t>& shape);
void write_npy(const std::filesystem::path& path, const double* data,
               const std::vector<std::int64_t>& shape);
void write_npy(const std::filesystem::path& path, const std::int16_t* data,
               const std::vector<std::int64_t>& shape);
void write_npy(const std::filesystem::path& path, const std::int32_t* data,
               const std::vector<std::int64_t>& shape);

}  // namespace ecgtwin::io
