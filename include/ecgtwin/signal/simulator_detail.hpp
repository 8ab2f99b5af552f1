#pragma once
// Parts of the simulator shared between its source files (and reachable by its tests):
// the beat schedule, the per-condition morphology, the lead transform and the noise.
#include <array>
#include <cstdint>
#include <vector>

#include "ecgtwin/signal/simulator.hpp"
#include "ecgtwin/util/random.hpp"

namespace ecgtwin::signal::detail {

// Wave boundaries of the unmodified template (Sameni 2007 Table 1 kernels at 60 bpm),
// measured on its noise-free rendering: seconds from the R peak.
inline constexpr double kTemplateQrsOnset = -0.045;
inline constexpr double kTemplateQrsOffset = 0.045;
inline constexpr double kTemplatePr = 0.160;
inline constexpr double kTemplateQt = 0.385;

// The unmodified Sameni et al. 2007 kernels converted from phase to seconds at 1 Hz.
std::vector<Kernel> template_kernels();

// Rotates the dipole [3 x n] in place by the person's rotation and scale.
void rotate_dipole(const Person& person, std::int64_t n, double* dipole);
// 3x3 rotation (row-major) from the person's frontal, horizontal and sagittal angles.
std::array<double, 9> person_rotation(const Person& person);
// Rotation about Frank Z (the frontal plane) by `degrees`.
std::array<double, 9> frontal_rotation(double degrees);

enum class BeatKind { kSinus, kVentricular, kAtrial };

struct ScheduledBeat {
  double time = 0;  // R peak, s
  double rr = 1;    // the RR interval that sets this beat's QT, s
  BeatKind kind = BeatKind::kSinus;
  bool p_wave = true;  // sinus or ectopic P wave before the QRS
};

// Beat times over [0, seconds) plus one beat of margin either side, so that waves that
// cross the record's edges are drawn.
std::vector<ScheduledBeat> schedule_beats(const Person& person, const SimCondition& condition,
                                          double heart_rate, double seconds, util::Rng& rng);

// The mean frontal rotation that moves the template's QRS axis to the adult mean of about
// +50 degrees (normal range -30..+90: Surawicz et al. 2009, AHA/ACCF/HRS recommendations).
inline constexpr double kMeanFrontalDeg = 12.0;

// The kernel sets of one condition, in the person's unrotated dipole coordinates.
struct Morphology {
  std::vector<Kernel> p;            // sinus P wave (empty in fibrillation and flutter)
  std::vector<Kernel> qrst;         // QRS + T of a conducted beat at RR = 1 s
  std::vector<Kernel> atrial_p;     // ectopic P wave of a premature atrial beat
  std::vector<Kernel> ventricular;  // ectopic ventricular beat (QRS + T)
  double qrs_onset = -0.045;        // s from R
  double qrs_offset = 0.045;        // J point, s from R
  double qtc = 0.41;                // s
  double pvc_qrs_onset = -0.05;
  double pvc_qrs_offset = 0.1;
  double pvc_qtc = 0.45;
};
Morphology build_morphology(const Person& person, const SimCondition& condition);

// The factor that stretches the T group of a beat preceded by `rr` seconds, so that
// QT = qtc * rr^(1/3) (Fridericia 1920) with the QRS duration unchanged.
double t_scale(double qtc, double qrs_duration, double rr);

// Renders one noise-free beat (RR = 1 s) of `kernels` to the 12 leads at `fs` over
// [from, to) seconds around the R peak: [12 x samples] row-major.
std::vector<double> render_beat(const Person& person, const std::vector<Kernel>& kernels,
                                double from, double to, double fs);

// Adds Gaussian kernels (timed for one beat) into the dipole [3 x n] sampled at fs.
// `t_scale` stretches the T group about `j_point` (rate adaptation of the QT interval).
void add_beat(const std::vector<Kernel>& kernels, double r_time, double j_point, double t_scale,
              double fs, std::int64_t n, double* dipole);

// Atrial fibrillatory or flutter waves into the dipole.
// `heart_rate` and `first_beat` (s) align flutter waves with the conducted beats.
void add_atrial_activity(const Person& person, const SimCondition& condition, double heart_rate,
                         double first_beat, double fs, std::int64_t n, util::Rng& rng,
                         double* dipole);
// The atrial flutter cycle (s) and conduction ratio for a ventricular rate.
double flutter_cycle(const Person& person, double heart_rate, int* conduction);

// The 8 independent leads (I, II, V1..V6) from the dipole through the Dower matrix.
void dipole_to_independent_leads(const double* dipole, std::int64_t n, double* leads8);
// Fills the 12 leads from I, II, V1..V6 (Einthoven and Goldberger relations).
void expand_leads(const double* leads8, std::int64_t n, float* leads12);

// Adds baseline wander, powerline, EMG and electrode motion to the 8 independent leads
// at the given SNR (signal power over noise power, dB).
void add_noise(const Person& person, double snr_db, double fs, std::int64_t n, util::Rng& rng,
               double* leads8);

}  // namespace ecgtwin::signal::detail
