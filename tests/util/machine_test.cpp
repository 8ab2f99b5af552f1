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

TEST(Machine, Bf16ArithmeticIsAvx512Bf16OrAmxBf16) {
  EXPECT_TRUE(bf16_of_flags("fpu avx2 avx512f avx512_bf16 avx512_vnni"));
  EXPECT_TRUE(bf16_of_flags("avx512f amx_bf16 amx_tile amx_int8"));
  EXPECT_FALSE(bf16_of_flags("fpu avx2 avx512f avx512bw avx512_vnni avx512_fp16"));
  EXPECT_FALSE(bf16_of_flags("avx512_bf16x amx_bf16_"));  // whole words only
  EXPECT_FALSE(bf16_of_flags(""));
}

TEST(Machine, ThisMachinesCpuIsDescribed) {
  EXPECT_FALSE(cpu_model().empty());
  const std::string isa = cpu_vector_isa();
  EXPECT_TRUE(isa == "avx512" || isa == "avx2" || isa == "avx" || isa == "sse" || isa == "unknown")
      << isa;
}

}  // namespace
}  // namespace ecgtwin::util
