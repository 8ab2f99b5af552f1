// Persons: seeded draws of every individual parameter, and their JSON form.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <initializer_list>

#include "ecgtwin/signal/simulator.hpp"
#include "ecgtwin/signal/simulator_detail.hpp"
#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/random.hpp"

namespace ecgtwin::signal {

namespace {

constexpr double kTwoPi = 6.283185307179586;

struct SameniKernel {
  Wave wave;
  int axis;
  double amplitude;  // mV
  double theta;      // rad, phase of the centre at 1 Hz
  double width;      // rad
};

// Sameni, Clifford, Jutten, Shamsollahi 2007, "Multichannel ECG and noise modeling:
// application to maternal and fetal ECG signals", EURASIP JASP 2007:43407, Table 1: the
// Gaussian parameters of a normal dipole (fitted to a Frank-lead VCG of the PTB database).
// The broad z kernel at -0.4 rad is atrial repolarisation and moves with the P wave.
constexpr SameniKernel kSameni[] = {
    {Wave::kP, 0, 0.03, -1.09, 0.0906},    {Wave::kP, 0, 0.08, -0.83, 0.1057},
    {Wave::kQrs, 0, -0.13, -0.19, 0.0453}, {Wave::kQrs, 0, 0.85, -0.07, 0.0378},
    {Wave::kQrs, 0, 1.11, 0.0, 0.0332},    {Wave::kQrs, 0, 0.75, 0.06, 0.0302},
    {Wave::kQrs, 0, 0.06, 0.22, 0.0378},   {Wave::kT, 0, 0.1, 1.2, 0.604},
    {Wave::kT, 0, 0.17, 1.42, 0.302},      {Wave::kT, 0, 0.39, 1.68, 0.1812},
    {Wave::kP, 1, 0.035, -1.1, 0.07},      {Wave::kP, 1, 0.015, -0.9, 0.07},
    {Wave::kP, 1, -0.019, -0.76, 0.04},    {Wave::kQrs, 1, 0.32, -0.11, 0.055},
    {Wave::kQrs, 1, 0.51, -0.01, 0.037},   {Wave::kQrs, 1, -0.32, 0.065, 0.0604},
    {Wave::kT, 1, 0.04, 0.8, 0.45},        {Wave::kT, 1, 0.08, 1.58, 0.3},
    {Wave::kP, 2, -0.03, -1.1, 0.03},      {Wave::kP, 2, -0.14, -0.93, 0.12},
    {Wave::kP, 2, -0.035, -0.7, 0.04},     {Wave::kP, 2, 0.045, -0.4, 0.4},
    {Wave::kQrs, 2, -0.4, -0.15, 0.045},   {Wave::kQrs, 2, 0.46, 0.095, 0.05},
    {Wave::kT, 2, -0.12, 1.05, 0.8},       {Wave::kT, 2, -0.2, 1.25, 0.4},
    {Wave::kT, 2, -0.35, 1.55, 0.2},
};

// QRS gains per dipole axis that bring the simulated sinus QRS amplitudes to the medians of
// PTB-XL's normal ECGs (the Table 1 template's vertical forces are large and its
// anterior-posterior ones small for that population; see the simulator's PTB-XL datatest).
constexpr double kQrsAxisGain[3] = {1.0, 0.75, 1.3};

double clamp_normal(util::Rng& rng, double mean, double sd, double low, double high) {
  return std::clamp(rng.normal(mean, sd), low, high);
}

double lognormal(util::Rng& rng, double sd) {
  return std::exp(rng.normal(0.0, sd));
}

}  // namespace

const std::vector<std::string>& simulator_leads() {
  static const std::vector<std::string> kLeads = {"I",  "II", "III", "aVR", "aVL", "aVF",
                                                  "V1", "V2", "V3",  "V4",  "V5",  "V6"};
  return kLeads;
}

namespace detail {

std::vector<Kernel> template_kernels() {
  std::vector<Kernel> kernels;
  for (const auto& k : kSameni)
    kernels.push_back({k.wave, k.axis, k.amplitude, k.theta / kTwoPi, k.width / kTwoPi});
  return kernels;
}

}  // namespace detail

Person draw_person(std::uint64_t seed, std::int64_t index) {
  util::Rng rng(
      util::derive_seed(util::derive_seed(seed, "person"), static_cast<std::uint64_t>(index)));
  Person p;
  p.seed = seed;
  p.index = index;
  char id[32];
  std::snprintf(id, sizeof id, "P%05lld", static_cast<long long>(index + 1));
  p.id = id;
  // PTB-XL's patients: median age 62, 52% male (Wagner et al. 2020).
  p.age = std::round(clamp_normal(rng, 58, 16, 18, 90));
  p.female = rng.bernoulli(0.48);
  p.heart_rate = clamp_normal(rng, 70, 9, 55, 95);
  p.rr_std = std::clamp(0.04 * lognormal(rng, 0.3) * (p.age > 60 ? 0.8 : 1.0), 0.015, 0.08);
  // ECGSYN defaults (McSharry et al. 2003): LF 0.1 Hz, HF 0.25 Hz, LF/HF 0.5.
  p.lf_hf_ratio = std::clamp(0.5 * lognormal(rng, 0.4), 0.2, 1.5);
  p.lf_hz = clamp_normal(rng, 0.1, 0.01, 0.08, 0.12);
  p.hf_hz = clamp_normal(rng, 0.25, 0.03, 0.18, 0.35);
  // Normal adult intervals: PR 120-200 ms, QRS 80-110 ms, QTc 350-450 ms (women ~10 ms
  // longer): Rautaharju et al. 2009 and Surawicz et al. 2009 (AHA/ACCF/HRS).
  p.pr = clamp_normal(rng, 0.158, 0.015, 0.13, 0.19);
  p.qrs = clamp_normal(rng, p.female ? 0.09 : 0.096, 0.006, 0.084, 0.106);
  p.qtc = clamp_normal(rng, p.female ? 0.415 : 0.405, 0.013, 0.38, 0.435);
  p.frontal_deg = detail::kMeanFrontalDeg + clamp_normal(rng, 0, 12, -30, 30);
  p.horizontal_deg = clamp_normal(rng, 0, 10, -20, 20);
  p.sagittal_deg = clamp_normal(rng, 0, 8, -15, 15);
  p.scale = std::clamp(lognormal(rng, 0.18) * (p.female ? 0.92 : 1.05), 0.6, 1.6);

  // Individual wave shapes: group gains per wave and axis, then small per-kernel changes.
  double wave_gain[3][3];
  for (auto& row : wave_gain)
    for (double& g : row) g = 1.0;
  for (int axis = 0; axis < 3; ++axis) {
    wave_gain[0][axis] = lognormal(rng, 0.2);
    wave_gain[1][axis] = kQrsAxisGain[axis] * lognormal(rng, 0.15);
    wave_gain[2][axis] = lognormal(rng, 0.2);
  }
  const double qrs_scale = p.qrs / (detail::kTemplateQrsOffset - detail::kTemplateQrsOnset);
  const double qrs_onset = detail::kTemplateQrsOnset * qrs_scale;
  const double j_point = detail::kTemplateQrsOffset * qrs_scale;
  const double p_shift = (qrs_onset - detail::kTemplateQrsOnset) - (p.pr - detail::kTemplatePr);
  const double t_scale =
      (p.qtc - p.qrs) /
      (detail::kTemplateQt - (detail::kTemplateQrsOffset - detail::kTemplateQrsOnset));
  for (Kernel k : detail::template_kernels()) {
    k.amplitude *= wave_gain[static_cast<int>(k.wave)][k.axis] * lognormal(rng, 0.08);
    k.width *= lognormal(rng, 0.05);
    k.center += rng.normal(0, 0.05) * k.width;
    if (k.wave == Wave::kQrs) {
      k.center *= qrs_scale;
      k.width *= qrs_scale;
    } else if (k.wave == Wave::kP) {
      k.center += p_shift;
    } else {
      k.center = j_point + (k.center - detail::kTemplateQrsOffset) * t_scale;
      k.width *= t_scale;
    }
    p.kernels.push_back(k);
  }

  p.pvc_azimuth_deg = rng.uniform(-180, 180);
  p.pvc_elevation_deg = rng.uniform(-45, 45);
  p.pvc_qrs = rng.uniform(0.13, 0.17);
  p.pvc_coupling = rng.uniform(0.5, 0.65);
  p.pac_coupling = rng.uniform(0.6, 0.8);
  p.pac_p_rotation_deg = (rng.bernoulli(0.5) ? 1 : -1) * rng.uniform(90, 180);
  p.lbbb_qrs = rng.uniform(0.13, 0.17);
  p.rbbb_qrs = rng.uniform(0.135, 0.16);
  p.avb1_pr = rng.uniform(0.22, 0.30);
  p.long_qtc = rng.uniform(0.48, 0.53);
  // Fibrillatory waves 4-9 Hz (Stridh & Sornmo 2001, IEEE TBME 48:19); flutter 250-350/min.
  p.af_rate_hz = rng.uniform(5, 8);
  p.af_amplitude = rng.uniform(0.05, 0.12);
  p.flutter_rate_bpm = rng.uniform(250, 350);
  p.flutter_amplitude = rng.uniform(0.1, 0.2);
  p.st_amplitude = rng.uniform(0.3, 0.5);
  p.st_depression = rng.uniform(0.18, 0.28);
  p.lvh_gain = rng.uniform(1.8, 2.3);

  p.baseline_weight = lognormal(rng, 0.4);
  p.powerline_weight = 0.3 * lognormal(rng, 0.5);
  p.emg_weight = 0.5 * lognormal(rng, 0.5);
  p.motion_weight = 0.3 * lognormal(rng, 0.5);
  p.powerline_hz = 50;  // PTB-XL was recorded in Germany
  return p;
}

Person with_unshown_traits(const Person& person, const Person& donor, const SimCondition& shown) {
  Person p = person;
  auto take = [&](bool keep, std::initializer_list<double Person::*> fields) {
    if (keep) return;
    for (auto field : fields) p.*field = donor.*field;
  };
  const bool ectopy = shown.has(Finding::kPvc) || shown.has(Finding::kPac);
  take(shown.has(Finding::kPvc),
       {&Person::pvc_azimuth_deg, &Person::pvc_elevation_deg, &Person::pvc_qrs});
  take(shown.has(Finding::kPac), {&Person::pac_p_rotation_deg});
  // Which beats may turn premature depends on the shorter of the two coupling intervals.
  take(ectopy, {&Person::pvc_coupling, &Person::pac_coupling});
  take(shown.has(Finding::kLbbb), {&Person::lbbb_qrs});
  take(shown.has(Finding::kRbbb), {&Person::rbbb_qrs});
  take(shown.has(Finding::kAvBlock1), {&Person::avb1_pr});
  take(shown.has(Finding::kLongQt), {&Person::long_qtc});
  take(shown.rhythm == Rhythm::kAtrialFibrillation, {&Person::af_rate_hz, &Person::af_amplitude});
  take(shown.rhythm == Rhythm::kAtrialFlutter,
       {&Person::flutter_rate_bpm, &Person::flutter_amplitude});
  take(shown.has(Finding::kAnteriorMi) || shown.has(Finding::kInferiorMi), {&Person::st_amplitude});
  take(shown.has(Finding::kStDepression), {&Person::st_depression});
  take(shown.has(Finding::kLvh), {&Person::lvh_gain});
  return p;
}

}  // namespace ecgtwin::signal
