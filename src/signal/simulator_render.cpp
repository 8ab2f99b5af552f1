// Rendering: Gaussian kernels evaluated beat by beat in time, rotation and scaling of the
// dipole, the Dower transform to the 12 leads, atrial activity, and render() itself.
#include <algorithm>
#include <cmath>

#include "ecgtwin/signal/simulator.hpp"
#include "ecgtwin/signal/simulator_detail.hpp"
#include "ecgtwin/util/error.hpp"

namespace ecgtwin::signal {

namespace detail {

namespace {

constexpr double kTwoPi = 6.283185307179586;
constexpr double kDegree = 3.141592653589793 / 180.0;
// Kernels are evaluated within +-4 widths; beyond, exp(-8) = 3e-4 of the amplitude.
constexpr double kSupport = 4.0;

// Dower, Machado, Osborne 1980, "On deriving the electrocardiogram from vectorcardiographic
// leads", Clin Cardiol 3:87-95: Frank X, Y, Z (mV) to I, II, V1..V6.
constexpr double kDower[8][3] = {
    {0.632, -0.235, 0.059},   // I
    {0.235, 1.066, -0.132},   // II
    {-0.515, 0.157, -0.917},  // V1
    {0.044, 0.164, -1.387},   // V2
    {0.882, 0.098, -1.277},   // V3
    {1.213, 0.127, -0.601},   // V4
    {1.125, 0.127, -0.086},   // V5
    {0.831, 0.076, 0.230},    // V6
};

std::array<double, 9> multiply(const std::array<double, 9>& a, const std::array<double, 9>& b) {
  std::array<double, 9> c{};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 3; ++k) c[i * 3 + j] += a[i * 3 + k] * b[k * 3 + j];
  return c;
}

// Einthoven (III = II - I) and Goldberger (aVR, aVL, aVF) from I and II.
template <typename Out>
void expand(const double* leads8, std::int64_t n, Out* leads12) {
  const double* one = leads8;
  const double* two = leads8 + n;
  for (std::int64_t i = 0; i < n; ++i) {
    leads12[i] = static_cast<Out>(one[i]);
    leads12[n + i] = static_cast<Out>(two[i]);
    leads12[2 * n + i] = static_cast<Out>(two[i] - one[i]);
    leads12[3 * n + i] = static_cast<Out>(-0.5 * (one[i] + two[i]));
    leads12[4 * n + i] = static_cast<Out>(one[i] - 0.5 * two[i]);
    leads12[5 * n + i] = static_cast<Out>(two[i] - 0.5 * one[i]);
  }
  for (int lead = 2; lead < 8; ++lead)
    for (std::int64_t i = 0; i < n; ++i)
      leads12[(lead + 4) * n + i] = static_cast<Out>(leads8[lead * n + i]);
}

}  // namespace

std::array<double, 9> frontal_rotation(double degrees) {
  double c = std::cos(degrees * kDegree), s = std::sin(degrees * kDegree);
  return {c, -s, 0, s, c, 0, 0, 0, 1};
}

std::array<double, 9> person_rotation(const Person& person) {
  double ch = std::cos(person.horizontal_deg * kDegree),
         sh = std::sin(person.horizontal_deg * kDegree);
  double cs = std::cos(person.sagittal_deg * kDegree), ss = std::sin(person.sagittal_deg * kDegree);
  std::array<double, 9> horizontal = {ch, 0, sh, 0, 1, 0, -sh, 0, ch};  // about Y
  std::array<double, 9> sagittal = {1, 0, 0, 0, cs, -ss, 0, ss, cs};    // about X
  return multiply(frontal_rotation(person.frontal_deg), multiply(horizontal, sagittal));
}

void rotate_dipole(const Person& person, std::int64_t n, double* dipole) {
  auto r = person_rotation(person);
  for (double& v : r) v *= person.scale;
  double* x = dipole;
  double* y = dipole + n;
  double* z = dipole + 2 * n;
  for (std::int64_t i = 0; i < n; ++i) {
    double a = x[i], b = y[i], c = z[i];
    x[i] = r[0] * a + r[1] * b + r[2] * c;
    y[i] = r[3] * a + r[4] * b + r[5] * c;
    z[i] = r[6] * a + r[7] * b + r[8] * c;
  }
}

void add_beat(const std::vector<Kernel>& kernels, double r_time, double j_point, double scale,
              double fs, std::int64_t n, double* dipole) {
  const double dt = 1.0 / fs;
  for (const auto& k : kernels) {
    double center = k.center, width = k.width;
    if (k.wave == Wave::kT) {
      center = j_point + (center - j_point) * scale;
      width *= scale;
    }
    center += r_time;
    std::int64_t first = std::max<std::int64_t>(
        0, static_cast<std::int64_t>(std::ceil((center - kSupport * width) * fs)));
    std::int64_t last = std::min<std::int64_t>(
        n - 1, static_cast<std::int64_t>(std::floor((center + kSupport * width) * fs)));
    if (first > last) continue;
    // exp(-(t - c)^2 / 2w^2) on a uniform grid by the exact recurrence
    // g[i+1] = g[i] * r[i], r[i+1] = r[i] * q: two multiplications per sample.
    double inv = 1.0 / (2.0 * width * width);
    double u = first * dt - center;
    double g = k.amplitude * std::exp(-u * u * inv);
    double r = std::exp(-(2.0 * u * dt + dt * dt) * inv);
    const double q = std::exp(-2.0 * dt * dt * inv);
    double* out = dipole + static_cast<std::int64_t>(k.axis) * n;
    for (std::int64_t i = first; i <= last; ++i) {
      out[i] += g;
      g *= r;
      r *= q;
    }
  }
}

void dipole_to_independent_leads(const double* dipole, std::int64_t n, double* leads8) {
  const double* x = dipole;
  const double* y = dipole + n;
  const double* z = dipole + 2 * n;
  for (int lead = 0; lead < 8; ++lead) {
    const double a = kDower[lead][0], b = kDower[lead][1], c = kDower[lead][2];
    double* out = leads8 + lead * n;
    for (std::int64_t i = 0; i < n; ++i) out[i] = a * x[i] + b * y[i] + c * z[i];
  }
}

void expand_leads(const double* leads8, std::int64_t n, float* leads12) {
  expand(leads8, n, leads12);
}

std::vector<double> render_beat(const Person& person, const std::vector<Kernel>& kernels,
                                double from, double to, double fs) {
  auto n = static_cast<std::int64_t>(std::llround((to - from) * fs));
  std::vector<double> dipole(3 * n, 0.0), leads8(8 * n), leads12(12 * n);
  add_beat(kernels, -from, 0.0, 1.0, fs, n, dipole.data());
  rotate_dipole(person, n, dipole.data());
  dipole_to_independent_leads(dipole.data(), n, leads8.data());
  expand(leads8.data(), n, leads12.data());
  return leads12;
}

double flutter_cycle(const Person& person, double heart_rate, int* conduction) {
  // Conduction 2:1 to 4:1 with the atrial rate kept in 240-360/min, closest to the person's.
  int best = 2;
  double best_cost = 1e9;
  for (int k = 2; k <= 4; ++k) {
    double rate = heart_rate * k;
    double outside = std::max({0.0, 240 - rate, rate - 360});
    double cost = 1000 * outside + std::abs(rate - person.flutter_rate_bpm);
    if (cost < best_cost) best_cost = cost, best = k;
  }
  if (conduction) *conduction = best;
  return 60.0 / (heart_rate * best);
}

void add_atrial_activity(const Person& person, const SimCondition& condition, double heart_rate,
                         double first_beat, double fs, std::int64_t n, util::Rng& rng,
                         double* dipole) {
  auto mean_frame = frontal_rotation(-kMeanFrontalDeg);
  auto direction = [&](double x, double y, double z) {
    double norm = std::sqrt(x * x + y * y + z * z);
    x /= norm, y /= norm, z /= norm;
    return std::array<double, 3>{mean_frame[0] * x + mean_frame[1] * y,
                                 mean_frame[3] * x + mean_frame[4] * y, z};
  };
  if (condition.rhythm == Rhythm::kAtrialFibrillation) {
    // Sawtooth model of f waves with frequency and amplitude modulation (Stridh & Sornmo
    // 2001): f(t) = -sum_i a_i(t) sin(i theta(t)), a_i = 2/(i pi) (a + da sin(2 pi fa t)),
    // theta = 2 pi f0 t + (df/fm) sin(2 pi fm t); largest in V1 and the inferior leads.
    auto d = direction(0.2, 0.6, -0.8);
    double f0 = person.af_rate_hz, df = 0.2, fm = rng.uniform(0.08, 0.15);
    double a = person.af_amplitude, da = 0.3 * a, fa = rng.uniform(0.1, 0.2);
    double phase = rng.uniform(0, kTwoPi), phase_m = rng.uniform(0, kTwoPi);
    for (std::int64_t i = 0; i < n; ++i) {
      double t = i / fs;
      double theta = kTwoPi * f0 * t + (df / fm) * std::sin(kTwoPi * fm * t + phase_m) + phase;
      double envelope = a + da * std::sin(kTwoPi * fa * t);
      double f = 0;
      for (int h = 1; h <= 3; ++h)
        f -= 2.0 / (h * 3.141592653589793) * envelope * std::sin(h * theta);
      for (int axis = 0; axis < 3; ++axis) dipole[axis * n + i] += d[axis] * f;
    }
  } else if (condition.rhythm == Rhythm::kAtrialFlutter) {
    // Typical flutter: a sawtooth pointing up (negative in II, III, aVF), one F wave per
    // atrial cycle, the conducted QRS 0.25 s after an F wave.
    auto d = direction(0.1, -1.0, -0.4);
    double cycle = flutter_cycle(person, heart_rate, nullptr);
    double origin = first_beat - 0.25;
    for (std::int64_t i = 0; i < n; ++i) {
      double p = (i / fs - origin) / cycle;
      double f = 0;
      for (int h = 1; h <= 6; ++h) f += std::sin(kTwoPi * h * p) / h;
      f *= person.flutter_amplitude * 2.0 / 3.141592653589793;
      for (int axis = 0; axis < 3; ++axis) dipole[axis * n + i] += d[axis] * f;
    }
  }
}

}  // namespace detail

SimEcg render(const Person& person, const SimCondition& condition, const RenderOptions& options) {
  if (!(options.fs >= 50 && options.fs <= 10000))
    throw InputError("fs", "expected a sampling rate of 50-10000 Hz");
  if (!(options.seconds > 0 && options.seconds <= 3600))
    throw InputError("seconds", "expected a duration of 0-3600 s");
  validate_condition(condition);
  const double hr = resolve_heart_rate(person, condition);
  util::Rng rhythm_rng(util::derive_seed(options.seed, "rhythm"));
  auto beats = detail::schedule_beats(person, condition, hr, options.seconds, rhythm_rng);
  auto m = detail::build_morphology(person, condition);

  SimEcg ecg;
  ecg.fs = options.fs;
  ecg.samples = static_cast<std::int64_t>(std::llround(options.seconds * options.fs));
  const std::int64_t n = ecg.samples;
  thread_local std::vector<double> dipole, leads8;  // reused: see add_noise
  dipole.assign(3 * n, 0.0);
  leads8.resize(8 * n);
  const double qrs = m.qrs_offset - m.qrs_onset;
  const double pvc_qrs = m.pvc_qrs_offset - m.pvc_qrs_onset;
  for (const auto& beat : beats) {
    if (beat.time < -3.0 || beat.time > options.seconds + 3.0) continue;
    if (beat.kind == detail::BeatKind::kVentricular) {
      detail::add_beat(m.ventricular, beat.time, m.pvc_qrs_offset,
                       detail::t_scale(m.pvc_qtc, pvc_qrs, beat.rr), options.fs, n, dipole.data());
      continue;
    }
    if (beat.p_wave)
      detail::add_beat(beat.kind == detail::BeatKind::kAtrial ? m.atrial_p : m.p, beat.time, 0.0,
                       1.0, options.fs, n, dipole.data());
    detail::add_beat(m.qrst, beat.time, m.qrs_offset, detail::t_scale(m.qtc, qrs, beat.rr),
                     options.fs, n, dipole.data());
  }
  util::Rng atrial_rng(util::derive_seed(options.seed, "atrial"));
  detail::add_atrial_activity(person, condition, hr, beats.front().time, options.fs, n, atrial_rng,
                              dipole.data());
  detail::rotate_dipole(person, n, dipole.data());
  detail::dipole_to_independent_leads(dipole.data(), n, leads8.data());
  if (options.noise) {
    util::Rng noise_rng(util::derive_seed(options.seed, "noise"));
    detail::add_noise(person, options.snr_db, options.fs, n, noise_rng, leads8.data());
  }
  ecg.signal.resize(12 * n);
  detail::expand_leads(leads8.data(), n, ecg.signal.data());

  std::vector<double> inside;
  for (const auto& beat : beats) {
    auto sample = static_cast<std::int64_t>(std::llround(beat.time * options.fs));
    if (sample < 0 || sample >= n) continue;
    const char* symbol = beat.kind == detail::BeatKind::kVentricular ? "V"
                         : beat.kind == detail::BeatKind::kAtrial    ? "A"
                                                                     : "N";
    ecg.beats.push_back({sample, symbol});
    inside.push_back(beat.time);
  }
  ecg.heart_rate = inside.size() >= 2 ? 60.0 * static_cast<double>(inside.size() - 1) /
                                            (inside.back() - inside.front())
                                      : hr;
  ecg.target_heart_rate = hr;
  return ecg;
}

}  // namespace ecgtwin::signal
