// ecgtwin inspect: what is in one or more ECG files (leads, rate, duration, units,
// checksums, metadata, amplitude per lead).
#include <cstdio>
#include <iostream>

#include "command.hpp"
#include "ecgtwin/data/record_io.hpp"
#include "ecgtwin/util/error.hpp"
#include "record_flags.hpp"

namespace ecgtwin::app {
namespace {

std::string joined(const nlohmann::json& list) {
  std::string out;
  for (const auto& item : list) out += (out.empty() ? "" : " ") + item.get<std::string>();
  return out.empty() ? "-" : out;
}

// "mV" when every channel has the same units, else the list.
std::string units_text(const nlohmann::json& list) {
  for (const auto& item : list)
    if (item != list.front()) return joined(list);
  return list.empty() ? "-" : list.front().get<std::string>();
}

void print_text(const nlohmann::json& j) {
  std::printf("%s\n", j["file"].get<std::string>().c_str());
  std::printf("  record      %s (%s)\n", j["id"].get<std::string>().c_str(),
              j["format"].get<std::string>().c_str());
  std::printf("  leads       %zu: %s\n", j["leads"].size(), joined(j["leads"]).c_str());
  if (!j["missing_leads"].empty())
    std::printf("  missing     %s\n", joined(j["missing_leads"]).c_str());
  if (!j["dropped_channels"].empty())
    std::printf("  dropped     %s\n", joined(j["dropped_channels"]).c_str());
  std::printf("  rate        %g Hz, %lld samples, %g s\n", j["sampling_rate"].get<double>(),
              static_cast<long long>(j["samples"].get<std::int64_t>()), j["seconds"].get<double>());
  std::printf("  file units  %s (read as mV)\n", units_text(j["file_units"]).c_str());
  std::printf("  checksums   %s\n", j["checksums"].get<std::string>().c_str());
  if (j["non_finite_samples"].get<std::int64_t>() > 0)
    std::printf("  NaN/Inf     %lld samples\n",
                static_cast<long long>(j["non_finite_samples"].get<std::int64_t>()));
  if (j.contains("heart_rate_bpm") && j["heart_rate_bpm"].is_number())
    std::printf("  heart rate  %.1f bpm (R peaks)\n", j["heart_rate_bpm"].get<double>());
  else
    std::printf("  heart rate  - (fewer than two R peaks found)\n");
  if (j.contains("limb_lead_residual_mv") && j["limb_lead_residual_mv"].is_number())
    std::printf("  limb leads  %.4f mV from Einthoven's and Goldberger's relations (RMS)\n",
                j["limb_lead_residual_mv"].get<double>());
  for (const auto& [key, value] : j["metadata"].items()) {
    const std::string text = value.is_array()    ? joined(value)
                             : value.is_string() ? value.get<std::string>()
                                                 : value.dump();
    std::printf("  %-11s %s\n", key.c_str(), text.c_str());
  }
  std::printf("  amplitude   lead   min mV   max mV\n");
  for (const auto& lead : j["amplitude"]) {
    if (lead["min_mv"].is_null()) {
      std::printf("              %-4s      (no finite sample)\n",
                  lead["lead"].get<std::string>().c_str());
      continue;
    }
    std::printf("              %-4s %8.3f %8.3f\n", lead["lead"].get<std::string>().c_str(),
                lead["min_mv"].get<double>(), lead["max_mv"].get<double>());
  }
}

const Registrar kInspect{
    "inspect", "show the leads, rate, duration, units, checksums and amplitude of ECG files",
    [](CLI::App& app) -> RunFunction {
      struct Args {
        std::vector<std::string> files;
        bool json = false;
        RecordFormatFlags format;
      };
      auto args = std::make_shared<Args>();
      app.add_option("files", args->files, "WFDB records (.hea), NPY or CSV files")->required();
      app.add_flag("--json", args->json,
                   "print one JSON array with an object per file (a file that failed to read "
                   "is {\"file\", \"error\"}) (default: text)");
      add_record_format_flags(app, args->format, "the files");
      return [args]() {
        data::LoadOptions options = load_options(args->format);
        options.allow_missing_leads = true;
        nlohmann::json all = nlohmann::json::array();
        int failed = 0;
        int internal = 0;
        for (const auto& file : args->files) {
          nlohmann::json entry;
          try {
            data::LoadInfo info;
            data::Record record = data::load_record(file, options, &info);
            entry = data::describe_record(record, info);
            entry["file"] = file;
          } catch (const InputError& e) {
            ++failed;
            entry = {{"file", file}, {"error", e.what()}};
            std::fprintf(stderr, "ecgtwin inspect: error: %s\n", e.what());
          } catch (const std::exception& e) {
            ++internal;
            entry = {{"file", file}, {"error", std::string("internal error: ") + e.what()}};
            std::fprintf(stderr, "ecgtwin inspect: internal error: %s: %s\n", file.c_str(),
                         e.what());
          }
          if (args->json) {
            all.push_back(entry);
          } else if (!entry.contains("error")) {
            print_text(entry);
          }
        }
        if (args->json) std::cout << all.dump(2) << "\n";
        std::fflush(stdout);
        return internal ? kExitInternal : (failed ? kExitBadInput : kExitOk);
      };
    }};

}  // namespace
}  // namespace ecgtwin::app
