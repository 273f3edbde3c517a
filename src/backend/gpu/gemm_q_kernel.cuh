// The tiled GEMM kernel (see gemm_q.cuh) and the f16 row dequantization, templated on the
// weight type; instantiated per type family in gemm_q_legacy.cu / gemm_q_k.cu / gemm_q_float.cu.
// Only included by those files and gemm_q.cu.
//
// Block = Tile::THREADS threads computing BM weight rows x BN tokens. Shared memory holds one
// BM x BK weight tile and one BN x BK activation tile, both 16-bit, rows padded by 8 elements
// (16 bytes) so that ldmatrix rows fall in different banks. Per K step:
//   store the registers of step k (dequantized weight slices, converted x) into shared memory,
//   barrier, issue the global loads of step k+1 into registers, multiply step k, barrier.
// Grid: x = token tiles (fastest, so the blocks sharing a weight tile run together and the
// weight comes from DRAM once), y = row tiles, z = K splits.
#pragma once

#include "backend/gpu/gemm_q.cuh"
#include "backend/gpu/gemm_unit.cuh"

namespace rf::gpu {

template <int BM_, int BN_, int BK_, int WARPS_M_, int WARPS_N_>
struct GemmTile {
    static constexpr int BM = BM_, BN = BN_, BK = BK_;
    static constexpr int WARPS_M = WARPS_M_, WARPS_N = WARPS_N_;
    static constexpr int THREADS = 32 * WARPS_M * WARPS_N;
    static constexpr int LDS = BK + 8;              // 16-bit elements per shared row
    static constexpr int SPR = BK / 32;             // weight slices per tile row
    static constexpr int UA = BM * SPR / THREADS;   // weight slices per thread per step
    static constexpr int UX = BN * BK / 8 / THREADS;  // 8-value activation chunks per thread
    static constexpr int ACC = BM * BN / THREADS;   // accumulators per thread
    // mma: warp tile WM x WN of MT x NT m16n8 tiles
    static constexpr int WM = BM / WARPS_M, WN = BN / WARPS_N, MT = WM / 16, NT = WN / 8;
    // fma: 16 thread rows x TC thread columns, TM x TN outputs each
    static constexpr int TC = THREADS / 16, TM = BM / 16, TN = BN / TC;
    static_assert(BM * SPR % THREADS == 0 && BN * BK / 8 % THREADS == 0, "tile loads divide evenly");
    static_assert(WM % 16 == 0 && WN % 8 == 0 && BK % 32 == 0, "mma tiling");
    static_assert(BN % TC == 0 && MT * NT * 4 == ACC && TM * TN == ACC, "accumulator layouts");
};

using GemmTileSmall = GemmTile<64, 16, 256, 4, 1>;   // T <= 16: long K steps, many bytes in flight
using GemmTileMid = GemmTile<64, 64, 128, 2, 2>;     // T <= 64
using GemmTileLarge = GemmTile<128, 128, 64, 2, 4>;  // T > 64

template <TensorType T, typename Tile, GemmCompute C>
__global__ void __launch_bounds__(Tile::THREADS) gemm_kernel(const GemmArgs a) {
    RF_PDL_ENTRY();
    using U = GemmUnit<T>;
    constexpr bool BF16 = T == TensorType::BF16;
    constexpr int BM = Tile::BM, BN = Tile::BN, BK = Tile::BK, LDS = Tile::LDS, SPR = Tile::SPR;
    constexpr int UA = Tile::UA, UX = Tile::UX, THREADS = Tile::THREADS;
    __shared__ __align__(16) uint16_t s_w[BM * LDS];
    __shared__ __align__(16) uint16_t s_x[BN * LDS];

    const int tid = threadIdx.x;
    const int tok0 = static_cast<int>(blockIdx.x) * BN;
    const int64_t row0 = static_cast<int64_t>(blockIdx.y) * BM;
    const int64_t rows = a.w.rows, cols = a.w.cols;
    const int64_t n_slices = cols / 32;
    const int n_kt = static_cast<int>((cols + BK - 1) / BK);
    const int kt_begin = static_cast<int>(blockIdx.z) * a.k_tiles_per_split;
    const int kt_end = min(n_kt, kt_begin + a.k_tiles_per_split);

    typename U::Raw raw[UA];
    bool raw_ok[UA];
    float4 xr[UX][2];
    bool x_ok[UX];

    auto load_step = [&](int kt) {
#pragma unroll
        for (int i = 0; i < UA; ++i) {
            const int u = tid + i * THREADS;
            const int64_t row = row0 + u / SPR, slice = static_cast<int64_t>(kt) * SPR + u % SPR;
            raw_ok[i] = row < rows && slice < n_slices;
            if (raw_ok[i]) raw[i] = U::load(a.w, row, slice);
        }
#pragma unroll
        for (int i = 0; i < UX; ++i) {
            const int v = tid + i * THREADS;
            const int tok = tok0 + v / (BK / 8);
            const int64_t k = static_cast<int64_t>(kt) * BK + (v % (BK / 8)) * 8;
            x_ok[i] = tok < a.n_tok && k < cols;
            if (x_ok[i]) {
                const float4* p = reinterpret_cast<const float4*>(a.x + tok * a.x_stride + k);
                xr[i][0] = p[0];
                xr[i][1] = p[1];
            }
        }
    };
    auto store_step = [&]() {
#pragma unroll
        for (int i = 0; i < UA; ++i) {
            const int u = tid + i * THREADS;
            uint32_t p[16];
            if (raw_ok[i]) {
                U::template to_pairs<BF16>(raw[i], p);
            } else {
#pragma unroll
                for (int e = 0; e < 16; ++e) p[e] = 0;
            }
            uint4* dst = reinterpret_cast<uint4*>(s_w + (u / SPR) * LDS + (u % SPR) * 32);
#pragma unroll
            for (int q = 0; q < 4; ++q) dst[q] = make_uint4(p[4 * q], p[4 * q + 1], p[4 * q + 2], p[4 * q + 3]);
        }
#pragma unroll
        for (int i = 0; i < UX; ++i) {
            const int v = tid + i * THREADS;
            uint4 h = make_uint4(0, 0, 0, 0);
            if (x_ok[i]) {
                h.x = pack2<BF16>(xr[i][0].x, xr[i][0].y);
                h.y = pack2<BF16>(xr[i][0].z, xr[i][0].w);
                h.z = pack2<BF16>(xr[i][1].x, xr[i][1].y);
                h.w = pack2<BF16>(xr[i][1].z, xr[i][1].w);
            }
            *reinterpret_cast<uint4*>(s_x + (v / (BK / 8)) * LDS + (v % (BK / 8)) * 8) = h;
        }
    };

    float acc[Tile::ACC];
#pragma unroll
    for (int i = 0; i < Tile::ACC; ++i) acc[i] = 0.0f;

    const int lane = tid % 32, warp = tid / 32;
    const int wm = warp % Tile::WARPS_M, wn = warp / Tile::WARPS_M;
    auto multiply_step = [&]() {
        if constexpr (C == GemmCompute::Mma) {
#pragma unroll
            for (int kk = 0; kk < BK / 16; ++kk) {
                uint32_t af[Tile::MT][4], bf[Tile::NT][2];
#pragma unroll
                for (int mt = 0; mt < Tile::MT; ++mt)
                    ldmatrix_x4(af[mt], smem_addr(s_w + (wm * Tile::WM + mt * 16 + lane % 16) * LDS + kk * 16 + (lane / 16) * 8));
#pragma unroll
                for (int nt = 0; nt < Tile::NT; ++nt)
                    ldmatrix_x2(bf[nt], smem_addr(s_x + (wn * Tile::WN + nt * 8 + lane % 8) * LDS + kk * 16 + ((lane / 8) % 2) * 8));
#pragma unroll
                for (int mt = 0; mt < Tile::MT; ++mt)
#pragma unroll
                    for (int nt = 0; nt < Tile::NT; ++nt) mma_16816<BF16>(&acc[(mt * Tile::NT + nt) * 4], af[mt], bf[nt]);
            }
        } else {
            const int tr = tid % 16, tc = tid / 16;
            const uint32_t* w32 = reinterpret_cast<const uint32_t*>(s_w);
            const uint32_t* x32 = reinterpret_cast<const uint32_t*>(s_x);
#pragma unroll 4
            for (int k2 = 0; k2 < BK / 2; ++k2) {
                float2 wv[Tile::TM], xv[Tile::TN];
#pragma unroll
                for (int i = 0; i < Tile::TM; ++i) wv[i] = unpack2<BF16>(w32[(tr + 16 * i) * (LDS / 2) + k2]);
#pragma unroll
                for (int j = 0; j < Tile::TN; ++j) xv[j] = unpack2<BF16>(x32[(tc + Tile::TC * j) * (LDS / 2) + k2]);
#pragma unroll
                for (int i = 0; i < Tile::TM; ++i)
#pragma unroll
                    for (int j = 0; j < Tile::TN; ++j)
                        acc[i * Tile::TN + j] = fmaf(wv[i].x, xv[j].x, fmaf(wv[i].y, xv[j].y, acc[i * Tile::TN + j]));
            }
        }
    };

    if (kt_begin < kt_end) load_step(kt_begin);
    for (int kt = kt_begin; kt < kt_end; ++kt) {
        store_step();
        __syncthreads();
        if (kt + 1 < kt_end) load_step(kt + 1);
        multiply_step();
        __syncthreads();
    }

    // Epilogue: accumulator i -> (row, token) of the block tile.
    const bool split = a.n_splits > 1;
#pragma unroll
    for (int i = 0; i < Tile::ACC; ++i) {
        int r, t;
        if constexpr (C == GemmCompute::Mma) {
            const int e = i % 4, nt = (i / 4) % Tile::NT, mt = i / 4 / Tile::NT;
            r = wm * Tile::WM + mt * 16 + lane / 4 + (e >= 2 ? 8 : 0);
            t = wn * Tile::WN + nt * 8 + 2 * (lane % 4) + (e & 1);
        } else {
            r = tid % 16 + 16 * (i / Tile::TN);
            t = tid / 16 + Tile::TC * (i % Tile::TN);
        }
        const int64_t row = row0 + r;
        const int tok = tok0 + t;
        if (row >= rows || tok >= a.n_tok) continue;
        if (split) {
            a.partial[(static_cast<int64_t>(blockIdx.z) * a.n_tok + tok) * rows + row] = acc[i];
        } else {
            a.y[tok * a.ldy + row] = acc[i] + (a.bias ? a.bias[row] : 0.0f);
        }
    }
}

// One thread per (row, slice): 32 weights -> 64 bytes of f16 / bf16. Slice i of the launch
// lands at out + 32 i (rows are whole slices), so a block's output is one contiguous run: the
// slices go through shared memory and leave as 16-byte stores of consecutive threads (a
// thread's own four 16-byte pieces would be 64 bytes apart: half-sector writes).
constexpr int kDequantThreads = 128;

template <TensorType T, bool BF16>
__global__ void __launch_bounds__(kDequantThreads) dequant_rows_f16_kernel(const QMatrix m, int64_t row0, int64_t n_rows,
                                                                           uint16_t* __restrict__ out) {
    RF_PDL_ENTRY();
    __shared__ uint4 stage[kDequantThreads * 4];
    const int64_t spr = m.cols / 32;
    const int64_t n = n_rows * spr;
    const int64_t first = static_cast<int64_t>(blockIdx.x) * kDequantThreads;
    const int64_t i = first + threadIdx.x;
    if (i < n) {
        uint32_t p[16];
        GemmUnit<T>::template to_pairs<BF16>(GemmUnit<T>::load(m, row0 + i / spr, i % spr), p);
#pragma unroll
        for (int q = 0; q < 4; ++q) stage[threadIdx.x * 4 + q] = make_uint4(p[4 * q], p[4 * q + 1], p[4 * q + 2], p[4 * q + 3]);
    }
    __syncthreads();
    uint4* dst = reinterpret_cast<uint4*>(out) + first * 4;
    const int64_t n_vec = (n - first) * 4;  // 16-byte pieces left from this block's first slice
#pragma unroll
    for (int q = 0; q < 4; ++q) {
        const int v = q * kDequantThreads + threadIdx.x;
        if (v < n_vec) dst[v] = stage[v];
    }
}

// n f32 values to f16 (bf16 when BF16), 8 per thread (n % 8 == 0, 16-byte aligned).
template <bool BF16>
__global__ void convert_f32_x8_kernel(const float* __restrict__ x, int64_t n8, uint4* __restrict__ out) {
    RF_PDL_ENTRY();
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= n8) return;
    const float4 a = reinterpret_cast<const float4*>(x)[2 * i], b = reinterpret_cast<const float4*>(x)[2 * i + 1];
    out[i] = make_uint4(pack2<BF16>(a.x, a.y), pack2<BF16>(a.z, a.w), pack2<BF16>(b.x, b.y), pack2<BF16>(b.z, b.w));
}

// Which tile shape a launch uses (0 small, 1 mid, 2 large).
enum class GemmTileKind : int32_t { Small = 0, Mid = 1, Large = 2 };

template <TensorType T>
void launch_gemm_typed(Launcher& l, const GemmArgs& a, GemmTileKind kind, GemmCompute compute, dim3 grid) {
#if defined(ROCMFORGE_WITH_HIP)
    (void)compute;  // no mma.sync: every launch runs the FMA form (the dispatch table asks for no other)
#endif
    auto go = [&](auto tile) {
        using Tile = decltype(tile);
#if !defined(ROCMFORGE_WITH_HIP)
        if (compute == GemmCompute::Mma) {
            l.launch(gemm_kernel<T, Tile, GemmCompute::Mma>, grid, dim3(Tile::THREADS), 0, a);
            return;
        }
#endif
        l.launch(gemm_kernel<T, Tile, GemmCompute::Fma>, grid, dim3(Tile::THREADS), 0, a);
    };
    switch (kind) {
        case GemmTileKind::Small: go(GemmTileSmall{}); break;
        case GemmTileKind::Mid: go(GemmTileMid{}); break;
        case GemmTileKind::Large: go(GemmTileLarge{}); break;
    }
}

template <TensorType T>
void launch_dequant_rows_f16_typed(Launcher& l, const QMatrix& m, int64_t row0, int64_t n_rows, void* out, bool to_bf16) {
    const int64_t n = n_rows * (m.cols / 32);
    const dim3 grid(ceil_div(n, kDequantThreads)), block(kDequantThreads);
    if (to_bf16) l.launch(dequant_rows_f16_kernel<T, true>, grid, block, 0, m, row0, n_rows, static_cast<uint16_t*>(out));
    else l.launch(dequant_rows_f16_kernel<T, false>, grid, block, 0, m, row0, n_rows, static_cast<uint16_t*>(out));
}

// Explicit instantiations live in the per-family .cu files (dequantization: quantized types only).
#define RF_GEMM_INSTANTIATE(T) \
    template void launch_gemm_typed<TensorType::T>(Launcher&, const GemmArgs&, GemmTileKind, GemmCompute, dim3);
#define RF_GEMM_DEQUANT_INSTANTIATE(T)                                                                          \
    template void launch_dequant_rows_f16_typed<TensorType::T>(Launcher&, const QMatrix&, int64_t, int64_t, void*, \
                                                               bool);

}  // namespace rf::gpu
