// prepare_cache and Cache on a small manifest written here: round trip of the signals,
// metadata, pairs and splits; reuse of an up-to-date cache; bad records and bad options.
#include "ecgtwin/data/cache.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <set>

#include "ecgtwin/data/record_io.hpp"
#include "ecgtwin/signal/simulator.hpp"
#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/files.hpp"
#include "test_support.hpp"

namespace ecgtwin::data {
namespace {

Record simulated(const std::string& id, const std::string& condition, double seconds,
                 std::int64_t person) {
  signal::SimEcg ecg = signal::render(signal::draw_person(21, person),
                                      signal::parse_condition(condition),
                                      {500, seconds, true, 24, static_cast<std::uint64_t>(person)});
  Record r;
  r.id = id;
  r.sampling_rate = ecg.fs;
  r.lead_names = standard_leads();
  r.units.assign(12, "mV");
  r.signal = ecg.signal;
  return r;
}

// prepare_cache's options for a manifest: the cache in `out`, no test split.
PrepareOptions manifest_options(const fs::path& manifest, const fs::path& out,
                                double validation_fraction) {
  PrepareOptions o;
  o.dataset = "manifest";
  o.input = manifest;
  o.out = out;
  o.split.validation_fraction = validation_fraction;
  o.split.test_fraction = 0.0;
  return o;
}

// Four readable records of three patients (one NPY, one 25 s long) and two bad ones.
struct Fixture {
  test::TempDir dir;
  fs::path manifest = dir / "manifest.csv";
  Fixture() {
    fs::create_directories(dir / "long");
    save_record(simulated("p1a", "sinus", 10, 1), dir / "p1a.hea", RecordFormat::kWfdb);
    save_record(simulated("p1b", "afib", 10, 1), dir / "p1b.hea", RecordFormat::kWfdb);
    save_record(simulated("p2", "lbbb", 25, 2), dir / "long" / "p2.hea", RecordFormat::kWfdb);
    save_record(simulated("p3", "sinus", 10, 3), dir / "p3.npy", RecordFormat::kNpy);
    save_record(simulated("short", "sinus", 3, 4), dir / "short.hea", RecordFormat::kWfdb);
    save_record(simulated("broken", "sinus", 10, 5), dir / "broken.hea", RecordFormat::kWfdb);
    fs::resize_file(dir / "broken.dat", 1000);
    std::ofstream(manifest) << "path,patient_id,report,hr,age,sex,recording_date\n"
                               "p1b.hea,1,atrial fibrillation,,61,F,2020-02-01\n"
                               "p1a.hea,1,sinus rhythm|normal ECG,61.5,60,F,2020-01-01\n"
                               "long/p2.hea,2,left bundle branch block|sinus rhythm,,45,M,\n"
                               "p3.npy,3,sinus rhythm,,,,\n"
                               "short.hea,4,sinus rhythm,,,,\n"
                               "broken.hea,5,sinus rhythm,,,,\n";
  }
  PrepareOptions options(const std::string& out = "cache") const {
    return manifest_options(manifest, dir / out, 0.34);
  }
};

TEST(Cache, PrepareThenOpenRoundTrips) {
  Fixture f;
  PrepareSummary summary = prepare_cache(f.options());
  EXPECT_FALSE(summary.up_to_date);
  EXPECT_EQ(summary.records, 4);
  EXPECT_EQ(summary.rows, 5);  // the 25-s record gives two 10-s windows
  EXPECT_EQ(summary.patients, 3);
  EXPECT_EQ(summary.patients_with_multiple_records, 1);
  EXPECT_EQ(summary.pairs, 1);
  ASSERT_EQ(summary.skipped.size(), 2u);
  EXPECT_EQ(summary.skipped[0].id, "short");
  EXPECT_NE(summary.skipped[0].reason.find("too short"), std::string::npos);
  EXPECT_EQ(summary.skipped[1].id, "broken");
  EXPECT_NE(summary.skipped[1].reason.find("broken"), std::string::npos);

  auto json = nlohmann::json::parse(util::read_file(f.dir / "cache" / "summary.json"));
  for (const char* key : {"records", "patients", "patients_with_multiple_records", "skipped"})
    EXPECT_TRUE(json.at(key).is_number_integer()) << key;
  EXPECT_EQ(json["records"], 4);
  EXPECT_EQ(json["skipped"], 2);
  EXPECT_GT(json["seconds"].get<double>(), 0.0);
  EXPECT_EQ(json["skipped_records"][1]["path"], (f.dir / "broken.hea").string());

  Cache cache = Cache::open(f.dir / "cache");
  EXPECT_EQ(cache.leads(), 12);
  EXPECT_EQ(cache.samples(), 1024);
  EXPECT_DOUBLE_EQ(cache.sampling_rate(), 102.4);
  ASSERT_EQ(cache.entries().size(), 5u);
  std::set<std::string> ids;
  for (std::size_t i = 0; i < cache.entries().size(); ++i) {
    const CacheEntry& e = cache.entries()[i];
    ids.insert(e.id);
    // The cached window is exactly what loading and preprocessing the record give.
    PreparedRecord expected = preprocess_record(load_record(e.source));
    const std::size_t window = e.id == "long/p2#1" ? 1 : 0;
    ASSERT_LT(window, expected.windows.size());
    const auto& x = expected.windows[window].signal;
    ASSERT_EQ(x.size(), 12u * 1024u);
    EXPECT_EQ(std::memcmp(cache.signal(i), x.data(), x.size() * sizeof(float)), 0) << e.id;
    EXPECT_DOUBLE_EQ(e.start_seconds, 10.0 * window);
  }
  EXPECT_EQ(ids, (std::set<std::string>{"p1b", "p1a", "long/p2", "long/p2#1", "p3"}));
  const CacheEntry& p1a = cache.entries()[1];
  ASSERT_EQ(p1a.id, "p1a");
  EXPECT_EQ(p1a.record_id, "p1a");
  EXPECT_EQ(p1a.patient_id, "1");
  EXPECT_EQ(p1a.statements, (std::vector<std::string>{"sinus rhythm", "normal ECG"}));
  EXPECT_EQ(p1a.heart_rate.value_or(0), 61.5);  // the manifest's rate wins
  EXPECT_EQ(p1a.age.value_or(0), 60.0);
  EXPECT_EQ(p1a.sex, Sex::kFemale);
  EXPECT_EQ(cache.entries()[2].record_id, "long/p2");
  EXPECT_EQ(cache.entries()[3].record_id, "long/p2");
  EXPECT_EQ(cache.entries()[2].sex, Sex::kMale);
  // No rate in the manifest: the detected one, near the simulated rhythm's.
  EXPECT_TRUE(cache.entries()[4].heart_rate.has_value());
  EXPECT_EQ(cache.entries()[0].split, cache.entries()[1].split);  // one patient, one split
  EXPECT_EQ(cache.entries()[2].split, cache.entries()[3].split);
  EXPECT_EQ(cache.vocabulary().at("sinus rhythm"), 3);  // per record, not per window
  EXPECT_EQ(cache.vocabulary().at("atrial fibrillation"), 1);
  // The one pair: p1a (January) is the reference of p1b (February).
  std::vector<RecordPair> pairs;
  for (Split s : {Split::kTrain, Split::kValidation, Split::kTest})
    for (const auto& p : cache.pairs(s)) {
      pairs.push_back(p);
      EXPECT_EQ(cache.entries()[p.reference].split, s);
    }
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(pairs[0].reference, 1u);
  EXPECT_EQ(pairs[0].target, 0u);
}

TEST(Cache, SmallShardsHoldTheSameRows) {
  Fixture f;
  PrepareOptions o = f.options();
  prepare_cache(o);
  o.out = f.dir / "small";
  o.shard_size = 2;
  prepare_cache(o);
  EXPECT_TRUE(fs::exists(f.dir / "small" / "shard_00002.npy"));
  EXPECT_FALSE(fs::exists(f.dir / "small" / "shard_00003.npy"));
  Cache one = Cache::open(f.dir / "cache"), three = Cache::open(f.dir / "small");
  ASSERT_EQ(one.entries().size(), three.entries().size());
  for (std::size_t i = 0; i < one.entries().size(); ++i) {
    EXPECT_EQ(three.entries()[i].shard, static_cast<std::int64_t>(i / 2));
    EXPECT_EQ(std::memcmp(one.signal(i), three.signal(i), 12 * 1024 * sizeof(float)), 0);
  }
  // Rebuilt with one shard into the same folder: the stale shards go.
  o.shard_size = 4096;
  prepare_cache(o);
  EXPECT_FALSE(fs::exists(f.dir / "small" / "shard_00001.npy"));
  EXPECT_EQ(Cache::open(f.dir / "small").entries().size(), 5u);
}

TEST(Cache, RerunReusesAnUpToDateCache) {
  Fixture f;
  prepare_cache(f.options());
  const auto shard = f.dir / "cache" / "shard_00000.npy";
  const auto written = fs::last_write_time(shard);
  PrepareSummary again = prepare_cache(f.options());
  EXPECT_TRUE(again.up_to_date);
  EXPECT_EQ(again.records, 4);
  EXPECT_EQ(again.patients, 3);
  EXPECT_EQ(fs::last_write_time(shard), written);
  // Another seed, or a changed record, is another cache.
  PrepareOptions reseeded = f.options();
  reseeded.split.seed = 5;
  EXPECT_FALSE(prepare_cache(reseeded).up_to_date);
  EXPECT_TRUE(prepare_cache(reseeded).up_to_date);
  save_record(simulated("p3", "pvc", 10, 3), f.dir / "p3.npy", RecordFormat::kNpy);
  EXPECT_FALSE(prepare_cache(reseeded).up_to_date);
}

// NPY records store no sampling rate: without a sidecar JSON it comes from the manifest's fs
// column or, for rows without one, from PrepareOptions::sampling_rate (prepare --fs).
TEST(Cache, NpyRecordsWithoutSidecarTakeTheirRateFromTheManifestOrTheOptions) {
  test::TempDir dir;
  fs::create_directories(dir / "with");
  save_record(simulated("a", "sinus", 10, 1), dir / "with" / "a.npy", RecordFormat::kNpy);
  save_record(simulated("b", "afib", 10, 2), dir / "with" / "b.npy", RecordFormat::kNpy);
  fs::create_directories(dir / "bare");
  for (const char* name : {"a", "b"})
    fs::copy_file(dir / "with" / (std::string(name) + ".npy"),
                  dir / "bare" / (std::string(name) + ".npy"));
  const std::string rows = "a.npy,1,sinus rhythm,{a}\nb.npy,2,atrial fibrillation,{b}\n";
  auto manifest = [&](const fs::path& folder, const std::string& a, const std::string& b) {
    std::string text = "path,patient_id,report,fs\n" + rows;
    text.replace(text.find("{a}"), 3, a);
    text.replace(text.find("{b}"), 3, b);
    std::ofstream(folder / "manifest.csv") << text;
    return folder / "manifest.csv";
  };
  auto options = [&](const fs::path& input, const std::string& out) {
    return manifest_options(input, dir / out, 0.0);
  };
  const auto shard = [&](const std::string& out) {
    return util::read_file(dir / out / "shard_00000.npy");
  };
  // The rates from the sidecars written beside the records.
  EXPECT_EQ(prepare_cache(options(manifest(dir / "with", "", ""), "sidecar")).records, 2);
  // Without a sidecar and without a rate: skipped, with the reason.
  PrepareOptions none = options(manifest(dir / "bare", "500", ""), "none");
  PrepareSummary partial = prepare_cache(none);
  EXPECT_EQ(partial.records, 1);
  ASSERT_EQ(partial.skipped.size(), 1u);
  EXPECT_NE(partial.skipped[0].reason.find("--fs"), std::string::npos) << partial.skipped[0].reason;
  // The manifest's column for one, the options' rate for the other: the same cache.
  PrepareOptions given = options(dir / "bare" / "manifest.csv", "given");
  given.sampling_rate = 500;
  EXPECT_EQ(prepare_cache(given).records, 2);
  EXPECT_EQ(shard("given"), shard("sidecar"));
  // The column comes before the options' rate.
  PrepareOptions both = options(manifest(dir / "bare", "500", "500"), "both");
  both.sampling_rate = 250;
  EXPECT_EQ(prepare_cache(both).records, 2);
  EXPECT_EQ(shard("both"), shard("sidecar"));
  // Another rate is another cache.
  PrepareOptions other = options(manifest(dir / "bare", "", ""), "other");
  other.sampling_rate = 250;
  EXPECT_EQ(prepare_cache(other).records, 2);
  EXPECT_NE(shard("other"), shard("sidecar"));
  // A column value that is not a rate names its row and column, and nothing is written.
  PrepareOptions bad = options(manifest(dir / "bare", "500", "fast"), "bad");
  EXPECT_TRUE(test::throws_input_error([&] { prepare_cache(bad); }, {"row 3 column fs"}))
      << "an fs of 'fast'";
  EXPECT_FALSE(fs::exists(dir / "bad"));
}

TEST(Cache, BadInputLeavesNothing) {
  Fixture f;
  auto refused = [&](PrepareOptions o, const std::string& word) {
    EXPECT_TRUE(test::throws_input_error([&] { prepare_cache(o); }, {word}));
    EXPECT_FALSE(fs::exists(o.out)) << word;
  };
  PrepareOptions o = f.options();
  o.shard_size = 0;
  refused(o, "shard_size");
  o = f.options();
  o.dataset = "physionet";
  refused(o, "--dataset");
  o = f.options();
  o.input = f.dir / "missing.csv";
  refused(o, "missing.csv");
  o = f.options();
  o.ptbxl.fs_source = 250;
  o.dataset = "ptbxl";
  o.input = f.dir.path();
  refused(o, "fs_source");
  // Every record bad: an error, not an empty cache.
  std::ofstream(f.dir / "bad.csv") << "path,patient_id,report\nshort.hea,4,a\nbroken.hea,5,b\n";
  o = f.options();
  o.input = f.dir / "bad.csv";
  refused(o, "none of the 2 records");

  test::TempDir empty;
  EXPECT_THROW(Cache::open(empty.path()), InputError);
  std::ofstream(empty / "index.json") << "{\"samples\": 1024";
  EXPECT_THROW(Cache::open(empty.path()), InputError);
  std::ofstream(empty / "index.json") << "{\"samples\": 1024}";
  EXPECT_THROW(Cache::open(empty.path()), InputError);
}

}  // namespace
}  // namespace ecgtwin::data
