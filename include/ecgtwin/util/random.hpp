#pragma once
// Seeded random numbers for the layers without LibTorch (simulator, splits, augmentation).
// The generator is defined here (PCG32 and SplitMix64), not by the standard library, so that
// the same seed gives the same numbers with every compiler and standard library.
#include <cmath>
#include <cstdint>
#include <string_view>

namespace ecgtwin::util {

// SplitMix64 (Steele, Lea, Flood 2014): turns any 64-bit seed into well-mixed state.
inline std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Derives an independent seed from a parent seed and a label/index (for per-person or
// per-record streams that do not depend on the order of generation).
std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t index);
std::uint64_t derive_seed(std::uint64_t seed, std::string_view label);

// PCG32 (O'Neill 2014, pcg32_random_r) with uniform and normal draws.
class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0x853c49e6748fea9bULL);
  std::uint32_t next_u32();
  std::uint64_t next_u64();
  double uniform();                          // [0, 1)
  double uniform(double low, double high);   // [low, high)
  std::int64_t uniform_int(std::int64_t low, std::int64_t high);  // [low, high]
  double normal();                           // standard normal (Marsaglia polar method)
  double normal(double mean, double stddev) { return mean + stddev * normal(); }
  bool bernoulli(double p) { return uniform() < p; }

 private:
  std::uint64_t state_;
  std::uint64_t increment_;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

}  // namespace ecgtwin::util
