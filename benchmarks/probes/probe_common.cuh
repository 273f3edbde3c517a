// Shared by the memory-system probes (benchmarks/probes/*_probe.cu): the error check, a launch with
// programmatic dependent launch on or off, the streaming chain kernel, and the timing and report of a
// chain of launches. CUDA sm_90 only (griddepcontrol).
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#define PROBE_CHECK(x)                                                                  \
    do {                                                                                \
        const cudaError_t probe_e = (x);                                                \
        if (probe_e != cudaSuccess) {                                                   \
            std::printf("CUDA %s at %s:%d\n", cudaGetErrorString(probe_e), __FILE__, __LINE__); \
            std::exit(1);                                                               \
        }                                                                               \
    } while (0)

// The rate the chains are compared against: the H100's asymptotic read rate (read_size_probe).
constexpr double kProbeReadTBs = 3.09;

// One link of a chain: streams n int4s of w (grid-stride, U loads per thread per iteration; with PRE the
// first U before griddepcontrol.wait), reads the word the previous link wrote (a dependent L2 round trip)
// and writes one per block.
template <int U, bool PRE>
__global__ void __launch_bounds__(256) stream_chain_kernel(const int4* w, size_t n, const int* xin, int* xout) {
    const size_t st = static_cast<size_t>(gridDim.x) * 256;
    size_t i = static_cast<size_t>(blockIdx.x) * 256 + threadIdx.x;
    int4 v[U];
    auto load = [&] {
#pragma unroll
        for (int k = 0; k < U; ++k) v[k] = i + k * st < n ? __ldcs(w + i + k * st) : make_int4(0, 0, 0, 0);
    };
    if (PRE) load();
    asm volatile("griddepcontrol.wait;" ::: "memory");
    asm volatile("griddepcontrol.launch_dependents;");
    int acc = *reinterpret_cast<const volatile int*>(xin);
    if (!PRE) load();
    while (true) {
#pragma unroll
        for (int k = 0; k < U; ++k) acc ^= v[k].x ^ v[k].w;
        i += U * st;
        if (i >= n) break;
        load();
    }
    acc = __reduce_xor_sync(0xffffffffu, acc);
    if (threadIdx.x == 0) xout[blockIdx.x] = acc & 1;
}

// kernel<<<grid, block, smem, s>>>(args...), with programmatic stream serialization where pdl.
template <typename... P, typename... A>
void probe_launch(cudaStream_t s, bool pdl, dim3 grid, dim3 block, size_t smem, void (*kernel)(P...), A... args) {
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = grid;
    cfg.blockDim = block;
    cfg.dynamicSmemBytes = smem;
    cfg.stream = s;
    cudaLaunchAttribute at[1];
    at[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    at[0].val.programmaticStreamSerializationAllowed = 1;
    cfg.attrs = at;
    cfg.numAttrs = pdl ? 1 : 0;
    PROBE_CHECK(cudaLaunchKernelEx(&cfg, kernel, static_cast<P>(args)...));
}

// Microseconds per run_chain(rep) call: three warm-up runs, then `reps` back to back on stream s.
template <typename F>
double probe_time_us(cudaStream_t s, int reps, F run_chain) {
    for (int r = 0; r < 3; ++r) run_chain(r);
    PROBE_CHECK(cudaStreamSynchronize(s));
    PROBE_CHECK(cudaGetLastError());
    cudaEvent_t e0, e1;
    PROBE_CHECK(cudaEventCreate(&e0));
    PROBE_CHECK(cudaEventCreate(&e1));
    PROBE_CHECK(cudaEventRecord(e0, s));
    for (int r = 0; r < reps; ++r) run_chain(r + 1);
    PROBE_CHECK(cudaEventRecord(e1, s));
    PROBE_CHECK(cudaEventSynchronize(e1));
    PROBE_CHECK(cudaGetLastError());
    float ms = 0.0f;
    PROBE_CHECK(cudaEventElapsedTime(&ms, e0, e1));
    PROBE_CHECK(cudaEventDestroy(e0));
    PROBE_CHECK(cudaEventDestroy(e1));
    return ms * 1e3 / reps;
}

// Repetitions of a chain of k segments of mb MB each: about 2 GB of reads, at least 3.
inline int probe_reps(int k, double mb) { return std::max(3, static_cast<int>(2000 / (mb * k))); }

// One table row: a chain of k segments of mb MB took us; its rate and its cost per segment over kProbeReadTBs.
inline void probe_report(const char* what, int k, double mb, size_t chain_bytes, double us) {
    const double ideal = static_cast<double>(chain_bytes) / (kProbeReadTBs * 1e6);
    std::printf("%-28s %2d x %7.2f MB: %8.1f us, %6.1f GB/s, %5.2f us per segment over %.2f us at %.2f TB/s\n", what, k, mb,
                us, static_cast<double>(chain_bytes) / us / 1e3, (us - ideal) / k, ideal, kProbeReadTBs);
}
