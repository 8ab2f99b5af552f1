// Conditions: names, SCP statements, compatibility and heart-rate ranges.
#include <algorithm>
#include <cctype>
#include <cmath>

#include "ecgtwin/signal/simulator.hpp"
#include "ecgtwin/util/error.hpp"

namespace ecgtwin::signal {

namespace {

// Rows of PTB-XL 1.0.3 scp_statements.csv (Wagner et al. 2020) for the statements the
// simulator writes: code, English description, diagnostic / form / rhythm, class, subclass.
const std::vector<ScpStatement>& table() {
  static const std::vector<ScpStatement> kTable = {
      {"NORM", "normal ECG", true, false, false, "NORM", "NORM"},
      {"SR", "sinus rhythm", false, false, true, "", ""},
      {"SBRAD", "sinus bradycardia", false, false, true, "", ""},
      {"STACH", "sinus tachycardia", false, false, true, "", ""},
      {"SARRH", "sinus arrhythmia", false, false, true, "", ""},
      {"AFIB", "atrial fibrillation", false, false, true, "", ""},
      {"AFLT", "atrial flutter", false, false, true, "", ""},
      {"PVC", "ventricular premature complex", false, true, false, "", ""},
      {"PAC", "atrial premature complex", false, true, false, "", ""},
      {"CLBBB", "complete left bundle branch block", true, false, false, "CD", "CLBBB"},
      {"CRBBB", "complete right bundle branch block", true, false, false, "CD", "CRBBB"},
      {"1AVB", "first degree AV block", true, false, false, "CD", "_AVB"},
      {"LVH", "left ventricular hypertrophy", true, false, false, "HYP", "LVH"},
      {"AMI", "anterior myocardial infarction", true, false, false, "MI", "AMI"},
      {"IMI", "inferior myocardial infarction", true, false, false, "MI", "IMI"},
      {"STD_", "non-specific ST depression", false, true, false, "", ""},
      {"INVT", "inverted T-waves", false, true, false, "", ""},
      {"LVOLT", "low QRS voltages in the frontal and horizontal leads", false, true, false, "", ""},
      {"LNGQT", "long QT-interval", true, true, false, "STTC", "STTC"},
  };
  return kTable;
}

struct RhythmInfo {
  Rhythm rhythm;
  const char* name;
  const char* code;
  RateRange range;
  std::vector<const char*> aliases;
};

// Rate limits: sinus rhythm 60-100 bpm, bradycardia < 60, tachycardia > 100 (the limits
// PTB-XL's SR / SBRAD / STACH statements use); ventricular response of AF and flutter.
const std::vector<RhythmInfo>& rhythms() {
  static const std::vector<RhythmInfo> kRhythms = {
      {Rhythm::kSinus, "sinus", "SR", {60, 100}, {"sr", "norm", "normal", "sinus_rhythm"}},
      {Rhythm::kSinusBradycardia, "brady", "SBRAD", {40, 59}, {"sbrad", "bradycardia"}},
      {Rhythm::kSinusTachycardia, "tachy", "STACH", {101, 150}, {"stach", "tachycardia"}},
      {Rhythm::kSinusArrhythmia, "sarrh", "SARRH", {55, 90}, {"sinus_arrhythmia"}},
      {Rhythm::kAtrialFibrillation, "afib", "AFIB", {60, 140}, {"af", "atrial_fibrillation"}},
      {Rhythm::kAtrialFlutter, "aflutter", "AFLT", {65, 175}, {"aflt", "flutter"}},
  };
  return kRhythms;
}

struct FindingInfo {
  Finding finding;
  const char* name;
  const char* code;
  std::vector<const char*> aliases;
};

const std::vector<FindingInfo>& findings() {
  static const std::vector<FindingInfo> kFindings = {
      {Finding::kPvc, "pvc", "PVC", {"vpc", "pvcs"}},
      {Finding::kPac, "pac", "PAC", {"apc", "pacs"}},
      {Finding::kLbbb, "lbbb", "CLBBB", {"clbbb"}},
      {Finding::kRbbb, "rbbb", "CRBBB", {"crbbb"}},
      {Finding::kAvBlock1, "1avb", "1AVB", {"avb1", "first_degree_av_block"}},
      {Finding::kLvh, "lvh", "LVH", {}},
      {Finding::kAnteriorMi, "ami", "AMI", {"anterior_mi", "anterior_stemi"}},
      {Finding::kInferiorMi, "imi", "IMI", {"inferior_mi", "inferior_stemi"}},
      {Finding::kStDepression, "std", "STD_", {"ischemia", "ischaemia", "st_depression"}},
      {Finding::kTInversion, "invt", "INVT", {"t_inversion"}},
      {Finding::kLowVoltage, "lvolt", "LVOLT", {"low_voltage", "lowvolt"}},
      {Finding::kLongQt, "lngqt", "LNGQT", {"long_qt", "longqt"}},
  };
  return kFindings;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  auto begin = s.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(" \t") - begin + 1);
}

const RhythmInfo& rhythm_info(Rhythm rhythm) {
  for (const auto& r : rhythms())
    if (r.rhythm == rhythm) return r;
  throw Error("unknown rhythm");
}

const FindingInfo& finding_info(Finding finding) {
  for (const auto& f : findings())
    if (f.finding == finding) return f;
  throw Error("unknown finding");
}

bool matches(const std::string& token, const char* name, const char* code,
             const std::vector<const char*>& aliases) {
  if (token == name || token == lower(code)) return true;
  for (const char* alias : aliases)
    if (token == alias) return true;
  return token == lower(scp_statement(code).description);
}

}  // namespace

bool SimCondition::has(Finding finding) const {
  return std::find(findings.begin(), findings.end(), finding) != findings.end();
}

const std::vector<ScpStatement>& scp_statements() {
  return table();
}

const ScpStatement& scp_statement(const std::string& code) {
  for (const auto& s : table())
    if (s.code == code) return s;
  throw InputError("SCP code " + code, "not one of the simulator's statements");
}

const std::vector<std::string>& condition_names() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> names;
    for (const auto& r : rhythms()) names.push_back(r.name);
    for (const auto& f : findings()) names.push_back(f.name);
    return names;
  }();
  return kNames;
}

SimCondition parse_condition(const std::string& text) {
  SimCondition condition;
  bool rhythm_given = false;
  std::string rest = text;
  std::vector<std::string> tokens;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= rest.size(); ++i) {
    if (i == rest.size() || rest[i] == '+' || rest[i] == '|') {
      std::string token = lower(trim(rest.substr(start, i - start)));
      if (token.empty()) throw InputError("condition '" + text + "'", "empty name");
      tokens.push_back(token);
      start = i + 1;
    }
  }
  for (const auto& token : tokens) {
    bool found = false;
    for (const auto& r : rhythms()) {
      if (!matches(token, r.name, r.code, r.aliases)) continue;
      if (rhythm_given && condition.rhythm != r.rhythm)
        throw InputError("condition '" + text + "'", "more than one rhythm");
      condition.rhythm = r.rhythm;
      rhythm_given = found = true;
    }
    for (const auto& f : findings()) {
      if (!matches(token, f.name, f.code, f.aliases)) continue;
      condition.findings.push_back(f.finding);
      found = true;
    }
    // "normal ECG" is implied by a sinus rhythm without findings.
    if (!found && (token == "normal ecg")) found = true;
    if (!found) {
      std::string known;
      for (const auto& name : condition_names()) known += (known.empty() ? "" : ", ") + name;
      throw InputError("condition '" + text + "'", "unknown name '" + token +
                                                       "' (expected one of " + known +
                                                       ", their SCP codes or statements)");
    }
  }
  std::sort(condition.findings.begin(), condition.findings.end());
  condition.findings.erase(std::unique(condition.findings.begin(), condition.findings.end()),
                           condition.findings.end());
  validate_condition(condition);
  return condition;
}

void validate_condition(const SimCondition& c) {
  std::string where = "condition '" + condition_name(c) + "'";
  bool atrial = c.rhythm == Rhythm::kAtrialFibrillation || c.rhythm == Rhythm::kAtrialFlutter;
  if (c.has(Finding::kLbbb) && c.has(Finding::kRbbb))
    throw InputError(where, "LBBB and RBBB cannot combine");
  if (atrial && (c.has(Finding::kPac) || c.has(Finding::kAvBlock1)))
    throw InputError(where, "PAC and first degree AV block need P waves (no AF or flutter)");
  if (c.has(Finding::kAnteriorMi) && c.has(Finding::kInferiorMi))
    throw InputError(where, "one infarction territory at a time");
  if (c.has(Finding::kLowVoltage) && c.has(Finding::kLvh))
    throw InputError(where, "low voltage and LVH cannot combine");
  if (c.heart_rate < 0 || c.heart_rate > 250)
    throw InputError(where, "heart rate " + number_text(c.heart_rate) + " bpm out of range");
}

std::string condition_name(const SimCondition& condition) {
  // Sinus rhythm is implied when findings are named ("pvc" = sinus rhythm with PVCs).
  std::string name = condition.rhythm == Rhythm::kSinus && !condition.findings.empty()
                         ? ""
                         : rhythm_info(condition.rhythm).name;
  for (Finding f : condition.findings)
    name += (name.empty() ? "" : "+") + std::string(finding_info(f).name);
  return name;
}

std::vector<std::string> condition_scp_codes(const SimCondition& condition) {
  std::vector<std::string> codes = {rhythm_info(condition.rhythm).code};
  for (Finding f : condition.findings) codes.push_back(finding_info(f).code);
  bool sinus = condition.rhythm == Rhythm::kSinus ||
               condition.rhythm == Rhythm::kSinusBradycardia ||
               condition.rhythm == Rhythm::kSinusArrhythmia;
  if (sinus && condition.findings.empty()) codes.insert(codes.begin(), "NORM");
  return codes;
}

std::vector<std::string> condition_statements(const SimCondition& condition) {
  std::vector<std::string> statements;
  for (const auto& code : condition_scp_codes(condition))
    statements.push_back(scp_statement(code).description);
  return statements;
}

RateRange rate_range(Rhythm rhythm) {
  return rhythm_info(rhythm).range;
}

double resolve_heart_rate(const Person& person, const SimCondition& condition) {
  RateRange range = rate_range(condition.rhythm);
  if (condition.heart_rate > 0) {
    if (condition.heart_rate < range.low - 1e-9 || condition.heart_rate > range.high + 1e-9)
      throw InputError("heart rate " + number_text(condition.heart_rate) + " bpm",
                       std::string("outside the range of ") + rhythm_info(condition.rhythm).name +
                           " (" + std::to_string(static_cast<int>(range.low)) + "-" +
                           std::to_string(static_cast<int>(range.high)) + " bpm)");
    return condition.heart_rate;
  }
  return std::clamp(person.heart_rate, range.low, range.high);
}

}  // namespace ecgtwin::signal
