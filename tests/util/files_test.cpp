#include "ecgtwin/util/files.hpp"

#include <gtest/gtest.h>

#include "ecgtwin/util/error.hpp"
#include "ecgtwin/util/random.hpp"
#include "test_support.hpp"

namespace ecgtwin::util {
namespace {

TEST(AtomicFile, CommitReplacesAndAbandonLeavesNothing) {
  test::TempDir dir;
  auto path = dir / "a.txt";
  write_file_atomic(path, "first");
  EXPECT_EQ(read_file(path), "first");
  {
    AtomicFile file(path);
    file.write("second");
    // Not committed: the old content stays and the temporary file goes away.
  }
  EXPECT_EQ(read_file(path), "first");
  size_t entries = 0;
  for (auto& e : fs::directory_iterator(dir.path())) entries += e.is_regular_file();
  EXPECT_EQ(entries, 1u);
}

TEST(AtomicFile, MissingFolderIsInputError) {
  test::TempDir dir;
  EXPECT_THROW(write_file_atomic(dir / "no" / "a.txt", "x"), InputError);
}

TEST(OutputGuard, RemovesWhatItCreatedUnlessKept) {
  test::TempDir dir;
  {
    OutputGuard guard;
    guard.create_directory(dir / "out" / "deep");
    write_file_atomic(dir / "out" / "deep" / "f", "x");
  }
  EXPECT_FALSE(fs::exists(dir / "out"));
  {
    OutputGuard guard;
    guard.create_directory(dir / "out");
    guard.keep();
  }
  EXPECT_TRUE(fs::exists(dir / "out"));
  // A folder that existed before is never removed.
  {
    OutputGuard guard;
    guard.create_directory(dir / "out");
  }
  EXPECT_TRUE(fs::exists(dir / "out"));
}

TEST(Fnv1a, PublishedVectors) {
  // Test vectors from the FNV reference (Fowler, Noll, Vo): "" and "a".
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
}

TEST(Rng, Pcg32ReferenceSequenceAndMoments) {
  Rng a(42), b(42), c(43);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.next_u32(), b.next_u32());
  EXPECT_NE(Rng(42).next_u64(), c.next_u64());
  Rng r(7);
  double sum = 0, sum2 = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    double x = r.normal();
    sum += x;
    sum2 += x * x;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.01);
  EXPECT_NEAR(sum2 / n, 1.0, 0.01);
  for (int i = 0; i < 1000; ++i) {
    auto k = r.uniform_int(-3, 3);
    EXPECT_GE(k, -3);
    EXPECT_LE(k, 3);
  }
}

}  // namespace
}  // namespace ecgtwin::util
