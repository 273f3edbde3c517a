// Quantization and dequantization speed per type on one thread, for a 896 x 4864 matrix (the
// shape of Qwen2.5-0.5B's ffn_down: 896 rows of 4864 weights) of N(0, 0.02) weights.
// Reports "Mw/s" = million weights per second of CPU time (the machine may be shared). Each
// benchmark is run on every SIMD path this CPU has (scalar, avx2, avx512), the paths giving
// identical bytes.
//
//   ./build/benchmarks/rocmforge_bench_quant                       # everything
//   ./build/benchmarks/rocmforge_bench_quant --benchmark_filter=quantize/q4_K
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "formats/quant/quant_isa.h"
#include "formats/quant/quantize.h"

namespace {

constexpr int64_t kRows = 896;
constexpr int64_t kCols = 4864;

const std::vector<float>& weights() {
    static const std::vector<float> w = [] {
        std::vector<float> v(static_cast<size_t>(kRows * kCols));
        std::mt19937 rng(2024);
        std::normal_distribution<float> normal(0.f, 0.02f);
        for (float& x : v) x = normal(rng);
        return v;
    }();
    return w;
}

const std::vector<float>& importance() {
    static const std::vector<float> imp = [] {
        std::vector<float> v(static_cast<size_t>(kCols));
        std::mt19937 rng(7);
        std::uniform_real_distribution<float> u(0.1f, 2.f);
        for (float& x : v) x = u(rng);
        return v;
    }();
    return imp;
}

void set_rate(benchmark::State& state) {
    state.counters["Mw/s"] = benchmark::Counter(
        static_cast<double>(state.iterations()) * kRows * kCols / 1e6, benchmark::Counter::kIsRate);
}

void bench_quantize(benchmark::State& state, rf::TensorType type, bool with_importance) {
    const auto isa = static_cast<rf::quant::QuantIsa>(state.range(0));
    if (rf::quant::set_quant_isa(isa) != isa) {
        state.SkipWithError("SIMD path not supported by this CPU");
        return;
    }
    std::vector<uint8_t> out(static_cast<size_t>(kRows) * rf::row_size(type, kCols));
    const float* imp = with_importance ? importance().data() : nullptr;
    for (auto _ : state) {
        rf::quantize_rows(type, weights().data(), out.data(), kRows, kCols, imp);
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    set_rate(state);
    state.SetLabel(rf::quant::quant_isa_name(isa));
    rf::quant::set_quant_isa(rf::quant::best_quant_isa());
}

void bench_dequantize(benchmark::State& state, rf::TensorType type) {
    const auto isa = static_cast<rf::quant::QuantIsa>(state.range(0));
    if (rf::quant::set_quant_isa(isa) != isa) {
        state.SkipWithError("SIMD path not supported by this CPU");
        return;
    }
    std::vector<uint8_t> q(static_cast<size_t>(kRows) * rf::row_size(type, kCols));
    rf::quantize_rows(type, weights().data(), q.data(), kRows, kCols);
    std::vector<float> out(static_cast<size_t>(kRows * kCols));
    for (auto _ : state) {
        rf::dequantize_row_fast(type, q.data(), out.data(), kRows * kCols);
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    set_rate(state);
    state.SetLabel(rf::quant::quant_isa_name(isa));
    rf::quant::set_quant_isa(rf::quant::best_quant_isa());
}

const rf::TensorType kTypes[] = {rf::TensorType::Q4_K, rf::TensorType::Q5_K, rf::TensorType::Q6_K,
                                 rf::TensorType::Q8_0, rf::TensorType::Q2_K, rf::TensorType::Q3_K,
                                 rf::TensorType::Q4_0, rf::TensorType::Q4_1, rf::TensorType::Q5_0,
                                 rf::TensorType::Q5_1, rf::TensorType::Q8_K, rf::TensorType::F16,
                                 rf::TensorType::BF16};

void register_all() {
    for (rf::TensorType t : kTypes) {
        const std::string name = rf::type_name(t);
        const bool searched = t == rf::TensorType::Q2_K || t == rf::TensorType::Q3_K ||
                              t == rf::TensorType::Q4_K || t == rf::TensorType::Q5_K ||
                              t == rf::TensorType::Q6_K;
        auto* q =
            benchmark::RegisterBenchmark(("quantize/" + name).c_str(), bench_quantize, t, false);
        q->DenseRange(0, 2)->Unit(benchmark::kMillisecond);
        if (searched) {
            auto* qi = benchmark::RegisterBenchmark(("quantize_imatrix/" + name).c_str(),
                                                    bench_quantize, t, true);
            qi->DenseRange(0, 2)->Unit(benchmark::kMillisecond);
        }
        auto* d =
            benchmark::RegisterBenchmark(("dequantize_fast/" + name).c_str(), bench_dequantize, t);
        d->DenseRange(0, 2)->Unit(benchmark::kMillisecond);
    }
}

}  // namespace

int main(int argc, char** argv) {
    register_all();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
