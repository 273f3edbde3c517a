// Scale searches of the K-quants (and of the legacy quants with an importance matrix): given a
// small group of weights x[n], find a scale (and for the asymmetric types a minimum) and the
// integer quants L[n] that minimise a weighted error. These are the searches of the llama.cpp
// ecosystem's reference quantizer (ggml-quants.c), re-implemented operation for operation so
// that the chosen scales and quants are bit-identical:
//
//   fit_scale_min        make_qkx2_quants / make_qkx3_quants  x ~ scale * L - neg_min, L in [0,
//   nmax] fit_scale_symmetric  make_qx_quants (rmse_type 1)        x ~ scale * (L - nmax)
//   fit_scale_q3         make_q3_quants (do_rmse)             x ~ scale * (L - nmax), coordinate
//   descent fit_scale_positive   make_qp_quants                       x ~ scale * L, x >= 0 (scales
//   of scales)
//
// The *_batch functions run one search per group over many groups; they use the widest SIMD
// path the CPU has (one group per SIMD lane, every lane doing the scalar algorithm's exact
// operations in the same order) and give exactly the results of the scalar functions.
#pragma once

#include <cstdint>

namespace rf::quant {

// Parameters of the asymmetric search. The first candidate is iscale = nmax / (max - min); then
// candidates iscale = (nmax + rmin + rdelta * is) / (max - min) for is = 0..nstep are tried, each
// followed by a weighted least-squares fit of (scale, min); the fit with the least error wins.
struct ScaleMinSearch {
    int nmax;      // quants lie in [0, nmax]
    float rmin;    // offset of the first candidate
    float rdelta;  // step between candidates
    int nstep;     // candidates is = 0..nstep
    bool use_mad;  // error = sum w * |e| (true) or sum w * e^2 (false)
};

// n <= 32. w: per-weight error weights (n). Returns the scale; *neg_min receives -min >= 0.
float fit_scale_min(int n, const float* x, const float* w, uint8_t* L, float* neg_min,
                    const ScaleMinSearch& p);

// n <= 32. Quants L in [0, 2 * nmax - 1] stand for L - nmax. w: error weights, or nullptr for
// x^2. Returns the scale (0 for an all-zero group).
float fit_scale_symmetric(int n, int nmax, const float* x, const float* w, int8_t* L);

// n <= 32. As fit_scale_symmetric with weights x^2, refined by up to 5 rounds of coordinate
// descent on single quants.
float fit_scale_q3(int n, int nmax, const float* x, int8_t* L);

// n <= 32, x >= 0 expected. L in [0, nmax] (negative x wrap as in the reference). w: weights.
float fit_scale_positive(int n, int nmax, const float* x, uint8_t* L, const float* w);

// Group g uses x[g * n .. g * n + n), w likewise (nullptr for x^2 in the symmetric search) and
// writes L likewise, and its scale to scales[g] (and -min to neg_mins[g]).
void fit_scale_min_batch(int n_groups, int n, const float* x, const float* w, uint8_t* L,
                         float* scales, float* neg_mins, const ScaleMinSearch& p);
void fit_scale_symmetric_batch(int n_groups, int n, int nmax, const float* x, const float* w,
                               int8_t* L, float* scales);

}  // namespace rf::quant
