// How each condition changes a person's beat: the kernel sets of build_morphology().
#include <algorithm>
#include <array>
#include <cmath>

#include "ecgtwin/signal/simulator_detail.hpp"

namespace ecgtwin::signal::detail {

namespace {

using Vec3 = std::array<double, 3>;
constexpr double kDegree = 3.141592653589793 / 180.0;

Vec3 normalized(Vec3 v) {
  double norm = std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
  return {v[0] / norm, v[1] / norm, v[2] / norm};
}

Vec3 transform(const std::array<double, 9>& m, const Vec3& v) {
  return {m[0] * v[0] + m[1] * v[1] + m[2] * v[2], m[3] * v[0] + m[4] * v[1] + m[5] * v[2],
          m[6] * v[0] + m[7] * v[1] + m[8] * v[2]};
}

// One Gaussian along a direction: a kernel per dipole axis.
void add_vector(std::vector<Kernel>& out, Wave wave, const Vec3& direction, double amplitude,
                double center, double width) {
  for (int axis = 0; axis < 3; ++axis)
    if (std::abs(direction[axis]) > 1e-6)
      out.push_back({wave, axis, amplitude * direction[axis], center, width});
}

// A vector given in the lead frame of a heart at the population's mean orientation, moved
// into the person's unrotated dipole frame (the person's rotation then adds only the
// person's deviation from the mean).
Vec3 from_mean_frame(const Vec3& v) {
  return transform(frontal_rotation(-kMeanFrontalDeg), v);
}

// ST segment and T wave opposite to the QRS direction `d` (secondary repolarisation changes
// of bundle branch blocks and ventricular ectopy), over a JT interval `jt` after `j`.
void add_discordant_t(std::vector<Kernel>& out, const Vec3& d, double j, double jt) {
  Vec3 opposite = {-d[0], -d[1], -d[2]};
  add_vector(out, Wave::kT, opposite, 0.06, j + 0.25 * jt, 0.13 * jt);
  add_vector(out, Wave::kT, opposite, 0.35, j + 0.5 * jt, 0.2 * jt);
}

// The peak-to-peak amplitudes of the QRS window in the limb leads and the chest leads.
std::pair<double, double> qrs_voltages(const Person& person, const Morphology& m) {
  std::vector<Kernel> beat = m.p;
  beat.insert(beat.end(), m.qrst.begin(), m.qrst.end());
  constexpr double kFs = 500;
  auto leads = render_beat(person, beat, m.qrs_onset - 0.01, m.qrs_offset + 0.01, kFs);
  std::size_t n = leads.size() / 12;
  double limb = 0, chest = 0;
  for (int lead = 0; lead < 12; ++lead) {
    auto begin = leads.begin() + static_cast<std::ptrdiff_t>(lead * n);
    auto [lo, hi] = std::minmax_element(begin, begin + static_cast<std::ptrdiff_t>(n));
    double p2p = *hi - *lo;
    (lead < 6 ? limb : chest) = std::max(lead < 6 ? limb : chest, p2p);
  }
  return {limb, chest};
}

}  // namespace

double t_scale(double qtc, double qrs_duration, double rr) {
  rr = std::clamp(rr, 0.3, 2.5);
  return (qtc * std::cbrt(rr) - qrs_duration) / (qtc - qrs_duration);
}

Morphology build_morphology(const Person& person, const SimCondition& c) {
  Morphology m;
  const double qrs_scale = person.qrs / (kTemplateQrsOffset - kTemplateQrsOnset);
  m.qrs_onset = kTemplateQrsOnset * qrs_scale;
  m.qrs_offset = kTemplateQrsOffset * qrs_scale;
  m.qtc = person.qtc;
  std::vector<Kernel> qrs, t;
  for (const auto& k : person.kernels)
    (k.wave == Wave::kP ? m.p : k.wave == Wave::kQrs ? qrs : t).push_back(k);
  const double jt = person.qtc - person.qrs;

  if (c.has(Finding::kAvBlock1))
    for (auto& k : m.p) k.center -= person.avb1_pr - person.pr;
  if (c.has(Finding::kLongQt)) {
    double f = (person.long_qtc - person.qrs) / jt;
    for (auto& k : t) {
      k.center = m.qrs_offset + (k.center - m.qrs_offset) * f;
      k.width *= f;
    }
    m.qtc = person.long_qtc;
  }
  const double jt_now = m.qtc - person.qrs;
  if (c.has(Finding::kLvh)) {
    // Sokolow-Lyon voltage (SV1 + RV5 > 3.5 mV; Sokolow & Lyon 1949) with lateral T flattening.
    for (auto& k : qrs) k.amplitude *= person.lvh_gain;
    for (auto& k : t)
      if (k.axis != 2) k.amplitude *= 0.4;
  }
  if (c.has(Finding::kLbbb)) {
    // Activation from the right: no septal q, a broad notched R to the left and back
    // (tall in I, aVL, V5-V6; QS in V1-V2), discordant ST-T.
    double L = person.lbbb_qrs;
    double on = m.qrs_onset;
    qrs.clear();
    qrs.push_back({Wave::kQrs, 0, 0.5, on + 0.35 * L, 0.13 * L});
    qrs.push_back({Wave::kQrs, 0, 0.75, on + 0.68 * L, 0.13 * L});
    qrs.push_back({Wave::kQrs, 2, 0.45, on + 0.4 * L, 0.14 * L});
    qrs.push_back({Wave::kQrs, 2, 0.55, on + 0.65 * L, 0.14 * L});
    qrs.push_back({Wave::kQrs, 1, 0.15, on + 0.5 * L, 0.2 * L});
    m.qrs_offset = on + L;
    t.clear();
    add_discordant_t(t, normalized({1.25, 0.15, 1.0}), m.qrs_offset, jt_now);
    m.qtc += L - person.qrs;
  } else if (c.has(Finding::kRbbb)) {
    // Late activation of the right ventricle: a terminal slow wave to the right and front
    // (R' in V1, broad S in I and V6), T inverted in V1-V3.
    double extra = person.rbbb_qrs - person.qrs;
    double new_offset = m.qrs_onset + person.rbbb_qrs;
    double width = 0.012;
    qrs.push_back({Wave::kQrs, 0, -0.3, new_offset - 4 * width, 1.5 * width});
    qrs.push_back({Wave::kQrs, 2, -0.8, new_offset - 3 * width, width});
    for (auto& k : t) {
      k.center += extra;
      if (k.axis == 2) k.amplitude = 0.6 * std::abs(k.amplitude);
    }
    m.qrs_offset = new_offset;
    m.qtc += extra;
  }
  const double j = m.qrs_offset;
  const double jt_final = m.qtc - (m.qrs_offset - m.qrs_onset);
  if (c.has(Finding::kAnteriorMi)) {
    // Loss of anterior forces (QS in V1-V3) and an injury current towards the front: ST
    // elevation in V1-V4 with reciprocal depression in II, III, aVF.
    for (auto& k : qrs)
      if (k.axis == 2 && k.amplitude < 0) k.amplitude *= -0.2;
    Vec3 v = from_mean_frame(normalized({0.0, -0.8, -1.0}));
    add_vector(t, Wave::kT, v, person.st_amplitude, j + 0.15 * jt_final, 0.15 * jt_final);
    add_vector(t, Wave::kT, v, 0.6 * person.st_amplitude, j + 0.45 * jt_final, 0.2 * jt_final);
  } else if (c.has(Finding::kInferiorMi)) {
    // Inferior Q waves and an injury current towards +95 degrees in the Dower lead frame:
    // ST elevation in II, III, aVF with reciprocal depression in aVL (and I).
    auto first = std::min_element(qrs.begin(), qrs.end(), [](const Kernel& a, const Kernel& b) {
      return (a.axis == 1 ? a.center : 1e9) < (b.axis == 1 ? b.center : 1e9);
    });
    if (first != qrs.end() && first->axis == 1)
      first->amplitude = -0.5 * std::abs(first->amplitude);
    Vec3 v = from_mean_frame(normalized({-0.09, 1.0, 0.0}));
    add_vector(t, Wave::kT, v, person.st_amplitude, j + 0.15 * jt_final, 0.15 * jt_final);
    add_vector(t, Wave::kT, v, 0.6 * person.st_amplitude, j + 0.45 * jt_final, 0.2 * jt_final);
  }
  if (c.has(Finding::kStDepression)) {
    // Subendocardial ischaemia: ST vector towards aVR (depression in I, II, V4-V6).
    Vec3 v = from_mean_frame(normalized({-0.75, -0.55, 0.35}));
    add_vector(t, Wave::kT, v, person.st_depression, j + 0.2 * jt_final, 0.15 * jt_final);
  }
  if (c.has(Finding::kTInversion))
    for (auto& k : t) k.amplitude *= -0.8;

  m.qrst = qrs;
  m.qrst.insert(m.qrst.end(), t.begin(), t.end());

  // Ventricular ectopic beat: wide QRS along the person's ectopic direction, discordant T.
  {
    double Q = person.pvc_qrs;
    double az = person.pvc_azimuth_deg * kDegree;
    double el = person.pvc_elevation_deg * kDegree;
    Vec3 d = {std::cos(el) * std::cos(az), std::cos(el) * std::sin(az), std::sin(el)};
    Vec3 d2 = transform(frontal_rotation(30.0), d);
    add_vector(m.ventricular, Wave::kQrs, d, 1.3, 0.0, 0.14 * Q);
    add_vector(m.ventricular, Wave::kQrs, d2, 0.9, 0.3 * Q, 0.14 * Q);
    m.pvc_qrs_onset = -0.35 * Q;
    m.pvc_qrs_offset = 0.65 * Q;
    double pvc_jt = jt + 0.02;
    m.pvc_qtc = Q + pvc_jt;
    add_discordant_t(m.ventricular, normalized({d[0] + d2[0], d[1] + d2[1], d[2] + d2[2]}),
                     m.pvc_qrs_offset, pvc_jt);
  }
  // Ectopic atrial focus: the sinus P wave turned in the frontal plane.
  {
    auto rotation = frontal_rotation(person.pac_p_rotation_deg);
    for (const auto& k : m.p) {
      Vec3 e = {0, 0, 0};
      e[k.axis] = 1;
      add_vector(m.atrial_p, Wave::kP, transform(rotation, e), k.amplitude, k.center + 0.01,
                 k.width * 0.9);
    }
  }
  if (c.has(Finding::kLowVoltage)) {
    // Attenuation of the whole signal (effusion, obesity) below 0.5 mV in every limb lead and
    // 1.0 mV in every chest lead (the usual limits; Surawicz et al. 2009), with margin.
    auto [limb, chest] = qrs_voltages(person, m);
    double f = std::min({1.0, 0.4 / limb, 0.85 / chest});
    for (auto* set : {&m.p, &m.qrst, &m.atrial_p, &m.ventricular})
      for (auto& k : *set) k.amplitude *= f;
  }
  if (c.rhythm == Rhythm::kAtrialFibrillation || c.rhythm == Rhythm::kAtrialFlutter) m.p.clear();
  return m;
}

}  // namespace ecgtwin::signal::detail
