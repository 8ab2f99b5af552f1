#include "wfdb_decode.hpp"

#include "ecgtwin/io/wfdb.hpp"

namespace ecgtwin::io::detail {

namespace {
inline std::int32_t sign_extend(std::uint32_t value, int bits) {
  const std::uint32_t sign = 1u << (bits - 1);
  return static_cast<std::int32_t>((value ^ sign)) - static_cast<std::int32_t>(sign);
}
}  // namespace

bool is_supported_format(int format) {
  switch (format) {
    case 0: case 8: case 16: case 24: case 32: case 61: case 80: case 160: case 212: case 310: case 311:
      return true;
    default:
      return false;
  }
}

std::int32_t invalid_value(int format) {
  switch (format) {
    case 16: case 61: case 160: return -32768;
    case 80: return -128;
    case 212: return -2048;
    case 310: case 311: return -512;
    case 24: return -8388608;
    default: return kInvalidSample;
  }
}

std::int64_t bytes_for_samples(int format, std::int64_t n) {
  switch (format) {
    case 8: case 80: return n;
    case 16: case 61: case 160: return 2 * n;
    case 24: return 3 * n;
    case 32: return 4 * n;
    case 212: return (n / 2) * 3 + (n % 2 ? 2 : 0);
    case 310: return (n / 3) * 4 + (n % 3 == 1 ? 2 : n % 3 == 2 ? 4 : 0);
    case 311: return (n / 3) * 4 + (n % 3 == 1 ? 2 : n % 3 == 2 ? 3 : 0);
    default: return 0;
  }
}

std::int64_t samples_in_bytes(int format, std::int64_t b) {
  switch (format) {
    case 8: case 80: return b;
    case 16: case 61: case 160: return b / 2;
    case 24: return b / 3;
    case 32: return b / 4;
    case 212: return (b / 3) * 2 + (b % 3 >= 2 ? 1 : 0);
    case 310: return (b / 4) * 3 + (b % 4 >= 2 ? 1 : 0);
    case 311: return (b / 4) * 3 + (b % 4 >= 3 ? 2 : b % 4 >= 2 ? 1 : 0);
    default: return 0;
  }
}

void decode_samples(int format, const std::uint8_t* d, std::int64_t count, std::int32_t* out,
                    const std::vector<int>& frame_slot, const std::vector<std::int32_t>& initial) {
  switch (format) {
    case 8: {
      std::vector<std::int32_t> value = initial;
      const auto frame = static_cast<std::int64_t>(frame_slot.size());
      for (std::int64_t i = 0; i < count; ++i) {
        auto& v = value[static_cast<size_t>(frame_slot[static_cast<size_t>(i % frame)])];
        v += static_cast<std::int8_t>(d[i]);
        out[i] = v;
      }
      break;
    }
    case 16:
      for (std::int64_t i = 0; i < count; ++i)
        out[i] = static_cast<std::int16_t>(static_cast<std::uint16_t>(d[2 * i] | (d[2 * i + 1] << 8)));
      break;
    case 61:
      for (std::int64_t i = 0; i < count; ++i)
        out[i] = static_cast<std::int16_t>(static_cast<std::uint16_t>((d[2 * i] << 8) | d[2 * i + 1]));
      break;
    case 80:
      for (std::int64_t i = 0; i < count; ++i) out[i] = static_cast<std::int32_t>(d[i]) - 128;
      break;
    case 160:
      for (std::int64_t i = 0; i < count; ++i)
        out[i] = static_cast<std::int32_t>(d[2 * i] | (d[2 * i + 1] << 8)) - 32768;
      break;
    case 24:
      for (std::int64_t i = 0; i < count; ++i)
        out[i] = sign_extend(static_cast<std::uint32_t>(d[3 * i] | (d[3 * i + 1] << 8) | (d[3 * i + 2] << 16)), 24);
      break;
    case 32:
      for (std::int64_t i = 0; i < count; ++i)
        out[i] = static_cast<std::int32_t>(static_cast<std::uint32_t>(d[4 * i]) | (static_cast<std::uint32_t>(d[4 * i + 1]) << 8) |
                                           (static_cast<std::uint32_t>(d[4 * i + 2]) << 16) |
                                           (static_cast<std::uint32_t>(d[4 * i + 3]) << 24));
      break;
    case 212:
      // Two 12-bit samples in three bytes: the second byte holds the high nibbles.
      for (std::int64_t i = 0; i < count; ++i) {
        const std::uint8_t* b = d + (i / 2) * 3;
        std::uint32_t v = (i % 2 == 0) ? (b[0] | ((b[1] & 0x0F) << 8)) : (b[2] | ((b[1] & 0xF0) << 4));
        out[i] = sign_extend(v, 12);
      }
      break;
    case 310:
      // Three 10-bit samples in two little-endian 16-bit words w0, w1: bits 1..10 of each
      // word, and the third from bits 11..15 of w0 (low) and w1 (high).
      for (std::int64_t i = 0; i < count; ++i) {
        const std::uint8_t* b = d + (i / 3) * 4;
        std::uint32_t v;
        switch (i % 3) {
          case 0: v = ((b[0] | (b[1] << 8)) >> 1) & 0x3FF; break;
          case 1: v = ((b[2] | (b[3] << 8)) >> 1) & 0x3FF; break;
          default: v = ((b[1] >> 3) & 0x1F) | (((b[3] >> 3) & 0x1F) << 5); break;
        }
        out[i] = sign_extend(v, 10);
      }
      break;
    case 311:
      // Three 10-bit samples in the low 30 bits of a little-endian 32-bit word.
      for (std::int64_t i = 0; i < count; ++i) {
        const std::uint8_t* b = d + (i / 3) * 4;
        std::uint32_t v;
        switch (i % 3) {
          case 0: v = b[0] | ((b[1] & 0x03) << 8); break;
          case 1: v = (b[1] >> 2) | ((b[2] & 0x0F) << 6); break;
          default: v = (b[2] >> 4) | ((b[3] & 0x3F) << 4); break;
        }
        out[i] = sign_extend(v, 10);
      }
      break;
    default:
      break;
  }
}

std::string encode_samples(int format, const std::int32_t* s, std::int64_t n) {
  std::string out(static_cast<size_t>(bytes_for_samples(format, n)), '\0');
  auto* b = reinterpret_cast<std::uint8_t*>(out.data());
  switch (format) {
    case 16:
      for (std::int64_t i = 0; i < n; ++i) {
        auto v = static_cast<std::uint16_t>(s[i]);
        b[2 * i] = v & 0xFF;
        b[2 * i + 1] = v >> 8;
      }
      break;
    case 80:
      for (std::int64_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(s[i] + 128);
      break;
    case 24:
      for (std::int64_t i = 0; i < n; ++i) {
        auto v = static_cast<std::uint32_t>(s[i]);
        b[3 * i] = v & 0xFF;
        b[3 * i + 1] = (v >> 8) & 0xFF;
        b[3 * i + 2] = (v >> 16) & 0xFF;
      }
      break;
    case 32:
      for (std::int64_t i = 0; i < n; ++i) {
        auto v = static_cast<std::uint32_t>(s[i]);
        for (int k = 0; k < 4; ++k) b[4 * i + k] = (v >> (8 * k)) & 0xFF;
      }
      break;
    case 212:
      for (std::int64_t i = 0; i < n; i += 2) {
        std::uint8_t* p = b + (i / 2) * 3;
        auto v0 = static_cast<std::uint32_t>(s[i]) & 0xFFF;
        p[0] = v0 & 0xFF;
        p[1] = (v0 >> 8) & 0x0F;
        if (i + 1 < n) {
          auto v1 = static_cast<std::uint32_t>(s[i + 1]) & 0xFFF;
          p[1] |= ((v1 >> 8) & 0x0F) << 4;
          p[2] = v1 & 0xFF;
        }
      }
      break;
    default:
      break;
  }
  return out;
}

}  // namespace ecgtwin::io::detail
