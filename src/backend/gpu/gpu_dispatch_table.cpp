#include "backend/gpu/gpu_dispatch_table.h"

#include <optional>

#include "core/env_switch.h"

namespace rf::gpu {
namespace {

std::optional<DispatchTable> g_override;

// NVIDIA with mma.sync m16n8k16 (sm_80 and later).
DispatchTable nvidia_mma(const char* arch) {
    DispatchTable t;
    t.arch = arch;
    t.matvec_max_tokens = 8;
    t.gemm_max_tokens = 64;
    t.gemm_compute = GemmCompute::Mma;
    t.flash_attention = true;
    t.flash_min_tokens_per_seq = 16;
    t.blas_chunk_bytes = size_t{256} << 20;
    t.decode_attention_mma = true;  // H100: docs/gpu_notes.md, fifth pass
    // The int8-mma matvec for batched decode (matvec_mma.cu), 3-16 tokens: H100, bench --parallel,
    // against the tiled GEMM there (x8: 7b q4_0 1,634 vs 1,247 tok/s, q8_0 1,396 vs 1,193, 0.5b 4,653
    // vs 4,437; x16: 7b q4_0 2,702 vs 2,246, q8_0 2,602 vs 2,122, 0.5b 7,995 vs 7,183); at 2 tokens
    // the dp4a matvec is faster (x2: 7b q4_0 450 vs 673); with the scales staged (thirty-second
    // session) 4 tokens went to it too (x4: 7b q4_0 871.5 -> 1,068.4, q8_0 789.5 -> 845.9, 0.5b
    // 2,864.7 -> 3,028.0; x3 within the spread, kept on the dp4a matvec).
    // With 2-4 tokens on the one-token kernel (thirty-fourth session) and the batched steps pipelined
    // (thirty-fifth), small matrices went back to it and large ones took the int8-mma matvec from 3 tokens:
    // x4, 0.5b q4_0 (every matrix <= 9M weights) 3,509 -> 3,987 - 4,079 tok/s on the one-token kernel,
    // the 7b's (12.8M+) on the int8-mma matvec q4_0 1,202 vs 960, q4_k_m 920 vs 780, q8_0 952 vs 835;
    // x3, 7b on the int8-mma matvec q4_0 866 -> 970, q4_k_m 708 -> 766, q8_0 699 -> 738; x2 on it slower
    // (q4_0 797 -> 679, q4_k_m 668 -> 589, q8_0 569 -> 502).
    t.matvec_mma_min_tokens = 3;
    t.matvec_mma_max_tokens = 16;
    t.matvec_mma_min_weights = int64_t{10} << 20;
    return t;
}

// GPUs without the matrix instructions the kernels use (AMD RDNA, NVIDIA before sm_80): the
// tiled GEMM on FMA for every token count (HIP on Debian has no BLAS), decode attention.
DispatchTable fma_only(const char* arch) {
    DispatchTable t;
    t.arch = arch;
    t.matvec_max_tokens = 8;
    t.gemm_max_tokens = INT64_MAX;
    t.gemm_compute = GemmCompute::Fma;
    t.flash_attention = false;
    return t;
}

}  // namespace

DispatchTable dispatch_table_for(const std::string& arch_in) {
    const std::string arch = arch_in.substr(0, arch_in.find(':'));  // HIP: "gfx1100:sramecc-:xnack-"
    if (arch == "sm_90") {
        // H100 (docs/gpu_prefill_notes.md): the vendor GEMM on whole dequantized matrices
        // (700-850 TFLOP/s at 512+ tokens, plus the dequantization) wins above ~96 tokens.
        DispatchTable t = nvidia_mma("sm_90");
        t.gemm_max_tokens = 96;
        // Batched decode (bench --parallel, docs/server_notes.md): above 4 tokens the tiled GEMM
        // beats the matvec's 8-token instance (7b x8: q4_0 920 -> 1,219 tok/s, q8_0 909 -> 1,164,
        // q4_k_m 749 -> 1,193; x5-x6 equal or better except the 0.5b's, -5 to -8 %).
        t.matvec_max_tokens = 4;
        t.blas_chunk_bytes = size_t{256} << 20;
        return t;
    }
    if (arch.rfind("sm_", 0) == 0) {
        int cc = 0;  // compute capability as a number: sm_86 -> 86, sm_100 -> 100
        for (size_t i = 3; i < arch.size() && arch[i] >= '0' && arch[i] <= '9'; ++i) cc = cc * 10 + (arch[i] - '0');
        return cc >= 80 ? nvidia_mma("sm_80+") : fma_only("sm_7x");
    }
    if (arch == "gfx1100" || arch == "gfx1101" || arch == "gfx1102") return fma_only("gfx110x");
    if (arch == "gfx1030" || arch == "gfx1031" || arch == "gfx1032") return fma_only("gfx103x");
    return fma_only("default");
}

void set_dispatch_override(const DispatchTable* table) {
    if (table) g_override = *table;
    else g_override.reset();
}

DispatchTable active_dispatch_table(const std::string& arch) {
    if (g_override) return *g_override;
    DispatchTable t = dispatch_table_for(arch);
    // Benchmark knob: the most tokens a matrix product takes on the matvec kernels (batched
    // decode: N sequences' tokens of one step); above it the tiled GEMM.
    static const int matvec_max = env_int("RF_GPU_MATVEC_MAX_TOKENS", 1, 64, 0);  // (read once: every flush asks)
    if (matvec_max > 0) t.matvec_max_tokens = matvec_max;
    static const int mma_max = env_int("RF_GPU_MATVEC_MMA_MAX_TOKENS", 0, 16, -1);  // the int8-mma matvec (matvec_mma.cu)
    if (mma_max >= 0 && t.gemm_compute == GemmCompute::Mma) t.matvec_mma_max_tokens = mma_max;
    static const int mma_min = env_int("RF_GPU_MATVEC_MMA_MIN_TOKENS", 2, 16, 0);
    if (mma_min > 0) t.matvec_mma_min_tokens = mma_min;
    return t;
}

MatmulPath choose_matmul_path(const DispatchTable& t, int64_t n_tokens, bool have_blas, bool gemm_type_ok) {
    if (n_tokens <= t.matvec_max_tokens) return MatmulPath::Matvec;
    if (gemm_type_ok && (n_tokens <= t.gemm_max_tokens || !have_blas)) return MatmulPath::Gemm;
    return have_blas ? MatmulPath::Blas : MatmulPath::Matvec;
}

}  // namespace rf::gpu
