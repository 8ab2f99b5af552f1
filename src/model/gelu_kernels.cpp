// The fused tanh-GELU loops (see ecgtwin/model/activation.hpp). This file includes no LibTorch
// header and is compiled with -fno-trapping-math (CMakeLists.txt), which lets the compiler turn
// the clamps into vector min/max and vectorise the loops.
#include "gelu_kernels.hpp"

#include <cstring>

#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

// Plain float arithmetic without calls, so that the compiler vectorises the loops below; on
// x86-64 Linux a second, AVX2 copy of each loop is compiled and chosen when the program loads.
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__)
#define ECGTWIN_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define ECGTWIN_VECTOR_CLONES
#endif

namespace ecgtwin::model::detail {
namespace {

constexpr float kTwoK = 1.5957691216057308f;  // 2 sqrt(2 / pi)
constexpr float kCubic = 0.044715f;

// e^v, Cephes' single-precision polynomial (relative error about 2e-7), v clamped so that
// the result stays finite and normal.
inline float exp_approx(float v) {
  v = v < -87.0f ? -87.0f : (v > 88.0f ? 88.0f : v);
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float n = (v * 1.44269504088896341f + kRound) - kRound;
  float r = v - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  const float r2 = r * r;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r2 + r + 1.0f;
  const std::int32_t bits = (static_cast<std::int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

inline float gate(float x) {  // sigmoid(2 k (x + c x^3))
  return 1.0f / (1.0f + exp_approx(-kTwoK * (x + kCubic * x * x * x)));
}

ECGTWIN_VECTOR_CLONES
void forward_loop(const float* __restrict x, float* __restrict y, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) y[i] = x[i] * gate(x[i]);
}

// dy/dx = s + x s (1 - s) 2k (1 + 3c x^2), s = sigmoid(2k (x + c x^3)).
ECGTWIN_VECTOR_CLONES
void backward_loop(const float* __restrict x, const float* __restrict grad, float* __restrict out,
                   std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float s = gate(v);
    out[i] = grad[i] * (s + v * s * (1.0f - s) * kTwoK * (1.0f + 3.0f * kCubic * v * v));
  }
}

// Subnormal floats flushed to zero while a loop runs, as inputs and as results, and the
// caller's setting restored after it. The vectorised loops compute the gate's clamped ends for
// every element and then select; at one end the gate is 1 / (1 + e^88) = 6e-39, itself
// subnormal, so every vector multiplies by a subnormal and, without the flush, takes the CPU's
// slow path for subnormals (on an Intel Xeon the denoiser's training step ran 20 % faster with
// the flush: docs/BENCHMARKS.md). Results that would be subnormal (|y| below 1.2e-38, x below about
// -10) come out as zero.
class FlushSubnormals {
 public:
#if defined(__x86_64__)
  FlushSubnormals() : saved_(_mm_getcsr()) {
    _mm_setcsr(saved_ | kFlushToZero | kDenormalsAreZero);
  }
  ~FlushSubnormals() {
    _mm_setcsr(saved_);
  }

 private:
  static constexpr unsigned kFlushToZero = 0x8000;
  static constexpr unsigned kDenormalsAreZero = 0x0040;
  unsigned saved_;
#endif
};

}  // namespace

void gelu_tanh_forward(const float* __restrict x, float* __restrict y, std::int64_t n) {
  [[maybe_unused]] FlushSubnormals flush;
  forward_loop(x, y, n);
}

void gelu_tanh_backward(const float* __restrict x, const float* __restrict grad,
                        float* __restrict out, std::int64_t n) {
  [[maybe_unused]] FlushSubnormals flush;
  backward_loop(x, grad, out, n);
}

}  // namespace ecgtwin::model::detail
