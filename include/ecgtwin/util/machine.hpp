#pragma once
// The machine a timing or a result came from. LibTorch's oneDNN and ATen kernels and OpenBLAS
// choose their code by the CPU's vector instructions at run time, so the same seeded run can
// differ in the last bits of its floats, and from there in its sampled ECGs, between a CPU
// with AVX-512 and one with AVX2 only; the benchmarks and the demo record which ran.
#include <string>

namespace ecgtwin::util {

// The "model name" of /proc/cpuinfo, or "unknown".
std::string cpu_model();
// The widest vector instruction set in the "flags" of /proc/cpuinfo: "avx512" (avx512f),
// "avx2", "avx", "sse" (sse2) or "unknown".
std::string cpu_vector_isa();
// The same from one "flags" line's list (space-separated).
std::string vector_isa_of_flags(const std::string& flags);
// Whether the CPU has bfloat16 arithmetic: "avx512_bf16" or "amx_bf16" among the "flags" of
// /proc/cpuinfo (model::AutocastScope uses bf16 on the CPU only then).
bool cpu_has_bf16();
bool bf16_of_flags(const std::string& flags);

}  // namespace ecgtwin::util
