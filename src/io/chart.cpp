#include "ecgtwin/io/chart.hpp"

#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/files.hpp"

namespace ecgtwin::io {

namespace {

// Tableau 10 palette.
const double kPalette[10][3] = {{0.12, 0.47, 0.71}, {1.00, 0.50, 0.05}, {0.17, 0.63, 0.17}, {0.84, 0.15, 0.16},
                                {0.58, 0.40, 0.74}, {0.55, 0.34, 0.29}, {0.89, 0.47, 0.76}, {0.50, 0.50, 0.50},
                                {0.74, 0.74, 0.13}, {0.09, 0.75, 0.81}};

cairo_status_t append_bytes(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

// A white canvas with the sans-serif font and black ink selected.
cairo_t* new_canvas(int width, int height, cairo_surface_t** surface) {
  *surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
  cairo_t* cr = cairo_create(*surface);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_source_rgb(cr, 0, 0, 0);
  return cr;
}

// Encodes the surface as PNG, frees the drawing and writes the file atomically.
void write_png(cairo_surface_t* surface, cairo_t* cr, const std::filesystem::path& out) {
  cairo_surface_flush(surface);
  std::string bytes;
  cairo_status_t status = cairo_surface_write_to_png_stream(surface, append_bytes, &bytes);
  cairo_destroy(cr);
  cairo_surface_destroy(surface);
  if (status != CAIRO_STATUS_SUCCESS) throw Error(out.string() + ": could not encode the PNG");
  util::write_file_atomic(out, bytes);
}

double text_width(cairo_t* cr, const std::string& text) {
  cairo_text_extents_t extents;
  cairo_text_extents(cr, text.c_str(), &extents);
  return extents.x_advance;
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int about) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || lo > hi) return {};
  if (lo == hi) return {lo};
  const double rough = (hi - lo) / std::max(1, about);
  const double power = std::pow(10.0, std::floor(std::log10(rough)));
  const double m = rough / power;
  const double step = power * (m < 1.5 ? 1 : m < 3 ? 2 : m < 7 ? 5 : 10);
  std::vector<double> ticks;
  for (double k = std::ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k += 1)
    ticks.push_back(k * step == 0 ? 0.0 : k * step);  // no -0
  return ticks;
}

std::string tick_label(double v, double step) {
  const int decimals =
      step > 0 ? std::max(0, -static_cast<int>(std::floor(std::log10(step) + 1e-9))) : 3;
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, std::abs(v) < step * 1e-9 ? 0.0 : v);
  return buffer;
}

void plot_scatter(const ScatterChart& chart, const std::filesystem::path& out, int width, int height) {
  if (chart.x.size() != chart.y.size())
    throw InputError(out.string(), "scatter chart needs as many x as y values");
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  std::vector<std::size_t> finite;
  for (std::size_t i = 0; i < chart.x.size(); ++i)
    if (std::isfinite(chart.x[i]) && std::isfinite(chart.y[i])) finite.push_back(i);
  if (!finite.empty()) {
    x0 = x1 = chart.x[finite[0]];
    y0 = y1 = chart.y[finite[0]];
    for (std::size_t i : finite) {
      x0 = std::min(x0, chart.x[i]), x1 = std::max(x1, chart.x[i]);
      y0 = std::min(y0, chart.y[i]), y1 = std::max(y1, chart.y[i]);
    }
  }
  if (chart.diagonal) x0 = y0 = std::min(x0, y0), x1 = y1 = std::max(x1, y1);
  const double pad_x = (x1 - x0) * 0.05 + 1e-9, pad_y = (y1 - y0) * 0.05 + 1e-9;
  x0 -= pad_x, x1 += pad_x, y0 -= pad_y, y1 += pad_y;

  cairo_surface_t* surface = nullptr;
  cairo_t* cr = new_canvas(width, height, &surface);
  // Ticks at round values; the y labels right-aligned beside the frame, the axis label
  // left of the widest, so that neither overlaps the other.
  const std::vector<double> x_ticks = nice_ticks(x0, x1), y_ticks = nice_ticks(y0, y1);
  const double x_step = x_ticks.size() > 1 ? x_ticks[1] - x_ticks[0] : 0;
  const double y_step = y_ticks.size() > 1 ? y_ticks[1] - y_ticks[0] : 0;
  cairo_set_font_size(cr, 12);
  double y_label_width = 0;
  for (double v : y_ticks)
    y_label_width = std::max(y_label_width, text_width(cr, tick_label(v, y_step)));
  const double tick = 5, gap = 4, axis_font = 14;
  const double left = std::max(80.0, tick + gap + y_label_width + 2 * axis_font), right = 30,
               top = 50, bottom = 60;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * plot_w; };
  auto py = [&](double y) { return top + plot_h - (y - y0) / (y1 - y0) * plot_h; };

  cairo_set_line_width(cr, 1);
  cairo_rectangle(cr, left, top, plot_w, plot_h);
  for (double v : x_ticks) {
    cairo_move_to(cr, px(v), top + plot_h);
    cairo_line_to(cr, px(v), top + plot_h + tick);
  }
  for (double v : y_ticks) {
    cairo_move_to(cr, left, py(v));
    cairo_line_to(cr, left - tick, py(v));
  }
  cairo_stroke(cr);
  for (double v : x_ticks) {
    const std::string text = tick_label(v, x_step);
    cairo_move_to(cr, px(v) - text_width(cr, text) / 2, top + plot_h + tick + gap + 12);
    cairo_show_text(cr, text.c_str());
  }
  for (double v : y_ticks) {
    const std::string text = tick_label(v, y_step);
    cairo_move_to(cr, left - tick - gap - text_width(cr, text), py(v) + 4);
    cairo_show_text(cr, text.c_str());
  }
  cairo_set_font_size(cr, axis_font);
  cairo_move_to(cr, left + (plot_w - text_width(cr, chart.x_label)) / 2, height - 15);
  cairo_show_text(cr, chart.x_label.c_str());
  cairo_save(cr);
  // Rotated a quarter turn, the glyphs rise to the left of the point they start from.
  cairo_move_to(cr, left - tick - gap - y_label_width - axis_font / 2,
                top + (plot_h + text_width(cr, chart.y_label)) / 2);
  cairo_rotate(cr, -M_PI / 2);
  cairo_show_text(cr, chart.y_label.c_str());
  cairo_restore(cr);
  cairo_set_font_size(cr, 16);
  cairo_move_to(cr, left, 30);
  cairo_show_text(cr, chart.title.c_str());
  if (chart.diagonal) {
    cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
    cairo_move_to(cr, px(x0), py(x0));
    cairo_line_to(cr, px(x1), py(x1));
    cairo_stroke(cr);
  }
  for (std::size_t i : finite) {
    const int g = chart.group.empty() ? 0 : chart.group[i];
    const auto& c = kPalette[((g % 10) + 10) % 10];
    cairo_set_source_rgba(cr, c[0], c[1], c[2], 0.8);
    cairo_arc(cr, px(chart.x[i]), py(chart.y[i]), 4, 0, 2 * M_PI);
    cairo_fill(cr);
  }
  write_png(surface, cr, out);
}

}  // namespace ecgtwin::io

namespace ecgtwin::io {

void plot_attention(const AttentionChart& chart, const std::filesystem::path& out, int width) {
  const auto rows = static_cast<std::int64_t>(chart.rows.size());
  if (chart.columns <= 0 || static_cast<std::int64_t>(chart.weights.size()) != rows * chart.columns)
    throw InputError(out.string(), "attention chart: weights do not match rows x columns");
  if (chart.trace.empty() || !(chart.sampling_rate > 0)) throw InputError(out.string(), "attention chart: no trace");
  const double left = 320, right = 20, top = 50, trace_h = 160, row_h = 34;
  const int height = static_cast<int>(top + trace_h + 20 + row_h * double(rows) + 40);
  const double plot_w = width - left - right;
  cairo_surface_t* surface = nullptr;
  cairo_t* cr = new_canvas(width, height, &surface);
  cairo_set_font_size(cr, 16);
  cairo_move_to(cr, 20, 30);
  cairo_show_text(cr, chart.title.c_str());

  // The trace, scaled to its own range.
  float lo = chart.trace[0], hi = chart.trace[0];
  for (float v : chart.trace) lo = std::min(lo, v), hi = std::max(hi, v);
  const double span = std::max(1e-3, double(hi - lo));
  cairo_set_font_size(cr, 13);
  cairo_move_to(cr, 20, top + trace_h / 2);
  cairo_show_text(cr, chart.trace_label.c_str());
  cairo_set_line_width(cr, 1.2);
  const auto n = static_cast<double>(chart.trace.size());
  for (std::size_t i = 0; i < chart.trace.size(); ++i) {
    const double x = left + double(i) / n * plot_w;
    const double y = top + trace_h - (chart.trace[i] - lo) / span * trace_h;
    if (i == 0) cairo_move_to(cr, x, y);
    else cairo_line_to(cr, x, y);
  }
  cairo_stroke(cr);

  // One heat strip per statement, each normalised to its own maximum (white -> dark red).
  const double strip_top = top + trace_h + 20;
  const double cell_w = plot_w / double(chart.columns);
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* w = chart.weights.data() + r * chart.columns;
    float peak = 1e-12f;
    for (std::int64_t c = 0; c < chart.columns; ++c) peak = std::max(peak, w[c]);
    const double y = strip_top + row_h * double(r);
    for (std::int64_t c = 0; c < chart.columns; ++c) {
      const double v = std::clamp(double(w[c] / peak), 0.0, 1.0);
      cairo_set_source_rgb(cr, 1.0 - 0.3 * v, 1.0 - 0.9 * v, 1.0 - 0.9 * v);
      cairo_rectangle(cr, left + cell_w * double(c), y, cell_w + 0.5, row_h - 4);
      cairo_fill(cr);
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    std::string label = chart.rows[static_cast<std::size_t>(r)];
    if (label.size() > 44) label = label.substr(0, 41) + "...";
    cairo_move_to(cr, 20, y + row_h / 2 + 2);
    cairo_show_text(cr, label.c_str());
  }
  cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
  const double seconds = n / chart.sampling_rate;
  for (int s = 0; s <= static_cast<int>(seconds); ++s) {
    const double x = left + s / seconds * plot_w;
    cairo_move_to(cr, x - 4, height - 15);
    cairo_show_text(cr, (std::to_string(s) + " s").c_str());
  }
  write_png(surface, cr, out);
}

}  // namespace ecgtwin::io
