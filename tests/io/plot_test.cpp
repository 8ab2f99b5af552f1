#include "ecgtwin/io/plot.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/files.hpp"
#include "test_support.hpp"

namespace ecgtwin::io {
namespace {

const std::vector<std::string> kLeads = {"I",  "II", "III", "aVR", "aVL", "aVF",
                                         "V1", "V2", "V3",  "V4",  "V5",  "V6"};
constexpr double kFs = 500.0;
constexpr std::int64_t kSamples = 5000;  // 10 s

PlotInput flat_ecg(float value = 0.f) {
  PlotInput input;
  input.lead_names = kLeads;
  input.signal.assign(kLeads.size() * kSamples, value);
  input.sampling_rate = kFs;
  input.title = "test record";
  return input;
}

float* lead(PlotInput& input, const std::string& name) { return const_cast<float*>(input.lead(name)); }

PlotOptions options_at(double dpi) {
  PlotOptions options;
  options.dpi = dpi;
  return options;
}

int r_of(std::uint32_t p) { return (p >> 16) & 0xff; }
int g_of(std::uint32_t p) { return (p >> 8) & 0xff; }
int b_of(std::uint32_t p) { return p & 0xff; }
bool is_black_ink(std::uint32_t p) { return r_of(p) < 128 && g_of(p) < 128 && b_of(p) < 128; }
bool is_blue_ink(std::uint32_t p) { return b_of(p) > 150 && r_of(p) < 110; }

// Mean row of the ink pixels in column x between rows [y0, y1); NaN when there is none.
double ink_row(const Raster& raster, int x, int y0, int y1, bool (*ink)(std::uint32_t)) {
  double sum = 0;
  int count = 0;
  for (int y = std::max(0, y0); y < std::min(raster.height, y1); ++y)
    if (ink(raster.at(x, y))) {
      sum += y;
      ++count;
    }
  return count ? sum / count : std::numeric_limits<double>::quiet_NaN();
}

struct Page {
  PlotLayout layout;
  double px_per_mm;
  int px(double mm) const { return static_cast<int>(std::lround(mm * px_per_mm)); }
  double pxd(double mm) const { return mm * px_per_mm; }
};

Page page_at(double dpi) { return {plot_layout(options_at(dpi)), dpi / 25.4}; }

// Column of the instant t (seconds) in panel p, per 25 mm/s.
int column_at(const Page& page, int panel, double t) {
  const auto& p = page.layout.panels[panel];
  return page.px(p.x_mm + (t - p.t0_seconds) * 25.0);
}

TEST(PlotLayout, ClinicalArrangement) {
  PlotLayout layout = plot_layout(PlotOptions{});
  ASSERT_EQ(layout.panels.size(), 13u);
  const std::vector<std::string> order = {"I",   "aVR", "V1", "V4", "II",  "aVL", "V2",
                                          "V5",  "III", "aVF", "V3", "V6", "II"};
  for (std::size_t i = 0; i < order.size(); ++i) EXPECT_EQ(layout.panels[i].lead, order[i]) << i;
  for (int i = 0; i < 12; ++i) {
    EXPECT_DOUBLE_EQ(layout.panels[i].seconds, 2.5);
    EXPECT_DOUBLE_EQ(layout.panels[i].t0_seconds, 2.5 * (i % 4));
    EXPECT_DOUBLE_EQ(layout.panels[i].width_mm, 62.5);  // 2.5 s at 25 mm/s
  }
  EXPECT_DOUBLE_EQ(layout.panels[12].seconds, 10.0);
  EXPECT_DOUBLE_EQ(layout.panels[12].width_mm, 250.0);
  // Baselines on whole millimetres, so 0 mV falls on a grid line.
  for (double b : layout.row_baselines_mm) EXPECT_DOUBLE_EQ(b, std::round(b));
  EXPECT_GE(layout.grid_right_mm, layout.panels[3].x_mm + 62.5);
}

TEST(Plot, FlatSignalDrawsOnTheBaselineAndOneMillivoltIsTenMillimetres) {
  const double dpi = 127;  // 5 px per mm
  Page page = page_at(dpi);
  PlotInput input = flat_ecg();
  // Lead I steps from 0 to 1 mV at t = 1.25 s (inside the first panel).
  float* lead_i = lead(input, "I");
  for (std::int64_t i = 625; i < kSamples; ++i) lead_i[i] = 1.0f;
  Raster raster = render_ecg12(input, nullptr, options_at(dpi));
  EXPECT_EQ(raster.width, static_cast<int>(std::ceil(page.layout.width_mm * dpi / 25.4)));
  EXPECT_EQ(raster.height, static_cast<int>(std::ceil(page.layout.height_mm * dpi / 25.4)));

  const double baseline = page.pxd(page.layout.row_baselines_mm[0]);
  const int band0 = page.px(page.layout.row_baselines_mm[0] - 20);
  const int band1 = page.px(page.layout.row_baselines_mm[0] + 15);
  double before = ink_row(raster, column_at(page, 0, 0.5), band0, band1, is_black_ink);
  double after = ink_row(raster, column_at(page, 0, 2.0), band0, band1, is_black_ink);
  EXPECT_NEAR(before, baseline, 1.0);
  // 10 mm/mV at 127 dpi: 1 mV is 50 px up.
  EXPECT_NEAR(before - after, 10.0 * dpi / 25.4, 1.0);

  // A flat 0 mV lead (aVR, same row) sits on the baseline too.
  EXPECT_NEAR(ink_row(raster, column_at(page, 1, 3.5), band0, band1, is_black_ink), baseline, 1.0);
  // Each row's calibration pulse is 1 mV (10 mm) high: ink at its top in the pulse's middle.
  for (double b : page.layout.row_baselines_mm) {
    int x = page.px(page.layout.calibration_x_mm + 2 + 2.5);
    double top = ink_row(raster, x, page.px(b - 15), page.px(b - 5), is_black_ink);
    EXPECT_NEAR(top, page.pxd(b - 10), 1.0);
  }
}

TEST(Plot, RhythmStripRunsAtTwentyFiveMillimetresPerSecond) {
  const double dpi = 127;
  Page page = page_at(dpi);
  PlotInput input = flat_ecg();
  float* lead_ii = lead(input, "II");
  // Two 2 mV spikes 8 s apart in lead II.
  for (double t : {1.0, 9.0})
    for (int k = -2; k <= 2; ++k) lead_ii[static_cast<int>(t * kFs) + k] = 2.0f;
  Raster raster = render_ecg12(input, nullptr, options_at(dpi));
  const double b = page.layout.row_baselines_mm[3];
  // Columns whose ink reaches 15 mm above the baseline (1.5 mV): only the spikes do.
  const int y = page.px(b - 15);
  std::vector<int> hits;
  for (int x = page.px(page.layout.panels[12].x_mm); x < raster.width; ++x)
    if (is_black_ink(raster.at(x, y))) hits.push_back(x);
  ASSERT_FALSE(hits.empty());
  double first = 0, last = 0;
  int n_first = 0, n_last = 0;
  for (int x : hits) {
    if (x < hits.front() + 10) { first += x; ++n_first; }
    if (x > hits.back() - 10) { last += x; ++n_last; }
  }
  first /= n_first;
  last /= n_last;
  EXPECT_NEAR(last - first, 8.0 * 25.0 * dpi / 25.4, 1.5);
  EXPECT_NEAR(first, page.pxd(page.layout.panels[12].x_mm + 25.0), 1.5);
}

TEST(Plot, OverlayUsesAnotherColourAndGapsStayEmpty) {
  const double dpi = 127;
  Page page = page_at(dpi);
  PlotInput main = flat_ecg();
  main.label = "reference";
  // The first second of V1 is missing (NaN): nothing is drawn there.
  float* v1 = lead(main, "V1");
  for (int i = 2500; i < 3000; ++i) v1[i] = std::numeric_limits<float>::quiet_NaN();
  PlotInput twin = flat_ecg(0.5f);
  twin.label = "twin";
  twin.title = "generated";
  Raster raster = render_ecg12(main, &twin, options_at(dpi));
  const double b = page.layout.row_baselines_mm[1];
  const int band0 = page.px(b - 20), band1 = page.px(b + 15);
  int x = column_at(page, 4, 1.5);  // lead II
  EXPECT_NEAR(ink_row(raster, x, band0, band1, is_black_ink), page.pxd(b), 1.0);
  EXPECT_NEAR(ink_row(raster, x, band0, band1, is_blue_ink), page.pxd(b - 5), 1.0);

  const double b0 = page.layout.row_baselines_mm[0];
  int gap = column_at(page, 2, 5.5);   // V1 at 5.5 s: NaN
  int drawn = column_at(page, 2, 6.5);  // V1 at 6.5 s: 0 mV
  EXPECT_TRUE(std::isnan(ink_row(raster, gap, page.px(b0 - 3), page.px(b0 + 3), is_black_ink)));
  EXPECT_NEAR(ink_row(raster, drawn, page.px(b0 - 3), page.px(b0 + 3), is_black_ink), page.pxd(b0), 1.0);
}

TEST(Plot, MissingLeadLeavesItsPanelEmpty) {
  const double dpi = 127;
  Page page = page_at(dpi);
  PlotInput input = flat_ecg();
  input.lead_names[8] = "X";  // no V3
  Raster raster = render_ecg12(input, nullptr, options_at(dpi));
  const double b = page.layout.row_baselines_mm[2];
  EXPECT_TRUE(std::isnan(ink_row(raster, column_at(page, 10, 6.0), page.px(b - 3), page.px(b + 3), is_black_ink)));
  EXPECT_NEAR(ink_row(raster, column_at(page, 9, 4.0), page.px(b - 3), page.px(b + 3), is_black_ink),
              page.pxd(b), 1.0);
}

std::uint32_t big_endian32(const std::string& s, std::size_t at) {
  return (std::uint32_t(static_cast<unsigned char>(s[at])) << 24) |
         (std::uint32_t(static_cast<unsigned char>(s[at + 1])) << 16) |
         (std::uint32_t(static_cast<unsigned char>(s[at + 2])) << 8) |
         std::uint32_t(static_cast<unsigned char>(s[at + 3]));
}

TEST(Plot, WritesPngSvgAndPdf) {
  test::TempDir dir;
  PlotInput input = flat_ecg();
  PlotOptions options = options_at(100);
  plot_ecg12(input, nullptr, options, dir / "a.png");
  plot_ecg12(input, &input, options, dir / "a.SVG");
  plot_ecg12(input, nullptr, options, dir / "a.pdf");
  std::string png = util::read_file(dir / "a.png");
  ASSERT_GT(png.size(), 33u);
  // PNG signature, then the IHDR chunk with width and height (PNG specification 5.2, 11.2.2).
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(png.substr(12, 4), "IHDR");
  PlotLayout layout = plot_layout(options);
  EXPECT_EQ(big_endian32(png, 16), static_cast<std::uint32_t>(std::ceil(layout.width_mm * 100 / 25.4)));
  EXPECT_EQ(big_endian32(png, 20), static_cast<std::uint32_t>(std::ceil(layout.height_mm * 100 / 25.4)));
  std::string svg = util::read_file(dir / "a.SVG");
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_NE(svg.find("<svg"), std::string::npos);
  // The page size in points (72 per inch).
  auto at = svg.find("width=\"");
  ASSERT_NE(at, std::string::npos);
  EXPECT_NEAR(std::stod(svg.substr(at + 7, 20)), layout.width_mm * 72 / 25.4, 1e-3);
  std::string pdf = util::read_file(dir / "a.pdf");
  EXPECT_EQ(pdf.rfind("%PDF-", 0), 0u);
  EXPECT_NE(pdf.find("%%EOF"), std::string::npos);
}

TEST(Plot, RefusesBadRequestsWithoutWriting) {
  test::TempDir dir;
  PlotInput input = flat_ecg();
  EXPECT_THROW(plot_ecg12(input, nullptr, PlotOptions{}, dir / "a.jpg"), InputError);
  PlotInput broken = input;
  broken.sampling_rate = 0;
  EXPECT_THROW(plot_ecg12(broken, nullptr, PlotOptions{}, dir / "b.png"), InputError);
  broken = input;
  broken.signal.pop_back();
  EXPECT_THROW(plot_ecg12(input, &broken, PlotOptions{}, dir / "c.svg"), InputError);
  EXPECT_THROW(plot_ecg12(input, nullptr, options_at(-5), dir / "d.png"), InputError);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

}  // namespace
}  // namespace ecgtwin::io
