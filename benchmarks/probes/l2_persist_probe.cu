// L2 persistence for a matrix read once per step: does an access policy window (hitProp persisting,
// hitRatio = set-aside / window) over the "head" (the LM head of a decode step, read in full every
// step and bandwidth-bound) keep part of it in L2 across steps whose other reads ("body", the layers'
// weights, several times L2) stream past it, and what does that buy the head's read?
//
// A "step" = the body's bytes in launches of body_chunk bytes, then the head in one launch; steps are
// timed back to back with events around the head launch and around the whole step. Modes: no window;
// a window over the whole head with hitRatio = set-aside / head bytes; a window over the head's first
// set-aside bytes with hitRatio 1. Loads plain (ld.global) or streaming (ld.global.cs, what the matvec
// kernels use for weights). Printed: the set-aside the device allows, us per head read and per step.
// H100 80GB HBM3 (2026-11-26): L2 52.4 MB, at most 32.8 MB persisting, windows up to 134 MB. 0.5b-like
// (head 145 MB, body 200 MB in 2.8 MB launches): head 50.1 us without a window; a 16.4 MB prefix window
// (ratio 1) 46.3 us with ld.cs (48.1 plain), the whole-head window at ratio set-aside / head 50.2 (no
// gain: the lines it keeps change), the 32.8 MB set-aside slows everything (no window: 53.3 us); the
// steps (body + head) did not get shorter than their spread (297-310 us). 7b-like (447 MB head, 3.6 GB
// body): 149.0 -> 145.7 us at best. At most ~4 us per step: not taken into the engine.
// Build: nvcc -O3 -arch=sm_90 -std=c++17 (CMake target rocmforge_probe_l2_persist in CUDA builds).
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "head_body_common.cuh"
#include "probe_common.cuh"

template <bool CS>
__global__ void __launch_bounds__(256) read_kernel(const int4* p, size_t n, int* out) {
    int acc = 0;
    const size_t st = static_cast<size_t>(gridDim.x) * blockDim.x;
    size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    for (; i + 3 * st < n; i += 4 * st) {
        int4 v[4];
#pragma unroll
        for (int k = 0; k < 4; ++k) v[k] = CS ? __ldcs(p + i + k * st) : p[i + k * st];
#pragma unroll
        for (int k = 0; k < 4; ++k) acc ^= v[k].x ^ v[k].w;
    }
    for (; i < n; i += st) {
        const int4 a = CS ? __ldcs(p + i) : p[i];
        acc ^= a.x ^ a.w;
    }
    if (acc == 0x12345678) out[0] = acc;
}

struct Window {
    const void* base = nullptr;
    size_t bytes = 0;
    float hit_ratio = 0.0f;
};

template <bool CS>
void launch_read(const void* p, size_t bytes, int grid, int* out, const Window& w, cudaStream_t s) {
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = dim3(grid);
    cfg.blockDim = dim3(256);
    cfg.stream = s;
    cudaLaunchAttribute attr[1];
    if (w.bytes > 0) {
        attr[0].id = cudaLaunchAttributeAccessPolicyWindow;
        attr[0].val.accessPolicyWindow.base_ptr = const_cast<void*>(w.base);
        attr[0].val.accessPolicyWindow.num_bytes = w.bytes;
        attr[0].val.accessPolicyWindow.hitRatio = w.hit_ratio;
        attr[0].val.accessPolicyWindow.hitProp = cudaAccessPropertyPersisting;
        attr[0].val.accessPolicyWindow.missProp = cudaAccessPropertyStreaming;
        cfg.attrs = attr;
        cfg.numAttrs = 1;
    }
    PROBE_CHECK(cudaLaunchKernelEx(&cfg, read_kernel<CS>, static_cast<const int4*>(p), bytes / 16, out));
}

int main(int argc, char** argv) {
    const double head_mb = argc > 1 ? std::atof(argv[1]) : 145.0;
    const double body_mb = argc > 2 ? std::atof(argv[2]) : 200.0;
    const double chunk_mb = argc > 3 ? std::atof(argv[3]) : 2.8;
    int nsm = 0, l2 = 0, max_persist = 0, max_window = 0;
    PROBE_CHECK(cudaDeviceGetAttribute(&nsm, cudaDevAttrMultiProcessorCount, 0));
    PROBE_CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, 0));
    PROBE_CHECK(cudaDeviceGetAttribute(&max_persist, cudaDevAttrMaxPersistingL2CacheSize, 0));
    PROBE_CHECK(cudaDeviceGetAttribute(&max_window, cudaDevAttrMaxAccessPolicyWindowSize, 0));
    std::printf("L2 %.1f MB, max persisting %.1f MB, max window %.1f MB; head %.1f MB, body %.1f MB in %.1f MB launches\n",
                l2 / 1e6, max_persist / 1e6, max_window / 1e6, head_mb, body_mb, chunk_mb);

    HeadBodyBuffers hb(head_mb, body_mb, chunk_mb);
    uint8_t *head = hb.head, *body = hb.body;
    int* out = hb.out;
    const size_t head_bytes = hb.head_bytes, body_bytes = hb.body_bytes, chunk_bytes = hb.chunk_bytes;
    const cudaStream_t s = hb.s;

    const size_t set_aside_sizes[] = {0, static_cast<size_t>(max_persist) / 2, static_cast<size_t>(max_persist)};
    for (size_t set_aside : set_aside_sizes) {
        PROBE_CHECK(cudaDeviceSetLimit(cudaLimitPersistingL2CacheSize, set_aside));
        size_t got = 0;
        PROBE_CHECK(cudaDeviceGetLimit(&got, cudaLimitPersistingL2CacheSize));
        for (int mode = 0; mode < 3; ++mode) {
            if (set_aside == 0 && mode > 0) continue;
            Window w;
            if (mode == 1) {
                w.base = head;
                w.bytes = std::min(head_bytes, static_cast<size_t>(max_window));
                w.hit_ratio = std::min(1.0f, static_cast<float>(got) / static_cast<float>(w.bytes));
            } else if (mode == 2) {
                w.base = head;
                w.bytes = std::min(got, head_bytes);
                w.hit_ratio = 1.0f;
            }
            for (int cs = 0; cs < 2; ++cs) {
                auto step = [&](bool time_head) {
                    for (size_t off = 0; off < body_bytes; off += chunk_bytes)
                        (cs ? launch_read<true> : launch_read<false>)(body + off, std::min(chunk_bytes, body_bytes - off),
                                                                      nsm * 8, out, w, s);
                    if (time_head) PROBE_CHECK(cudaEventRecord(hb.e1, s));
                    (cs ? launch_read<true> : launch_read<false>)(head, head_bytes, nsm * 8, out, w, s);
                };
                PROBE_CHECK(cudaCtxResetPersistingL2Cache());
                const HeadBodyBuffers::StepTimes t = hb.time_steps(step, 5, 40);
                static const char* names[] = {"no window", "whole head, ratio", "prefix, ratio 1"};
                std::printf("set-aside %6.1f MB  %-18s %-5s  head %8.2f us (%6.0f GB/s)  step %8.2f us\n", got / 1e6,
                            names[mode], cs ? "ld.cs" : "ld", t.head_us, head_bytes / t.head_us / 1e3, t.step_us);
            }
        }
    }
    PROBE_CHECK(cudaDeviceSetLimit(cudaLimitPersistingL2CacheSize, 0));
    return 0;
}
