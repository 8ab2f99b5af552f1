// The cohort plan: who is recorded when, under which condition and at which rate.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "ecgtwin/signal/simulator_cohort.hpp"
#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/random.hpp"

namespace ecgtwin::signal {

namespace {

double draw_rate(const Person& person, Rhythm rhythm, util::Rng& rng) {
  switch (rhythm) {
    case Rhythm::kSinus:
      return std::clamp(person.heart_rate + rng.normal(0, 4), 60.0, 100.0);
    case Rhythm::kSinusBradycardia:
      return rng.uniform(42, 58);
    case Rhythm::kSinusTachycardia:
      return rng.uniform(105, 140);
    case Rhythm::kSinusArrhythmia:
      return std::clamp(person.heart_rate, 55.0, 90.0);
    case Rhythm::kAtrialFibrillation:
      return rng.uniform(65, 130);
    case Rhythm::kAtrialFlutter:
      return std::clamp(person.flutter_rate_bpm / static_cast<double>(rng.uniform_int(2, 4)), 65.0,
                        175.0);
  }
  return person.heart_rate;
}

SimCondition draw_condition(const std::vector<SimCondition>& choices, double combine,
                            util::Rng& rng) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    SimCondition c = choices[rng.uniform_int(0, static_cast<std::int64_t>(choices.size()) - 1)];
    bool single = c.findings.size() + (c.rhythm != Rhythm::kSinus ? 1 : 0) == 1;
    if (single && rng.bernoulli(combine)) {
      const SimCondition& other =
          choices[rng.uniform_int(0, static_cast<std::int64_t>(choices.size()) - 1)];
      SimCondition merged = c;
      if (other.rhythm != Rhythm::kSinus) merged.rhythm = other.rhythm;
      if (c.rhythm != Rhythm::kSinus && other.rhythm != Rhythm::kSinus) merged.rhythm = c.rhythm;
      merged.findings.insert(merged.findings.end(), other.findings.begin(), other.findings.end());
      std::sort(merged.findings.begin(), merged.findings.end());
      merged.findings.erase(std::unique(merged.findings.begin(), merged.findings.end()),
                            merged.findings.end());
      try {
        validate_condition(merged);
        return merged;
      } catch (const InputError&) {
      }
    }
    return c;
  }
  return choices.front();
}

}  // namespace

std::string cohort_record_folder(double fs) {
  return "records" + std::to_string(std::lround(fs));
}

std::vector<CohortRecord> plan_cohort(const CohortOptions& options) {
  if (options.patients < 1) throw InputError("--patients", "expected at least 1");
  if (options.records_per_patient < 1)
    throw InputError("--records-per-patient", "expected at least 1");
  std::vector<SimCondition> choices;
  for (const auto& name : options.conditions.empty() ? condition_names() : options.conditions)
    choices.push_back(parse_condition(name));
  if (choices.empty()) throw InputError("--conditions", "expected at least one condition");
  std::string suffix = options.fs >= 250 ? "hr" : "lr";
  std::vector<CohortRecord> records;
  std::int64_t ecg_id = 0;
  for (std::int64_t patient = 0; patient < options.patients; ++patient) {
    Person person = draw_person(options.seed, patient);
    util::Rng rng(util::derive_seed(util::derive_seed(options.seed, "visits"),
                                    static_cast<std::uint64_t>(patient)));
    for (int visit = 0; visit < options.records_per_patient; ++visit) {
      CohortRecord r;
      r.ecg_id = ++ecg_id;
      r.patient = patient;
      r.visit = visit;
      if (visit > 0) r.condition = draw_condition(choices, options.combine_probability, rng);
      r.condition.heart_rate = draw_rate(person, r.condition.rhythm, rng);
      RateRange range = rate_range(r.condition.rhythm);
      r.condition.heart_rate = std::clamp(r.condition.heart_rate, range.low, range.high);
      r.seed = util::derive_seed(util::derive_seed(options.seed, "records"),
                                 static_cast<std::uint64_t>(r.ecg_id));
      char path[64];
      std::snprintf(path, sizeof path, "/%05lld/%05lld_%s",
                    static_cast<long long>((r.ecg_id / 1000) * 1000),
                    static_cast<long long>(r.ecg_id), suffix.c_str());
      r.path = cohort_record_folder(options.fs) + path;
      records.push_back(r);
    }
  }
  return records;
}

}  // namespace ecgtwin::signal
