#include "backend/gpu/launch_chain_probe.cuh"

#include <algorithm>
#include <vector>

#include "backend/gpu/gpu_errors.h"
#include "backend/gpu/gpu_launch.h"

namespace rf::gpu {
namespace {

// buf[k]: written by kernel k - 1 (block 0), read by every block of kernel k after the wait.
__global__ void launch_chain_kernel(unsigned* buf, int k, unsigned* sink) {
    RF_PDL_ENTRY();
    if (threadIdx.x == 0) {
        const unsigned v = *reinterpret_cast<volatile unsigned*>(buf + k);
        if (blockIdx.x == 0) buf[k + 1] = v + 1;
        else if (v == 0xffffffffu) sink[blockIdx.x] = v;  // keeps the read
    }
}

}  // namespace

LaunchChainTiming time_launch_chain(cudaStream_t stream, int blocks, int threads, int n_kernels, bool pdl, int reps) {
    unsigned *buf = nullptr, *sink = nullptr;
    RF_GPU_CALL(cudaMalloc(&buf, (n_kernels + 1) * sizeof(unsigned)));
    RF_GPU_CALL(cudaMalloc(&sink, blocks * sizeof(unsigned)));
    RF_GPU_CALL(cudaMemsetAsync(buf, 0, (n_kernels + 1) * sizeof(unsigned), stream));
    cudaGraph_t graph = nullptr;
    cudaGraphExec_t exec = nullptr;
    RF_GPU_CALL(cudaStreamBeginCapture(stream, cudaStreamCaptureModeRelaxed));
    Launcher l(Launcher::Mode::Launch, stream, pdl);
    for (int k = 0; k < n_kernels; ++k) l.launch(launch_chain_kernel, dim3(blocks), dim3(threads), 0, buf, k, sink);
    RF_GPU_CALL(cudaStreamEndCapture(stream, &graph));
    RF_GPU_CALL(cudaGraphInstantiate(&exec, graph, 0));
    cudaEvent_t e0, e1;
    RF_GPU_CALL(cudaEventCreate(&e0));
    RF_GPU_CALL(cudaEventCreate(&e1));
    RF_GPU_CALL(cudaGraphLaunch(exec, stream));  // warm up
    std::vector<float> ms_each;
    for (int r = 0; r < reps; ++r) {
        RF_GPU_CALL(cudaEventRecord(e0, stream));
        RF_GPU_CALL(cudaGraphLaunch(exec, stream));
        RF_GPU_CALL(cudaEventRecord(e1, stream));
        RF_GPU_CALL(cudaEventSynchronize(e1));
        float ms = 0;
        RF_GPU_CALL(cudaEventElapsedTime(&ms, e0, e1));
        ms_each.push_back(ms);
    }
    unsigned last = 0;
    RF_GPU_CALL(cudaMemcpyAsync(&last, buf + n_kernels, sizeof last, cudaMemcpyDeviceToHost, stream));
    RF_GPU_CALL(cudaStreamSynchronize(stream));
    RF_GPU_CALL(cudaEventDestroy(e0));
    RF_GPU_CALL(cudaEventDestroy(e1));
    RF_GPU_CALL(cudaGraphExecDestroy(exec));
    RF_GPU_CALL(cudaGraphDestroy(graph));
    RF_GPU_CALL(cudaFree(buf));
    RF_GPU_CALL(cudaFree(sink));
    std::sort(ms_each.begin(), ms_each.end());
    LaunchChainTiming t;
    t.us_per_kernel = static_cast<double>(ms_each[ms_each.size() / 2]) * 1000.0 / n_kernels;
    // buf[0] stays 0 and kernel k writes buf[k] + 1: the last word is n (the first replay, from zeroed
    // words, reaches n only if every kernel read its predecessor's write)
    t.checked = last == static_cast<unsigned>(n_kernels);
    return t;
}

}  // namespace rf::gpu
