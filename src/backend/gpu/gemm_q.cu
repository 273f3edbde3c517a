// Tiled GEMM: tile shape and K split per launch, the split-K reduction, type dispatch.
#include "backend/gpu/gemm_q_kernel.cuh"

#include "backend/gpu/dequant.cuh"

#include <algorithm>
#include <string>

namespace rf::gpu {

#define RF_GEMM_DECLARE(T)                                                                                      \
    extern template void launch_gemm_typed<TensorType::T>(Launcher&, const GemmArgs&, GemmTileKind, GemmCompute, \
                                                          dim3);
RF_GEMM_DECLARE(Q4_0)
RF_GEMM_DECLARE(Q4_1)
RF_GEMM_DECLARE(Q5_0)
RF_GEMM_DECLARE(Q5_1)
RF_GEMM_DECLARE(Q8_0)
RF_GEMM_DECLARE(Q2_K)
RF_GEMM_DECLARE(Q3_K)
RF_GEMM_DECLARE(Q4_K)
RF_GEMM_DECLARE(Q6_K)
RF_GEMM_DECLARE(F16)
RF_GEMM_DECLARE(BF16)
#undef RF_GEMM_DECLARE
#define RF_DEQUANT_DECLARE(T)                                                                                  \
    extern template void launch_dequant_rows_f16_typed<TensorType::T>(Launcher&, const QMatrix&, int64_t, int64_t, \
                                                                      void*, bool);
RF_DEQUANT_DECLARE(Q4_0)
RF_DEQUANT_DECLARE(Q4_1)
RF_DEQUANT_DECLARE(Q5_0)
RF_DEQUANT_DECLARE(Q5_1)
RF_DEQUANT_DECLARE(Q8_0)
RF_DEQUANT_DECLARE(Q2_K)
RF_DEQUANT_DECLARE(Q3_K)
RF_DEQUANT_DECLARE(Q4_K)
RF_DEQUANT_DECLARE(Q6_K)
#undef RF_DEQUANT_DECLARE

namespace {

constexpr int kMaxSplits = 16;

struct GemmPlan {
    GemmTileKind kind;
    int bm, bn, bk;
    int n_splits;
    int k_tiles_per_split;
    dim3 grid;
};

GemmPlan plan_gemm(int64_t rows, int64_t cols, int64_t n_tok, int n_sm) {
    GemmPlan p{};
    if (n_tok <= 16) p = {GemmTileKind::Small, GemmTileSmall::BM, GemmTileSmall::BN, GemmTileSmall::BK, 1, 0, {}};
    else if (n_tok <= 64) p = {GemmTileKind::Mid, GemmTileMid::BM, GemmTileMid::BN, GemmTileMid::BK, 1, 0, {}};
    else p = {GemmTileKind::Large, GemmTileLarge::BM, GemmTileLarge::BN, GemmTileLarge::BK, 1, 0, {}};
    const int64_t tiles = static_cast<int64_t>(ceil_div(rows, p.bm)) * ceil_div(n_tok, p.bn);
    const int n_kt = static_cast<int>(ceil_div(cols, p.bk));
    // Small token counts are bound by the weight bytes: keep ~4 blocks per SM loading; the large
    // tile is bound by arithmetic: split only when SMs would idle.
    const int64_t want = p.kind == GemmTileKind::Large ? n_sm : 4 * static_cast<int64_t>(n_sm);
    int splits = 1;
    if (tiles < want) splits = static_cast<int>(std::min<int64_t>({(want + tiles - 1) / tiles, n_kt, kMaxSplits}));
    p.k_tiles_per_split = (n_kt + splits - 1) / splits;
    p.n_splits = (n_kt + p.k_tiles_per_split - 1) / p.k_tiles_per_split;
    p.grid = dim3(ceil_div(n_tok, p.bn), ceil_div(rows, p.bm), static_cast<unsigned>(p.n_splits));
    return p;
}

// y[t, r] = sum over splits s (in order) of partial[s, t, r] + bias[r].
__global__ void gemm_split_reduce_kernel(const float* __restrict__ partial, int32_t n_splits, int32_t n_tok, int64_t rows,
                                         float* __restrict__ y, int64_t ldy, const float* __restrict__ bias) {
    RF_PDL_ENTRY();
    const int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    const int64_t t = blockIdx.y;
    if (r >= rows) return;
    float v = bias ? bias[r] : 0.0f;
    for (int s = 0; s < n_splits; ++s) v += partial[(static_cast<int64_t>(s) * n_tok + t) * rows + r];
    y[t * ldy + r] = v;
}

}  // namespace

bool gemm_supports(TensorType type, int64_t cols) {
    if (cols <= 0 || cols % 32 != 0) return false;
    switch (device_type(type)) {
        case TensorType::Q4_0: case TensorType::Q4_1: case TensorType::Q5_0: case TensorType::Q5_1:
        case TensorType::Q8_0: case TensorType::Q2_K: case TensorType::Q3_K: case TensorType::Q4_K:
        case TensorType::Q6_K: case TensorType::F16: case TensorType::BF16: return true;
        default: return false;
    }
}

size_t gemm_scratch_bytes(int64_t rows, int64_t cols, int64_t n_tok, int n_sm, GemmCompute) {
    const GemmPlan p = plan_gemm(rows, cols, n_tok, n_sm);
    return p.n_splits > 1 ? static_cast<size_t>(p.n_splits) * static_cast<size_t>(n_tok * rows) * sizeof(float) : 0;
}

void launch_gemm(Launcher& l, TensorType type, const QMatrix& w, const float* x, int64_t x_stride, int64_t n_tok,
                 float* y, int64_t ldy, const float* bias, GemmCompute compute, int n_sm, void* scratch) {
    if (n_tok <= 0 || w.rows <= 0) return;
    const GemmPlan p = plan_gemm(w.rows, w.cols, n_tok, n_sm);
    GemmArgs a = zeroed<GemmArgs>();
    a.w = w;
    a.x = x;
    a.y = y;
    a.bias = bias;
    a.partial = static_cast<float*>(scratch);
    a.x_stride = x_stride;
    a.ldy = ldy;
    a.n_tok = static_cast<int32_t>(n_tok);
    a.n_splits = p.n_splits;
    a.k_tiles_per_split = p.k_tiles_per_split;
    if (p.n_splits > 1 && scratch == nullptr) fail_message("gpu gemm: split-K launch without scratch");
    switch (device_type(type)) {
#define RF_CASE(T) \
    case TensorType::T: launch_gemm_typed<TensorType::T>(l, a, p.kind, compute, p.grid); break;
        RF_CASE(Q4_0) RF_CASE(Q4_1) RF_CASE(Q5_0) RF_CASE(Q5_1) RF_CASE(Q8_0) RF_CASE(Q2_K) RF_CASE(Q3_K) RF_CASE(Q4_K) RF_CASE(Q6_K)
        RF_CASE(F16) RF_CASE(BF16)
#undef RF_CASE
        default: fail_message(std::string("gpu gemm: no tiled kernel for weight type ") + type_name(type));
    }
    if (p.n_splits > 1)
        l.launch(gemm_split_reduce_kernel, dim3(ceil_div(w.rows, 256), static_cast<unsigned>(n_tok)), dim3(256), 0,
                 static_cast<const float*>(scratch), static_cast<int32_t>(p.n_splits), static_cast<int32_t>(n_tok), w.rows,
                 y, ldy, bias);
}

void launch_convert_f16(Launcher& l, const float* x, int64_t n, void* out, bool to_bf16) {
    if (n % 8 != 0 || reinterpret_cast<uintptr_t>(x) % 16 != 0 || reinterpret_cast<uintptr_t>(out) % 16 != 0) {
        launch_convert_f32(l, x, n, out, to_bf16);
        return;
    }
    const dim3 grid(ceil_div(n / 8, 256)), block(256);
    if (to_bf16) l.launch(convert_f32_x8_kernel<true>, grid, block, 0, x, n / 8, static_cast<uint4*>(out));
    else l.launch(convert_f32_x8_kernel<false>, grid, block, 0, x, n / 8, static_cast<uint4*>(out));
}

void launch_dequant_rows_f16(Launcher& l, TensorType type, const QMatrix& w, int64_t row0, int64_t n_rows, void* out,
                             bool to_bf16) {
    switch (device_type(type)) {
#define RF_CASE(T) \
    case TensorType::T: launch_dequant_rows_f16_typed<TensorType::T>(l, w, row0, n_rows, out, to_bf16); break;
        RF_CASE(Q4_0) RF_CASE(Q4_1) RF_CASE(Q5_0) RF_CASE(Q5_1) RF_CASE(Q8_0) RF_CASE(Q2_K) RF_CASE(Q3_K) RF_CASE(Q4_K) RF_CASE(Q6_K)
#undef RF_CASE
        default: fail_message(std::string("gpu: no f16 dequantization for weight type ") + type_name(type));
    }
}

}  // namespace rf::gpu
