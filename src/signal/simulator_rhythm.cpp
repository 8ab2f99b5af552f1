// Beat timing: sinus RR with the ECGSYN bimodal spectrum, irregular AF, flutter with fixed
// conduction, and premature ventricular / atrial beats.
#include <algorithm>
#include <cmath>

#include "ecgtwin/signal/simulator_detail.hpp"

namespace ecgtwin::signal::detail {

namespace {

constexpr double kTwoPi = 6.283185307179586;

// RR(t) = mean + sum of cosines whose power follows the bimodal spectrum of McSharry et al.
// 2003 (Gaussians at f1 = LF and f2 = HF, standard deviations c1 = c2 = 0.01 Hz, power
// ratio LF/HF), scaled to the standard deviation `sd`. Spectral synthesis with random
// phases, as ECGSYN does through an inverse FFT.
class RrProcess {
 public:
  RrProcess(double mean, double sd, double lf_hz, double hf_hz, double lf_hf, util::Rng& rng)
      : mean_(mean) {
    constexpr int kBins = 64;
    constexpr double kMaxHz = 0.5;
    constexpr double kWidth = 0.01;
    double power_sum = 0;
    for (int k = 1; k <= kBins; ++k) {
      double f = kMaxHz * k / kBins;
      double lf = std::exp(-0.5 * std::pow((f - lf_hz) / kWidth, 2));
      double hf = std::exp(-0.5 * std::pow((f - hf_hz) / kWidth, 2));
      double power = lf_hf / (1 + lf_hf) * lf + 1 / (1 + lf_hf) * hf;
      frequency_.push_back(f);
      amplitude_.push_back(std::sqrt(power));
      phase_.push_back(rng.uniform(0, kTwoPi));
      power_sum += power / 2;
    }
    double gain = power_sum > 0 ? sd / std::sqrt(power_sum) : 0.0;
    for (double& a : amplitude_) a *= gain;
  }

  double operator()(double t) const {
    double rr = mean_;
    for (std::size_t k = 0; k < frequency_.size(); ++k)
      rr += amplitude_[k] * std::cos(kTwoPi * frequency_[k] * t + phase_[k]);
    return rr;
  }

 private:
  double mean_;
  std::vector<double> frequency_, amplitude_, phase_;
};

// Makes beat i+1 premature at `coupling` of the RR interval after beat i. A ventricular
// beat keeps the following sinus beats where they were (full compensatory pause); an atrial
// one resets the sinus node, so the following beats move earlier (no compensatory pause).
void insert_premature(std::vector<ScheduledBeat>& beats, std::size_t i, double coupling,
                      BeatKind kind) {
  double rr = beats[i + 1].time - beats[i].time;
  double premature = beats[i].time + coupling * rr;
  if (kind == BeatKind::kAtrial) {
    double shift = beats[i + 1].time - premature;
    for (std::size_t j = i + 2; j < beats.size(); ++j) beats[j].time -= shift;
  }
  beats[i + 1].time = premature;
  beats[i + 1].kind = kind;
  beats[i + 1].p_wave = kind == BeatKind::kAtrial;
  beats[i + 1].rr = beats[i].rr;
}

}  // namespace

std::vector<ScheduledBeat> schedule_beats(const Person& person, const SimCondition& condition,
                                          double heart_rate, double seconds, util::Rng& rng) {
  const double rr_mean = 60.0 / heart_rate;
  const double end = seconds + 2.5 * rr_mean + 1.0;
  std::vector<ScheduledBeat> beats;
  double t = -rr_mean * rng.uniform(0.9, 1.9);

  if (condition.rhythm == Rhythm::kAtrialFibrillation) {
    // Irregularly irregular ventricular response: independent RR intervals, coefficient of
    // variation about 0.2 (typical of AF; Tateno & Glass 2001, Med Biol Eng Comput 39:664).
    double previous = rr_mean;
    while (t < end) {
      beats.push_back({t, previous, BeatKind::kSinus, false});
      double rr = rr_mean * std::clamp(std::exp(rng.normal(0, 0.2)), 0.55, 1.8);
      t += rr;
      previous = rr;
    }
  } else if (condition.rhythm == Rhythm::kAtrialFlutter) {
    // Fixed conduction of the flutter waves: exactly regular ventricular beats.
    while (t < end) {
      beats.push_back({t, rr_mean, BeatKind::kSinus, false});
      t += rr_mean;
    }
  } else {
    // Variability falls with rate; sinus arrhythmia is a strong respiratory (HF) modulation
    // with RR varying by more than 10% (PTB-XL's SARRH; Surawicz et al. 2009).
    double sd = person.rr_std * (rr_mean / (60.0 / person.heart_rate));
    double lf_hf = person.lf_hf_ratio;
    if (condition.rhythm == Rhythm::kSinusArrhythmia) {
      sd = rr_mean * rng.uniform(0.08, 0.12);
      lf_hf = 0.15;
    }
    sd = std::min(sd, 0.12 * rr_mean);
    RrProcess rr(rr_mean, sd, person.lf_hz, person.hf_hz, lf_hf, rng);
    double previous = rr_mean;
    while (t < end) {
      beats.push_back({t, previous, BeatKind::kSinus, true});
      previous = std::max(rr(t), 0.25);
      t += previous;
    }
  }

  bool pvc = condition.has(Finding::kPvc);
  bool pac = condition.has(Finding::kPac);
  if (pvc || pac) {
    // One or two ectopic beats in each 10 s, never next to each other and never at the edges.
    std::vector<std::size_t> eligible;
    for (std::size_t i = 0; i + 2 < beats.size(); ++i)
      // Coupling intervals stay above 360 ms: earlier ectopy would land on the T wave.
      if (beats[i].time > 0.2 && beats[i + 1].time < seconds - 0.8 &&
          std::min(person.pvc_coupling, person.pac_coupling) *
                  (beats[i + 1].time - beats[i].time) >=
              0.36)
        eligible.push_back(i);
    int wanted = std::max(pvc && pac ? 2 : 1,
                          static_cast<int>(std::lround(seconds / 10.0 * rng.uniform(1.0, 2.0))));
    std::vector<std::size_t> chosen;
    for (int attempt = 0;
         attempt < 20 && static_cast<int>(chosen.size()) < wanted && !eligible.empty(); ++attempt) {
      std::size_t i = eligible[rng.uniform_int(0, static_cast<std::int64_t>(eligible.size()) - 1)];
      bool close = std::any_of(chosen.begin(), chosen.end(),
                               [&](std::size_t c) { return i + 3 > c && c + 3 > i; });
      if (!close) chosen.push_back(i);
    }
    std::sort(chosen.begin(), chosen.end());
    for (std::size_t k = 0; k < chosen.size(); ++k) {
      // With both kinds, alternate them so that a record shows each.
      bool ventricular = pvc && (!pac || k % 2 == 0);
      insert_premature(beats, chosen[k], ventricular ? person.pvc_coupling : person.pac_coupling,
                       ventricular ? BeatKind::kVentricular : BeatKind::kAtrial);
    }
  }
  return beats;
}

}  // namespace ecgtwin::signal::detail
