#pragma once
// Scatter charts (PNG) for reports: heart-rate targets against measured rates, base vectors
// projected to two dimensions.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace ecgtwin::io {

struct ScatterChart {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<double> x;
  std::vector<double> y;
  std::vector<int> group;  // colour index per point (empty: one colour)
  bool diagonal = false;   // draw y = x
};

// Axis ticks at round values (1, 2 or 5 times a power of ten apart) inside [lo, hi], about
// `about` of them; {lo} when lo == hi, none when either is not finite or lo > hi.
std::vector<double> nice_ticks(double lo, double hi, int about = 5);
// The label of tick v on an axis whose ticks are `step` apart: as many decimals as the step needs.
std::string tick_label(double v, double step);

// Writes the chart as PNG (atomically). InputError when x and y differ in length.
void plot_scatter(const ScatterChart& chart, const std::filesystem::path& out, int width = 900, int height = 700);

}  // namespace ecgtwin::io

namespace ecgtwin::io {

// A signal trace over a heat map of attention weights: rows are statements, columns the
// positions of the denoiser's tokens, which span the trace's duration evenly.
struct AttentionChart {
  std::string title;
  std::string trace_label;         // e.g. "lead II"
  std::vector<float> trace;        // mV
  double sampling_rate = 0;        // Hz of the trace
  std::vector<std::string> rows;   // statement per row
  std::vector<float> weights;      // [rows x columns], row-major
  std::int64_t columns = 0;
};

// Writes the chart as PNG (atomically). InputError when the sizes do not fit.
void plot_attention(const AttentionChart& chart, const std::filesystem::path& out, int width = 1400);

}  // namespace ecgtwin::io
