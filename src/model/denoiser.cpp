#include "ecgtwin/model/denoiser.hpp"

#include "ecgtwin/model/dit.hpp"
#include "ecgtwin/model/unet.hpp"
#include "ecgtwin/util/error.hpp"

namespace ecgtwin::model {
namespace {

void require(bool ok, const std::string& key, const std::string& expected) {
  if (!ok) throw InputError("model.denoiser." + key, expected);
}

}  // namespace

DenoiserOptions DenoiserOptions::preset(const std::string& kind) {
  DenoiserOptions options;
  options.kind(kind);
  if (kind == "signal_dit") {
    // 12 leads x 1024 samples in patches of 8: 128 tokens of 96 values.
    options.in_channels(12).length(1024).patch_size(8);
  } else if (kind != "dit" && kind != "unet") {
    throw InputError("model.denoiser.kind", "one of dit, unet, signal_dit; got \"" + kind + "\"");
  }
  return options;
}

void DenoiserOptions::validate() const {
  require(kind() == "dit" || kind() == "unet" || kind() == "signal_dit", "kind",
          "one of dit, unet, signal_dit; got \"" + kind() + "\"");
  const auto positive = [](int64_t v) { return v > 0; };
  require(positive(in_channels()), "in_channels", "a positive number");
  require(positive(length()), "length", "a positive number");
  require(positive(patch_size()) && length() % patch_size() == 0, "patch_size",
          "a positive divisor of length " + std::to_string(length()));
  require(positive(hidden()), "hidden", "a positive number");
  require(positive(heads()) && hidden() % heads() == 0 && (hidden() / heads()) % 2 == 0, "heads",
          "a divisor of hidden " + std::to_string(hidden()) + " giving an even head width");
  require(kind() == "unet" || positive(depth()), "depth", "a positive number");
  require(mlp_ratio() > 0.0, "mlp_ratio", "a positive number");
  require(positive(base_dim()), "base_dim", "a positive number");
  require(positive(token_dim()), "token_dim", "a positive number");
  require(positive(frequency_dim()), "frequency_dim", "a positive number");
  require(cross_attention() || adaptive_norm(), "pathways",
          "at least one of cross_attention and adaptive_norm switched on");
  if (kind() == "unet") {
    require(!unet_channels().empty(), "unet_channels", "at least one level");
    for (int64_t c : unet_channels()) {
      require(c > 0 && c % heads() == 0 && (c / heads()) % 2 == 0 && c % unet_groups() == 0,
              "unet_channels", "channels divisible by heads and unet_groups, got " + std::to_string(c));
    }
    require(length() % (int64_t{1} << (unet_channels().size() - 1)) == 0, "length",
            "divisible by 2^(levels - 1)");
    require(unet_kernel() > 0 && unet_kernel() % 2 == 1, "unet_kernel", "an odd positive number");
    require(positive(unet_groups()), "unet_groups", "a positive number");
  }
}

std::shared_ptr<DenoiserImpl> make_denoiser(const DenoiserOptions& options) {
  options.validate();
  if (options.kind() == "unet") return std::make_shared<UNetDenoiserImpl>(options);
  return std::make_shared<DitDenoiserImpl>(options);
}

}  // namespace ecgtwin::model
