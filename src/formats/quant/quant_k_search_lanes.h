// Lane-parallel versions of fit_scale_min and fit_scale_symmetric (see quant_k_search.h), written
// once with GCC/clang vector extensions (quant_lanes.h) and compiled by quant_simd_avx2.cpp
// (8 lanes) and quant_simd_avx512.cpp (16 lanes).
//
// Why lanes = groups: the reference searches are sequential in two ways, (1) every sum runs over
// the group's elements in order and (2) a winning candidate changes the state (the minimum, the
// best error) the next candidate sees. Vectorising across elements would reorder the float sums;
// vectorising across candidates would break (2). Independent groups, however, can run side by
// side: lane k executes exactly the scalar operations of group k, in the same order, and a
// branch of the scalar code becomes a per-lane select. The results are bit-identical.
#pragma once

#include <cstdint>

#include "formats/quant/quant_k_search.h"
#include "formats/quant/quant_lanes.h"

namespace rf::quant {
namespace {

// fit_scale_min for W groups of n <= 32 elements given transposed: element i of lane k at
// xt[i * W + k]. Writes the quants transposed to Lt, the scales and -min to scale[W], neg_min[W].
template <int W>
void fit_scale_min_lanes(int n, const float* xt, const float* wt, int32_t* Lt, float* scale_out,
                         float* neg_min_out, const ScaleMinSearch& p) {
    using F = typename Lanes<W>::F;
    using I = typename Lanes<W>::I;
    const F zero = F{} + 0.f;

    F lo = load_vec<F>(xt);
    F hi = lo;
    F sum_w = load_vec<F>(wt);
    F sum_x = sum_w * lo;
    for (int i = 1; i < n; ++i) {
        const F xi = load_vec<F>(xt + i * W);
        const F wi = load_vec<F>(wt + i * W);
        lo = xi < lo ? xi : lo;
        hi = xi > hi ? xi : hi;
        sum_w += wi;
        sum_x += wi * xi;
    }
    lo = lo > 0 ? zero : lo;
    const I flat = hi == lo;  // these lanes return L = 0, scale 0

    F iscale = static_cast<float>(p.nmax) / (hi - lo);
    F scale = 1.f / iscale;
    F best_error = zero;
    for (int i = 0; i < n; ++i) {
        const F xi = load_vec<F>(xt + i * W);
        const F wi = load_vec<F>(wt + i * W);
        const I l = clamp_lanes<W>(nearest_lanes<W>(iscale * (xi - lo)), 0, p.nmax);
        store_vec(Lt + i * W, l);
        F e = scale * __builtin_convertvector(l, F) + lo - xi;
        e = p.use_mad ? abs_lanes<W>(e) : e * e;
        best_error += wi * e;
    }

    I trial[32];
    for (int is = 0; p.nstep >= 1 && is <= p.nstep; ++is) {
        const float numerator = p.rmin + p.rdelta * is + p.nmax;
        iscale = numerator / (hi - lo);
        F sum_l = zero, sum_l2 = zero, sum_xl = zero;
        for (int i = 0; i < n; ++i) {
            const F xi = load_vec<F>(xt + i * W);
            const F wi = load_vec<F>(wt + i * W);
            const I l = clamp_lanes<W>(nearest_lanes<W>(iscale * (xi - lo)), 0, p.nmax);
            trial[i] = l;
            const F lf = __builtin_convertvector(l, F);
            sum_l += wi * lf;
            sum_l2 += wi * lf * lf;
            sum_xl += wi * lf * xi;
        }
        const F D = sum_w * sum_l2 - sum_l * sum_l;
        const I fit = (D > 0) & ~flat;
        if (!Lanes<W>::any(fit)) continue;
        F this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
        F this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
        const I clip = this_min > 0;
        this_min = clip ? zero : this_min;
        this_scale = clip ? sum_xl / sum_l2 : this_scale;
        F error = zero;
        for (int i = 0; i < n; ++i) {
            const F xi = load_vec<F>(xt + i * W);
            const F wi = load_vec<F>(wt + i * W);
            F e = this_scale * __builtin_convertvector(trial[i], F) + this_min - xi;
            e = p.use_mad ? abs_lanes<W>(e) : e * e;
            error += wi * e;
        }
        const I better = fit & (error < best_error);
        if (!Lanes<W>::any(better)) continue;
        for (int i = 0; i < n; ++i)
            store_vec(Lt + i * W, better ? trial[i] : load_vec<I>(Lt + i * W));
        best_error = better ? error : best_error;
        scale = better ? this_scale : scale;
        lo = better ? this_min : lo;
    }

    scale = flat ? zero : scale;
    for (int i = 0; i < n; ++i) {
        const I l = load_vec<I>(Lt + i * W);
        store_vec(Lt + i * W, flat ? I{} : l);
    }
    store_vec(scale_out, scale);
    store_vec(neg_min_out, -lo);
}

// fit_scale_symmetric for W transposed groups; wt == nullptr means weights x^2.
template <int W>
void fit_scale_symmetric_lanes(int n, int nmax, const float* xt, const float* wt, int32_t* Lt,
                               float* scale_out) {
    using F = typename Lanes<W>::F;
    using I = typename Lanes<W>::I;
    const F zero = F{} + 0.f;

    F max = zero;
    F amax = zero;
    for (int i = 0; i < n; ++i) {
        const F xi = load_vec<F>(xt + i * W);
        const F ax = abs_lanes<W>(xi);
        const I bigger = ax > amax;
        amax = bigger ? ax : amax;
        max = bigger ? xi : max;
    }
    const I tiny = amax < 1e-15f;  // kGroupMaxEps: these lanes return L = 0, scale 0

    auto weight = [&](int i, F xi) { return wt ? load_vec<F>(wt + i * W) : xi * xi; };

    F iscale = static_cast<float>(-nmax) / max;
    F sumlx = zero;
    F suml2 = zero;
    for (int i = 0; i < n; ++i) {
        const F xi = load_vec<F>(xt + i * W);
        const I l = clamp_lanes<W>(nearest_lanes<W>(iscale * xi), -nmax, nmax - 1);
        store_vec(Lt + i * W, l + nmax);
        const F lf = __builtin_convertvector(l, F);
        const F wi = weight(i, xi);
        sumlx += wi * xi * lf;
        suml2 += wi * lf * lf;
    }
    F scale = suml2 != 0 ? sumlx / suml2 : zero;
    F best = scale * sumlx;

    I trial[32];
    for (int is = -9; is <= 9; ++is) {
        if (is == 0) continue;
        const float numerator = -(nmax + 0.1f * is);
        iscale = numerator / max;
        sumlx = suml2 = zero;
        for (int i = 0; i < n; ++i) {
            const F xi = load_vec<F>(xt + i * W);
            const I l = clamp_lanes<W>(nearest_lanes<W>(iscale * xi), -nmax, nmax - 1);
            trial[i] = l;
            const F lf = __builtin_convertvector(l, F);
            const F wi = weight(i, xi);
            sumlx += wi * xi * lf;
            suml2 += wi * lf * lf;
        }
        const I better = (suml2 > 0) & (sumlx * sumlx > best * suml2) & ~tiny;
        if (!Lanes<W>::any(better)) continue;
        for (int i = 0; i < n; ++i)
            store_vec(Lt + i * W, better ? trial[i] + nmax : load_vec<I>(Lt + i * W));
        const F new_scale = sumlx / suml2;
        scale = better ? new_scale : scale;
        best = better ? new_scale * sumlx : best;
    }

    scale = tiny ? zero : scale;
    for (int i = 0; i < n; ++i) {
        const I l = load_vec<I>(Lt + i * W);
        store_vec(Lt + i * W, tiny ? I{} : l);
    }
    store_vec(scale_out, scale);
}

// Gathers lanes [g0, g0 + count) of the row-major groups into the transposed buffers; missing
// lanes are zero (a zero group takes the early-out path of both searches).
template <int W>
void transpose_groups(int n, int g0, int count, const float* src, float* dst) {
    for (int i = 0; i < n; ++i) {
        float* row = dst + i * W;
        for (int k = 0; k < count; ++k) row[k] = src[(g0 + k) * n + i];
        for (int k = count; k < W; ++k) row[k] = 0.f;
    }
}

template <int W>
void fit_scale_min_batch_lanes(int n_groups, int n, const float* x, const float* w, uint8_t* L,
                               float* scales, float* neg_mins, const ScaleMinSearch& p) {
    alignas(64) float xt[32 * W];
    alignas(64) float wt[32 * W];
    alignas(64) int32_t Lt[32 * W];
    alignas(64) float sc[W];
    alignas(64) float nm[W];
    for (int g0 = 0; g0 < n_groups; g0 += W) {
        const int count = n_groups - g0 < W ? n_groups - g0 : W;
        transpose_groups<W>(n, g0, count, x, xt);
        transpose_groups<W>(n, g0, count, w, wt);
        fit_scale_min_lanes<W>(n, xt, wt, Lt, sc, nm, p);
        for (int k = 0; k < count; ++k) {
            scales[g0 + k] = sc[k];
            neg_mins[g0 + k] = nm[k];
            uint8_t* out = L + (g0 + k) * n;
            for (int i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(Lt[i * W + k]);
        }
    }
}

template <int W>
void fit_scale_symmetric_batch_lanes(int n_groups, int n, int nmax, const float* x, const float* w,
                                     int8_t* L, float* scales) {
    alignas(64) float xt[32 * W];
    alignas(64) float wt[32 * W];
    alignas(64) int32_t Lt[32 * W];
    alignas(64) float sc[W];
    for (int g0 = 0; g0 < n_groups; g0 += W) {
        const int count = n_groups - g0 < W ? n_groups - g0 : W;
        transpose_groups<W>(n, g0, count, x, xt);
        if (w) transpose_groups<W>(n, g0, count, w, wt);
        fit_scale_symmetric_lanes<W>(n, nmax, xt, w ? wt : nullptr, Lt, sc);
        for (int k = 0; k < count; ++k) {
            scales[g0 + k] = sc[k];
            int8_t* out = L + (g0 + k) * n;
            for (int i = 0; i < n; ++i) out[i] = static_cast<int8_t>(Lt[i * W + k]);
        }
    }
}

}  // namespace
}  // namespace rf::quant
