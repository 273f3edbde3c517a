// The dense architectures on small random models written with our GGUF writer:
// - llama (normal RoPE pairing) equals qwen2 (NeoX pairing) once Q/K rows are permuted the way
//   llama.cpp's converter permutes Hugging Face Llama weights;
// - chunked prefill (any batch size) and token-by-token decode give the same logits;
// - shape errors name the tensor.
#include <gtest/gtest.h>

#include <random>

#include "backend/cpu/cpu_backend.h"
#include "core/error.h"
#include "engine/session.h"
#include "formats/gguf/gguf_writer.h"
#include "model/model.h"
#include "test_paths.h"

namespace rf {
namespace {

struct TinyShape {
    int n_layer = 2, n_embd = 64, n_head = 4, n_kv = 2, hd = 16, n_ff = 96, n_vocab = 100;
};

using Tensors = std::vector<std::pair<std::string, std::vector<float>>>;

// Random weights of a dense model (PyTorch row-major [out, in] layout).
Tensors random_weights(const TinyShape& s, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.0f, 0.2f);
    auto make = [&](size_t n, float offset = 0.0f) {
        std::vector<float> v(n);
        for (auto& x : v) x = d(rng) + offset;
        return v;
    };
    Tensors t;
    t.emplace_back("token_embd.weight", make(size_t(s.n_vocab) * s.n_embd));
    for (int il = 0; il < s.n_layer; ++il) {
        const std::string p = "blk." + std::to_string(il) + ".";
        t.emplace_back(p + "attn_norm.weight", make(s.n_embd, 1.0f));
        t.emplace_back(p + "attn_q.weight", make(size_t(s.n_head) * s.hd * s.n_embd));
        t.emplace_back(p + "attn_k.weight", make(size_t(s.n_kv) * s.hd * s.n_embd));
        t.emplace_back(p + "attn_v.weight", make(size_t(s.n_kv) * s.hd * s.n_embd));
        t.emplace_back(p + "attn_output.weight", make(size_t(s.n_embd) * s.n_head * s.hd));
        t.emplace_back(p + "ffn_norm.weight", make(s.n_embd, 1.0f));
        t.emplace_back(p + "ffn_gate.weight", make(size_t(s.n_ff) * s.n_embd));
        t.emplace_back(p + "ffn_up.weight", make(size_t(s.n_ff) * s.n_embd));
        t.emplace_back(p + "ffn_down.weight", make(size_t(s.n_embd) * s.n_ff));
    }
    t.emplace_back("output_norm.weight", make(s.n_embd, 1.0f));
    t.emplace_back("output.weight", make(size_t(s.n_vocab) * s.n_embd));
    return t;
}

// HF (NeoX halves) -> GGUF llama (interleaved pairs): rows [heads, 2, hd/2] -> [heads, hd/2, 2].
std::vector<float> permute_rows(const std::vector<float>& w, int heads, int hd, int cols) {
    std::vector<float> out(w.size());
    for (int h = 0; h < heads; ++h)
        for (int half = 0; half < 2; ++half)
            for (int i = 0; i < hd / 2; ++i) {
                const size_t src = (size_t(h) * hd + half * (hd / 2) + i) * cols;
                const size_t dst = (size_t(h) * hd + i * 2 + half) * cols;
                std::copy(w.begin() + long(src), w.begin() + long(src + cols), out.begin() + long(dst));
            }
    return out;
}

// n_ff_key: the feed_forward_length written to the metadata (-1: the shape's).
std::string write_model(const std::string& arch, const TinyShape& s, const Tensors& tensors, const std::string& file,
                        int n_ff_key = -1) {
    GgufWriter w;
    w.set_string("general.architecture", arch);
    w.set_u32(arch + ".block_count", uint32_t(s.n_layer));
    w.set_u32(arch + ".embedding_length", uint32_t(s.n_embd));
    w.set_u32(arch + ".feed_forward_length", uint32_t(n_ff_key > 0 ? n_ff_key : s.n_ff));
    w.set_u32(arch + ".attention.head_count", uint32_t(s.n_head));
    w.set_u32(arch + ".attention.head_count_kv", uint32_t(s.n_kv));
    w.set_u32(arch + ".context_length", 256);
    w.set_f32(arch + ".rope.freq_base", 10000.0f);
    w.set_f32(arch + ".attention.layer_norm_rms_epsilon", 1e-5f);
    for (const auto& [name, data] : tensors) {
        std::vector<int64_t> ne;
        if (name.find("norm") != std::string::npos) ne = {int64_t(data.size())};
        else if (name == "token_embd.weight" || name == "output.weight") ne = {s.n_embd, s.n_vocab};
        else if (name.find("attn_q.") != std::string::npos) ne = {s.n_embd, s.n_head * s.hd};
        else if (name.find("attn_k.") != std::string::npos || name.find("attn_v.") != std::string::npos) ne = {s.n_embd, s.n_kv * s.hd};
        else if (name.find("attn_output") != std::string::npos) ne = {s.n_head * s.hd, s.n_embd};
        else if (name.find("ffn_down") != std::string::npos) ne = {s.n_ff, s.n_embd};
        else ne = {s.n_embd, s.n_ff};
        w.add_tensor(name, TensorType::F32, ne, data.data(), data.size() * 4);
    }
    const std::string path = (test::temp_dir() / file).string();
    w.write(path);
    return path;
}

std::vector<float> run_logits(const std::string& path, const std::vector<int32_t>& ids, int32_t n_batch) {
    CpuBackend be(2);
    Model m(path, be);
    KvCache kv(be, {8, 16, KvCodec::F32}, m.kv_layer_shapes());
    Session s(m, kv, 128);
    std::vector<float> logits;
    s.feed(ids, n_batch, nullptr, &logits);
    return logits;
}

const std::vector<int32_t> kIds = {1, 5, 9, 33, 2, 77, 12, 12, 40, 99, 0, 3, 8, 21, 54, 60, 61, 62, 7};

TEST(DenseArch, LlamaWithPermutedQKEqualsNeoxQwen2) {
    const TinyShape s;
    const Tensors t = random_weights(s, 11);
    Tensors permuted = t;
    for (auto& [name, data] : permuted) {
        if (name.find("attn_q.weight") != std::string::npos) data = permute_rows(data, s.n_head, s.hd, s.n_embd);
        if (name.find("attn_k.weight") != std::string::npos) data = permute_rows(data, s.n_kv, s.hd, s.n_embd);
    }
    const auto a = run_logits(write_model("qwen2", s, t, "dense_qwen2.gguf"), kIds, 512);
    const auto b = run_logits(write_model("llama", s, permuted, "dense_llama.gguf"), kIds, 512);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-4) << i;
    // Without the permutation the pairing differs and so do the logits.
    const auto c = run_logits(write_model("llama", s, t, "dense_llama_unpermuted.gguf"), kIds, 512);
    double diff = 0;
    for (size_t i = 0; i < a.size(); ++i) diff = std::max(diff, double(std::fabs(a[i] - c[i])));
    EXPECT_GT(diff, 1e-3);
}

TEST(DenseArch, ChunkedPrefillEqualsOneBatchAndTokenByToken) {
    const TinyShape s;
    const std::string path = write_model("qwen2", s, random_weights(s, 12), "dense_chunks.gguf");
    const auto whole = run_logits(path, kIds, 512);
    for (int32_t batch : {1, 2, 5, 16}) {
        const auto chunked = run_logits(path, kIds, batch);
        for (size_t i = 0; i < whole.size(); ++i) ASSERT_NEAR(whole[i], chunked[i], 1e-4) << "batch " << batch;
    }
}

TEST(DenseArch, WrongShapeNamesTheTensor) {
    TinyShape s;
    s.n_ff = 80;  // tensors with 80 ffn rows, metadata says 96
    const std::string bad = write_model("qwen2", s, random_weights(s, 13), "dense_wrong.gguf", 96);
    CpuBackend be(1);
    try {
        Model m(bad, be);
        FAIL() << "a wrong tensor shape must be rejected";
    } catch (const Error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("blk.0.ffn_gate.weight"), std::string::npos) << msg;
        EXPECT_NE(msg.find("has shape [64, 80], expected [64, 96]"), std::string::npos) << msg;
    }
}

}  // namespace
}  // namespace rf
