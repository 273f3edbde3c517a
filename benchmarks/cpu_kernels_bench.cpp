// CPU kernel micro-benchmarks (a program, not a test): weight GB/s of the matmul driver per
// weight type, SIMD tier and thread count, for a decode gemv (1 token) on a matrix that stays in
// L2 ("hot": kernel compute speed) and on one far beyond the caches ("cold": memory streaming),
// and tokens/s-equivalent for a 64-token prefill tile.
//
//   build/benchmarks/rocmforge_bench_cpu_kernels --benchmark_filter='gemv_cold/q4_0'
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "backend/cpu/cpu_ops.h"
#include "backend/cpu/quant_dot/quant_dot.h"
#include "core/thread_pool.h"
#include "formats/tensor_type.h"
#include "tools/synthetic_blocks.h"

namespace rf {
namespace {

struct Matrix {
    std::vector<uint8_t> bytes;
    Weight w;
    Matrix(TensorType t, int64_t rows, int64_t cols) {
        bytes.resize(row_size(t, cols) * static_cast<size_t>(rows));
        fill_random_blocks(t, bytes.data(), bytes.size(), 42);
        w = Weight{t, cols, rows, 1, bytes.data(), row_size(t, cols)};
    }
};

ThreadPool& pool(int n) {
    static std::unique_ptr<ThreadPool> p[3];
    if (!p[n]) p[n] = std::make_unique<ThreadPool>(n);
    return *p[n];
}

// args: type id, isa, threads, rows, cols, tokens
void run(benchmark::State& state) {
    const auto type = static_cast<TensorType>(state.range(0));
    const auto isa = static_cast<cpu::CpuIsa>(state.range(1));
    const int threads = static_cast<int>(state.range(2));
    const int64_t rows = state.range(3), cols = state.range(4), tokens = state.range(5);
    if (!cpu::cpu_isa_supported(isa)) {
        state.SkipWithError("tier not supported");
        return;
    }
    cpu::set_cpu_isa(isa);
    Matrix m(type, rows, cols);
    std::vector<float> x(static_cast<size_t>(tokens * cols), 0.5f), y(static_cast<size_t>(tokens * rows));
    for (auto _ : state) {
        cpu::matmul(pool(threads), m.w, {x.data(), tokens, cols}, {y.data(), tokens, rows}, nullptr);
        benchmark::DoNotOptimize(y.data());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(m.bytes.size()));
    state.counters["tok/s"] = benchmark::Counter(static_cast<double>(tokens) * state.iterations(), benchmark::Counter::kIsRate);
    state.SetLabel(std::string(type_name(type)) + " " + cpu::cpu_isa_name(isa));
}

void args(benchmark::internal::Benchmark* b, int64_t rows, int64_t cols, int64_t tokens) {
    for (TensorType t : {TensorType::Q4_0, TensorType::Q4_1, TensorType::Q5_0, TensorType::Q5_1, TensorType::Q8_0,
                         TensorType::Q2_K, TensorType::Q3_K, TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K,
                         TensorType::F16, TensorType::BF16, TensorType::F32})
        for (int isa = 1; isa <= 4; ++isa)
            for (int th : {1, 2}) b->Args({static_cast<int64_t>(t), isa, th, rows, cols, tokens});
    b->UseRealTime();
}

// 1024 x 1024: 0.56 MiB at q4_0 (L2); 65536 x 1024: 36 MiB at q4_0 and more (beyond L3).
BENCHMARK(run)->Name("gemv_hot")->Apply([](auto* b) { args(b, 1024, 1024, 1); });
BENCHMARK(run)->Name("gemv_cold")->Apply([](auto* b) { args(b, 65536, 1024, 1); });
BENCHMARK(run)->Name("prefill64")->Apply([](auto* b) { args(b, 4096, 1024, 64); });

}  // namespace
}  // namespace rf

BENCHMARK_MAIN();
