#include "ecgtwin/config/tree.hpp"

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace ecgtwin::config {
namespace {

TEST(ConfigTree, YamlAndJsonGiveTheSameTree) {
  Json a = parse_yaml("model:\n  depth: 7\n  ratio: 4.0\n  name: dit\n  on: true\n", "a.yaml");
  Json b = parse_yaml(R"({"model": {"depth": 7, "ratio": 4.0, "name": "dit", "on": true}})", "b.json");
  EXPECT_EQ(a, b);
  EXPECT_TRUE(a["model"]["depth"].is_number_integer());
}

TEST(ConfigTree, OverridesSetNestedKeys) {
  Json tree = Json::object();
  apply_override(tree, "train.steps=100");
  apply_override(tree, "train.lr=1e-4");
  apply_override(tree, "data.leads=[I, II]");
  apply_override(tree, "name=\"007\"");
  EXPECT_EQ(tree["train"]["steps"], 100);
  EXPECT_DOUBLE_EQ(tree["train"]["lr"].get<double>(), 1e-4);
  EXPECT_EQ(tree["data"]["leads"], Json::array({"I", "II"}));
  EXPECT_EQ(tree["name"], "007");
  EXPECT_THROW(apply_override(tree, "nokey"), InputError);
}

TEST(ConfigSection, TypedReadsNameTheKeyPath) {
  Json tree = parse_yaml("model:\n  depth: seven\n  typo_key: 1\n  heads: 8\n", "t");
  Section root(tree, "");
  Section model = root.child("model");
  EXPECT_TRUE(test::throws_input_error([&] { model.get("depth", std::int64_t{7}); },
                                       {"model.depth", "integer"}));
  EXPECT_EQ(model.get("heads", std::int64_t{1}), 8);
  EXPECT_TRUE(test::throws_input_error([&] { model.finish(); }, {"model.typo_key"}));
}

TEST(ConfigSection, RangesAndChoices) {
  Json tree = parse_yaml("a: 5\nb: ddim\n", "t");
  Section s(tree, "x");
  EXPECT_THROW(s.get_in("a", std::int64_t{1}, 0, 4), InputError);
  EXPECT_EQ(s.choice("b", "ddpm", {"ddpm", "ddim"}), "ddim");
  EXPECT_THROW(s.choice("b", "ddpm", {"ddpm"}), InputError);
}

TEST(ConfigTree, YamlRoundTrip) {
  Json tree = parse_yaml("a: {b: 1, c: [1, 2.5], d: \"true\", e: text}\n", "t");
  test::TempDir dir;
  write_file(tree, dir / "r.yaml");
  EXPECT_EQ(load_file(dir / "r.yaml"), tree);
  write_file(tree, dir / "r.json");
  EXPECT_EQ(load_file(dir / "r.json"), tree);
}

}  // namespace
}  // namespace ecgtwin::config
