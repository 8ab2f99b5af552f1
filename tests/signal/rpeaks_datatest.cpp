// The detector against real annotations: MIT-BIH record 100 (360 Hz, 30 min),
// the CPSC 2021 sample (200 Hz, sinus rhythm and atrial fibrillation), and
// PTB-XL at 100 Hz against the same records at 500 Hz.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "ecgtwin/io/wfdb.hpp"
#include "ecgtwin/signal/clean.hpp"
#include "ecgtwin/signal/heart_rate.hpp"
#include "ecgtwin/signal/resample.hpp"
#include "ecgtwin/signal/rpeaks.hpp"
#include "test_support.hpp"

namespace ecgtwin::signal {
namespace {

namespace fs = std::filesystem;

// [leads x samples] float from the reader's [rows x channels] physical values.
struct Leads {
  std::vector<float> x;
  std::int64_t leads = 0;
  std::int64_t samples = 0;
  double fs = 0;
  std::vector<std::string> comments;
};

Leads read_leads(const fs::path& record) {
  const io::WfdbData data = io::read_wfdb(record);
  Leads out;
  out.leads = data.channels;
  out.samples = data.rows;
  out.fs = data.frequency;
  out.comments = data.header.comments;
  out.x.resize(static_cast<size_t>(data.channels * data.rows));
  for (std::int64_t r = 0; r < data.rows; ++r) {
    for (std::int64_t c = 0; c < data.channels; ++c) {
      out.x[c * data.rows + r] = static_cast<float>(data.physical[r * data.channels + c]);
    }
  }
  replace_nonfinite(out.x);
  return out;
}

std::vector<std::int64_t> annotated_beats(const fs::path& file) {
  std::vector<std::int64_t> beats;
  for (const auto& a : io::read_wfdb_annotations(file)) {
    if (io::is_beat_annotation(a.code)) beats.push_back(a.sample);
  }
  return beats;
}

struct Match {
  std::int64_t beats = 0, detections = 0, true_positives = 0;
  double sensitivity() const { return double(true_positives) / double(beats); }
  double predictivity() const { return double(true_positives) / double(detections); }
  Match& operator+=(const Match& m) {
    beats += m.beats;
    detections += m.detections;
    true_positives += m.true_positives;
    return *this;
  }
};

// Each annotated beat takes the nearest unused detection within the tolerance
// (ANSI/AAMI EC57 uses 150 ms).
Match match_beats(const std::vector<std::int64_t>& truth, const std::vector<std::int64_t>& peaks,
                  double fs) {
  const auto tolerance = std::llround(0.150 * fs);
  std::vector<bool> used(peaks.size(), false);
  Match m{std::int64_t(truth.size()), std::int64_t(peaks.size()), 0};
  for (std::int64_t beat : truth) {
    auto it = std::lower_bound(peaks.begin(), peaks.end(), beat - tolerance);
    std::int64_t best = -1;
    for (; it != peaks.end() && *it <= beat + tolerance; ++it) {
      const auto k = it - peaks.begin();
      if (!used[k] && (best < 0 || std::abs(*it - beat) < std::abs(peaks[best] - beat))) best = k;
    }
    if (best >= 0) {
      used[best] = true;
      ++m.true_positives;
    }
  }
  return m;
}

TEST(RPeaksMitBih, Record100SensitivityAndPredictivityAbove99Percent) {
  ECGTWIN_REQUIRE_SHARED_DATA("wfdb-conformance/records/100.hea");
  const fs::path dir = test::shared_data() / "wfdb-conformance";
  const Leads record = read_leads(dir / "records" / "100");
  ASSERT_EQ(record.samples, 650000);
  const auto truth = annotated_beats(dir / "annotations" / "100.atr");
  ASSERT_EQ(truth.size(), 2273u);  // 2239 N, 33 A, 1 V (rdann)

  const Match mlii =
      match_beats(truth, detect_r_peaks(record.x.data(), record.samples, 360.0), 360.0);
  const Match both = match_beats(
      truth, detect_r_peaks_leads(record.x.data(), record.leads, record.samples, 360.0), 360.0);
  std::printf("MIT-BIH 100, MLII: Se %.4f +P %.4f (%lld beats, %lld detections)\n",
              mlii.sensitivity(), mlii.predictivity(), (long long)mlii.beats,
              (long long)mlii.detections);
  std::printf("MIT-BIH 100, MLII+V5: Se %.4f +P %.4f\n", both.sensitivity(), both.predictivity());
  EXPECT_GE(mlii.sensitivity(), 0.99);
  EXPECT_GE(mlii.predictivity(), 0.99);
  EXPECT_GE(both.sensitivity(), 0.99);
  EXPECT_GE(both.predictivity(), 0.99);
}

TEST(RPeaksCpsc, BeatsOfSinusAndFibrillationRecordsAt200Hz) {
  ECGTWIN_REQUIRE_SHARED_DATA("cpsc2021-sample");
  const fs::path dir = test::shared_data() / "cpsc2021-sample";
  std::vector<fs::path> headers;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".hea") headers.push_back(entry.path());
  }
  std::sort(headers.begin(), headers.end());
  ASSERT_EQ(headers.size(), 18u);
  Match all;
  for (const fs::path& header : headers) {
    fs::path base = header;
    base.replace_extension();
    const Leads record = read_leads(base);
    ASSERT_DOUBLE_EQ(record.fs, 200.0);
    const auto peaks =
        detect_r_peaks_leads(record.x.data(), record.leads, record.samples, record.fs);
    const Match m = match_beats(annotated_beats(base.string() + ".atr"), peaks, record.fs);
    all += m;

    // 10 s windows every 5 s: RR irregularity per window, as an AF screen would
    // use it.
    std::vector<double> irregularity;
    for (const Window& w : windows(record.samples, 2000, 1000)) {
      const auto x = cut_window(record.x.data(), record.leads, record.samples, w);
      const auto stats =
          rr_statistics(detect_r_peaks_leads(x.data(), record.leads, w.length, 200.0), 200.0);
      if (stats) irregularity.push_back(stats->irregularity);
    }
    ASSERT_FALSE(irregularity.empty()) << base;
    std::nth_element(irregularity.begin(), irregularity.begin() + irregularity.size() / 2,
                     irregularity.end());
    const double median = irregularity[irregularity.size() / 2];
    std::string kind;
    for (const auto& c : record.comments) kind += c;
    std::printf("%s: Se %.3f +P %.3f, median RR irregularity %.3f (%s)\n", base.filename().c_str(),
                m.sensitivity(), m.predictivity(), median, kind.c_str());
    if (kind.find("persistent") != std::string::npos) {
      EXPECT_GT(median, 0.2) << base;
    }
    // Patient 21 stays in sinus rhythm (patient 35's non-AF records are
    // irregular too).
    if (base.filename().string().rfind("data_21_", 0) == 0) {
      EXPECT_LT(median, 0.05) << base;
    }
  }
  std::printf("CPSC 2021 sample, 18 records: Se %.4f +P %.4f (%lld beats)\n", all.sensitivity(),
              all.predictivity(), (long long)all.beats);
  EXPECT_GE(all.sensitivity(), 0.99);
  EXPECT_GE(all.predictivity(), 0.97);
}

TEST(RPeaksPtbxl, HeartRateAt100HzAgreesWith500HzAndResamplingMatchesTheLowRateFiles) {
  ECGTWIN_REQUIRE_SHARED_DATA("ptbxl-500/records500");
  const fs::path dir = test::shared_data() / "ptbxl-500";
  int agree = 0, records = 0;
  std::vector<double> correlations;
  for (int id = 1; id <= 500; ++id) {
    char name[64];
    std::snprintf(name, sizeof name, "records100/00000/%05d_lr", id);
    const Leads low = read_leads(dir / name);
    std::snprintf(name, sizeof name, "records500/00000/%05d_hr", id);
    const Leads high = read_leads(dir / name);
    const auto rate_low =
        heart_rate_bpm(detect_r_peaks_leads(low.x.data(), 12, low.samples, 100.0), 100.0);
    const auto rate_high =
        heart_rate_bpm(detect_r_peaks_leads(high.x.data(), 12, high.samples, 500.0), 500.0);
    ++records;
    if (rate_low && rate_high && std::abs(*rate_low - *rate_high) <= 2.0) ++agree;
    if (id > 100) continue;
    // PTB-XL's 100 Hz files are decimated from the 500 Hz ones by another tool:
    // ours must follow them closely (Pearson correlation per lead, edges left
    // out).
    const auto ours = resample_leads(high.x.data(), 12, high.samples, 500.0, 100.0);
    for (int lead = 0; lead < 12; ++lead) {
      double mx = 0, my = 0, sxy = 0, sxx = 0, syy = 0;
      for (int i = 50; i < 950; ++i) {
        mx += ours[lead * 1000 + i];
        my += low.x[lead * 1000 + i];
      }
      mx /= 900;
      my /= 900;
      for (int i = 50; i < 950; ++i) {
        const double u = ours[lead * 1000 + i] - mx, v = low.x[lead * 1000 + i] - my;
        sxy += u * v;
        sxx += u * u;
        syy += v * v;
      }
      if (sxx > 0 && syy > 0) correlations.push_back(sxy / std::sqrt(sxx * syy));
    }
  }
  std::sort(correlations.begin(), correlations.end());
  std::printf(
      "PTB-XL: heart rate at 100 Hz within 2 bpm of 500 Hz in %d/%d records; "
      "resampled-vs-file correlation min %.4f median %.4f\n",
      agree, records, correlations.front(), correlations[correlations.size() / 2]);
  EXPECT_GE(agree, 485);
  EXPECT_GT(correlations.front(), 0.97);
  EXPECT_GT(correlations[correlations.size() / 2], 0.99);
}

}  // namespace
}  // namespace ecgtwin::signal
