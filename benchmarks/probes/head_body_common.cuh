// Shared by the L2 probes of the LM head (l2_persist, l2_alternate): a decode step modelled as its
// "body" (the layers' weights, several times L2, read in launches of chunk bytes) followed by its
// "head" (the LM head, read in full by one launch), the buffers for both, and the timing of steps
// run back to back.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>

#include "probe_common.cuh"

struct HeadBodyBuffers {
    size_t head_bytes = 0, body_bytes = 0, chunk_bytes = 0;  // multiples of 256
    uint8_t* head = nullptr;
    uint8_t* body = nullptr;
    int* out = nullptr;  // the read kernels' sink (written only on an impossible value)
    cudaStream_t s = nullptr;
    cudaEvent_t e0 = nullptr, e1 = nullptr, e2 = nullptr;  // step start, head start, step end

    HeadBodyBuffers(double head_mb, double body_mb, double chunk_mb)
        : head_bytes(static_cast<size_t>(head_mb * 1e6) / 256 * 256),
          body_bytes(static_cast<size_t>(body_mb * 1e6) / 256 * 256),
          chunk_bytes(static_cast<size_t>(chunk_mb * 1e6) / 256 * 256) {
        PROBE_CHECK(cudaMalloc(&head, head_bytes));
        PROBE_CHECK(cudaMalloc(&body, body_bytes));
        PROBE_CHECK(cudaMalloc(&out, 4));
        PROBE_CHECK(cudaMemset(head, 1, head_bytes));
        PROBE_CHECK(cudaMemset(body, 2, body_bytes));
        PROBE_CHECK(cudaStreamCreate(&s));
        PROBE_CHECK(cudaEventCreate(&e0));
        PROBE_CHECK(cudaEventCreate(&e1));
        PROBE_CHECK(cudaEventCreate(&e2));
    }

    struct StepTimes {
        double head_us = 0, step_us = 0;  // means over the timed steps
    };
    // `warm` untimed steps, then `steps` timed ones; step(time_head) launches one step on s and, when
    // time_head, records e1 between its body and its head.
    template <typename F>
    StepTimes time_steps(F step, int warm, int steps) {
        for (int i = 0; i < warm; ++i) step(false);
        StepTimes t;
        for (int i = 0; i < steps; ++i) {
            PROBE_CHECK(cudaEventRecord(e0, s));
            step(true);
            PROBE_CHECK(cudaEventRecord(e2, s));
            PROBE_CHECK(cudaEventSynchronize(e2));
            float a = 0, b = 0;
            PROBE_CHECK(cudaEventElapsedTime(&a, e1, e2));
            PROBE_CHECK(cudaEventElapsedTime(&b, e0, e2));
            t.head_us += a * 1e3 / steps;
            t.step_us += b * 1e3 / steps;
        }
        return t;
    }
};
