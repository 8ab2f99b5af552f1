#pragma once
// The flags of the commands that read a user's ECG files (inspect, plot, generate, edit):
// the sampling rate and the units of NPY and CSV files, which store neither.
#include <CLI/CLI.hpp>

#include <string>

#include "ecgtwin/data/record_io.hpp"

namespace ecgtwin::app {

struct RecordFormatFlags {
  double fs = 0;  // 0: from the file's sidecar JSON (or a CSV time column)
  std::string units = "mV";
};

// Checks a --units flag: the units data::millivolts_per_unit reads.
CLI::Validator units_validator();
// --fs HZ and --units mV|uV|V; `files` names what they apply to in the help text.
void add_record_format_flags(CLI::App& app, RecordFormatFlags& flags, const std::string& files);
// The load options the flags give (the rest as LoadOptions' defaults).
data::LoadOptions load_options(const RecordFormatFlags& flags);

}  // namespace ecgtwin::app
