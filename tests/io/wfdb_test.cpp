#include "ecgtwin/io/wfdb.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/files.hpp"
#include "test_support.hpp"

namespace ecgtwin::io {
namespace {

WfdbWriteRequest sample_request(int format, int64_t samples) {
  WfdbWriteRequest r;
  r.record_name = "rt";
  r.sampling_frequency = 500;
  r.format = format;
  r.names = {"I", "II", "V1"};
  r.gains = {1000, 200, 1000};
  r.baselines = {0, 12, -3};
  r.samples = samples;
  r.comments = {"age: 60", "sex: F"};
  for (int c = 0; c < 3; ++c)
    for (int64_t t = 0; t < samples; ++t)
      r.physical.push_back(static_cast<float>(std::sin(0.01 * static_cast<double>(t) * (c + 1)) * 1.5));
  r.physical[5] = NAN;
  return r;
}

TEST(WfdbWriter, RoundTripExactForFormats16And212) {
  for (int format : {16, 212, 80, 24, 32}) {
    SCOPED_TRACE(format);
    test::TempDir dir;
    auto r = sample_request(format, 1001);  // odd length: 212 ends mid-block
    auto path = write_wfdb(dir.path(), r);
    auto data = read_wfdb(path);  // checksums verified
    EXPECT_TRUE(data.checksums_verified);
    ASSERT_EQ(data.rows, 1001);
    ASSERT_EQ(data.channels, 3);
    EXPECT_EQ(data.header.comments, r.comments);
    for (int c = 0; c < 3; ++c) {
      EXPECT_EQ(data.names[static_cast<size_t>(c)], r.names[static_cast<size_t>(c)]);
      for (int64_t t = 0; t < 1001; ++t) {
        float x = r.physical[static_cast<size_t>(c * 1001 + t)];
        size_t i = static_cast<size_t>(t * 3 + c);
        if (std::isnan(x)) {
          EXPECT_EQ(data.digital[i], kInvalidSample);
          continue;
        }
        const double gain = r.gains[static_cast<size_t>(c)];
        const double high = format == 80 ? 127 : format == 212 ? 2047 : 1e12;
        double expected = std::min(high, std::max(-high, std::nearbyint(x * gain) + r.baselines[static_cast<size_t>(c)]));
        ASSERT_EQ(data.digital[i], static_cast<int32_t>(expected)) << "channel " << c << " sample " << t;
      }
    }
    // Writing the read-back digital values again gives the same bytes (round trip exact).
    WfdbWriteRequest again = r;
    for (int c = 0; c < 3; ++c)
      for (int64_t t = 0; t < 1001; ++t)
        again.physical[static_cast<size_t>(c * 1001 + t)] = static_cast<float>(data.physical[static_cast<size_t>(t * 3 + c)]);
    test::TempDir dir2;
    write_wfdb(dir2.path(), again);
    EXPECT_EQ(util::read_file(dir.path() / "rt.dat"), util::read_file(dir2.path() / "rt.dat"));
  }
}

TEST(WfdbHeader, ParsesFieldsAndDefaults) {
  auto h = parse_wfdb_header(
      "# leading comment\r\nrec 2 250/1000(5) 100 12:00:00.5 01/02/2003\n"
      "rec.dat 16x2:3+24 1.5e+02(7)/uV 12 4 9 -5 0 lead one  \n"
      "rec.dat 16 0 \n# tail\n",
      "rec.hea");
  EXPECT_EQ(h.record_name, "rec");
  EXPECT_DOUBLE_EQ(h.sampling_frequency, 250);
  EXPECT_DOUBLE_EQ(*h.counter_frequency, 1000);
  EXPECT_DOUBLE_EQ(*h.base_counter, 5);
  EXPECT_EQ(*h.sample_count, 100);
  EXPECT_EQ(h.base_time, "12:00:00.5");
  ASSERT_EQ(h.signals.size(), 2u);
  const auto& s = h.signals[0];
  EXPECT_EQ(s.samples_per_frame, 2);
  EXPECT_EQ(s.skew, 3);
  EXPECT_EQ(s.byte_offset, 24);
  EXPECT_DOUBLE_EQ(s.adc_gain, 150);
  EXPECT_EQ(s.baseline, 7);
  EXPECT_EQ(s.units, "uV");
  EXPECT_EQ(s.adc_zero, 4);
  EXPECT_EQ(*s.checksum, -5);
  EXPECT_EQ(s.description, "lead one");
  EXPECT_DOUBLE_EQ(h.signals[1].adc_gain, 200);  // gain 0 means 200
  EXPECT_EQ(h.comments.size(), 2u);
  EXPECT_THROW(parse_wfdb_header("", "x.hea"), InputError);
  EXPECT_THROW(parse_wfdb_header("r 1 0\nr.dat 16\n", "x.hea"), InputError);
  EXPECT_THROW(parse_wfdb_header("r 1 250\nr.dat 16x0\n", "x.hea"), InputError);
}

}  // namespace
}  // namespace ecgtwin::io
