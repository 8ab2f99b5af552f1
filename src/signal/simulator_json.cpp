// Person and condition parameters as JSON (written to DIR/persons/<id>.json and read back to
// render a person's ground-truth twin).
#include <utility>

#include "ecgtwin/signal/simulator.hpp"
#include "ecgtwin/util/error.hpp"

namespace ecgtwin::signal {

namespace {

using Json = nlohmann::json;

// The scalar fields of a Person, by name; one list serves writing and reading.
template <typename PersonRef, typename Visit>
void visit_scalars(PersonRef& p, Visit&& visit) {
  visit("age", p.age);
  visit("heart_rate", p.heart_rate);
  visit("rr_std", p.rr_std);
  visit("lf_hf_ratio", p.lf_hf_ratio);
  visit("lf_hz", p.lf_hz);
  visit("hf_hz", p.hf_hz);
  visit("pr", p.pr);
  visit("qrs", p.qrs);
  visit("qtc", p.qtc);
  visit("frontal_deg", p.frontal_deg);
  visit("horizontal_deg", p.horizontal_deg);
  visit("sagittal_deg", p.sagittal_deg);
  visit("scale", p.scale);
  visit("pvc_azimuth_deg", p.pvc_azimuth_deg);
  visit("pvc_elevation_deg", p.pvc_elevation_deg);
  visit("pvc_qrs", p.pvc_qrs);
  visit("pvc_coupling", p.pvc_coupling);
  visit("pac_coupling", p.pac_coupling);
  visit("pac_p_rotation_deg", p.pac_p_rotation_deg);
  visit("lbbb_qrs", p.lbbb_qrs);
  visit("rbbb_qrs", p.rbbb_qrs);
  visit("avb1_pr", p.avb1_pr);
  visit("long_qtc", p.long_qtc);
  visit("af_rate_hz", p.af_rate_hz);
  visit("af_amplitude", p.af_amplitude);
  visit("flutter_rate_bpm", p.flutter_rate_bpm);
  visit("flutter_amplitude", p.flutter_amplitude);
  visit("st_amplitude", p.st_amplitude);
  visit("st_depression", p.st_depression);
  visit("lvh_gain", p.lvh_gain);
  visit("baseline_weight", p.baseline_weight);
  visit("powerline_weight", p.powerline_weight);
  visit("emg_weight", p.emg_weight);
  visit("motion_weight", p.motion_weight);
  visit("powerline_hz", p.powerline_hz);
}

const char* const kWaveNames[] = {"P", "QRS", "T"};
const char* const kAxisNames[] = {"x", "y", "z"};

const Json& field(const Json& json, const std::string& key, const std::string& where) {
  if (!json.is_object() || !json.contains(key))
    throw InputError(where, "missing key '" + key + "'");
  return json.at(key);
}

double number(const Json& json, const std::string& key, const std::string& where) {
  const Json& value = field(json, key, where);
  if (!value.is_number()) throw InputError(where + ": " + key, "expected a number");
  return value.get<double>();
}

std::string text(const Json& json, const std::string& key, const std::string& where) {
  const Json& value = field(json, key, where);
  if (!value.is_string()) throw InputError(where + ": " + key, "expected a string");
  return value.get<std::string>();
}

int index_of(const char* const* names, int count, const std::string& name,
             const std::string& where) {
  for (int i = 0; i < count; ++i)
    if (name == names[i]) return i;
  throw InputError(where, "unknown value '" + name + "'");
}

}  // namespace

nlohmann::json person_to_json(const Person& person) {
  Json json;
  json["id"] = person.id;
  json["seed"] = person.seed;
  json["index"] = person.index;
  json["sex"] = person.female ? "F" : "M";
  visit_scalars(person, [&](const char* key, const double& value) { json[key] = value; });
  Json kernels = Json::array();
  for (const auto& k : person.kernels)
    kernels.push_back({{"wave", kWaveNames[static_cast<int>(k.wave)]},
                       {"axis", kAxisNames[k.axis]},
                       {"amplitude", k.amplitude},
                       {"center", k.center},
                       {"width", k.width}});
  json["kernels"] = kernels;
  return json;
}

Person person_from_json(const nlohmann::json& json, const std::string& source) {
  Person person;
  person.id = text(json, "id", source);
  const Json& seed = field(json, "seed", source);
  if (!seed.is_number_unsigned() && !seed.is_number_integer())
    throw InputError(source + ": seed", "expected an integer");
  person.seed = seed.get<std::uint64_t>();
  person.index = static_cast<std::int64_t>(number(json, "index", source));
  std::string sex = text(json, "sex", source);
  if (sex != "F" && sex != "M") throw InputError(source + ": sex", "expected \"F\" or \"M\"");
  person.female = sex == "F";
  visit_scalars(person, [&](const char* key, double& value) { value = number(json, key, source); });
  const Json& kernels = field(json, "kernels", source);
  if (!kernels.is_array() || kernels.empty())
    throw InputError(source + ": kernels", "expected a non-empty array");
  for (std::size_t i = 0; i < kernels.size(); ++i) {
    std::string where = source + ": kernels[" + std::to_string(i) + "]";
    Kernel k;
    k.wave = static_cast<Wave>(index_of(kWaveNames, 3, text(kernels[i], "wave", where), where));
    k.axis = index_of(kAxisNames, 3, text(kernels[i], "axis", where), where);
    k.amplitude = number(kernels[i], "amplitude", where);
    k.center = number(kernels[i], "center", where);
    k.width = number(kernels[i], "width", where);
    if (!(k.width > 0)) throw InputError(where + ": width", "expected a positive number");
    person.kernels.push_back(k);
  }
  return person;
}

nlohmann::json condition_to_json(const SimCondition& condition) {
  return {{"name", condition_name(condition)},
          {"heart_rate", condition.heart_rate},
          {"scp_codes", condition_scp_codes(condition)},
          {"statements", condition_statements(condition)}};
}

}  // namespace ecgtwin::signal
