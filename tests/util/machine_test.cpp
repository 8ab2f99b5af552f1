#include "ecgtwin/util/machine.hpp"

#include <gtest/gtest.h>

namespace ecgtwin::util {
namespace {

TEST(Machine, TheWidestVectorSetOfAFlagsLineIsNamed) {
  EXPECT_EQ(vector_isa_of_flags("fpu sse sse2 avx avx2 fma avx512f avx512dq"), "avx512");
  EXPECT_EQ(vector_isa_of_flags("fpu sse sse2 ssse3 avx avx2 fma sha_ni"), "avx2");
  EXPECT_EQ(vector_isa_of_flags("fpu sse sse2 avx"), "avx");
  EXPECT_EQ(vector_isa_of_flags("fpu sse sse2"), "sse");
  // Whole words only: a flag that merely starts like one does not count.
  EXPECT_EQ(vector_isa_of_flags("fpu avx512_bf16 avx2x"), "unknown");
  EXPECT_EQ(vector_isa_of_flags(""), "unknown");
}

TEST(Machine, ThisMachinesCpuIsDescribed) {
  EXPECT_FALSE(cpu_model().empty());
  const std::string isa = cpu_vector_isa();
  EXPECT_TRUE(isa == "avx512" || isa == "avx2" || isa == "avx" || isa == "sse" || isa == "unknown")
      << isa;
}

}  // namespace
}  // namespace ecgtwin::util
