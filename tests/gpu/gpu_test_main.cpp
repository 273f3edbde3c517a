// Entry point of rocmforge_gpu_tests: takes the cross-process GPU lock (the same lock the CLI and
// server take), creates the one GPU backend of the process (which runs the staged preflight),
// then runs the tests. Listing tests (--gtest_list_tests) touches no GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <numeric>

#include "backend/gpu_host/gpu_lock.h"
#include "formats/quant_blocks.h"
#include "gpu/gpu_test_util.h"

namespace rf::gputest {
namespace {
std::unique_ptr<GpuBackend> g_backend;
std::unique_ptr<ThreadPool> g_pool;
}  // namespace

GpuBackend& gpu() { return *g_backend; }
ThreadPool& pool() { return *g_pool; }

std::vector<uint8_t> random_weight_bytes(TensorType type, int64_t rows, int64_t cols, uint32_t seed) {
    std::mt19937 rng(seed);
    const size_t bytes = row_size(type, cols) * static_cast<size_t>(rows);
    std::vector<uint8_t> w(bytes);
    const float scale = 1.0f / std::sqrt(static_cast<float>(cols));
    std::uniform_real_distribution<float> mag(0.5f, 1.5f);
    std::normal_distribution<float> normal(0.0f, scale);
    auto f16 = [&](float v) { return f32_to_f16(v); };
    auto put16 = [&](uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); };
    if (type == TensorType::F32 || type == TensorType::F16 || type == TensorType::BF16) {
        const size_t n = static_cast<size_t>(rows * cols);
        for (size_t i = 0; i < n; ++i) {
            float v = normal(rng);
            if (v == 0.0f) v = scale;
            if (type == TensorType::F32) std::memcpy(w.data() + 4 * i, &v, 4);
            else put16(w.data() + 2 * i, type == TensorType::F16 ? f16(v) : f32_to_bf16(v));
        }
        return w;
    }
    for (auto& b : w) b = static_cast<uint8_t>(rng());
    const size_t bs = type_size(type);
    const size_t n_blocks = bytes / bs;
    // Scales: weights = d * q (+ m) with |w| around `scale` and a mean near zero (the offsets
    // and mins cancel the mean of d * q for uniformly random quants), as in real weights: a
    // biased weight makes attention scores large and the softmax needlessly ill-conditioned.
    for (size_t b = 0; b < n_blocks; ++b) {
        uint8_t* blk = w.data() + b * bs;
        const float s = mag(rng) * scale;
        switch (type) {
            case TensorType::Q4_0: put16(blk, f16(s / 4)); break;
            case TensorType::Q4_1: put16(blk, f16(s / 8)); put16(blk + 2, f16(-7.5f * s / 8)); break;
            case TensorType::Q5_0: put16(blk, f16(s / 8)); break;
            case TensorType::Q5_1: put16(blk, f16(s / 16)); put16(blk + 2, f16(-15.5f * s / 16)); break;
            case TensorType::Q8_0: put16(blk, f16(s / 64)); break;
            // mean(sc * q) = 7.5 * 1.5, mean(m) = 7.5
            case TensorType::Q2_K: put16(blk + 80, f16(s / 8)); put16(blk + 82, f16(1.5f * s / 8)); break;
            case TensorType::Q3_K: put16(blk + 108, f16(s / 64)); break;
            // mean(sc * q) = 31.5 * 7.5 (Q4_K) or 31.5 * 15.5 (Q5_K), mean(m) = 31.5
            case TensorType::Q4_K: put16(blk, f16(s / 256)); put16(blk + 2, f16(7.5f * s / 256)); break;
            case TensorType::Q5_K: put16(blk, f16(s / 512)); put16(blk + 2, f16(15.5f * s / 512)); break;
            case TensorType::Q6_K: put16(blk + 208, f16(s / 1024)); break;
            default: ADD_FAILURE() << "no random generator for " << type_name(type);
        }
    }
    return w;
}

StepPlan make_plan(int n_tokens, int n_past, int block_size, int n_blocks_total, uint32_t seed, int vocab) {
    std::mt19937 rng(seed);
    StepPlan plan;
    const int len = n_past + n_tokens;
    const int n_blocks = (len + block_size - 1) / block_size;
    std::vector<int32_t> ids(static_cast<size_t>(n_blocks_total));
    std::iota(ids.begin(), ids.end(), 0);
    std::shuffle(ids.begin(), ids.end(), rng);
    SeqStep s;
    s.first_token = 0;
    s.n_tokens = n_tokens;
    s.n_past = n_past;
    s.block_table.assign(ids.begin(), ids.begin() + n_blocks);
    for (int i = 0; i < n_tokens; ++i) {
        const int pos = n_past + i;
        plan.tokens.push_back(static_cast<int32_t>(rng() % static_cast<uint32_t>(vocab)));
        plan.positions.push_back(pos);
        plan.kv_slots.push_back(s.block_table[static_cast<size_t>(pos / block_size)] * block_size + pos % block_size);
        plan.token_seq.push_back(0);
    }
    plan.seqs.push_back(s);
    plan.output_rows.push_back(n_tokens - 1);
    return plan;
}

}  // namespace rf::gputest

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    if (GTEST_FLAG_GET(list_tests)) return RUN_ALL_TESTS();
    auto lock = std::make_shared<rf::GpuLock>(rf::gpu_lock_options_from_env());
    rf::GpuBackendOptions options;
    options.lock = lock;
    rf::gputest::g_backend = rf::make_gpu_backend(options);
    rf::gputest::g_pool = std::make_unique<rf::ThreadPool>(0);
    std::printf("rocmforge_gpu_tests on %s\n", rf::gputest::g_backend->name().c_str());
    const int rc = RUN_ALL_TESTS();
    rf::gputest::g_backend.reset();
    return rc;
}
