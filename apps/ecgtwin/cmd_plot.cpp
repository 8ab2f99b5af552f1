// ecgtwin plot: the clinical 12-lead page of an ECG file, optionally with a second ECG over it.
#include <spdlog/spdlog.h>

#include "command.hpp"
#include "ecgtwin/data/record_io.hpp"
#include "ecgtwin/io/plot.hpp"
#include "ecgtwin/util/error.hpp"
#include "record_flags.hpp"

namespace ecgtwin::app {
namespace {

const Registrar kPlot{
    "plot", "draw the clinical 12-lead page (3x4 + rhythm strip) of an ECG as PNG, SVG or PDF",
    [](CLI::App& app) -> RunFunction {
      struct Args {
        std::string file;
        std::string out;
        std::string overlay;
        std::string label = "reference";
        std::string overlay_label = "twin";
        RecordFormatFlags format;
        io::PlotOptions plot;
      };
      auto args = std::make_shared<Args>();
      app.add_option("file", args->file, "WFDB record (.hea), NPY or CSV file")->required();
      app.add_option("-o,--out", args->out, "output file: .png, .svg or .pdf (required)")->required();
      app.add_option("--overlay", args->overlay,
                     "a second ECG drawn over the first in blue, e.g. a twin over its reference "
                     "(default: none)");
      app.add_option("--label", args->label, "legend text of FILE when overlaid (default: reference)");
      app.add_option("--overlay-label", args->overlay_label, "legend text of the overlay (default: twin)");
      app.add_option("--dpi", args->plot.dpi, "PNG resolution, pixels per inch (default: 200)")
          ->check(CLI::Range(10.0, 2400.0));
      add_record_format_flags(app, args->format, "FILE and --overlay");
      app.add_option("--speed", args->plot.speed_mm_per_s, "paper speed, mm/s (default: 25)")
          ->check(CLI::PositiveNumber);
      app.add_option("--gain", args->plot.gain_mm_per_mv, "amplitude scale, mm/mV (default: 10)")
          ->check(CLI::PositiveNumber);
      app.add_option("--rhythm-lead", args->plot.rhythm_lead, "lead of the rhythm strip (default: II)");
      return [args]() {
        // Validate the output name before reading anything.
        io::plot_format_of(args->out);
        data::LoadOptions options = load_options(args->format);
        options.allow_missing_leads = true;
        data::LoadInfo info;
        data::Record main = data::load_record(args->file, options, &info);
        if (!info.missing_leads.empty())
          spdlog::warn("{}: no lead {}; their panels stay empty", args->file,
                       fmt::join(info.missing_leads, ", "));
        io::PlotInput main_input = data::plot_input(main, args->label);
        if (args->overlay.empty()) {
          io::plot_ecg12(main_input, nullptr, args->plot, args->out);
        } else {
          data::Record other = data::load_record(args->overlay, options);
          io::PlotInput overlay_input = data::plot_input(other, args->overlay_label);
          io::plot_ecg12(main_input, &overlay_input, args->plot, args->out);
        }
        spdlog::info("wrote {}", args->out);
        return kExitOk;
      };
    }};

}  // namespace
}  // namespace ecgtwin::app
