#include "backend/gpu/step_trace_session.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "backend/gpu/gpu_errors.h"
#include "backend/gpu/step_trace.cuh"
#include "backend/gpu_host/step_trace_timeline.h"

namespace rf::gpu {
namespace {
constexpr unsigned kCapacity = 1u << 21;  // records: ten 7b steps
constexpr size_t kRecordBytes = size_t{kCapacity} * kStepTraceWords * 8;
}  // namespace

std::unique_ptr<StepTraceSession> StepTraceSession::from_env() {
    const char* v = std::getenv("RF_GPU_STEP_TRACE");
    if (v == nullptr || *v == '\0') return nullptr;
    const std::string s = v;
    long long skip = 16, steps = 0;
    char* end = nullptr;
    const size_t colon = s.find(':');
    if (colon != std::string::npos) {
        skip = std::strtoll(s.c_str(), &end, 10);
        if (end != s.c_str() + colon) skip = -1;
        steps = std::strtoll(s.c_str() + colon + 1, &end, 10);
    } else {
        steps = std::strtoll(s.c_str(), &end, 10);
    }
    if (skip < 0 || steps < 3 || end == nullptr || *end != '\0')
        fail_message("RF_GPU_STEP_TRACE='" + s + "': expected N or K:N (trace N >= 3 steps after the first K)");
    if (!step_trace_compiled())
        fail_message("RF_GPU_STEP_TRACE is set, but this build has no step trace stamps (configure with "
                     "-DROCMFORGE_GPU_STEP_TRACE=ON)");
    return std::unique_ptr<StepTraceSession>(new StepTraceSession(skip, steps));
}

StepTraceSession::StepTraceSession(int64_t skip, int64_t steps) : skip_(skip), steps_(steps) {}

StepTraceSession::~StepTraceSession() {
    if (open_) step_trace_set(StepTraceTarget{});
    if (buf_) (void)cudaFree(buf_);
}

bool StepTraceSession::next_step_is_edge() {
    const int64_t i = seen_++;
    return !done_ && (i == skip_ || i == skip_ + steps_ + 1);
}

void StepTraceSession::on_edge() {
    if (!open_) {
        if (buf_ == nullptr) RF_GPU_CALL(cudaMalloc(&buf_, kRecordBytes + 256));
        RF_GPU_CALL(cudaMemset(buf_, 0, kRecordBytes + 256));
        StepTraceTarget t;
        t.words = static_cast<unsigned long long*>(buf_);
        t.count = reinterpret_cast<unsigned*>(static_cast<char*>(buf_) + kRecordBytes);
        t.capacity = kCapacity;
        step_trace_set(t);
        RF_GPU_CALL(cudaDeviceSynchronize());
        open_ = true;
        return;
    }
    step_trace_set(StepTraceTarget{});
    RF_GPU_CALL(cudaDeviceSynchronize());
    open_ = false;
    done_ = true;
    unsigned n = 0;
    RF_GPU_CALL(cudaMemcpy(&n, static_cast<char*>(buf_) + kRecordBytes, sizeof n, cudaMemcpyDeviceToHost));
    if (n > kCapacity) {
        std::fprintf(stderr, "step trace: %u records for a buffer of %u: trace fewer steps\n", n, kCapacity);
        return;
    }
    std::vector<unsigned long long> words(size_t{n} * kStepTraceWords);
    if (n > 0) RF_GPU_CALL(cudaMemcpy(words.data(), buf_, words.size() * 8, cudaMemcpyDeviceToHost));
    try {
        const auto all = step_trace_launches(step_trace_decode(words, n));
        std::vector<size_t> starts;
        for (size_t i = 0; i < all.size(); ++i)
            if (all[i].tag == static_cast<uint32_t>(StepTraceTag::Embed)) starts.push_back(i);
        if (starts.size() < 3) {
            std::fprintf(stderr, "step trace: %zu launches, %zu step starts: too few complete steps\n", all.size(), starts.size());
            return;
        }
        const std::vector<StepTraceLaunch> steps(all.begin() + static_cast<std::ptrdiff_t>(starts[1]),
                                                 all.begin() + static_cast<std::ptrdiff_t>(starts.back()));
        std::fprintf(stderr, "%s", fmt::format("step trace ({} engine steps, {} launches; us, means per class):\n{}",
                                               starts.size() - 2, steps.size(), step_trace_table(steps))
                                       .c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "step trace: %s\n", e.what());
    }
}

}  // namespace rf::gpu
