#pragma once
// The ECG simulator: a multichannel dipole model in the spirit of ECGSYN (McSharry et al.
// 2003, IEEE TBME 50:289) and its three-dimensional extension (Sameni et al. 2007, EURASIP
// JASP 2007:43407). The cardiac dipole's x, y, z components (Frank lead axes) are sums of
// Gaussian kernels placed in time around each beat's R peak; the 12 leads follow from the
// dipole through the Dower transform (Dower et al. 1980) after a person-specific rotation
// and scaling. A Person is a seeded draw of every individual parameter, so the same person
// can be rendered under any condition: render(person, condition, {noise = false}) is the
// person's ground-truth twin under that condition.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ecgtwin::signal {

// The lead order of every rendered signal (I, II, III, aVR, aVL, aVF, V1..V6).
const std::vector<std::string>& simulator_leads();

// Kernels are grouped by the part of the beat they draw; the group decides how a kernel
// moves with the PR interval, QRS duration and the rate-dependent QT interval.
enum class Wave : int { kP = 0, kQrs = 1, kT = 2 };

// One Gaussian of one dipole axis: amplitude * exp(-(t - center)^2 / (2 width^2)), with
// `center` in seconds from the R peak of a beat at RR = 1 s and `width` in seconds.
struct Kernel {
  Wave wave = Wave::kQrs;
  int axis = 0;          // 0 = x (Frank X, left), 1 = y (Frank Y, feet), 2 = z (Frank Z, back)
  double amplitude = 0;  // mV
  double center = 0;     // s
  double width = 0;      // s
};

// Everything that makes one simulated person: fixed across all of the person's records.
struct Person {
  std::string id;          // "P00001" (index + 1)
  std::uint64_t seed = 0;  // population seed
  std::int64_t index = 0;  // index in the population
  double age = 50;         // years
  bool female = false;
  double heart_rate = 70;       // resting sinus rate, bpm
  double rr_std = 0.04;         // resting RR standard deviation, s
  double lf_hf_ratio = 0.5;     // LF/HF power ratio of the RR spectrum
  double lf_hz = 0.1;           // Mayer-wave peak
  double hf_hz = 0.25;          // respiratory (RSA) peak
  double pr = 0.16;             // s
  double qrs = 0.09;            // s
  double qtc = 0.41;            // s, Fridericia-corrected
  double frontal_deg = 0;       // rotation of the dipole in the frontal plane (about Frank Z)
  double horizontal_deg = 0;    // rotation in the horizontal plane (about Frank Y)
  double sagittal_deg = 0;      // rotation in the sagittal plane (about Frank X)
  double scale = 1;             // overall amplitude (torso conductivity and geometry)
  std::vector<Kernel> kernels;  // the sinus beat at RR = 1 s, before rotation and scaling

  // How this person's heart shows each condition.
  double pvc_azimuth_deg = 0;       // direction of the ectopic ventricular QRS (frontal)
  double pvc_elevation_deg = 0;     // and out of the frontal plane (towards the back)
  double pvc_qrs = 0.15;            // s
  double pvc_coupling = 0.6;        // fraction of the sinus RR
  double pac_coupling = 0.7;        // fraction of the sinus RR
  double pac_p_rotation_deg = 120;  // ectopic P wave direction relative to the sinus P
  double lbbb_qrs = 0.15;           // s
  double rbbb_qrs = 0.14;           // s
  double avb1_pr = 0.24;            // s
  double long_qtc = 0.5;            // s
  double af_rate_hz = 6;            // dominant atrial fibrillatory frequency
  double af_amplitude = 0.08;       // mV
  double flutter_rate_bpm = 300;    // atrial flutter cycle rate
  double flutter_amplitude = 0.15;  // mV
  double st_amplitude = 0.35;       // mV, injury current of an infarction
  double st_depression = 0.15;      // mV, subendocardial ischaemia
  double lvh_gain = 1.9;            // QRS voltage gain in hypertrophy

  // Noise: relative weights of the four sources and the mains frequency.
  double baseline_weight = 1;
  double powerline_weight = 0.3;
  double emg_weight = 0.5;
  double motion_weight = 0.3;
  double powerline_hz = 50;
};

// Draws person `index` of the population with seed `seed` (independent of other indexes).
Person draw_person(std::uint64_t seed, std::int64_t index);

nlohmann::json person_to_json(const Person& person);
// InputError naming `source` and the key when a field is missing or has the wrong type.
Person person_from_json(const nlohmann::json& json, const std::string& source);

enum class Rhythm {
  kSinus,
  kSinusBradycardia,
  kSinusTachycardia,
  kSinusArrhythmia,
  kAtrialFibrillation,
  kAtrialFlutter
};

enum class Finding {
  kPvc,
  kPac,
  kLbbb,
  kRbbb,
  kAvBlock1,
  kLvh,
  kAnteriorMi,
  kInferiorMi,
  kStDepression,
  kTInversion,
  kLowVoltage,
  kLongQt
};

// A condition: one rhythm plus any compatible findings, at a heart rate (0 = the person's
// resting rate moved into the rhythm's range).
struct SimCondition {
  Rhythm rhythm = Rhythm::kSinus;
  std::vector<Finding> findings;  // sorted, unique
  double heart_rate = 0;          // bpm (ventricular rate)
  bool has(Finding finding) const;
};

// Parses "afib+lbbb", "sinus bradycardia|ventricular premature complex", "AFIB+CLBBB":
// '+' or '|' separated short names, SCP codes or English SCP statements. InputError for
// unknown names and incompatible combinations (two rhythms, LBBB with RBBB, ...).
SimCondition parse_condition(const std::string& text);
// The short name: "sinus", "pvc" (sinus rhythm implied), "afib+lbbb".
std::string condition_name(const SimCondition& condition);
// The short names parse_condition knows (one per rhythm and finding).
const std::vector<std::string>& condition_names();
// Throws InputError when findings cannot combine with the rhythm or each other.
void validate_condition(const SimCondition& condition);

// A PTB-XL SCP statement (scp_statements.csv of PTB-XL 1.0.3, Wagner et al. 2020).
struct ScpStatement {
  std::string code;
  std::string description;
  bool diagnostic = false;
  bool form = false;
  bool rhythm = false;
  std::string diagnostic_class;
  std::string diagnostic_subclass;
};
const std::vector<ScpStatement>& scp_statements();
const ScpStatement& scp_statement(const std::string& code);  // InputError when unknown

// The SCP codes of a condition (rhythm first) and their English descriptions.
std::vector<std::string> condition_scp_codes(const SimCondition& condition);
std::vector<std::string> condition_statements(const SimCondition& condition);

// The heart-rate range of a condition's rhythm, bpm.
struct RateRange {
  double low = 60;
  double high = 100;
};
RateRange rate_range(Rhythm rhythm);
// The rate a condition is rendered at: heart_rate when given (InputError when outside the
// rhythm's range), otherwise the person's resting rate clamped into the range.
double resolve_heart_rate(const Person& person, const SimCondition& condition);

struct RenderOptions {
  double fs = 500;  // Hz
  double seconds = 10;
  bool noise = false;      // false: the ground truth
  double snr_db = 24;      // signal-to-noise power ratio of the noisy record
  std::uint64_t seed = 0;  // RR variability, ectopic timing and noise of this record
};

struct SimBeat {
  std::int64_t sample = 0;  // R peak (centre of the QRS kernels)
  std::string symbol;       // "N" sinus/conducted, "V" ventricular, "A" atrial premature
};

struct SimEcg {
  double fs = 0;
  std::int64_t samples = 0;
  std::vector<float> signal;  // [12 x samples], mV, lead order simulator_leads()
  std::vector<SimBeat> beats;
  double heart_rate = 0;         // mean rate of the beats inside the record, bpm
  double target_heart_rate = 0;  // the rate the beats were scheduled at, bpm
  const float* lead(int index) const { return signal.data() + index * samples; }
};

SimEcg render(const Person& person, const SimCondition& condition, const RenderOptions& options);

// The person with the traits of how they show each condition (the fields of Person after
// `kernels`: the direction of their PVCs, the width of their bundle-branch-block QRS, the
// height of their ST elevation, ...) taken from `donor`, except those of the rhythm and the
// findings of `shown`, which a record under `shown` reveals and which stay the person's. The
// resting morphology, intervals, rhythm and noise stay the person's too. Rendered under a
// target condition it is an ideal twin from a reference record under `shown`: everything the
// reference tells of the person, and what it cannot tell drawn as the donor has it.
// render(with_unshown_traits(p, d, c), c, o) equals render(p, c, o) for every condition c.
Person with_unshown_traits(const Person& person, const Person& donor, const SimCondition& shown);

nlohmann::json condition_to_json(const SimCondition& condition);

}  // namespace ecgtwin::signal
