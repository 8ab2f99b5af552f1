#include "ecgtwin/signal/limb_leads.hpp"

#include <cmath>
#include <string>

#include "ecgtwin/util/error.hpp"

namespace ecgtwin::signal {
namespace {

constexpr int kLimbLeads = 6;

void require_limb_leads(std::int64_t leads, std::int64_t samples) {
  if (leads < kLimbLeads || samples < 0)
    throw InputError("signal", "has " + std::to_string(leads) +
                                   " leads; the limb-lead relations need the six limb leads "
                                   "I, II, III, aVR, aVL, aVF first");
}

// The least-squares (I, II) of the six limb-lead values `v`: (A^T A)^-1 A^T v, with A the
// 6 x 2 matrix of limb_lead_combinations().
std::array<double, 2> fit_i_ii(const std::array<double, kLimbLeads>& v) {
  const auto& a = limb_lead_combinations();
  // A^T A and its inverse, computed once.
  static const std::array<double, 4> inverse = [&a] {
    double n00 = 0, n01 = 0, n11 = 0;
    for (const auto& row : a) {
      n00 += row[0] * row[0];
      n01 += row[0] * row[1];
      n11 += row[1] * row[1];
    }
    const double det = n00 * n11 - n01 * n01;
    return std::array<double, 4>{n11 / det, -n01 / det, -n01 / det, n00 / det};
  }();
  double t0 = 0, t1 = 0;  // A^T v
  for (int k = 0; k < kLimbLeads; ++k) {
    t0 += a[static_cast<std::size_t>(k)][0] * v[static_cast<std::size_t>(k)];
    t1 += a[static_cast<std::size_t>(k)][1] * v[static_cast<std::size_t>(k)];
  }
  return {inverse[0] * t0 + inverse[1] * t1, inverse[2] * t0 + inverse[3] * t1};
}

std::array<double, kLimbLeads> limb_values(const float* signal, std::int64_t samples,
                                           std::int64_t n) {
  std::array<double, kLimbLeads> v{};
  for (int k = 0; k < kLimbLeads; ++k) v[static_cast<std::size_t>(k)] = signal[k * samples + n];
  return v;
}

double combined(const std::array<double, 2>& c, double lead_i, double lead_ii) {
  return c[0] * lead_i + c[1] * lead_ii;
}

}  // namespace

const std::array<std::array<double, 2>, 6>& limb_lead_combinations() {
  static const std::array<std::array<double, 2>, 6> combinations = {{
      {1.0, 0.0},    // I
      {0.0, 1.0},    // II
      {-1.0, 1.0},   // III = II - I
      {-0.5, -0.5},  // aVR = -(I + II) / 2
      {1.0, -0.5},   // aVL = I - II / 2
      {-0.5, 1.0},   // aVF = II - I / 2
  }};
  return combinations;
}

double limb_lead_residual(const float* signal, std::int64_t leads, std::int64_t samples) {
  require_limb_leads(leads, samples);
  if (samples == 0) return 0.0;
  const auto& a = limb_lead_combinations();
  double sum = 0;
  for (std::int64_t n = 0; n < samples; ++n) {
    const auto v = limb_values(signal, samples, n);
    const auto fit = fit_i_ii(v);
    for (int k = 0; k < kLimbLeads; ++k) {
      const double d =
          v[static_cast<std::size_t>(k)] - combined(a[static_cast<std::size_t>(k)], fit[0], fit[1]);
      sum += d * d;
    }
  }
  return std::sqrt(sum / (double(kLimbLeads) * double(samples)));
}

void project_limb_leads(float* signal, std::int64_t leads, std::int64_t samples) {
  require_limb_leads(leads, samples);
  const auto& a = limb_lead_combinations();
  for (std::int64_t n = 0; n < samples; ++n) {
    const auto fit = fit_i_ii(limb_values(signal, samples, n));
    for (int k = 0; k < kLimbLeads; ++k)
      signal[k * samples + n] =
          static_cast<float>(combined(a[static_cast<std::size_t>(k)], fit[0], fit[1]));
  }
}

void derive_limb_leads(float* signal, std::int64_t leads, std::int64_t samples) {
  require_limb_leads(leads, samples);
  const auto& a = limb_lead_combinations();
  for (std::int64_t n = 0; n < samples; ++n) {
    const double lead_i = signal[n], lead_ii = signal[samples + n];
    for (int k = 2; k < kLimbLeads; ++k)
      signal[k * samples + n] =
          static_cast<float>(combined(a[static_cast<std::size_t>(k)], lead_i, lead_ii));
  }
}

}  // namespace ecgtwin::signal
