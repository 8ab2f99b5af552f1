#include "ecgtwin/config/tree.hpp"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <sstream>

#include "ecgtwin/util/files.hpp"

namespace ecgtwin::config {

namespace {

bool is_integer_text(const std::string& s) {
  if (s.empty()) return false;
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

Json scalar_to_json(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  // Quoted scalars ("3") stay strings.
  if (node.Tag() == "!") return text;
  if (text == "null" || text == "~" || text.empty()) return nullptr;
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  if (is_integer_text(text)) {
    try {
      return std::stoll(text);
    } catch (const std::out_of_range&) {
    }
  }
  try {
    size_t used = 0;
    double value = std::stod(text, &used);
    if (used == text.size()) return value;
  } catch (const std::exception&) {
  }
  return text;
}

Json yaml_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: return nullptr;
    case YAML::NodeType::Scalar: return scalar_to_json(node);
    case YAML::NodeType::Sequence: {
      Json out = Json::array();
      for (const auto& item : node) out.push_back(yaml_to_json(item));
      return out;
    }
    case YAML::NodeType::Map: {
      Json out = Json::object();
      for (const auto& item : node) out[item.first.as<std::string>()] = yaml_to_json(item.second);
      return out;
    }
  }
  return nullptr;
}

void emit(YAML::Emitter& out, const Json& value) {
  if (value.is_object()) {
    out << YAML::BeginMap;
    for (auto it = value.begin(); it != value.end(); ++it) {
      out << YAML::Key << it.key() << YAML::Value;
      emit(out, it.value());
    }
    out << YAML::EndMap;
  } else if (value.is_array()) {
    bool flat = true;
    for (const auto& item : value) flat = flat && !item.is_structured();
    out << (flat ? YAML::Flow : YAML::Block) << YAML::BeginSeq;
    for (const auto& item : value) emit(out, item);
    out << YAML::EndSeq;
  } else if (value.is_string()) {
    // Quote strings that would read back as another type.
    const auto& s = value.get_ref<const std::string&>();
    Json reread = scalar_to_json(YAML::Load(s.empty() ? "''" : s));
    if (reread.is_string() && reread.get<std::string>() == s) {
      out << s;
    } else {
      out << YAML::DoubleQuoted << s;
    }
  } else if (value.is_boolean()) {
    out << (value.get<bool>() ? "true" : "false");
  } else if (value.is_number_integer()) {
    out << value.get<std::int64_t>();
  } else if (value.is_number()) {
    out << YAML::Precision(17) << value.get<double>();
  } else {
    out << YAML::Null;
  }
}

std::string describe(const Json& value) {
  std::string text = value.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

}  // namespace

Json parse_yaml(const std::string& text, const std::string& source) {
  try {
    return yaml_to_json(YAML::Load(text));
  } catch (const YAML::Exception& e) {
    std::ostringstream where;
    where << source << ":" << e.mark.line + 1 << ":" << e.mark.column + 1;
    throw InputError(where.str(), "not valid YAML/JSON: " + e.msg);
  }
}

Json load_file(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) throw InputError(path.string(), "config file not found");
  Json tree = parse_yaml(util::read_file(path), path.string());
  if (tree.is_null()) return Json::object();
  if (!tree.is_object())
    throw InputError(path.string(), "expected a mapping of keys at the top of the config");
  return tree;
}

void set_key(Json& root, const std::string& dotted_key, Json value) {
  if (dotted_key.empty()) throw InputError("--set", "empty config key");
  Json* node = &root;
  size_t start = 0;
  while (true) {
    size_t dot = dotted_key.find('.', start);
    std::string part = dotted_key.substr(start, dot == std::string::npos ? dot : dot - start);
    if (part.empty()) throw InputError("config key " + dotted_key, "empty part in key path");
    if (!node->is_object()) {
      if (node->is_null()) {
        *node = Json::object();
      } else {
        throw InputError("config key " + dotted_key,
                         "'" + part + "' is inside a value that is not a mapping");
      }
    }
    node = &(*node)[part];
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  *node = std::move(value);
}

void apply_override(Json& root, const std::string& assignment) {
  auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw InputError("--set " + assignment, "expected KEY=VALUE (for example model.depth=4)");
  std::string key = assignment.substr(0, eq);
  std::string text = assignment.substr(eq + 1);
  Json value = text.empty() ? Json("") : parse_yaml(text, "--set " + key);
  set_key(root, key, std::move(value));
}

void merge(Json& base, const Json& overlay) {
  if (!base.is_object() || !overlay.is_object()) {
    base = overlay;
    return;
  }
  for (auto it = overlay.begin(); it != overlay.end(); ++it) {
    if (base.contains(it.key()) && base[it.key()].is_object() && it.value().is_object()) {
      merge(base[it.key()], it.value());
    } else {
      base[it.key()] = it.value();
    }
  }
}

std::string to_yaml(const Json& tree) {
  YAML::Emitter out;
  emit(out, tree);
  return std::string(out.c_str()) + "\n";
}

void write_file(const Json& tree, const std::filesystem::path& path) {
  auto ext = path.extension().string();
  if (ext == ".yaml" || ext == ".yml") {
    util::write_file_atomic(path, to_yaml(tree));
  } else {
    util::write_file_atomic(path, tree.dump(2) + "\n");
  }
}

const Json Section::kEmptyObject = Json::object();

Section::Section(const Json& node, std::string path)
    : node_(node.is_null() ? kEmptyObject : node), path_(std::move(path)) {
  if (!node_.is_object())
    throw InputError("config key " + (path_.empty() ? std::string("(top)") : path_),
                     "expected a mapping of keys, got " + describe(node_));
}

bool Section::has(const std::string& key) const { return node_.contains(key); }

std::string Section::key_path(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

const Json* Section::lookup(const std::string& key) {
  read_.insert(key);
  auto it = node_.find(key);
  if (it == node_.end() || it->is_null()) return nullptr;
  return &*it;
}

void Section::type_error(const std::string& key, const std::string& expected) const {
  throw InputError("config key " + key_path(key),
                   "expected " + expected + ", got " + describe(node_.at(key)));
}

double Section::get(const std::string& key, double fallback) {
  const Json* v = lookup(key);
  if (!v) return fallback;
  if (!v->is_number()) type_error(key, "a number");
  double value = v->get<double>();
  if (!std::isfinite(value)) type_error(key, "a finite number");
  return value;
}

std::int64_t Section::get(const std::string& key, std::int64_t fallback) {
  const Json* v = lookup(key);
  if (!v) return fallback;
  if (v->is_number_integer()) return v->get<std::int64_t>();
  if (v->is_number_float()) {
    double d = v->get<double>();
    if (std::floor(d) == d && std::fabs(d) < 9e15) return static_cast<std::int64_t>(d);
  }
  type_error(key, "an integer");
}

int Section::get(const std::string& key, int fallback) {
  std::int64_t value = get(key, static_cast<std::int64_t>(fallback));
  if (value < INT32_MIN || value > INT32_MAX) type_error(key, "a 32-bit integer");
  return static_cast<int>(value);
}

bool Section::get(const std::string& key, bool fallback) {
  const Json* v = lookup(key);
  if (!v) return fallback;
  if (!v->is_boolean()) type_error(key, "true or false");
  return v->get<bool>();
}

std::string Section::get(const std::string& key, const std::string& fallback) {
  const Json* v = lookup(key);
  if (!v) return fallback;
  if (v->is_string()) return v->get<std::string>();
  if (v->is_number() || v->is_boolean()) return v->dump();
  type_error(key, "a string");
}

std::string Section::get(const std::string& key, const char* fallback) {
  return get(key, std::string(fallback));
}

std::vector<std::string> Section::get(const std::string& key,
                                      const std::vector<std::string>& fallback) {
  const Json* v = lookup(key);
  if (!v) return fallback;
  if (v->is_string()) return {v->get<std::string>()};
  if (!v->is_array()) type_error(key, "a list of strings");
  std::vector<std::string> out;
  for (const auto& item : *v) {
    if (!item.is_string()) type_error(key, "a list of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::vector<double> Section::get(const std::string& key, const std::vector<double>& fallback) {
  const Json* v = lookup(key);
  if (!v) return fallback;
  if (!v->is_array()) type_error(key, "a list of numbers");
  std::vector<double> out;
  for (const auto& item : *v) {
    if (!item.is_number()) type_error(key, "a list of numbers");
    out.push_back(item.get<double>());
  }
  return out;
}

std::vector<std::int64_t> Section::get(const std::string& key,
                                       const std::vector<std::int64_t>& fallback) {
  const Json* v = lookup(key);
  if (!v) return fallback;
  if (!v->is_array()) type_error(key, "a list of integers");
  std::vector<std::int64_t> out;
  for (const auto& item : *v) {
    if (!item.is_number_integer()) type_error(key, "a list of integers");
    out.push_back(item.get<std::int64_t>());
  }
  return out;
}

std::string Section::choice(const std::string& key, const std::string& fallback,
                            const std::vector<std::string>& choices) {
  std::string value = get(key, fallback);
  for (const auto& c : choices)
    if (c == value) return value;
  std::string list;
  for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
  throw InputError("config key " + key_path(key),
                   "expected one of " + list + ", got \"" + value + "\"");
}

double Section::get_in(const std::string& key, double fallback, double low, double high) {
  double value = get(key, fallback);
  if (value < low || value > high) {
    std::ostringstream msg;
    msg << "expected a value in [" << low << ", " << high << "], got " << value;
    throw InputError("config key " + key_path(key), msg.str());
  }
  return value;
}

std::int64_t Section::get_in(const std::string& key, std::int64_t fallback, std::int64_t low,
                             std::int64_t high) {
  std::int64_t value = get(key, fallback);
  if (value < low || value > high) {
    std::ostringstream msg;
    msg << "expected an integer in [" << low << ", " << high << "], got " << value;
    throw InputError("config key " + key_path(key), msg.str());
  }
  return value;
}

Section Section::child(const std::string& key) {
  const Json* v = lookup(key);
  if (v && !v->is_object()) type_error(key, "a mapping of keys");
  return Section(v ? *v : kEmptyObject, key_path(key));
}

Json Section::raw(const std::string& key) {
  const Json* v = lookup(key);
  return v ? *v : Json();
}

void Section::finish() const {
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    if (read_.count(it.key())) continue;
    std::string known;
    for (const auto& k : read_) known += (known.empty() ? "" : ", ") + k;
    throw InputError("config key " + key_path(it.key()),
                     "unknown key" + (known.empty() ? std::string() : " (known here: " + known + ")"));
  }
}

}  // namespace ecgtwin::config
