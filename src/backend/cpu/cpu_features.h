// Run-time choice of the SIMD tier of the CPU backend's kernels (matmul dots, attention, norms,
// element-wise ops). One CPUID check, cached; every kernel table is chosen from the tier in use.
//
// Tiers, each a superset of the one before, and the files that implement them (CMake compiles
// each suffix with exactly the -m flags listed; nothing from such a file runs unless the CPU
// has every one of them):
//   scalar       portable C++                                  *.cpp
//   avx2         AVX2 + FMA + F16C (maddubs / madd dots)       *_avx2.cpp
//   avx_vnni     avx2 + AVX-VNNI (256-bit vpdpbusd)            *_avxvnni.cpp
//   avx512       + AVX-512 F/BW/VL/DQ (512-bit maddubs)        *_avx512bw.cpp
//   avx512_vnni  + AVX-512 VNNI + BF16 (vpdpbusd, vdpbf16ps)   *_avx512.cpp
#pragma once

namespace rf::cpu {

enum class CpuIsa { scalar = 0, avx2 = 1, avx_vnni = 2, avx512 = 3, avx512_vnni = 4 };

// Whether this CPU (and OS) can run the tier's files.
bool cpu_isa_supported(CpuIsa isa);
// The widest supported tier (cached).
CpuIsa best_cpu_isa();
// The tier in use: best_cpu_isa() unless forced with set_cpu_isa (tests, benchmarks).
CpuIsa cpu_isa();
// Uses `isa` if supported, else the best supported tier. Returns the tier now in use. Not to be
// called while ops run on other threads.
CpuIsa set_cpu_isa(CpuIsa isa);
const char* cpu_isa_name(CpuIsa isa);

}  // namespace rf::cpu
