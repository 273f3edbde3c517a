// CPU kernel micro-benchmarks (a program, not a test): weight GB/s of the matmul driver per
// weight type, SIMD tier and thread count, for a decode gemv (1 token) on a matrix that stays in
// L2 ("hot": kernel compute speed) and on one far beyond the caches ("cold": memory streaming),
// and tokens/s-equivalent for a 64-token prefill tile.
//
//   build/benchmarks/rocmforge_bench_cpu_kernels --benchmark_filter='gemv_cold/q4_0'
#include <benchmark/benchmark.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "backend/cpu/cpu_ops.h"
#include "backend/cpu/cpu_vec.h"
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
    std::vector<float> x(static_cast<size_t>(tokens * cols), 0.5f),
        y(static_cast<size_t>(tokens * rows));
    for (auto _ : state) {
        cpu::matmul(pool(threads), m.w, {x.data(), tokens, cols}, {y.data(), tokens, rows},
                    nullptr);
        benchmark::DoNotOptimize(y.data());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                            static_cast<int64_t>(m.bytes.size()));
    state.counters["tok/s"] = benchmark::Counter(static_cast<double>(tokens) * state.iterations(),
                                                 benchmark::Counter::kIsRate);
    state.SetLabel(std::string(type_name(type)) + " " + cpu::cpu_isa_name(isa));
}

void args(benchmark::internal::Benchmark* b, int64_t rows, int64_t cols, int64_t tokens) {
    for (TensorType t :
         {TensorType::Q4_0, TensorType::Q4_1, TensorType::Q5_0, TensorType::Q5_1, TensorType::Q8_0,
          TensorType::Q2_K, TensorType::Q3_K, TensorType::Q4_K, TensorType::Q5_K, TensorType::Q6_K,
          TensorType::F16, TensorType::BF16, TensorType::F32})
        for (int isa = 1; isa <= 4; ++isa)
            for (int th : {1, 2}) b->Args({static_cast<int64_t>(t), isa, th, rows, cols, tokens});
    b->UseRealTime();
}

// Decode gemv of one matrix shape, rotating through enough copies (>= 64 MiB together) that
// every call reads its weights from memory, as in a forward pass (or one copy, from L3). args:
// type, isa, threads, rows, cols, from_l3.
void shape_from_memory(benchmark::State& state) {
    const auto type = static_cast<TensorType>(state.range(0));
    const auto isa = static_cast<cpu::CpuIsa>(state.range(1));
    const int threads = static_cast<int>(state.range(2));
    const int64_t rows = state.range(3), cols = state.range(4);
    cpu::set_cpu_isa(isa);
    const size_t bytes = row_size(type, cols) * static_cast<size_t>(rows);
    const size_t copies = state.range(5) ? 1 : std::max<size_t>(2, (size_t{64} << 20) / bytes + 1);
    std::vector<std::unique_ptr<Matrix>> ms;
    for (size_t i = 0; i < copies; ++i) ms.push_back(std::make_unique<Matrix>(type, rows, cols));
    std::vector<float> x(static_cast<size_t>(cols), 0.5f), y(static_cast<size_t>(rows));
    size_t i = 0;
    for (auto _ : state) {
        cpu::matmul(pool(threads), ms[i]->w, {x.data(), 1, cols}, {y.data(), 1, rows}, nullptr);
        benchmark::DoNotOptimize(y.data());
        i = (i + 1) % copies;
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(bytes));
    state.SetLabel(std::string(type_name(type)) + " " + cpu::cpu_isa_name(isa));
}
BENCHMARK(shape_from_memory)->Name("qwen05b_shapes")->Apply([](auto* b) {
    for (int64_t t :
         {static_cast<int64_t>(TensorType::Q4_0), static_cast<int64_t>(TensorType::Q8_0)})
        for (int th : {1, 2})
            for (auto rc : {std::pair<int64_t, int64_t>{4864, 896},
                            {896, 4864},
                            {896, 896},
                            {128, 896},
                            {2432, 1792},
                            {1792, 2432},
                            {448, 9728},
                            {9728, 448}})
                for (int l3 : {0, 1})
                    for (int isa = 1; isa <= 4; ++isa)
                        b->Args({t, isa, th, rc.first, rc.second, l3});
    b->UseRealTime();
});

// 1024 x 1024: 0.56 MiB at q4_0 (L2); 65536 x 1024: 36 MiB at q4_0 and more (beyond L3).
BENCHMARK(run)->Name("gemv_hot")->Apply([](auto* b) { args(b, 1024, 1024, 1); });
BENCHMARK(run)->Name("gemv_cold")->Apply([](auto* b) { args(b, 65536, 1024, 1); });
BENCHMARK(run)->Name("prefill64")->Apply([](auto* b) { args(b, 4096, 1024, 64); });

// Plain read of a 256 MiB buffer (VecOps sum of squares) split over the threads: the memory
// ceiling the gemv numbers compare to. args: threads.
void stream_read(benchmark::State& state) {
    const int threads = static_cast<int>(state.range(0));
    const size_t n = (size_t{256} << 20) / 4;
    std::vector<float> buf(n, 1.0f);
    const cpu::VecOps& v = cpu::vec_ops();
    std::vector<float> sink(static_cast<size_t>(threads));
    for (auto _ : state) {
        pool(threads).run([&](int ith, int nth) {
            const size_t b = n * static_cast<size_t>(ith) / static_cast<size_t>(nth);
            const size_t e = n * static_cast<size_t>(ith + 1) / static_cast<size_t>(nth);
            sink[static_cast<size_t>(ith)] =
                v.sum_squares(buf.data() + b, static_cast<int64_t>(e - b));
        });
        benchmark::DoNotOptimize(sink.data());
    }
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n * 4));
}
BENCHMARK(stream_read)->Arg(1)->Arg(2)->UseRealTime();

// Activation conversion of one row (ns per row of `cols`). args: format, cols.
void activation_quantize(benchmark::State& state) {
    const auto f = static_cast<cpu::ActFormat>(state.range(0));
    const int64_t cols = state.range(1);
    std::vector<float> x(static_cast<size_t>(cols));
    fill_random_floats(x.data(), x.size(), 0.0f, 1.0f, 3);
    std::vector<uint8_t> out(cpu::act_row_bytes(f, cols));
    for (auto _ : state) {
        cpu::quantize_activation(f, x.data(), out.data(), cols);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetLabel(cpu::act_format_name(f));
}
BENCHMARK(activation_quantize)->Apply([](auto* b) {
    for (auto f : {cpu::ActFormat::q8_0, cpu::ActFormat::q8_1, cpu::ActFormat::q8_k,
                   cpu::ActFormat::q8_x4_off8, cpu::ActFormat::q8_x4_sum})
        for (int64_t cols : {1024, 4608}) b->Args({static_cast<int64_t>(f), cols});
});

}  // namespace
}  // namespace rf

BENCHMARK_MAIN();
