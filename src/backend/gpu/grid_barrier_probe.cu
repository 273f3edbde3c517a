#include "backend/gpu/grid_barrier_probe.cuh"

#include <algorithm>
#include <vector>

#include "backend/gpu/gpu_errors.h"
#include "backend/gpu/grid_barrier.cuh"

namespace rf::gpu {
namespace {

// count: arrivals of the current barrier; gen: barriers completed. Every block of the grid must be
// resident (the caller keeps the grid within one wave).
__global__ void grid_barrier_kernel(unsigned* count, unsigned* gen, int n_barriers) {
    volatile unsigned* vgen = gen;
    for (int i = 0; i < n_barriers; ++i) {
        __syncthreads();
        if (threadIdx.x == 0) {
            const unsigned g = *vgen;  // read before arriving: it cannot move until this block arrives
            __threadfence();
            if (atomicAdd(count, 1u) == gridDim.x - 1) {
                *count = 0;
                __threadfence();
                atomicAdd(gen, 1u);
            } else {
                while (*vgen == g) {
                }
            }
            __threadfence();
        }
        __syncthreads();
    }
}

// check (null when timing): check[0] counts arrivals; a block that leaves barrier i before all
// (i + 1) * blocks arrivals are visible sets check[1].
__global__ void grid_barrier_flip_kernel(unsigned* word, int n_barriers, unsigned* check) {
    for (int i = 0; i < n_barriers; ++i) {
        if (check && threadIdx.x == 0) atomicAdd(check, 1u);
        grid_barrier_sync(word);
        if (check && threadIdx.x == 0 && grid_barrier_load(check) < static_cast<unsigned>(i + 1) * gridDim.x)
            atomicOr(check + 1, 1u);
    }
}

double time_launches(cudaStream_t stream, int blocks, int threads, unsigned* words, int n_barriers, int reps, bool flip) {
    cudaEvent_t e0, e1;
    RF_GPU_CALL(cudaEventCreate(&e0));
    RF_GPU_CALL(cudaEventCreate(&e1));
    std::vector<float> ms_each;
    for (int r = 0; r < 5; ++r) {
        RF_GPU_CALL(cudaEventRecord(e0, stream));
        for (int i = 0; i < reps; ++i) {
            if (flip) grid_barrier_flip_kernel<<<blocks, threads, 0, stream>>>(words + 2, n_barriers, nullptr);
            else grid_barrier_kernel<<<blocks, threads, 0, stream>>>(words, words + 1, n_barriers);
            RF_GPU_CALL(cudaPeekAtLastError());
        }
        RF_GPU_CALL(cudaEventRecord(e1, stream));
        RF_GPU_CALL(cudaEventSynchronize(e1));
        float ms = 0;
        RF_GPU_CALL(cudaEventElapsedTime(&ms, e0, e1));
        ms_each.push_back(ms);
    }
    RF_GPU_CALL(cudaEventDestroy(e0));
    RF_GPU_CALL(cudaEventDestroy(e1));
    std::sort(ms_each.begin(), ms_each.end());
    return static_cast<double>(ms_each[ms_each.size() / 2]) * 1000.0 / reps;
}

}  // namespace

GridBarrierTiming time_grid_barrier(cudaStream_t stream, int n_sm, int blocks_per_sm, int threads, int n_barriers,
                                    GridBarrierKind kind) {
    const bool flip = kind == GridBarrierKind::Flip;
    GridBarrierTiming t;
    t.blocks = n_sm * blocks_per_sm;
    t.threads = threads;
    unsigned* words = nullptr;
    RF_GPU_CALL(cudaMalloc(&words, 5 * sizeof(unsigned)));  // generation: count, gen; flip: word; check: 2
    RF_GPU_CALL(cudaMemsetAsync(words, 0, 5 * sizeof(unsigned), stream));
    if (flip) {  // one checked launch (the check words zeroed above): no block leaves a barrier early
        grid_barrier_flip_kernel<<<t.blocks, threads, 0, stream>>>(words + 2, n_barriers, words + 3);
        RF_GPU_CALL(cudaPeekAtLastError());
        unsigned host[2] = {0, 0};
        RF_GPU_CALL(cudaMemcpyAsync(host, words + 3, sizeof(host), cudaMemcpyDeviceToHost, stream));
        RF_GPU_CALL(cudaStreamSynchronize(stream));
        t.checked = host[0] == static_cast<unsigned>(n_barriers * t.blocks) && host[1] == 0;
    }
    time_launches(stream, t.blocks, threads, words, n_barriers, 3, flip);  // warm up
    t.launch_us = time_launches(stream, t.blocks, threads, words, 0, 20, flip);
    const double with = time_launches(stream, t.blocks, threads, words, n_barriers, 20, flip);
    t.us_per_barrier = (with - t.launch_us) / n_barriers;
    RF_GPU_CALL(cudaFree(words));
    return t;
}

}  // namespace rf::gpu
