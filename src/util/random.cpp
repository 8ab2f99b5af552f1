#include "ecgtwin/util/random.hpp"

namespace ecgtwin::util {

std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t index) {
  std::uint64_t state = seed ^ (index * 0xd1b54a32d192ed03ULL);
  splitmix64(state);
  return splitmix64(state);
}

std::uint64_t derive_seed(std::uint64_t seed, std::string_view label) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : label) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return derive_seed(seed, h);
}

Rng::Rng(std::uint64_t seed) {
  std::uint64_t s = seed;
  std::uint64_t init_state = splitmix64(s);
  increment_ = (splitmix64(s) << 1u) | 1u;
  state_ = 0;
  next_u32();
  state_ += init_state;
  next_u32();
}

std::uint32_t Rng::next_u32() {
  std::uint64_t old = state_;
  state_ = old * 6364136223846793005ULL + increment_;
  auto xorshifted = static_cast<std::uint32_t>(((old >> 18u) ^ old) >> 27u);
  auto rot = static_cast<std::uint32_t>(old >> 59u);
  return (xorshifted >> rot) | (xorshifted << ((-rot) & 31u));
}

std::uint64_t Rng::next_u64() {
  return (static_cast<std::uint64_t>(next_u32()) << 32) | next_u32();
}

double Rng::uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

double Rng::uniform(double low, double high) { return low + (high - low) * uniform(); }

std::int64_t Rng::uniform_int(std::int64_t low, std::int64_t high) {
  auto range = static_cast<std::uint64_t>(high - low) + 1;
  if (range == 0) return static_cast<std::int64_t>(next_u64());
  // Lemire-style rejection keeps the draw unbiased.
  std::uint64_t limit = UINT64_MAX - UINT64_MAX % range;
  std::uint64_t x;
  do {
    x = next_u64();
  } while (x >= limit);
  return low + static_cast<std::int64_t>(x % range);
}

double Rng::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  double u, v, s;
  do {
    u = uniform(-1.0, 1.0);
    v = uniform(-1.0, 1.0);
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  double m = std::sqrt(-2.0 * std::log(s) / s);
  spare_ = v * m;
  has_spare_ = true;
  return u * m;
}

}  // namespace ecgtwin::util
