#include "backend/gpu/grid_barrier_probe.cuh"

#include <algorithm>
#include <vector>

#include "backend/gpu/gpu_errors.h"

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

double time_launches(cudaStream_t stream, int blocks, int threads, unsigned* words, int n_barriers, int reps) {
    cudaEvent_t e0, e1;
    RF_GPU_CALL(cudaEventCreate(&e0));
    RF_GPU_CALL(cudaEventCreate(&e1));
    std::vector<float> ms_each;
    for (int r = 0; r < 5; ++r) {
        RF_GPU_CALL(cudaEventRecord(e0, stream));
        for (int i = 0; i < reps; ++i) {
            grid_barrier_kernel<<<blocks, threads, 0, stream>>>(words, words + 1, n_barriers);
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

GridBarrierTiming time_grid_barrier(cudaStream_t stream, int n_sm, int blocks_per_sm, int threads, int n_barriers) {
    GridBarrierTiming t;
    t.blocks = n_sm * blocks_per_sm;
    t.threads = threads;
    unsigned* words = nullptr;
    RF_GPU_CALL(cudaMalloc(&words, 2 * sizeof(unsigned)));
    RF_GPU_CALL(cudaMemsetAsync(words, 0, 2 * sizeof(unsigned), stream));
    time_launches(stream, t.blocks, threads, words, n_barriers, 3);  // warm up
    t.launch_us = time_launches(stream, t.blocks, threads, words, 0, 20);
    const double with = time_launches(stream, t.blocks, threads, words, n_barriers, 20);
    t.us_per_barrier = (with - t.launch_us) / n_barriers;
    RF_GPU_CALL(cudaFree(words));
    return t;
}

}  // namespace rf::gpu
