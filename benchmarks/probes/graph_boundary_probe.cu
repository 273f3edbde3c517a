// What a decode step's graph boundary costs: a "step" of a 0.5b-like shape (L links of a PDL chain,
// each streaming seg MB and reading the word its predecessor wrote, then a head link of head MB) run
//   (a) as one graph per step, with an "upload" kernel (reads 1 KB of pinned host memory) before it
//       and two "sampling" kernels (600 KB, then 4 KB) after it, all three outside the graph with
//       programmatic dependent launch: the engine's pipelined greedy decode today;
//   (b) as one graph per step alone (the step benchmark's "queued");
//   (c) K steps in one graph, the sampling kernels inside it between the steps (PDL edges), one upload
//       per K steps outside: decode steps grouped into one graph.
// Prints us per step. H100 80GB HBM3 (2026-11-26), 15 interleaved rounds: 0.5b-like (120 links of 1.7 MB
// + 145 MB) engine-like (a) median 339.7 / 336.3 us, graph alone 333.2 / 333.5, groups of 4 / 8 with the
// sampling inside 353.7 / 323.0 (bimodal: 317-357 over rounds); 7b-like (168 x 22 MB + 447 MB): (a) 1709,
// graph alone 1698, group of 4 1709. The engine's own decode groups (branch exp/decode-groups) were
// slower, not faster (docs/gpu_notes.md, seventeenth pass). Build: nvcc -O3 -arch=sm_90 -std=c++17 (CMake target rocmforge_probe_graph_boundary).
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <algorithm>

#include "probe_common.cuh"

// The upload stand-in: block 0 copies n ints from mapped pinned memory into dst before its wait.
__global__ void __launch_bounds__(256) upload_kernel(const int* host, int* dst, int n) {
    int v = threadIdx.x < n ? host[threadIdx.x] : 0;
    asm volatile("griddepcontrol.wait;" ::: "memory");
    asm volatile("griddepcontrol.launch_dependents;");
    if (threadIdx.x < n) dst[threadIdx.x] = v;
}

int main(int argc, char** argv) {
    const int layers = argc > 1 ? std::atoi(argv[1]) : 24;
    const int links_per_layer = argc > 2 ? std::atoi(argv[2]) : 5;
    const double seg_mb = argc > 3 ? std::atof(argv[3]) : 1.7;
    const double head_mb = argc > 4 ? std::atof(argv[4]) : 145.0;
    const int K = argc > 5 ? std::atoi(argv[5]) : 4;
    int nsm = 0;
    PROBE_CHECK(cudaDeviceGetAttribute(&nsm, cudaDevAttrMultiProcessorCount, 0));
    const int L = layers * links_per_layer;
    const size_t seg = static_cast<size_t>(seg_mb * 1e6) / 256 * 256;
    const size_t head = static_cast<size_t>(head_mb * 1e6) / 256 * 256;
    const size_t body = seg * static_cast<size_t>(L);
    uint8_t* w = nullptr;
    PROBE_CHECK(cudaMalloc(&w, body + head + (1 << 20) * 2));
    PROBE_CHECK(cudaMemset(w, 1, body + head + (1 << 20) * 2));
    const uint8_t* logits = w + body + head;  // 600 KB "logits" the sampling kernels read
    int* words = nullptr;
    PROBE_CHECK(cudaMalloc(&words, 1 << 20));
    PROBE_CHECK(cudaMemset(words, 0, 1 << 20));
    int *host = nullptr, *host_dev = nullptr;
    PROBE_CHECK(cudaHostAlloc(&host, 4096, cudaHostAllocMapped));
    PROBE_CHECK(cudaHostGetDevicePointer(&host_dev, host, 0));
    cudaStream_t s;
    PROBE_CHECK(cudaStreamCreate(&s));
    const dim3 grid(nsm * 4), block(256);
    // word slots: link i reads words[i * 1024] and writes words[(i+1) * 1024 ...] (one per block)
    auto link = [&](int i, const void* p, size_t bytes) {
        probe_launch(s, true, grid, block, 0, stream_chain_kernel<2, true>, static_cast<const int4*>(p), bytes / 16,
                     static_cast<const int*>(words + (i % 64) * 1024), words + ((i + 1) % 64) * 1024);
    };
    auto step_links = [&] {
        for (int i = 0; i < L; ++i) link(i, w + seg * static_cast<size_t>(i), seg);
        link(L, w + body, head);
    };
    auto sampling = [&] {
        probe_launch(s, true, dim3(75), block, 0, stream_chain_kernel<1, false>, reinterpret_cast<const int4*>(logits),
                     size_t{600000} / 16, static_cast<const int*>(words + 60 * 1024), words + 61 * 1024);
        probe_launch(s, true, dim3(1), block, 0, stream_chain_kernel<1, false>, reinterpret_cast<const int4*>(logits),
                     size_t{4096} / 16, static_cast<const int*>(words + 61 * 1024), words + 62 * 1024);
    };
    auto upload = [&] { probe_launch(s, true, dim3(1), block, 0, upload_kernel, static_cast<const int*>(host_dev), words + 63 * 1024, 64); };
    auto capture = [&](auto body_fn) {
        cudaGraph_t g;
        cudaGraphExec_t e;
        PROBE_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
        body_fn();
        PROBE_CHECK(cudaStreamEndCapture(s, &g));
        PROBE_CHECK(cudaGraphInstantiate(&e, g, 0));
        PROBE_CHECK(cudaGraphDestroy(g));
        return e;
    };
    const cudaGraphExec_t one = capture(step_links);
    const cudaGraphExec_t group = capture([&] {
        for (int k = 0; k < K; ++k) {
            step_links();
            sampling();
        }
    });
    const int reps = 20, rounds = 15;
    std::printf("step: %d links of %.2f MB + head %.1f MB (%.1f MB); group of %d; %d rounds of %d x %d steps, modes "
                "interleaved\n", L, seg_mb, head_mb, (body + head) / 1e6, K, rounds, reps, K);
    const char* names[4] = {"graph + upload + sampling outside", "graph alone", "graph + upload",
                            "K steps per graph, sampling inside"};
    std::vector<double> t[4];
    for (int round = 0; round < rounds; ++round) {
        t[0].push_back(probe_time_us(s, reps, [&](int) {
            for (int k = 0; k < K; ++k) {
                upload();
                PROBE_CHECK(cudaGraphLaunch(one, s));
                sampling();
            }
        }) / K);
        t[1].push_back(probe_time_us(s, reps, [&](int) {
            for (int k = 0; k < K; ++k) PROBE_CHECK(cudaGraphLaunch(one, s));
        }) / K);
        t[2].push_back(probe_time_us(s, reps, [&](int) {
            for (int k = 0; k < K; ++k) {
                upload();
                PROBE_CHECK(cudaGraphLaunch(one, s));
            }
        }) / K);
        t[3].push_back(probe_time_us(s, reps, [&](int) {
            upload();
            PROBE_CHECK(cudaGraphLaunch(group, s));
        }) / K);
    }
    for (int m = 0; m < 4; ++m) {
        std::vector<double> v = t[m];
        std::sort(v.begin(), v.end());
        std::printf("%-36s us per step: min %7.1f  median %7.1f  max %7.1f\n", names[m], v.front(), v[v.size() / 2],
                    v.back());
    }
    return 0;
}
