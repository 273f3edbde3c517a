// RMS normalisation and the q8_1 activation quantization (the x side of the quantized matrix
// products), alone or fused: rms_norm can also write the q8_1 form of its output.
//
// q8_1 layout per row of cols (cols % 32 == 0): xq int8 [cols], xds float2 [cols / 32] with
// xds[b] = (d, d * sum(q)) of block b, d = max|x| / 127, q = round(x * (1 / d)) (the CPU's formula;
// ties to even).
#pragma once

#include <cstdint>

#include "backend/gpu/gpu_launch.h"

namespace rf::gpu {

// out[r, :] = x[r, :] / sqrt(mean(x[r, :]^2) + eps) * w; optional q8_1 of out (xq/xds non-null,
// cols % 32 == 0). out may alias x. sliced: rows of 1024+ columns not written in place run as
// several blocks per row (each sums the whole row, then normalises and quantizes a slice of it).
void launch_rms_norm(Launcher& l, const float* x, const float* w, float eps, float* out, int64_t rows, int64_t cols,
                     int8_t* xq, float2* xds, bool sliced = false);

// q8_1 of x [rows, cols] (cols % 32 == 0). trigger_first: the next kernel may launch before this one
// waits for its predecessor (programmatic dependent launch; only where that next kernel reads nothing
// but weights before its own wait: the matvecs).
void launch_quantize_q8_1(Launcher& l, const float* x, int64_t rows, int64_t cols, int8_t* xq, float2* xds,
                          bool trigger_first = false);

}  // namespace rf::gpu
