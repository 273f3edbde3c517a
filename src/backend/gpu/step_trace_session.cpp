#include "backend/gpu/step_trace_session.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "backend/gpu/gpu_errors.h"
#include "backend/gpu/step_trace.cuh"

namespace rf::gpu {
namespace {
constexpr unsigned kCapacity = 1u << 21;  // records (96 MiB): ten 7b steps
constexpr size_t kRecordBytes = size_t{kCapacity} * kStepTraceWords * 8;
}  // namespace

StepTraceRecorder::~StepTraceRecorder() {
    if (on_) step_trace_set(StepTraceTarget{});
    if (buf_) (void)cudaFree(buf_);
}

void StepTraceRecorder::start() {
    if (!step_trace_compiled())
        fail_message("step trace: this build has no stamps (configure with -DROCMFORGE_GPU_STEP_TRACE=ON)");
    if (buf_ == nullptr) RF_GPU_CALL(cudaMalloc(&buf_, kRecordBytes + 256));
    RF_GPU_CALL(cudaMemset(buf_, 0, kRecordBytes + 256));
    StepTraceTarget t;
    t.words = static_cast<unsigned long long*>(buf_);
    t.count = reinterpret_cast<unsigned*>(static_cast<char*>(buf_) + kRecordBytes);
    t.capacity = kCapacity;
    step_trace_set(t);
    RF_GPU_CALL(cudaDeviceSynchronize());
    on_ = true;
}

std::vector<StepTraceLaunch> StepTraceRecorder::stop() {
    if (!on_) fail_message("step trace: stop() without start()");
    step_trace_set(StepTraceTarget{});
    on_ = false;
    RF_GPU_CALL(cudaDeviceSynchronize());
    unsigned n = 0;
    RF_GPU_CALL(cudaMemcpy(&n, static_cast<char*>(buf_) + kRecordBytes, sizeof n, cudaMemcpyDeviceToHost));
    if (n > kCapacity)
        fail_message("step trace: " + std::to_string(n) + " records for a buffer of " + std::to_string(kCapacity) +
                     ": trace fewer steps");
    std::vector<unsigned long long> words(size_t{n} * kStepTraceWords);
    if (n > 0) RF_GPU_CALL(cudaMemcpy(words.data(), buf_, words.size() * 8, cudaMemcpyDeviceToHost));
    return step_trace_launches(step_trace_decode(words, n));
}

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

bool StepTraceSession::next_step_is_edge() {
    const int64_t i = seen_++;
    return !done_ && (i == skip_ || i == skip_ + steps_ + 1);
}

void StepTraceSession::on_edge() {
    if (!open_) {
        recorder_.start();
        open_ = true;
        return;
    }
    open_ = false;
    done_ = true;
    try {
        const std::string report = step_trace_report(recorder_.stop(), false);
        std::fprintf(stderr, "%s", report.c_str());
    } catch (const std::exception& e) {  // a profiling aid: the run goes on
        std::fprintf(stderr, "step trace: %s\n", e.what());
    }
}

}  // namespace rf::gpu
