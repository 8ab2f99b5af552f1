#pragma once
// Configuration trees: YAML or JSON files, overrides of single keys from the command line,
// and typed reads that name the full key path in every error and refuse unknown keys.
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ecgtwin/util/error.hpp"

namespace ecgtwin::config {

using Json = nlohmann::json;

// Parses YAML (a superset of JSON) into a JSON tree. `source` names the file in errors,
// which also give the line and column.
Json parse_yaml(const std::string& text, const std::string& source);
// Loads a .yaml/.yml/.json file.
Json load_file(const std::filesystem::path& path);

// Sets `dotted.key.path` to `value`, creating objects on the way.
void set_key(Json& root, const std::string& dotted_key, Json value);
// Applies "a.b.c=value", where value is read as a YAML scalar or flow collection
// ("3", "0.5", "true", "[1, 2]", "text").
void apply_override(Json& root, const std::string& assignment);
// Merges `overlay` into `base` key by key (objects recursively, everything else replaced).
void merge(Json& base, const Json& overlay);

// Writes a tree as YAML (by extension .yaml/.yml) or pretty JSON, atomically.
void write_file(const Json& tree, const std::filesystem::path& path);
std::string to_yaml(const Json& tree);

// A view of one object in the tree that reads typed values and remembers which keys were
// read, so finish() can refuse the keys nobody asked for (a typo in a config file is an
// error, not a silently ignored setting).
class Section {
 public:
  Section(const Json& node, std::string path);

  bool has(const std::string& key) const;
  const std::string& path() const { return path_; }
  std::string key_path(const std::string& key) const;

  // The value of `key`, or `fallback` when absent. Wrong types are InputErrors that name
  // the key path and the expected type.
  double get(const std::string& key, double fallback);
  std::int64_t get(const std::string& key, std::int64_t fallback);
  int get(const std::string& key, int fallback);
  bool get(const std::string& key, bool fallback);
  std::string get(const std::string& key, const std::string& fallback);
  std::string get(const std::string& key, const char* fallback);
  std::vector<std::string> get(const std::string& key, const std::vector<std::string>& fallback);
  std::vector<double> get(const std::string& key, const std::vector<double>& fallback);
  std::vector<std::int64_t> get(const std::string& key,
                                const std::vector<std::int64_t>& fallback);

  // One of `choices`.
  std::string choice(const std::string& key, const std::string& fallback,
                     const std::vector<std::string>& choices);
  // Range checks: InputError "key: expected a value in [low, high], got x".
  double get_in(const std::string& key, double fallback, double low, double high);
  std::int64_t get_in(const std::string& key, std::int64_t fallback, std::int64_t low,
                      std::int64_t high);

  // A child object (empty when absent). Its keys count as read by this section; the child
  // checks its own keys in its own finish().
  Section child(const std::string& key);
  // The raw value, marked as read (null Json when absent).
  Json raw(const std::string& key);

  // InputError for every key of this object that was never read.
  void finish() const;

 private:
  const Json* lookup(const std::string& key);
  [[noreturn]] void type_error(const std::string& key, const std::string& expected) const;
  const Json& node_;
  std::string path_;
  std::set<std::string> read_;
  static const Json kEmptyObject;
};

}  // namespace ecgtwin::config
