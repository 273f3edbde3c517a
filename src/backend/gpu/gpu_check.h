// Every CUDA/HIP call and every launch is checked: RF_GPU_CHECK(call) throws rf::Error with
// the call's text, the error name and the place; RF_GPU_CHECK_LAUNCH() after each launch.
#pragma once

#include "backend/gpu/vendor.cuh"
#include "core/error.h"

#define RF_GPU_CHECK(call)                                                                    \
    do {                                                                                      \
        const cudaError_t rf_err_ = (call);                                                   \
        if (rf_err_ != cudaSuccess)                                                           \
            ::rf::fail("gpu: {} failed: {} ({}) at {}:{}", #call, cudaGetErrorName(rf_err_),  \
                       cudaGetErrorString(rf_err_), __FILE__, __LINE__);                      \
    } while (0)

#define RF_GPU_CHECK_LAUNCH() RF_GPU_CHECK(cudaPeekAtLastError())
