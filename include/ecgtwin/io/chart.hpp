#pragma once
// Scatter charts (PNG) for reports: heart-rate targets against measured rates, base vectors
// projected to two dimensions.
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

// Writes the chart as PNG (atomically). InputError when x and y differ in length.
void plot_scatter(const ScatterChart& chart, const std::filesystem::path& out, int width = 900, int height = 700);

}  // namespace ecgtwin::io
