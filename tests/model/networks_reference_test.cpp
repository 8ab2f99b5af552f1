// The C++ networks against an independent implementation of the published architecture:
// bench/reference.py (Python PyTorch) loads the weights `ecgtwin reference-export` writes
// and must reproduce every output (VAE posterior and decoding, IBE base vectors, InfoNCE,
// condition tokens, DiT noise prediction, DDIM-50 and stochastic DDIM twins) within 1e-5
// (scaled by max(1, |output|)) with equal parameter counts; a perturbed weight must fail.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "ecgtwin/io/npy.hpp"
#include "test_support.hpp"

namespace ecgtwin {
namespace {

std::string python_with_torch() {
  for (const char* candidate : {"python3", "/usr/bin/python3"}) {
    const std::string probe = std::string(candidate) + " -c 'import torch, numpy' >/dev/null 2>&1";
    if (std::system(probe.c_str()) == 0) return candidate;
  }
  return "";
}

int run(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str());
}

TEST(NetworksReference, PythonReferenceReproducesEveryOutputAndCatchesAPerturbedWeight) {
  const std::string python = python_with_torch();
  if (python.empty()) {
    GTEST_SKIP() << "needs a python3 with torch and numpy (Debian: apt-get install python3-torch); "
                    "not found, so skipped";
  }
  ASSERT_TRUE(std::filesystem::exists(test::program())) << test::program() << " is not built";
  test::TempDir dir;
  const std::string export_dir = (dir / "reference").string();
  ASSERT_EQ(run(test::program().string() + " --threads 1 reference-export -o " + export_dir +
                " > /dev/null"),
            0);
  const std::string script = (test::source_dir() / "bench" / "reference.py").string();
  const std::string check = python + " " + script + " check " + export_dir + " > ";

  ASSERT_EQ(run(check + (dir / "check.json").string()), 0);
  const nlohmann::json result = read_json(dir / "check.json");
  EXPECT_TRUE(result.at("parameter_counts_equal").get<bool>());
  for (const char* network : {"autoencoder", "extractor", "condition", "denoiser"}) {
    const auto& counts = result.at("parameters").at(network);
    EXPECT_EQ(counts.at("cpp"), counts.at("python")) << network;
    EXPECT_GT(counts.at("cpp").get<int64_t>(), 100000) << network;
  }
  EXPECT_EQ(result.at("outputs").size(), 12u);
  for (const auto& [name, output] : result.at("outputs").items()) {
    EXPECT_LE(output.at("scaled_diff").get<double>(), 1e-5) << name;
    EXPECT_GT(output.at("max_abs_value").get<double>(), 0.1) << name << " is (nearly) zero";
  }

  // One bias of one DiT block moved by 1e-3: the denoiser outputs must disagree.
  const auto bias = dir / "reference" / "weights" / "denoiser" / "blocks.3.mlp.fc2.bias.npy";
  io::NpyArray array = io::read_npy(bias);
  std::vector<float> values = array.to_float();
  for (float& v : values) v += 1e-3f;
  io::write_npy(bias, values.data(), array.shape);
  EXPECT_EQ(run(check + (dir / "perturbed.json").string()), 1);
  const nlohmann::json perturbed = read_json(dir / "perturbed.json");
  EXPECT_FALSE(perturbed.at("passed").get<bool>());
  EXPECT_GT(perturbed.at("outputs").at("denoiser_epsilon").at("max_abs_diff").get<double>(), 1e-4);
  EXPECT_LE(perturbed.at("outputs").at("autoencoder_mu").at("max_abs_diff").get<double>(), 1e-5);
}

}  // namespace
}  // namespace ecgtwin
