#include "formats/quant/quant_isa.h"

#include <atomic>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace rf::quant {
namespace {

#if defined(__x86_64__) || defined(__i386__)
// F16C is CPUID leaf 1, ECX bit 29 (clang's __builtin_cpu_supports does not know "f16c"); it is
// only checked together with AVX2, whose OS support __builtin_cpu_supports has verified.
bool cpu_has_f16c() {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C) != 0;
}
#endif

QuantIsa detect_isa() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    // Everything the *_avx512.cpp files are compiled with (see CMakeLists.txt), so that no
    // instruction the compiler picks on its own can fault.
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bf16") &&
        __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c())
        return QuantIsa::avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c())
        return QuantIsa::avx2;
#endif
    return QuantIsa::scalar;
}

std::atomic<QuantIsa>& current_isa() {
    static std::atomic<QuantIsa> isa{best_quant_isa()};
    return isa;
}

}  // namespace

QuantIsa best_quant_isa() {
    static const QuantIsa best = detect_isa();
    return best;
}

QuantIsa quant_isa() {
    return current_isa().load(std::memory_order_relaxed);
}

QuantIsa set_quant_isa(QuantIsa isa) {
    const QuantIsa best = best_quant_isa();
    const QuantIsa use = static_cast<int>(isa) > static_cast<int>(best) ? best : isa;
    current_isa().store(use, std::memory_order_relaxed);
    return use;
}

const char* quant_isa_name(QuantIsa isa) {
    switch (isa) {
        case QuantIsa::avx512:
            return "avx512";
        case QuantIsa::avx2:
            return "avx2";
        case QuantIsa::scalar:
            break;
    }
    return "scalar";
}

}  // namespace rf::quant
