// Whole decode steps: a transformer layer (norm, q/k/v with bias, rope, KV store, attention,
// output projection + residual, SwiGLU FFN + residual) run step after step on the CPU and the
// GPU backend with the same weights and KV cache, compared after every step. The GPU replays its
// step as a graph (kernel parameters that change per step come from device buffers), and a run
// with graphs off gives bit-identical results to one with graphs on; decode steps at long contexts
// (more than 16 attention chunks per head) as well.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <numeric>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "backend/cpu/cpu_backend.h"
#include "backend/gpu/step_trace.cuh"
#include "backend/gpu_host/step_trace_timeline.h"
#include "gpu/gpu_test_util.h"

namespace rf::gputest {
namespace {

struct LayerShape {
    int64_t embd = 256, ff = 768;
    int n_head = 8, n_kv = 2, hd = 64;
};

struct LayerWeights {
    Weight attn_norm, wq, wk, wv, bq, bk, bv, wo, ffn_norm, gate, up, down;
};

// Random layer weights of `type` (norms and biases f32), host copies for both backends.
struct Layer {
    LayerShape s;
    TensorType type;
    std::vector<std::vector<uint8_t>> mats;   // wq wk wv wo gate up down
    std::vector<std::vector<float>> vecs;     // attn_norm ffn_norm bq bk bv
    Layer(TensorType t, uint32_t seed) : type(t) {
        const int64_t q = int64_t{s.n_head} * s.hd, kv = int64_t{s.n_kv} * s.hd;
        const std::pair<int64_t, int64_t> shapes[] = {{q, s.embd}, {kv, s.embd}, {kv, s.embd}, {s.embd, q},
                                                      {s.ff, s.embd}, {s.ff, s.embd}, {s.embd, s.ff}};
        for (auto [r, c] : shapes) mats.push_back(random_weight_bytes(t, r, c, ++seed));
        vecs.push_back(random_floats(static_cast<size_t>(s.embd), ++seed, 0.3f));
        vecs.push_back(random_floats(static_cast<size_t>(s.embd), ++seed, 0.3f));
        for (auto& v : vecs) for (auto& x : v) x += 1.0f;
        vecs.push_back(random_floats(static_cast<size_t>(q), ++seed, 0.1f));
        vecs.push_back(random_floats(static_cast<size_t>(kv), ++seed, 0.1f));
        vecs.push_back(random_floats(static_cast<size_t>(kv), ++seed, 0.1f));
    }
    LayerWeights load(Backend& be) const {
        const int64_t q = int64_t{s.n_head} * s.hd, kv = int64_t{s.n_kv} * s.hd;
        LayerWeights w;
        w.wq = be.load_weight(type, s.embd, q, 1, mats[0].data());
        w.wk = be.load_weight(type, s.embd, kv, 1, mats[1].data());
        w.wv = be.load_weight(type, s.embd, kv, 1, mats[2].data());
        w.wo = be.load_weight(type, q, s.embd, 1, mats[3].data());
        w.gate = be.load_weight(type, s.embd, s.ff, 1, mats[4].data());
        w.up = be.load_weight(type, s.embd, s.ff, 1, mats[5].data());
        w.down = be.load_weight(type, s.ff, s.embd, 1, mats[6].data());
        w.attn_norm = be.load_weight(TensorType::F32, s.embd, 1, 1, vecs[0].data());
        w.ffn_norm = be.load_weight(TensorType::F32, s.embd, 1, 1, vecs[1].data());
        w.bq = be.load_weight(TensorType::F32, q, 1, 1, vecs[2].data());
        w.bk = be.load_weight(TensorType::F32, kv, 1, 1, vecs[3].data());
        w.bv = be.load_weight(TensorType::F32, kv, 1, 1, vecs[4].data());
        return w;
    }
};

// One backend's state: weights, activation buffers, one layer of paged KV.
struct Runner {
    Backend& be;
    LayerShape s;
    LayerWeights w;
    int64_t max_t;
    float *x, *h, *q, *k, *v, *o, *g, *u;
    KvLayerView kv;
    Runner(Backend& backend, const Layer& layer, int64_t max_tokens, int n_blocks, KvCodec codec)
        : be(backend), s(layer.s), w(layer.load(backend)), max_t(max_tokens) {
        auto A = [&](int64_t cols) { return static_cast<float*>(be.alloc(static_cast<size_t>(max_t * cols) * 4)); };
        x = A(s.embd), h = A(s.embd), q = A(s.n_head * s.hd), k = A(s.n_kv * s.hd), v = A(s.n_kv * s.hd);
        o = A(s.n_head * s.hd), g = A(s.ff), u = A(s.ff);
        const size_t bytes = static_cast<size_t>(n_blocks) * s.n_kv * 16 * kv_row_bytes(codec, s.hd);
        kv = {be.alloc(bytes), be.alloc(bytes), codec, 16, s.n_kv, s.hd};
        be.fill_zero(kv.k, bytes);
        be.fill_zero(kv.v, bytes);
    }
    ~Runner() {
        for (float* p : {x, h, q, k, v, o, g, u}) be.release(p);
        be.release(kv.k);
        be.release(kv.v);
    }
    // x (input, [T, embd] host) -> layer output (host).
    std::vector<float> step(const StepPlan& plan, const std::vector<float>& input) {
        const int64_t T = plan.n_tokens();
        be.upload(x, input.data(), input.size() * 4);
        be.begin_step(plan);
        Act X{x, T, s.embd}, H{h, T, s.embd}, Q{q, T, int64_t{s.n_head} * s.hd}, K{k, T, int64_t{s.n_kv} * s.hd},
            V{v, T, int64_t{s.n_kv} * s.hd}, O{o, T, int64_t{s.n_head} * s.hd}, G{g, T, s.ff}, U{u, T, s.ff};
        RopeParams rp;
        rp.n_rot = s.hd;
        rp.freq_base = 1e6f;
        AttentionParams ap{s.n_head, s.n_kv, s.hd, 1.0f / std::sqrt(static_cast<float>(s.hd))};
        be.rms_norm(X, w.attn_norm, 1e-6f, H);
        be.matmul(w.wq, H, Q, &w.bq);
        be.matmul(w.wk, H, K, &w.bk);
        be.matmul(w.wv, H, V, &w.bv);
        be.rope(Q, s.n_head, s.hd, rp);
        be.rope(K, s.n_kv, s.hd, rp);
        be.kv_store(kv, K, V);
        be.attention(Q, kv, ap, O);
        be.matmul(w.wo, O, H);
        be.add(X, H, X);
        be.rms_norm(X, w.ffn_norm, 1e-6f, H);
        be.matmul(w.gate, H, G);
        be.matmul(w.up, H, U);
        be.swiglu(G, U, G);
        be.matmul(w.down, G, H);
        be.add(X, H, X);
        std::vector<float> out(static_cast<size_t>(T * s.embd));
        be.download(out.data(), x, out.size() * 4);
        return out;
    }
};

// Prompt of n_prompt tokens, then n_decode single-token steps; the plans of both runs.
std::vector<StepPlan> decode_plans(int n_prompt, int n_decode, int n_blocks) {
    StepPlan first = make_plan(n_prompt, 0, 16, n_blocks, 9);
    std::vector<StepPlan> plans{first};
    std::vector<int32_t> table = first.seqs[0].block_table;
    std::vector<int32_t> all(static_cast<size_t>(n_blocks));
    std::iota(all.begin(), all.end(), 0);
    std::vector<int32_t> spare;
    for (int32_t b : all)
        if (std::find(table.begin(), table.end(), b) == table.end()) spare.push_back(b);
    std::reverse(spare.begin(), spare.end());
    for (int i = 0; i < n_decode; ++i) {
        const int pos = n_prompt + i;
        if (pos / 16 >= static_cast<int>(table.size())) {
            table.push_back(spare.back());
            spare.pop_back();
        }
        StepPlan p;
        p.tokens = {1};
        p.positions = {pos};
        p.kv_slots = {table[static_cast<size_t>(pos / 16)] * 16 + pos % 16};
        p.token_seq = {0};
        p.seqs = {SeqStep{0, 1, pos, table}};
        p.output_rows = {0};
        plans.push_back(p);
    }
    return plans;
}

TEST(GpuStep, DecodeStepsMatchTheCpuAndReplayAsGraphs) {
    for (TensorType t : {TensorType::Q4_0, TensorType::Q4_K, TensorType::Q8_0, TensorType::F16}) {
        const Layer layer(t, 3000);
        const int n_prompt = 37, n_decode = 300, n_blocks = 64;
        const auto plans = decode_plans(n_prompt, n_decode, n_blocks);
        CpuBackend cpu_be(0);
        Runner rc(cpu_be, layer, n_prompt, n_blocks, KvCodec::F16);
        Runner rg(gpu(), layer, n_prompt, n_blocks, KvCodec::F16);
        const GpuGraphStats before = gpu().graph_stats();
        double worst = 0.0;
        for (size_t i = 0; i < plans.size(); ++i) {
            const auto input = random_floats(static_cast<size_t>(plans[i].n_tokens() * layer.s.embd), 7000 + static_cast<uint32_t>(i));
            const auto a = rc.step(plans[i], input);
            const auto b = rg.step(plans[i], input);
            ASSERT_TRUE(all_finite(b)) << "step " << i;
            worst = std::max(worst, nmse(b.data(), a.data(), a.size()));
        }
        EXPECT_LE(worst, 2e-3) << type_name(t);
        ::testing::Test::RecordProperty(std::string("step nmse ") + type_name(t), std::to_string(worst));
        const GpuGraphStats after = gpu().graph_stats();
        EXPECT_GE(after.graph_launches - before.graph_launches, n_decode - 3) << type_name(t);
        // the attention split changes every 256 positions: updated in place, not re-instantiated
        EXPECT_GE(after.graph_updates - before.graph_updates, 1) << type_name(t);
    }
}

// Decode steps at 4,400+ positions: more than 16 attention chunks per head, so the combine runs its
// grouped merge (RF_GPU_ATTN_COMBINE_WIDE) and, for this Q4_0 layer's one-token output projection, the
// combine + projection launch its many-chunk instance; against the CPU with the wide merge on and
// off. On CUDA builds that instance knocked out by name changes the steps' outputs: it is the one
// that ran.
TEST(GpuStep, LongContextDecodeStepsMatchTheCpu) {
    const Layer layer(TensorType::Q4_0, 5000);
    const int n_prompt = 4400, n_decode = 12, n_blocks = (n_prompt + n_decode + 15) / 16 + 8;
    const auto plans = decode_plans(n_prompt, n_decode, n_blocks);
    auto input = [&](size_t i) {
        return random_floats(static_cast<size_t>(plans[i].n_tokens() * layer.s.embd), 9000 + static_cast<uint32_t>(i));
    };
    CpuBackend cpu_be(0);
    Runner rc(cpu_be, layer, n_prompt, n_blocks, KvCodec::F16);
    std::vector<std::vector<float>> want;
    for (size_t i = 0; i < plans.size(); ++i) want.push_back(rc.step(plans[i], input(i)));
    std::vector<std::vector<float>> got[3];
    for (int pass = 0; pass < 3; ++pass) {
        if (pass == 2 && gpu().device_info().arch.rfind("sm_", 0) != 0) break;  // kernel names: CUDA builds only
        std::unique_ptr<ScopedEnv> env;
        if (pass == 1) env = std::make_unique<ScopedEnv>("RF_GPU_ATTN_COMBINE_WIDE", "off");
        if (pass == 2)
            env = std::make_unique<ScopedEnv>("RF_GPU_PROFILE_SKIP", "attention_combine_proj_kernelILi64ELNS_10TensorTypeE2ELb1E");
        Runner rg(gpu(), layer, n_prompt, n_blocks, KvCodec::F16);
        double worst = 0.0;
        for (size_t i = 0; i < plans.size(); ++i) {
            got[pass].push_back(rg.step(plans[i], input(i)));
            if (i == 0 || pass == 2) continue;  // (the prompt: prefill kernels)
            ASSERT_TRUE(all_finite(got[pass].back())) << "pass " << pass << " step " << i;
            worst = std::max(worst, nmse(got[pass].back().data(), want[i].data(), want[i].size()));
        }
        if (pass < 2) {
            EXPECT_LE(worst, 2e-3) << (pass == 0 ? "wide merge" : "one-group merge");
        }
    }
    if (!got[2].empty()) {
        size_t changed = 0;
        for (size_t i = 1; i < plans.size(); ++i) changed += got[2][i] != got[0][i];
        EXPECT_EQ(changed, plans.size() - 1) << "the many-chunk combine + projection instance did not run in every decode step";
    }
}

TEST(GpuStep, GraphReplayGivesBitIdenticalResults) {
    const Layer layer(TensorType::Q4_K, 4000);
    const int n_prompt = 5, n_decode = 40, n_blocks = 16;
    const auto plans = decode_plans(n_prompt, n_decode, n_blocks);
    std::vector<std::vector<float>> outs[2];
    for (int pass = 0; pass < 2; ++pass) {
        gpu().set_use_graphs(pass == 0);
        Runner rg(gpu(), layer, n_prompt, n_blocks, KvCodec::F32);
        for (size_t i = 0; i < plans.size(); ++i)
            outs[pass].push_back(rg.step(plans[i], random_floats(static_cast<size_t>(plans[i].n_tokens() * layer.s.embd),
                                                                 100 + static_cast<uint32_t>(i))));
    }
    gpu().set_use_graphs(true);
    for (size_t i = 0; i < plans.size(); ++i) EXPECT_EQ(outs[0][i], outs[1][i]) << "step " << i;
}

// The whole-step trace (a build configured with -DROCMFORGE_GPU_STEP_TRACE=ON; skipped otherwise): with a
// target set, every kernel launch of a decode step leaves one record per block, the records group into
// launches (one per kernel the step issued), each block's stamps are ordered, and the step's results are
// the bits of the same step untraced; with the target unset nothing is written.
TEST(GpuStep, StepTraceStampsEveryLaunchOfADecodeStep) {
    if (!gpu::step_trace_compiled()) GTEST_SKIP() << "not a step-trace build";
    const Layer layer(TensorType::Q4_0, 6000);
    const int n_prompt = 40, n_decode = 6, n_blocks = 16;
    const auto plans = decode_plans(n_prompt, n_decode, n_blocks);
    auto input = [&](size_t i) {
        return random_floats(static_cast<size_t>(plans[i].n_tokens() * layer.s.embd), 400 + static_cast<uint32_t>(i));
    };
    constexpr unsigned kCapacity = 1u << 16;
    const size_t bytes = size_t{kCapacity} * kStepTraceWords * 8;
    void* buf = gpu().alloc(bytes + 256);
    auto* count = reinterpret_cast<unsigned*>(static_cast<char*>(buf) + bytes);
    std::vector<std::vector<float>> outs[2];
    for (int pass = 0; pass < 2; ++pass) {
        Runner rg(gpu(), layer, n_prompt, n_blocks, KvCodec::F16);
        for (size_t i = 0; i + 1 < plans.size(); ++i) outs[pass].push_back(rg.step(plans[i], input(i)));
        gpu().fill_zero(buf, bytes + 256);
        gpu().synchronize();
        gpu::StepTraceTarget target;
        target.words = static_cast<unsigned long long*>(buf);
        target.count = count;
        target.capacity = kCapacity;
        if (pass == 1) gpu::step_trace_set(target);
        const GpuGraphStats before = gpu().graph_stats();
        outs[pass].push_back(rg.step(plans.back(), input(plans.size() - 1)));
        const GpuGraphStats after = gpu().graph_stats();
        gpu::step_trace_set(gpu::StepTraceTarget{});
        unsigned n = 0;
        gpu().download(&n, count, sizeof n);
        if (pass == 0) {
            EXPECT_EQ(n, 0u) << "records written without a target";
            continue;
        }
        ASSERT_GT(n, 0u);
        ASSERT_LE(n, kCapacity);
        std::vector<unsigned long long> words(size_t{n} * kStepTraceWords);
        gpu().download(words.data(), buf, words.size() * 8);
        const auto records = step_trace_decode(words, n);
        for (const auto& r : records) {
            EXPECT_GT(r.t_entry, 0u);
            if (r.t_wait != 0) {
                EXPECT_LE(r.t_entry, r.t_wait) << step_trace_tag_name(r.tag);
            }
            EXPECT_LE(std::max(r.t_entry, r.t_wait), r.t_exit) << step_trace_tag_name(r.tag);
        }
        const auto launches = step_trace_launches(records);
        // the step's kernels and its step-data upload (a kernel of its own, counted apart)
        EXPECT_EQ(static_cast<int64_t>(launches.size()),
                  after.kernels - before.kernels + after.step_uploads - before.step_uploads)
            << step_trace_table(launches);
        EXPECT_EQ(launches.front().tag, static_cast<uint32_t>(StepTraceTag::Upload)) << step_trace_table(launches);
        bool matvec = false, attention = false;
        for (const auto& l : launches) {
            matvec |= l.tag == static_cast<uint32_t>(StepTraceTag::Matvec1) || l.tag == static_cast<uint32_t>(StepTraceTag::Matvec);
            attention |= l.tag == static_cast<uint32_t>(StepTraceTag::AttnMma) || l.tag == static_cast<uint32_t>(StepTraceTag::AttnFma);
        }
        EXPECT_TRUE(matvec && attention) << step_trace_table(launches);
    }
    gpu().release(buf);
    ASSERT_EQ(outs[0].size(), outs[1].size());
    for (size_t i = 0; i < outs[0].size(); ++i) EXPECT_EQ(outs[0][i], outs[1][i]) << "step " << i;
}

// RF_GPU_ALLOC_LOG=on (profiling): each device allocation and release is logged with its size and
// address, and nothing is logged with the switch off.
TEST(GpuStep, AllocLogNamesEveryAllocationAndRelease) {
    std::ostringstream captured;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
    auto& sinks = spdlog::default_logger()->sinks();
    sinks.push_back(sink);
    void* quiet = gpu().alloc(4096);
    gpu().release(quiet);
    {
        ScopedEnv on("RF_GPU_ALLOC_LOG", "on");
        void* p = gpu().alloc(12288);
        gpu().release(p);
        sinks.pop_back();
        const std::string log = captured.str();
        EXPECT_NE(log.find(fmt::format("gpu alloc 12288 bytes at {}", p)), std::string::npos) << log;
        EXPECT_NE(log.find(fmt::format("gpu release {}", p)), std::string::npos) << log;
        EXPECT_EQ(log.find("gpu alloc 4096 bytes"), std::string::npos) << log;
    }
}

}  // namespace
}  // namespace rf::gputest
