// Batched decode's matrix products (2-8 tokens) on the int8 matrix units, for Q4_0 and Q8_0
// weights: the weights' codes go straight from global memory into int8 mma operands (Q4_0: a
// word's nibbles unpacked and re-centred, two instructions per 4 weights), the tokens' q8_1
// activations are the n = 8 operand, and each 32-weight block's int32 sums are scaled by the
// block's d and the token's d. The same sums as the matvec's dp4a kernels (exact integers per
// block), the float accumulation in another order.
//
// mma.sync.m16n8k32.row.col.s32.s8.s8.s32 per warp and block of 32 weights: A = 16 weight rows x
// 32, B = 32 x 8 tokens, C = 16 x 8. Lane (g = lane / 4, t = lane % 4) holds A's rows g and g + 8
// at columns 4t..4t+3 (regs 0, 1) and 16+4t.. (regs 2, 3); B's token g at rows 4t.. and 16+4t..;
// C's rows g, g + 8 at tokens 2t, 2t + 1.
//
// Block: 8 warps over one tile of 16 rows (SwiGLU: 16 gate rows and the same 16 up rows), each
// warp a slice of the row's blocks; the slices' partial sums meet in shared memory and warp 0
// writes the epilogue (bias, residual add, SwiGLU) as the matvec kernel does.
#include "backend/gpu/gpu_common.cuh"
#include "backend/gpu/matvec.cuh"

namespace rf::gpu {
namespace {

constexpr int kMmaWarps = 8;
constexpr int kMmaTokens = 8;

#if !defined(ROCMFORGE_WITH_HIP) && defined(__CUDA_ARCH__) && (__CUDA_ARCH__ >= 800)
#define RF_MMA_S8 1
#else
#define RF_MMA_S8 0
#endif

__device__ __forceinline__ void mma_s8_16x8x32(int (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
#if RF_MMA_S8
    asm volatile(
        "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};"
        : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#else
    (void)c, (void)a, (void)b0, (void)b1;
    __trap();  // (the host launches this kernel only where the dispatch table has int8 mma)
#endif
}

// Four 4-bit codes (one byte's nibble each, code - 8) as signed bytes.
__device__ __forceinline__ uint32_t centred_nibbles(uint32_t v) {
#if RF_MMA_S8
    return __vsub4(v & 0x0F0F0F0Fu, 0x08080808u);
#else
    return v;
#endif
}

// The A operand of block b for rows lo (g) and hi (g + 8): qs points at each row's first block.
template <TensorType T>
__device__ __forceinline__ void load_a(uint32_t (&a)[4], const uint8_t* qs_lo, const uint8_t* qs_hi, int64_t b, int t) {
    if constexpr (T == TensorType::Q4_0) {
        const uint32_t lo = load_u32(qs_lo + b * 16 + 4 * t), hi = load_u32(qs_hi + b * 16 + 4 * t);
        a[0] = centred_nibbles(lo);
        a[1] = centred_nibbles(hi);
        a[2] = centred_nibbles(lo >> 4);
        a[3] = centred_nibbles(hi >> 4);
    } else {  // Q8_0
        a[0] = load_u32(qs_lo + b * 32 + 4 * t);
        a[1] = load_u32(qs_hi + b * 32 + 4 * t);
        a[2] = load_u32(qs_lo + b * 32 + 16 + 4 * t);
        a[3] = load_u32(qs_hi + b * 32 + 16 + 4 * t);
    }
}

// One weight row's planes and where its result goes.
struct MmaRow {
    const uint8_t* qs;
    const uint8_t* d;
    int mat;
    int64_t lrow;
    bool ok;
};

__device__ __forceinline__ MmaRow mma_row(const MatvecArgs& a, int64_t g, int fixed_mat, int64_t qs_bytes) {
    MmaRow r;
    r.ok = g < a.total_rows;
    const int64_t gg = r.ok ? g : 0;
    if (fixed_mat >= 0) {
        r.mat = fixed_mat;
        r.lrow = gg;
    } else {
        r.mat = gg < a.row_end[0] ? 0 : (gg < a.row_end[1] ? 1 : 2);
        r.lrow = gg - (r.mat == 0 ? 0 : a.row_end[r.mat - 1]);
    }
    const QMatrix& m = r.mat == 0 ? a.m[0] : r.mat == 1 ? a.m[1] : a.m[2];
    r.qs = m.plane[1] + r.lrow * m.blocks_per_row * qs_bytes;
    r.d = m.plane[0] + r.lrow * m.blocks_per_row * 2;
    return r;
}

template <TensorType T, bool SWIGLU>
__global__ void __launch_bounds__(kMmaWarps * 32) matvec_mma_kernel(const MatvecArgs a) {
    RF_PDL_ENTRY();
    constexpr int NT = SWIGLU ? 2 : 1;  // tiles: the rows (plain), or gate and up rows
    constexpr int64_t QB = T == TensorType::Q4_0 ? 16 : 32;
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    const int g = lane / 4, t = lane % 4;
    const int64_t row0 = static_cast<int64_t>(blockIdx.x) * 16;
    MmaRow lo[NT], hi[NT];
#pragma unroll
    for (int k = 0; k < NT; ++k) {
        lo[k] = mma_row(a, row0 + g, SWIGLU ? k : -1, QB);
        hi[k] = mma_row(a, row0 + g + 8, SWIGLU ? k : -1, QB);
    }
    // B: token g's q8_1 codes; the C columns' tokens 2t, 2t + 1 and their scales
    const int64_t n_blocks = a.m[0].blocks_per_row;
    const int64_t xs = a.x_stride / 32;
    const int8_t* xb = static_cast<const int8_t*>(a.x) + static_cast<int64_t>(g < a.n_tok ? g : 0) * a.x_stride;
    const bool b_ok = g < a.n_tok;
    const int ta = 2 * t, tb = 2 * t + 1;
    const float* dxa = reinterpret_cast<const float*>(a.xds + static_cast<int64_t>(ta < a.n_tok ? ta : 0) * xs);
    const float* dxb = reinterpret_cast<const float*>(a.xds + static_cast<int64_t>(tb < a.n_tok ? tb : 0) * xs);

    float acc[NT][4];
#pragma unroll
    for (int k = 0; k < NT; ++k) acc[k][0] = acc[k][1] = acc[k][2] = acc[k][3] = 0.0f;
    const int64_t per_warp = (n_blocks + kMmaWarps - 1) / kMmaWarps;
    const int64_t b_begin = warp * per_warp, b_end = min(n_blocks, b_begin + per_warp);
#pragma unroll 4
    for (int64_t b = b_begin; b < b_end; ++b) {
        const uint32_t b0 = b_ok ? load_u32(xb + b * 32 + 4 * t) : 0u;
        const uint32_t b1 = b_ok ? load_u32(xb + b * 32 + 16 + 4 * t) : 0u;
        const float xa = dxa[2 * b], xb_d = dxb[2 * b];  // (d of the float2 (d, d * sum))
#pragma unroll
        for (int k = 0; k < NT; ++k) {
            uint32_t w[4];
            load_a<T>(w, lo[k].qs, hi[k].qs, b, t);
            const float d_lo = half_to_float(static_cast<uint16_t>(load_u16(lo[k].d + b * 2)));
            const float d_hi = half_to_float(static_cast<uint16_t>(load_u16(hi[k].d + b * 2)));
            int c[4] = {0, 0, 0, 0};
            mma_s8_16x8x32(c, w, b0, b1);
            acc[k][0] += static_cast<float>(c[0]) * (d_lo * xa);
            acc[k][1] += static_cast<float>(c[1]) * (d_lo * xb_d);
            acc[k][2] += static_cast<float>(c[2]) * (d_hi * xa);
            acc[k][3] += static_cast<float>(c[3]) * (d_hi * xb_d);
        }
    }

    // the warps' slices summed in warp order
    __shared__ float part[kMmaWarps][NT][4][32];
#pragma unroll
    for (int k = 0; k < NT; ++k)
#pragma unroll
        for (int i = 0; i < 4; ++i) part[warp][k][i][lane] = acc[k][i];
    __syncthreads();
    if (warp != 0) return;
#pragma unroll
    for (int k = 0; k < NT; ++k)
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            float s = part[0][k][i][lane];
            for (int w = 1; w < kMmaWarps; ++w) s += part[w][k][i][lane];
            acc[k][i] = s;
        }
    // C position i: row lo (i < 2) or hi, token ta (even i) or tb
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const int tok = (i & 1) ? tb : ta;
        if (tok >= a.n_tok) continue;
        const MmaRow& r = i < 2 ? lo[0] : hi[0];
        if (!r.ok) continue;
        if constexpr (SWIGLU) {
            float gv = acc[0][i], uv = acc[1][i];
            if (a.bias[0]) gv += a.bias[0][r.lrow];
            if (a.bias[1]) uv += a.bias[1][r.lrow];
            a.y[0][tok * a.ldy[0] + r.lrow] = gv;
            a.y[1][tok * a.ldy[1] + r.lrow] = uv;
            a.y[2][tok * a.ldy[2] + r.lrow] = silu(gv) * uv;
        } else {
            const int mi = r.mat;
            float v = acc[0][i];
            const float* bias = mi == 0 ? a.bias[0] : mi == 1 ? a.bias[1] : a.bias[2];
            float* y = mi == 0 ? a.y[0] : mi == 1 ? a.y[1] : a.y[2];
            float* res = mi == 0 ? a.residual[0] : mi == 1 ? a.residual[1] : a.residual[2];
            const int64_t ld = mi == 0 ? a.ldy[0] : mi == 1 ? a.ldy[1] : a.ldy[2];
            if (bias) v += bias[r.lrow];
            y[tok * ld + r.lrow] = v;
            if (res) res[tok * ld + r.lrow] += v;
        }
    }
}

}  // namespace

bool matvec_mma_supports(TensorType type, int64_t n_tok) {
    const TensorType t = device_type(type);
    return (t == TensorType::Q4_0 || t == TensorType::Q8_0) && n_tok >= 2 && n_tok <= kMmaTokens;
}

void launch_matvec_mma(Launcher& l, TensorType type, const MatvecArgs& a) {
    type = device_type(type);
    const bool swiglu = a.epilogue == static_cast<int32_t>(MatvecEpilogue::SwiGlu);
    const dim3 grid(ceil_div(a.total_rows, 16)), block(kMmaWarps * 32);
    if (type == TensorType::Q4_0) {
        if (swiglu) l.launch(matvec_mma_kernel<TensorType::Q4_0, true>, grid, block, 0, a);
        else l.launch(matvec_mma_kernel<TensorType::Q4_0, false>, grid, block, 0, a);
    } else if (type == TensorType::Q8_0) {
        if (swiglu) l.launch(matvec_mma_kernel<TensorType::Q8_0, true>, grid, block, 0, a);
        else l.launch(matvec_mma_kernel<TensorType::Q8_0, false>, grid, block, 0, a);
    } else {
        fail_message(std::string("gpu matvec: no int8-mma kernel for weight type ") + type_name(type));
    }
}

}  // namespace rf::gpu
