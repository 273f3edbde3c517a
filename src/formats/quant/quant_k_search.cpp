#include "formats/quant/quant_fp_contract.h"  // first: no fused multiply-add below

#include "formats/quant/quant_k_search.h"

#include <cmath>

#include "formats/quant/quant_common.h"
#include "formats/quant/quant_isa.h"

// Every expression below keeps the reference's order of float operations (a*b*c is (a*b)*c, an
// int quant is converted to float where the reference converts it); changing one changes which
// candidate wins on some inputs and breaks byte-compatibility.

namespace rf::quant {

float fit_scale_min(int n, const float* x, const float* w, uint8_t* L, float* neg_min,
                    const ScaleMinSearch& p) {
    // Range and weighted moments of the group; the minimum is never above 0.
    float lo = x[0];
    float hi = x[0];
    float sum_w = w[0];
    float sum_x = sum_w * x[0];
    for (int i = 1; i < n; ++i) {
        if (x[i] < lo) lo = x[i];
        if (x[i] > hi) hi = x[i];
        sum_w += w[i];
        sum_x += w[i] * x[i];
    }
    if (lo > 0) lo = 0;
    if (hi == lo) {  // constant group (or all >= 0 with max 0)
        for (int i = 0; i < n; ++i) L[i] = 0;
        *neg_min = -lo;
        return 0.f;
    }

    // First candidate: the range mapped onto [0, nmax].
    float iscale = static_cast<float>(p.nmax) / (hi - lo);
    float scale = 1 / iscale;
    float best_error = 0;
    for (int i = 0; i < n; ++i) {
        L[i] = static_cast<uint8_t>(clamp_int(nearest_int(iscale * (x[i] - lo)), 0, p.nmax));
        float e = scale * L[i] + lo - x[i];
        e = p.use_mad ? std::fabs(e) : e * e;
        best_error += w[i] * e;
    }
    if (p.nstep < 1) {
        *neg_min = -lo;
        return scale;
    }

    // Candidate grids; each is followed by the least-squares (scale, min) for its quants:
    //   [sum_w  sum_l ] [min  ]   [sum_x ]
    //   [sum_l  sum_l2] [scale] = [sum_xl],  D = sum_w * sum_l2 - sum_l^2.
    // Note that a winning candidate moves `lo`, which the following candidates then use.
    uint8_t trial[32];
    for (int is = 0; is <= p.nstep; ++is) {
        iscale = (p.rmin + p.rdelta * is + p.nmax) / (hi - lo);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; ++i) {
            const int l = clamp_int(nearest_int(iscale * (x[i] - lo)), 0, p.nmax);
            trial[i] = static_cast<uint8_t>(l);
            sum_l += w[i] * l;
            sum_l2 += w[i] * l * l;
            sum_xl += w[i] * l * x[i];
        }
        const float D = sum_w * sum_l2 - sum_l * sum_l;
        if (!(D > 0)) continue;
        float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
        float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
        if (this_min > 0) {
            this_min = 0;
            this_scale = sum_xl / sum_l2;
        }
        float error = 0;
        for (int i = 0; i < n; ++i) {
            float e = this_scale * trial[i] + this_min - x[i];
            e = p.use_mad ? std::fabs(e) : e * e;
            error += w[i] * e;
        }
        if (error < best_error) {
            for (int i = 0; i < n; ++i) L[i] = trial[i];
            best_error = error;
            scale = this_scale;
            lo = this_min;
        }
    }
    *neg_min = -lo;
    return scale;
}

float fit_scale_symmetric(int n, int nmax, const float* x, const float* w, int8_t* L) {
    // The element of largest magnitude, with its sign, maps to -nmax.
    float max = 0;
    float amax = 0;
    for (int i = 0; i < n; ++i) {
        const float ax = std::fabs(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < kGroupMaxEps) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        return 0.f;
    }
    // Least-squares scale for the quants of a candidate iscale: sum(w x l) / sum(w l^2); the
    // candidate maximising sum(w x l)^2 / sum(w l^2) has the least weighted squared error.
    float iscale = -nmax / max;
    float sumlx = 0;
    float suml2 = 0;
    for (int i = 0; i < n; ++i) {
        const int l = clamp_int(nearest_int(iscale * x[i]), -nmax, nmax - 1);
        L[i] = static_cast<int8_t>(l + nmax);
        const float wi = w ? w[i] : x[i] * x[i];
        sumlx += wi * x[i] * l;
        suml2 += wi * l * l;
    }
    float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; ++is) {
        if (is == 0) continue;
        iscale = -(nmax + 0.1f * is) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; ++i) {
            const int l = clamp_int(nearest_int(iscale * x[i]), -nmax, nmax - 1);
            const float wi = w ? w[i] : x[i] * x[i];
            sumlx += wi * x[i] * l;
            suml2 += wi * l * l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; ++i)
                L[i] = static_cast<int8_t>(nmax +
                                           clamp_int(nearest_int(iscale * x[i]), -nmax, nmax - 1));
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

float fit_scale_q3(int n, int nmax, const float* x, int8_t* L) {
    float max = 0;
    float amax = 0;
    for (int i = 0; i < n; ++i) {
        const float ax = std::fabs(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < kGroupMaxEps) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        return 0.f;
    }
    const float iscale = -nmax / max;
    float sumlx = 0;
    float suml2 = 0;
    for (int i = 0; i < n; ++i) {
        const int l = clamp_int(nearest_int(iscale * x[i]), -nmax, nmax - 1);
        L[i] = static_cast<int8_t>(l);
        const float wi = x[i] * x[i];
        sumlx += wi * x[i] * l;
        suml2 += wi * l * l;
    }
    // Coordinate descent: move one quant to its best value given all the others, keep the move
    // if it raises sum(w x l)^2 / sum(w l^2).
    for (int round = 0; round < 5; ++round) {
        int n_changed = 0;
        for (int i = 0; i < n; ++i) {
            const float wi = x[i] * x[i];
            float slx = sumlx - wi * x[i] * L[i];
            if (slx > 0) {
                float sl2 = suml2 - wi * L[i] * L[i];
                const int new_l = clamp_int(nearest_int(x[i] * sl2 / slx), -nmax, nmax - 1);
                if (new_l != L[i]) {
                    slx += wi * x[i] * new_l;
                    sl2 += wi * new_l * new_l;
                    if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                        L[i] = static_cast<int8_t>(new_l);
                        sumlx = slx;
                        suml2 = sl2;
                        ++n_changed;
                    }
                }
            }
        }
        if (!n_changed) break;
    }
    for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(L[i] + nmax);
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

float fit_scale_positive(int n, int nmax, const float* x, uint8_t* L, const float* w) {
    float max = 0;
    for (int i = 0; i < n; ++i) max = max > x[i] ? max : x[i];
    if (max < kGroupMaxEps) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        return 0.f;
    }
    // Try nine grids around nmax / max; keep the one with the least weighted squared error.
    // (L holds uint8 quants: the reference stores the unclamped first guess the same way.)
    float iscale = nmax / max;
    for (int i = 0; i < n; ++i) L[i] = static_cast<uint8_t>(nearest_int(iscale * x[i]));
    const float scale = 1 / iscale;
    float best_mse = 0;
    for (int i = 0; i < n; ++i) {
        const float diff = x[i] - scale * L[i];
        best_mse += w[i] * diff * diff;
    }
    for (int is = -4; is <= 4; ++is) {
        if (is == 0) continue;
        const float iscale_is = (0.1f * is + nmax) / max;
        const float scale_is = 1 / iscale_is;
        float mse = 0;
        for (int i = 0; i < n; ++i) {
            int l = nearest_int(iscale_is * x[i]);
            if (l > nmax) l = nmax;
            const float diff = x[i] - scale_is * l;
            mse += w[i] * diff * diff;
        }
        if (mse < best_mse) {
            best_mse = mse;
            iscale = iscale_is;
        }
    }
    float sumlx = 0;
    float suml2 = 0;
    for (int i = 0; i < n; ++i) {
        int l = nearest_int(iscale * x[i]);
        if (l > nmax) l = nmax;
        L[i] = static_cast<uint8_t>(l);
        sumlx += w[i] * x[i] * l;
        suml2 += w[i] * l * l;
    }
    for (int round = 0; round < 5; ++round) {
        int n_changed = 0;
        for (int i = 0; i < n; ++i) {
            float slx = sumlx - w[i] * x[i] * L[i];
            float sl2 = suml2 - w[i] * L[i] * L[i];
            if (slx > 0 && sl2 > 0) {
                int new_l = nearest_int(x[i] * sl2 / slx);
                if (new_l > nmax) new_l = nmax;
                if (new_l != L[i]) {
                    slx += w[i] * x[i] * new_l;
                    sl2 += w[i] * new_l * new_l;
                    if (slx * slx * suml2 > sumlx * sumlx * sl2) {
                        L[i] = static_cast<uint8_t>(new_l);
                        sumlx = slx;
                        suml2 = sl2;
                        ++n_changed;
                    }
                }
            }
        }
        if (!n_changed) break;
    }
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

void fit_scale_min_batch(int n_groups, int n, const float* x, const float* w, uint8_t* L,
                         float* scales, float* neg_mins, const ScaleMinSearch& p) {
    switch (quant_isa()) {
        case QuantIsa::avx512:
            return avx512::fit_scale_min_batch(n_groups, n, x, w, L, scales, neg_mins, p);
        case QuantIsa::avx2:
            return avx2::fit_scale_min_batch(n_groups, n, x, w, L, scales, neg_mins, p);
        case QuantIsa::scalar:
            break;
    }
    for (int g = 0; g < n_groups; ++g)
        scales[g] = fit_scale_min(n, x + g * n, w + g * n, L + g * n, neg_mins + g, p);
}

void fit_scale_symmetric_batch(int n_groups, int n, int nmax, const float* x, const float* w,
                               int8_t* L, float* scales) {
    switch (quant_isa()) {
        case QuantIsa::avx512:
            return avx512::fit_scale_symmetric_batch(n_groups, n, nmax, x, w, L, scales);
        case QuantIsa::avx2:
            return avx2::fit_scale_symmetric_batch(n_groups, n, nmax, x, w, L, scales);
        case QuantIsa::scalar:
            break;
    }
    for (int g = 0; g < n_groups; ++g)
        scales[g] = fit_scale_symmetric(n, nmax, x + g * n, w ? w + g * n : nullptr, L + g * n);
}

}  // namespace rf::quant
