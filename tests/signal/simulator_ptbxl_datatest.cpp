// The simulator against real data: its SCP statement table against PTB-XL's own file, and
// simulated sinus records against PTB-XL's NORM records (Wagner et al. 2020; ptbxl-500).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <numeric>

#include "ecgtwin/io/csv.hpp"
#include "ecgtwin/io/wfdb.hpp"
#include "ecgtwin/signal/simulator.hpp"
#include "simulator_fiducials.hpp"
#include "test_support.hpp"

namespace ecgtwin::signal {
namespace {

TEST(SimulatorPtbxl, StatementTableMatchesPtbxl) {
  ECGTWIN_REQUIRE_SHARED_DATA("ptbxl-500/scp_statements.csv");
  auto table = io::read_csv(test::shared_data() / "ptbxl-500" / "scp_statements.csv");
  auto column = [&](const char* name) { return table.column(name); };
  for (const auto& s : scp_statements()) {
    auto row = std::find_if(table.rows.begin(), table.rows.end(),
                            [&](const auto& r) { return r[0] == s.code; });
    ASSERT_NE(row, table.rows.end()) << s.code;
    EXPECT_EQ((*row)[column("description")], s.description) << s.code;
    EXPECT_EQ((*row)[column("diagnostic")] == "1.0", s.diagnostic) << s.code;
    EXPECT_EQ((*row)[column("form")] == "1.0", s.form) << s.code;
    EXPECT_EQ((*row)[column("rhythm")] == "1.0", s.rhythm) << s.code;
    EXPECT_EQ((*row)[column("diagnostic_class")], s.diagnostic_class) << s.code;
    EXPECT_EQ((*row)[column("diagnostic_subclass")], s.diagnostic_subclass) << s.code;
  }
}

// Features computed the same way on real and simulated 10-s 500 Hz records.
struct Features {
  double amplitude[12];  // 99.5th - 0.5th percentile after removing a 0.4-s moving mean, mV
  double heart_rate = NAN;
  double qrs = NAN;  // ms, on the R-aligned mean beat
};

std::vector<std::int64_t> r_peaks(const SimEcg& ecg) {
  // Sum of |slope| over the leads, peaks above half of its 99th percentile, 250 ms apart.
  std::vector<double> energy(static_cast<std::size_t>(ecg.samples - 1));
  for (std::int64_t i = 0; i + 1 < ecg.samples; ++i) energy[i] = test::slope(ecg, i);
  auto sorted = energy;
  std::nth_element(sorted.begin(), sorted.begin() + sorted.size() * 99 / 100, sorted.end());
  double threshold = 0.5 * sorted[sorted.size() * 99 / 100];
  std::vector<std::int64_t> peaks;
  const auto refractory = static_cast<std::int64_t>(0.25 * ecg.fs);
  for (std::int64_t i = 1; i + 1 < static_cast<std::int64_t>(energy.size()); ++i) {
    if (energy[i] < threshold) continue;
    std::int64_t best = i;
    while (i < static_cast<std::int64_t>(energy.size()) && energy[i] >= threshold) {
      if (energy[i] > energy[best]) best = i;
      ++i;
    }
    if (peaks.empty() || best - peaks.back() > refractory) peaks.push_back(best);
  }
  return peaks;
}

Features features(SimEcg ecg) {
  Features f;
  const std::int64_t n = ecg.samples, half = static_cast<std::int64_t>(0.2 * ecg.fs);
  for (int lead = 0; lead < 12; ++lead) {
    float* x = ecg.signal.data() + lead * n;
    std::vector<double> prefix(n + 1, 0.0);
    for (std::int64_t i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + x[i];
    std::vector<double> detrended(n);
    for (std::int64_t i = 0; i < n; ++i) {
      std::int64_t a = std::max<std::int64_t>(0, i - half), b = std::min(n, i + half + 1);
      detrended[i] = x[i] - (prefix[b] - prefix[a]) / double(b - a);
    }
    for (std::int64_t i = 0; i < n; ++i) x[i] = static_cast<float>(detrended[i]);
    std::sort(detrended.begin(), detrended.end());
    f.amplitude[lead] = detrended[n * 995 / 1000] - detrended[n * 5 / 1000];
  }
  auto peaks = r_peaks(ecg);
  if (peaks.size() < 3) return f;
  std::vector<double> rr;
  for (std::size_t i = 1; i < peaks.size(); ++i)
    rr.push_back(double(peaks[i] - peaks[i - 1]) / ecg.fs);
  std::sort(rr.begin(), rr.end());
  f.heart_rate = 60.0 / rr[rr.size() / 2];
  // Mean beat over [-0.4, +0.6] s, then the fiducial QRS measurement on it.
  const auto before = static_cast<std::int64_t>(0.4 * ecg.fs),
             after = static_cast<std::int64_t>(0.6 * ecg.fs);
  SimEcg beat;
  beat.fs = ecg.fs;
  beat.samples = before + after;
  beat.signal.assign(static_cast<std::size_t>(12 * beat.samples), 0.0f);
  int count = 0;
  for (auto p : peaks) {
    if (p - before < 0 || p + after > n) continue;
    for (int lead = 0; lead < 12; ++lead)
      for (std::int64_t k = 0; k < beat.samples; ++k)
        beat.signal[lead * beat.samples + k] += ecg.lead(lead)[p - before + k];
    ++count;
  }
  if (count == 0) return f;
  for (float& v : beat.signal) v /= static_cast<float>(count);
  auto fid = test::measure_beat(beat, before, -1000000, 1000000);
  f.qrs = 1000 * fid.qrs();
  return f;
}

double percentile(std::vector<double> v, double q) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return std::isnan(x); }), v.end());
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(q * (v.size() - 1))];
}

TEST(SimulatorPtbxl, SinusRecordsOverlapPtbxlNormalRecords) {
  ECGTWIN_REQUIRE_SHARED_DATA("ptbxl-500/records500");
  auto root = test::shared_data() / "ptbxl-500";
  auto db = io::read_csv(root / "ptbxl_database.csv");
  std::vector<Features> real, sim;
  for (const auto& row : db.rows) {
    if (row[db.column("scp_codes")].find("'NORM'") == std::string::npos) continue;
    auto data = io::read_wfdb(root / row[db.column("filename_hr")]);
    SimEcg ecg;
    ecg.fs = data.frequency;
    ecg.samples = data.rows;
    ecg.signal.resize(static_cast<std::size_t>(12 * data.rows));
    for (std::int64_t i = 0; i < data.rows; ++i)
      for (int lead = 0; lead < 12; ++lead) {
        double v = data.physical[i * data.channels + lead];
        ecg.signal[lead * data.rows + i] = std::isnan(v) ? 0.0f : static_cast<float>(v);
      }
    real.push_back(features(ecg));
  }
  ASSERT_GT(real.size(), 100u);
  for (int p = 0; p < 150; ++p) {
    Person person = draw_person(31, p);
    sim.push_back(
        features(render(person, parse_condition("sinus"), {500, 10, true, 24, 100u + p})));
  }
  auto check = [&](const std::string& name, const std::function<double(const Features&)>& get) {
    std::vector<double> r, s;
    for (const auto& f : real) r.push_back(get(f));
    for (const auto& f : sim) s.push_back(get(f));
    double lo = percentile(r, 0.1), hi = percentile(r, 0.9), median = percentile(s, 0.5);
    std::printf(
        "%-14s real p10 %7.2f p50 %7.2f p90 %7.2f | simulated p10 %7.2f p50 %7.2f p90 %7.2f\n",
        name.c_str(), lo, percentile(r, 0.5), hi, percentile(s, 0.1), median, percentile(s, 0.9));
    EXPECT_GE(median, lo) << name;
    EXPECT_LE(median, hi) << name;
  };
  const auto& leads = simulator_leads();
  for (int lead = 0; lead < 12; ++lead)
    check("amplitude " + leads[lead], [lead](const Features& f) { return f.amplitude[lead]; });
  check("heart rate", [](const Features& f) { return f.heart_rate; });
  check("QRS ms", [](const Features& f) { return f.qrs; });
}

}  // namespace
}  // namespace ecgtwin::signal
