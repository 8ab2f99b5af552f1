// ecgtwin convert: the samples of a WFDB record as CSV (or NPY).
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "command.hpp"
#include "ecgtwin/io/npy.hpp"
#include "ecgtwin/io/wfdb.hpp"
#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/files.hpp"
#include "ecgtwin/util/number_text.hpp"

namespace ecgtwin::app {
namespace {

std::vector<int> parse_channels(const std::string& text) {
  std::vector<int> channels;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    try {
      size_t used = 0;
      int c = std::stoi(item, &used);
      if (used != item.size() || c < 0) throw std::invalid_argument(item);
      channels.push_back(c);
    } catch (const std::exception&) {
      throw InputError("--channels " + text, "expected signal indices separated by commas, e.g. 2,0");
    }
  }
  return channels;
}

const Registrar kConvert{
    "convert", "write the samples of a WFDB record as CSV or NPY",
    [](CLI::App& app) -> RunFunction {
      struct Args {
        std::string record;
        std::string to;
        std::string output;
        std::string units = "physical";
        int64_t sampfrom = 0;
        int64_t sampto = -1;
        std::string channels;
        bool expand_frames = false;
      };
      auto args = std::make_shared<Args>();
      app.add_option("record", args->record, "WFDB record (RECORD or RECORD.hea)")->required();
      app.add_option("--to", args->to,
                     "output format: csv or npy (default: npy for an output ending in .npy, "
                     "else csv)")
          ->check(CLI::IsMember({"csv", "npy"}));
      app.add_option("-o,--output", args->output, "output file, or - for standard output (required)")->required();
      app.add_option("--units", args->units, "digital (stored integers) or physical (default: physical)")
          ->check(CLI::IsMember({"digital", "physical"}));
      app.add_option("--sampfrom", args->sampfrom, "first sample (frame), inclusive (default: 0)")
          ->check(CLI::NonNegativeNumber);
      app.add_option("--sampto", args->sampto, "last sample (frame), exclusive (default: end of record)")
          ->check(CLI::NonNegativeNumber);
      app.add_option("--channels", args->channels, "signal indices in output order, e.g. 2,0 (default: all)");
      app.add_flag("--expand-frames", args->expand_frames,
                   "every sample of multi-sample frames instead of frame averages (default: off)");
      return [args]() {
        // The format follows the output's name unless --to says otherwise; a name that says
        // the other format is refused rather than written in the wrong one.
        const std::string extension = std::filesystem::path(args->output).extension().string();
        const std::string named = extension == ".npy" ? "npy" : extension == ".csv" ? "csv" : "";
        const std::string to = !args->to.empty() ? args->to : named.empty() ? "csv" : named;
        if (!named.empty() && to != named)
          throw InputError("--to " + to, "the output " + args->output + " is named ." + named +
                                             "; name it ." + to + " or leave --to out");
        io::WfdbReadOptions options;
        options.sampfrom = args->sampfrom;
        if (args->sampto >= 0) options.sampto = args->sampto;
        if (!args->channels.empty()) options.channels = parse_channels(args->channels);
        options.smooth_frames = !args->expand_frames;
        io::WfdbData data = io::read_wfdb(args->record, options);
        const bool digital = args->units == "digital";
        if (to == "npy") {
          if (args->output == "-") throw InputError("--output -", "NPY output needs a file name");
          // [rows x channels], as the CSV; NaN marks invalid physical samples.
          std::vector<int64_t> shape = {data.rows, data.channels};
          if (digital) {
            io::write_npy(args->output, data.digital.data(), shape);
          } else {
            io::write_npy(args->output, data.physical.data(), shape);
          }
          return 0;
        }
        std::string text;
        text.reserve(static_cast<size_t>(data.rows * data.channels * 8));
        for (int64_t r = 0; r < data.rows; ++r) {
          for (int64_t c = 0; c < data.channels; ++c) {
            if (c) text.push_back(',');
            const size_t i = static_cast<size_t>(r * data.channels + c);
            if (data.digital[i] == io::kInvalidSample) continue;  // invalid: empty field
            if (digital) {
              text += std::to_string(data.digital[i]);
            } else {
              append_number_text(text, data.physical[i]);
            }
          }
          text.push_back('\n');
        }
        if (args->output == "-") {
          std::cout << text;
          std::cout.flush();
        } else {
          util::write_file_atomic(args->output, text);
        }
        return 0;
      };
    }};

}  // namespace
}  // namespace ecgtwin::app
