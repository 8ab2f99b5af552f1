#include "record_flags.hpp"

namespace ecgtwin::app {

CLI::Validator units_validator() {
  return CLI::Validator(
      [](std::string& units) {
        return data::millivolts_per_unit(units) ? std::string()
                                                : "expected mV, uV or V, got '" + units + "'";
      },
      "UNITS");
}

void add_record_format_flags(CLI::App& app, RecordFormatFlags& flags, const std::string& files) {
  app.add_option("--fs", flags.fs,
                 "sampling rate of " + files +
                     " in NPY or CSV without a sidecar JSON, Hz (default: none; the sidecar's "
                     "\"sampling_rate\" or a CSV time column)")
      ->check(CLI::PositiveNumber);
  app.add_option("--units", flags.units,
                 "units of the samples of " + files + " in NPY or CSV: mV, uV or V (default: mV)")
      ->check(units_validator());
}

data::LoadOptions load_options(const RecordFormatFlags& flags) {
  data::LoadOptions options;
  if (flags.fs > 0) options.sampling_rate = flags.fs;
  options.units = flags.units;
  return options;
}

}  // namespace ecgtwin::app
