// The clinical 12-lead page drawn with cairo. All drawing is in mm; the surface's scale maps
// mm to pixels (PNG) or points (SVG, PDF).
#include "ecgtwin/io/plot.hpp"

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <cairo.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <memory>

#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/files.hpp"

namespace ecgtwin::io {

namespace {

constexpr double kMmPerInch = 25.4;
constexpr double kPointsPerInch = 72.0;
constexpr double kMarginMm = 8.0;
constexpr double kTitleMm = 16.0;
constexpr double kFooterMm = 6.0;
// Vertical room of a row: 2 mV above the baseline, 1.5 mV below (R waves are mostly upward).
constexpr double kAboveMv = 2.0;
constexpr double kBelowMv = 1.5;
constexpr double kCalibrationMv = 1.0;       // the standard 1 mV pulse
constexpr double kCalibrationSeconds = 0.2;  // 5 mm wide at 25 mm/s

// The usual ECG paper: light pink 1 mm lines, darker red 5 mm lines.
struct Rgb {
  double r, g, b;
};
constexpr Rgb kMinorGrid{1.0, 0.80, 0.80};
constexpr Rgb kMajorGrid{0.93, 0.45, 0.45};
constexpr Rgb kMainTrace{0.0, 0.0, 0.0};
constexpr Rgb kOverlayTrace{0.0, 0.30, 0.85};
constexpr Rgb kText{0.1, 0.1, 0.1};

// The clinical layout's rows (Rows x columns of simultaneous 2.5 s windows).
const char* const kRows[3][4] = {{"I", "aVR", "V1", "V4"},
                                 {"II", "aVL", "V2", "V5"},
                                 {"III", "aVF", "V3", "V6"}};

void check_options(const PlotOptions& o) {
  auto positive = [](double v) { return std::isfinite(v) && v > 0; };
  if (!positive(o.dpi) || o.dpi > 2400) throw InputError("plot", "dpi must be in (0, 2400]");
  if (!positive(o.speed_mm_per_s) || !positive(o.gain_mm_per_mv) || !positive(o.panel_seconds) ||
      !positive(o.rhythm_seconds) || !positive(o.trace_width_mm))
    throw InputError("plot", "paper speed, gain, panel and rhythm durations and trace width "
                             "must be positive");
}

void check_input(const PlotInput& input, const char* which) {
  if (input.lead_names.empty()) throw InputError("plot", std::string(which) + " ECG has no leads");
  if (input.signal.size() % input.lead_names.size() != 0)
    throw InputError("plot", std::string(which) + " ECG: signal size is not leads x samples");
  if (!(input.sampling_rate > 0)) throw InputError("plot", std::string(which) + " ECG: sampling rate must be positive");
}

void set_colour(cairo_t* cr, Rgb c) { cairo_set_source_rgb(cr, c.r, c.g, c.b); }

// Shortens `text` with an ellipsis until it fits `width_mm` at the current font.
std::string fit_text(cairo_t* cr, std::string text, double width_mm) {
  cairo_text_extents_t ext;
  cairo_text_extents(cr, text.c_str(), &ext);
  if (ext.x_advance <= width_mm) return text;
  const std::string ellipsis = "...";
  while (!text.empty()) {
    text.pop_back();
    // Do not cut a UTF-8 sequence in half.
    while (!text.empty() && (static_cast<unsigned char>(text.back()) & 0xC0) == 0x80) text.pop_back();
    if (!text.empty() && (static_cast<unsigned char>(text.back()) & 0x80)) text.pop_back();
    std::string candidate = text + ellipsis;
    cairo_text_extents(cr, candidate.c_str(), &ext);
    if (ext.x_advance <= width_mm) return candidate;
  }
  return ellipsis;
}

void draw_text(cairo_t* cr, double x, double y, double size_mm, bool bold, const std::string& text,
               double max_width_mm = 1e9) {
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size_mm);
  std::string shown = fit_text(cr, text, max_width_mm);
  cairo_move_to(cr, x, y);
  cairo_show_text(cr, shown.c_str());
}

void draw_grid(cairo_t* cr, const PlotLayout& layout) {
  // Minor lines first so the major ones stay on top.
  for (int pass = 0; pass < 2; ++pass) {
    set_colour(cr, pass == 0 ? kMinorGrid : kMajorGrid);
    cairo_set_line_width(cr, pass == 0 ? 0.1 : 0.2);
    int columns = static_cast<int>(std::lround(layout.grid_right_mm - layout.grid_left_mm));
    int rows = static_cast<int>(std::lround(layout.grid_bottom_mm - layout.grid_top_mm));
    for (int i = 0; i <= columns; ++i) {
      if ((i % 5 == 0) != (pass == 1)) continue;
      double x = layout.grid_left_mm + i;
      cairo_move_to(cr, x, layout.grid_top_mm);
      cairo_line_to(cr, x, layout.grid_bottom_mm);
    }
    for (int j = 0; j <= rows; ++j) {
      if ((j % 5 == 0) != (pass == 1)) continue;
      double y = layout.grid_top_mm + j;
      cairo_move_to(cr, layout.grid_left_mm, y);
      cairo_line_to(cr, layout.grid_right_mm, y);
    }
    cairo_stroke(cr);
  }
}

void draw_calibration(cairo_t* cr, const PlotLayout& layout, const PlotOptions& o) {
  const double pulse = kCalibrationSeconds * o.speed_mm_per_s;
  const double height = kCalibrationMv * o.gain_mm_per_mv;
  set_colour(cr, kMainTrace);
  cairo_set_line_width(cr, o.trace_width_mm);
  for (double baseline : layout.row_baselines_mm) {
    double x = layout.calibration_x_mm;
    cairo_move_to(cr, x, baseline);
    cairo_line_to(cr, x + 2, baseline);
    cairo_line_to(cr, x + 2, baseline - height);
    cairo_line_to(cr, x + 2 + pulse, baseline - height);
    cairo_line_to(cr, x + 2 + pulse, baseline);
    cairo_line_to(cr, x + 4 + pulse, baseline);
  }
  cairo_stroke(cr);
}

void draw_trace(cairo_t* cr, const PlotInput& input, const PlotPanel& panel, const PlotOptions& o,
                Rgb colour) {
  const float* x = input.lead(panel.lead);
  if (!x) return;
  const double fs = input.sampling_rate;
  const std::int64_t n = input.samples();
  auto first = static_cast<std::int64_t>(std::ceil(panel.t0_seconds * fs - 1e-9));
  auto last = std::min<std::int64_t>(
      n - 1, static_cast<std::int64_t>(std::floor((panel.t0_seconds + panel.seconds) * fs + 1e-9)));
  set_colour(cr, colour);
  cairo_set_line_width(cr, o.trace_width_mm);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
  bool drawing = false;
  for (std::int64_t i = std::max<std::int64_t>(first, 0); i <= last; ++i) {
    if (!std::isfinite(x[i])) {
      drawing = false;
      continue;
    }
    double px = panel.x_mm + (double(i) / fs - panel.t0_seconds) * o.speed_mm_per_s;
    double py = panel.baseline_mm - double(x[i]) * o.gain_mm_per_mv;
    if (drawing) {
      cairo_line_to(cr, px, py);
    } else {
      cairo_move_to(cr, px, py);
      // A lone sample between gaps still shows as a dot.
      cairo_line_to(cr, px, py);
      drawing = true;
    }
  }
  cairo_stroke(cr);
}

void draw_legend(cairo_t* cr, const PlotLayout& layout, const PlotInput& main,
                 const PlotInput& overlay) {
  double x = layout.grid_right_mm - 70;
  double y = 12.0;
  const std::pair<const PlotInput*, Rgb> entries[2] = {{&main, kMainTrace}, {&overlay, kOverlayTrace}};
  for (const auto& [input, colour] : entries) {
    set_colour(cr, colour);
    cairo_set_line_width(cr, 0.6);
    cairo_move_to(cr, x, y - 1.0);
    cairo_line_to(cr, x + 6, y - 1.0);
    cairo_stroke(cr);
    set_colour(cr, kText);
    std::string label = input->label.empty() ? (input == &main ? "reference" : "overlay") : input->label;
    draw_text(cr, x + 8, y, 3.0, false, label, 25);
    x += 35;
  }
}

std::string format_rate(double hz) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%g", hz);
  return buffer;
}

void draw_page(cairo_t* cr, const PlotInput& main, const PlotInput* overlay, const PlotOptions& o) {
  PlotLayout layout = plot_layout(o);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  if (o.grid) draw_grid(cr, layout);

  set_colour(cr, kText);
  const double title_width = layout.grid_right_mm - layout.grid_left_mm - (overlay ? 75 : 0);
  draw_text(cr, layout.grid_left_mm, 6.5, 3.6, true, main.title, layout.grid_right_mm - layout.grid_left_mm);
  if (overlay) {
    std::string second = (overlay->label.empty() ? std::string("overlay") : overlay->label) + ": " +
                         overlay->title;
    draw_text(cr, layout.grid_left_mm, 12.0, 3.0, false, second, title_width);
    draw_legend(cr, layout, main, *overlay);
  }
  std::string footer = format_rate(o.speed_mm_per_s) + " mm/s   " + format_rate(o.gain_mm_per_mv) +
                       " mm/mV   " + format_rate(main.sampling_rate) + " Hz";
  if (overlay && overlay->sampling_rate != main.sampling_rate)
    footer += " (overlay " + format_rate(overlay->sampling_rate) + " Hz)";
  draw_text(cr, layout.grid_left_mm, layout.grid_bottom_mm + 4.5, 3.0, false, footer);

  draw_calibration(cr, layout, o);

  // Traces may leave their row (a tall R wave) but not the paper.
  cairo_save(cr);
  cairo_rectangle(cr, layout.grid_left_mm, layout.grid_top_mm,
                  layout.grid_right_mm - layout.grid_left_mm, layout.grid_bottom_mm - layout.grid_top_mm);
  cairo_clip(cr);
  for (std::size_t p = 0; p < layout.panels.size(); ++p) {
    const auto& panel = layout.panels[p];
    draw_trace(cr, main, panel, o, kMainTrace);
    if (overlay) draw_trace(cr, *overlay, panel, o, kOverlayTrace);
    // Lead label at the top left of the panel; a short bar marks where a column starts.
    set_colour(cr, kText);
    draw_text(cr, panel.x_mm + 1.0, panel.baseline_mm - kAboveMv * o.gain_mm_per_mv + 4.0, 3.2,
              true, panel.lead);
    if (p < 12 && p % 4 != 0) {
      set_colour(cr, kMainTrace);
      cairo_set_line_width(cr, 0.3);
      cairo_move_to(cr, panel.x_mm, panel.baseline_mm - 2.5);
      cairo_line_to(cr, panel.x_mm, panel.baseline_mm + 2.5);
      cairo_stroke(cr);
    }
  }
  cairo_restore(cr);
}

cairo_status_t append_to_string(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

struct SurfaceDeleter {
  void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
};
struct ContextDeleter {
  void operator()(cairo_t* c) const { cairo_destroy(c); }
};
using Surface = std::unique_ptr<cairo_surface_t, SurfaceDeleter>;
using Context = std::unique_ptr<cairo_t, ContextDeleter>;

void check_status(cairo_status_t status, const std::string& what) {
  if (status != CAIRO_STATUS_SUCCESS)
    throw Error("plot: " + what + ": " + cairo_status_to_string(status));
}

Surface render_image(const PlotInput& main, const PlotInput* overlay, const PlotOptions& o) {
  check_options(o);
  check_input(main, "main");
  if (overlay) check_input(*overlay, "overlay");
  PlotLayout layout = plot_layout(o);
  const double px_per_mm = o.dpi / kMmPerInch;
  int width = static_cast<int>(std::ceil(layout.width_mm * px_per_mm));
  int height = static_cast<int>(std::ceil(layout.height_mm * px_per_mm));
  Surface surface(cairo_image_surface_create(CAIRO_FORMAT_ARGB32, width, height));
  check_status(cairo_surface_status(surface.get()), "image surface");
  Context cr(cairo_create(surface.get()));
  cairo_scale(cr.get(), px_per_mm, px_per_mm);
  draw_page(cr.get(), main, overlay, o);
  check_status(cairo_status(cr.get()), "drawing");
  cairo_surface_flush(surface.get());
  return surface;
}

}  // namespace

std::int64_t PlotInput::samples() const {
  return lead_names.empty() ? 0 : static_cast<std::int64_t>(signal.size() / lead_names.size());
}

const float* PlotInput::lead(const std::string& name) const {
  for (std::size_t i = 0; i < lead_names.size(); ++i)
    if (lead_names[i] == name) return signal.data() + i * samples();
  return nullptr;
}

PlotFormat plot_format_of(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext == ".png") return PlotFormat::kPng;
  if (ext == ".svg") return PlotFormat::kSvg;
  if (ext == ".pdf") return PlotFormat::kPdf;
  throw InputError(path.string(), "plot output must end in .png, .svg or .pdf");
}

PlotLayout plot_layout(const PlotOptions& o) {
  PlotLayout layout;
  const double panel_mm = o.panel_seconds * o.speed_mm_per_s;
  const double rhythm_mm = o.rhythm_seconds * o.speed_mm_per_s;
  const double calibration_mm = kCalibrationSeconds * o.speed_mm_per_s + 4.0;
  const double row_mm = (kAboveMv + kBelowMv) * o.gain_mm_per_mv;
  // Whole millimetres keep every baseline and panel edge on a grid line.
  const double content_mm = std::ceil(std::max(4 * panel_mm, rhythm_mm) + calibration_mm + 2.0);
  layout.grid_left_mm = kMarginMm;
  layout.grid_top_mm = kTitleMm;
  layout.grid_right_mm = layout.grid_left_mm + content_mm;
  layout.grid_bottom_mm = layout.grid_top_mm + std::ceil(4 * row_mm);
  layout.width_mm = layout.grid_right_mm + kMarginMm;
  layout.height_mm = layout.grid_bottom_mm + kFooterMm;
  layout.calibration_x_mm = layout.grid_left_mm;
  const double x0 = layout.calibration_x_mm + calibration_mm;
  for (int row = 0; row < 4; ++row)
    layout.row_baselines_mm.push_back(
        std::round(layout.grid_top_mm + row * row_mm + kAboveMv * o.gain_mm_per_mv));
  for (int row = 0; row < 3; ++row)
    for (int column = 0; column < 4; ++column)
      layout.panels.push_back({kRows[row][column], x0 + column * panel_mm,
                               layout.row_baselines_mm[row], panel_mm,
                               column * o.panel_seconds, o.panel_seconds});
  layout.panels.push_back({o.rhythm_lead, x0, layout.row_baselines_mm[3], rhythm_mm, 0.0,
                           o.rhythm_seconds});
  return layout;
}

Raster render_ecg12(const PlotInput& main, const PlotInput* overlay, const PlotOptions& options) {
  Surface surface = render_image(main, overlay, options);
  Raster raster;
  raster.width = cairo_image_surface_get_width(surface.get());
  raster.height = cairo_image_surface_get_height(surface.get());
  const int stride = cairo_image_surface_get_stride(surface.get());
  const unsigned char* data = cairo_image_surface_get_data(surface.get());
  raster.pixels.resize(static_cast<std::size_t>(raster.width) * raster.height);
  for (int y = 0; y < raster.height; ++y) {
    const auto* row = reinterpret_cast<const std::uint32_t*>(data + static_cast<std::size_t>(y) * stride);
    std::copy(row, row + raster.width, raster.pixels.begin() + static_cast<std::size_t>(y) * raster.width);
  }
  return raster;
}

void plot_ecg12(const PlotInput& main, const PlotInput* overlay, const PlotOptions& options,
                const std::filesystem::path& out) {
  PlotFormat format = plot_format_of(out);
  std::string bytes;
  if (format == PlotFormat::kPng) {
    Surface surface = render_image(main, overlay, options);
    check_status(cairo_surface_write_to_png_stream(surface.get(), append_to_string, &bytes), "PNG");
  } else {
    check_options(options);
    check_input(main, "main");
    if (overlay) check_input(*overlay, "overlay");
    PlotLayout layout = plot_layout(options);
    const double pt_per_mm = kPointsPerInch / kMmPerInch;
    const double w = layout.width_mm * pt_per_mm, h = layout.height_mm * pt_per_mm;
    Surface surface(format == PlotFormat::kSvg
                        ? cairo_svg_surface_create_for_stream(append_to_string, &bytes, w, h)
                        : cairo_pdf_surface_create_for_stream(append_to_string, &bytes, w, h));
    check_status(cairo_surface_status(surface.get()), "surface");
    {
      Context cr(cairo_create(surface.get()));
      cairo_scale(cr.get(), pt_per_mm, pt_per_mm);
      draw_page(cr.get(), main, overlay, options);
      check_status(cairo_status(cr.get()), "drawing");
    }
    cairo_surface_finish(surface.get());
    check_status(cairo_surface_status(surface.get()), "writing");
  }
  util::write_file_atomic(out, bytes);
}

}  // namespace ecgtwin::io
