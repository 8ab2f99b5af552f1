// NumPy .npy files, from the format description in numpy/lib/format.py ("NPY format"):
// magic "\x93NUMPY", major and minor version bytes, a little-endian header length (2 bytes in
// version 1.0, 4 bytes in 2.0 and 3.0), an ASCII (3.0: UTF-8) Python dict literal with the
// keys 'descr', 'fortran_order' and 'shape', padded with spaces and ended by '\n' so that the
// data starts at a multiple of 64 bytes, then the raw array data.
#include "ecgtwin/io/npy.hpp"

#include <cstring>
#include <limits>

#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/files.hpp"

namespace ecgtwin::io {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicSize = 6;
// numpy.lib.format.ARRAY_ALIGN: the data offset is a multiple of this.
constexpr std::size_t kAlign = 64;

std::size_t item_size(NpyType type) {
  switch (type) {
    case NpyType::kFloat32: return 4;
    case NpyType::kFloat64: return 8;
    case NpyType::kInt16: return 2;
    case NpyType::kInt32: return 4;
  }
  return 0;
}

const char* descr_of(NpyType type) {
  switch (type) {
    case NpyType::kFloat32: return "<f4";
    case NpyType::kFloat64: return "<f8";
    case NpyType::kInt16: return "<i2";
    case NpyType::kInt32: return "<i4";
  }
  return "";
}

// A tiny reader for the header's dict literal: only what numpy writes (strings, True/False,
// tuples of integers), keys in any order, any spacing.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& source) : text_(text), source_(source) {}

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }
  bool consume(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!consume(c)) fail(std::string("expected '") + c + "'");
  }
  std::string string_literal() {
    skip_space();
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) fail("expected a string");
    char quote = text_[pos_++];
    std::size_t end = text_.find(quote, pos_);
    if (end == std::string_view::npos) fail("unterminated string");
    std::string value(text_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return value;
  }
  bool boolean() {
    skip_space();
    if (text_.substr(pos_, 4) == "True") {
      pos_ += 4;
      return true;
    }
    if (text_.substr(pos_, 5) == "False") {
      pos_ += 5;
      return false;
    }
    fail("expected True or False");
  }
  std::vector<std::int64_t> shape() {
    expect('(');
    std::vector<std::int64_t> dims;
    while (!consume(')')) {
      skip_space();
      std::int64_t value = 0;
      std::size_t digits = 0;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
        if (value > (std::numeric_limits<std::int64_t>::max() - 9) / 10) fail("shape too large");
        value = value * 10 + (text_[pos_++] - '0');
        ++digits;
      }
      skip_space();
      // numpy writes "3L" in headers made by Python 2.
      if (pos_ < text_.size() && text_[pos_] == 'L') ++pos_;
      if (digits == 0) fail("expected a non-negative integer in 'shape'");
      dims.push_back(value);
      if (!consume(',')) {
        expect(')');
        break;
      }
    }
    return dims;
  }
  bool at_end() {
    skip_space();
    return pos_ == text_.size();
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(source_, "bad NPY header (" + what + " at offset " + std::to_string(pos_) +
                                  " of \"" + std::string(text_) + "\")");
  }

 private:
  std::string_view text_;
  const std::string& source_;
  std::size_t pos_ = 0;
};

NpyType parse_descr(const std::string& descr, const std::string& source) {
  if (!descr.empty() && descr[0] == '>')
    throw InputError(source, "NPY data is big-endian ('" + descr +
                                 "'); only little-endian float32, float64, int16 and int32 "
                                 "are supported");
  if (descr == "<f4") return NpyType::kFloat32;
  if (descr == "<f8") return NpyType::kFloat64;
  if (descr == "<i2") return NpyType::kInt16;
  if (descr == "<i4") return NpyType::kInt32;
  throw InputError(source, "NPY dtype '" + descr +
                               "' is not supported (expected '<f4', '<f8', '<i2' or '<i4')");
}

template <typename T>
std::vector<T> convert(const NpyArray& array) {
  std::vector<T> out(static_cast<std::size_t>(array.size()));
  const char* p = array.bytes.data();
  auto copy = [&](auto sample) {
    using S = decltype(sample);
    for (std::size_t i = 0; i < out.size(); ++i) {
      S value;
      std::memcpy(&value, p + i * sizeof(S), sizeof(S));
      out[i] = static_cast<T>(value);
    }
  };
  switch (array.type) {
    case NpyType::kFloat32: copy(float{}); break;
    case NpyType::kFloat64: copy(double{}); break;
    case NpyType::kInt16: copy(std::int16_t{}); break;
    case NpyType::kInt32: copy(std::int32_t{}); break;
  }
  return out;
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string text = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) text += ", ";
    text += std::to_string(shape[i]);
  }
  if (shape.size() == 1) text += ",";
  return text + ")";
}

std::int64_t checked_size(const std::vector<std::int64_t>& shape, const std::string& source) {
  std::int64_t count = 1;
  for (auto dim : shape) {
    if (dim < 0) throw InputError(source, "NPY shape has a negative dimension");
    if (dim != 0 && count > std::numeric_limits<std::int64_t>::max() / 8 / dim)
      throw InputError(source, "NPY shape " + shape_text(shape) + " is too large");
    count *= dim;
  }
  return count;
}

std::string encode(NpyType type, const void* data, const std::vector<std::int64_t>& shape) {
  std::int64_t count = checked_size(shape, "encode_npy");
  std::string dict = std::string("{'descr': '") + descr_of(type) +
                     "', 'fortran_order': False, 'shape': " + shape_text(shape) + ", }";
  // Preamble: magic (6) + version (2) + header length (2) for format 1.0.
  std::size_t unpadded = kMagicSize + 4 + dict.size() + 1;
  std::size_t padding = (kAlign - unpadded % kAlign) % kAlign;
  std::string header = dict + std::string(padding, ' ') + '\n';
  std::string out;
  std::size_t data_bytes = static_cast<std::size_t>(count) * item_size(type);
  out.reserve(kMagicSize + 4 + header.size() + data_bytes);
  out.append(kMagic, kMagicSize);
  out.push_back('\x01');
  out.push_back('\x00');
  if (header.size() > 0xffff) throw InputError("encode_npy", "shape too long for an NPY 1.0 header");
  out.push_back(static_cast<char>(header.size() & 0xff));
  out.push_back(static_cast<char>((header.size() >> 8) & 0xff));
  out += header;
  // The data is little-endian: this build targets little-endian machines only.
  static_assert(sizeof(float) == 4 && sizeof(double) == 8);
  if (data_bytes) out.append(static_cast<const char*>(data), data_bytes);
  return out;
}

}  // namespace

std::int64_t NpyArray::size() const {
  std::int64_t count = 1;
  for (auto dim : shape) count *= dim;
  return count;
}

std::vector<float> NpyArray::to_float() const { return convert<float>(*this); }
std::vector<double> NpyArray::to_double() const { return convert<double>(*this); }

NpyArray parse_npy(std::string_view bytes, const std::string& source) {
  if (bytes.size() < kMagicSize + 4 || std::memcmp(bytes.data(), kMagic, kMagicSize) != 0)
    throw InputError(source, "not an NPY file (it does not start with \"\\x93NUMPY\")");
  auto major = static_cast<unsigned char>(bytes[6]);
  std::size_t header_len = 0;
  std::size_t preamble = 0;
  auto byte = [&](std::size_t i) { return static_cast<std::size_t>(static_cast<unsigned char>(bytes[i])); };
  if (major == 1) {
    header_len = byte(8) | (byte(9) << 8);
    preamble = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw InputError(source, "truncated NPY header");
    header_len = byte(8) | (byte(9) << 8) | (byte(10) << 16) | (byte(11) << 24);
    preamble = 12;
  } else {
    throw InputError(source, "NPY format version " + std::to_string(major) + "." +
                                 std::to_string(static_cast<unsigned char>(bytes[7])) +
                                 " is not supported (expected 1.0, 2.0 or 3.0)");
  }
  if (header_len > bytes.size() - preamble)
    throw InputError(source, "truncated NPY header (" + std::to_string(header_len) +
                                 " header bytes announced, " +
                                 std::to_string(bytes.size() - preamble) + " in the file)");
  std::string_view text = bytes.substr(preamble, header_len);
  HeaderParser parser(text, source);
  NpyArray array;
  bool have_descr = false, have_order = false, have_shape = false, fortran = false;
  parser.expect('{');
  while (!parser.consume('}')) {
    std::string key = parser.string_literal();
    parser.expect(':');
    if (key == "descr") {
      array.type = parse_descr(parser.string_literal(), source);
      have_descr = true;
    } else if (key == "fortran_order") {
      fortran = parser.boolean();
      have_order = true;
    } else if (key == "shape") {
      array.shape = parser.shape();
      have_shape = true;
    } else {
      parser.fail("unexpected key '" + key + "'");
    }
    if (!parser.consume(',')) {
      parser.expect('}');
      break;
    }
  }
  if (!parser.at_end()) parser.fail("text after the dict");
  if (!have_descr || !have_order || !have_shape)
    parser.fail("the keys 'descr', 'fortran_order' and 'shape' are all required");
  if (fortran)
    throw InputError(source, "NPY array is in Fortran order; only C order is supported "
                             "(save it with numpy.ascontiguousarray)");
  std::size_t item = item_size(array.type);
  std::int64_t count = checked_size(array.shape, source);
  std::size_t expected = static_cast<std::size_t>(count) * item;
  std::size_t available = bytes.size() - preamble - header_len;
  if (available < expected)
    throw InputError(source, "truncated NPY data: shape " + shape_text(array.shape) + " needs " +
                                 std::to_string(expected) + " bytes, the file has " +
                                 std::to_string(available));
  if (available > expected)
    throw InputError(source, "NPY file has " + std::to_string(available - expected) +
                                 " bytes after the array data (shape " +
                                 shape_text(array.shape) + ")");
  const char* data = bytes.data() + preamble + header_len;
  array.bytes.assign(data, data + expected);
  return array;
}

NpyArray read_npy(const std::filesystem::path& path) {
  return parse_npy(util::read_file(path), path.string());
}

std::string encode_npy(const float* data, const std::vector<std::int64_t>& shape) {
  return encode(NpyType::kFloat32, data, shape);
}
std::string encode_npy(const double* data, const std::vector<std::int64_t>& shape) {
  return encode(NpyType::kFloat64, data, shape);
}
std::string encode_npy(const std::int16_t* data, const std::vector<std::int64_t>& shape) {
  return encode(NpyType::kInt16, data, shape);
}
std::string encode_npy(const std::int32_t* data, const std::vector<std::int64_t>& shape) {
  return encode(NpyType::kInt32, data, shape);
}

void write_npy(const std::filesystem::path& path, const float* data,
               const std::vector<std::int64_t>& shape) {
  util::write_file_atomic(path, encode_npy(data, shape));
}
void write_npy(const std::filesystem::path& path, const double* data,
               const std::vector<std::int64_t>& shape) {
  util::write_file_atomic(path, encode_npy(data, shape));
}
void write_npy(const std::filesystem::path& path, const std::int16_t* data,
               const std::vector<std::int64_t>& shape) {
  util::write_file_atomic(path, encode_npy(data, shape));
}
void write_npy(const std::filesystem::path& path, const std::int32_t* data,
               const std::vector<std::int64_t>& shape) {
  util::write_file_atomic(path, encode_npy(data, shape));
}

}  // namespace ecgtwin::io
