#include "backend/cpu/cpu_features.h"

#include <initializer_list>
#include <atomic>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace rf::cpu {
namespace {

#if defined(__x86_64__) || defined(__i386__)
struct X86Features {
    bool avx2 = false, fma = false, f16c = false, avx_vnni = false;
    bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
    bool avx512_vnni = false, avx512_bf16 = false;
};

// __builtin_cpu_supports checks the OS saves the wide registers (XCR0) for the AVX / AVX-512
// bits it knows; F16C, AVX-VNNI and AVX512-BF16 are read from CPUID directly (older compilers do
// not know their names) and only trusted together with AVX2 / AVX-512F.
X86Features detect() {
    X86Features f;
    __builtin_cpu_init();
    f.avx2 = __builtin_cpu_supports("avx2");
    f.fma = __builtin_cpu_supports("fma");
    f.avx512f = __builtin_cpu_supports("avx512f");
    f.avx512bw = __builtin_cpu_supports("avx512bw");
    f.avx512vl = __builtin_cpu_supports("avx512vl");
    f.avx512dq = __builtin_cpu_supports("avx512dq");
    f.avx512_vnni = __builtin_cpu_supports("avx512vnni");
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (__get_cpuid(1, &eax, &ebx, &ecx, &edx)) f.f16c = (ecx & bit_F16C) != 0;
    // Leaf 7 sub-leaf 1: EAX bit 4 = AVX-VNNI, EAX bit 5 = AVX512-BF16.
    if (__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx)) {
        f.avx_vnni = (eax & (1u << 4)) != 0;
        f.avx512_bf16 = (eax & (1u << 5)) != 0;
    }
    return f;
}
#endif

bool supported(CpuIsa isa) {
#if defined(__x86_64__) || defined(__i386__)
    static const X86Features f = detect();
    const bool avx2 = f.avx2 && f.fma && f.f16c;
    const bool avx512 = avx2 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq;
    switch (isa) {
        case CpuIsa::scalar:
            return true;
        case CpuIsa::avx2:
            return avx2;
        case CpuIsa::avx_vnni:
            return avx2 && f.avx_vnni;
        case CpuIsa::avx512:
            return avx512;
        case CpuIsa::avx512_vnni:
            return avx512 && f.avx512_vnni && f.avx512_bf16;
    }
    return false;
#else
    return isa == CpuIsa::scalar;
#endif
}

CpuIsa detect_best() {
    for (CpuIsa isa : {CpuIsa::avx512_vnni, CpuIsa::avx512, CpuIsa::avx_vnni, CpuIsa::avx2})
        if (supported(isa)) return isa;
    return CpuIsa::scalar;
}

std::atomic<CpuIsa>& current() {
    static std::atomic<CpuIsa> isa{best_cpu_isa()};
    return isa;
}

}  // namespace

bool cpu_isa_supported(CpuIsa isa) {
    return supported(isa);
}

CpuIsa best_cpu_isa() {
    static const CpuIsa best = detect_best();
    return best;
}

CpuIsa cpu_isa() {
    return current().load(std::memory_order_relaxed);
}

CpuIsa set_cpu_isa(CpuIsa isa) {
    const CpuIsa use = supported(isa) ? isa : best_cpu_isa();
    current().store(use, std::memory_order_relaxed);
    return use;
}

const char* cpu_isa_name(CpuIsa isa) {
    switch (isa) {
        case CpuIsa::scalar:
            return "scalar";
        case CpuIsa::avx2:
            return "avx2";
        case CpuIsa::avx_vnni:
            return "avx_vnni";
        case CpuIsa::avx512:
            return "avx512";
        case CpuIsa::avx512_vnni:
            return "avx512_vnni";
    }
    return "?";
}

}  // namespace rf::cpu
