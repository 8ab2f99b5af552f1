#pragma once
// The clinical 12-lead plot: 3 rows x 4 columns of 2.5 s panels (I, aVR, V1, V4 / II, aVL,
// V2, V5 / III, aVF, V3, V6), a 10 s lead II rhythm strip, 25 mm/s and 10 mm/mV on a 1 mm /
// 5 mm grid, a 1 mV x 0.2 s calibration pulse at the start of each row, lead labels and a
// title line. A second ECG (a twin over its reference) can be drawn over the first in another
// colour, with a legend. PNG, SVG or PDF by the output file's extension.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace ecgtwin::io {

// One ECG to draw. Leads are found by name, so any subset and order works; a lead that is
// absent leaves its panel empty.
struct PlotInput {
  std::vector<std::string> lead_names;
  std::vector<float> signal;  // [leads x samples], mV; NaN samples leave a gap
  double sampling_rate = 0;   // Hz
  std::string title;          // shown above the grid
  std::string label;          // legend text when an overlay is drawn

  std::int64_t samples() const;
  const float* lead(const std::string& name) const;  // nullptr when absent
};

struct PlotOptions {
  double dpi = 200;               // PNG pixels per inch (SVG and PDF are vector)
  double speed_mm_per_s = 25;     // paper speed
  double gain_mm_per_mv = 10;     // amplitude scale
  double panel_seconds = 2.5;     // one panel of the 3 x 4 block
  double rhythm_seconds = 10;     // the rhythm strip
  std::string rhythm_lead = "II";
  double trace_width_mm = 0.3;
  bool grid = true;
};

enum class PlotFormat { kPng, kSvg, kPdf };
// .png, .svg or .pdf (any case); InputError for anything else.
PlotFormat plot_format_of(const std::filesystem::path& path);

// Where things go on the page, in mm from the top-left corner.
struct PlotPanel {
  std::string lead;
  double x_mm = 0;         // left edge of the trace (time t0 is drawn here)
  double baseline_mm = 0;  // where 0 mV is drawn
  double width_mm = 0;
  double t0_seconds = 0;   // first instant shown
  double seconds = 0;
};

struct PlotLayout {
  double width_mm = 0;
  double height_mm = 0;
  double grid_left_mm = 0, grid_top_mm = 0, grid_right_mm = 0, grid_bottom_mm = 0;
  std::vector<double> row_baselines_mm;  // 3 rows of panels, then the rhythm strip
  double calibration_x_mm = 0;           // where each row's calibration pulse starts
  std::vector<PlotPanel> panels;         // the 12 panels, then the rhythm strip
};

PlotLayout plot_layout(const PlotOptions& options);

// A rendered page: cairo's ARGB32 pixels (0xAARRGGBB, premultiplied), row-major.
struct Raster {
  int width = 0;
  int height = 0;
  std::vector<std::uint32_t> pixels;
  std::uint32_t at(int x, int y) const { return pixels[static_cast<std::size_t>(y) * width + x]; }
};

// Renders at options.dpi into memory (what a PNG would hold).
Raster render_ecg12(const PlotInput& main, const PlotInput* overlay, const PlotOptions& options);

// Writes the plot atomically; the format comes from the extension of `out`.
void plot_ecg12(const PlotInput& main, const PlotInput* overlay, const PlotOptions& options,
                const std::filesystem::path& out);

}  // namespace ecgtwin::io
