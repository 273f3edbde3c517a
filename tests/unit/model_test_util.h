// Helpers for end-to-end model tests: the Hugging Face reference fixtures
// (tests/fixtures/reference/<model>.json + .logits, made by tools/reference/hf_reference.py on
// the H100 with transformers in float32) and running a model over token ids on the CPU.
#pragma once

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backend/cpu/cpu_backend.h"
#include "engine/session.h"
#include "kv/kv_cache.h"
#include "model/model.h"
#include "test_paths.h"

namespace rf::test {

struct ReferencePrompt {
    std::string text;
    std::vector<int32_t> ids;
    std::vector<int32_t> greedy;   // 64 greedy tokens after the prompt
    std::vector<float> logits;     // [ids.size(), n_vocab]
};

struct Reference {
    int n_vocab = 0;
    double perplexity = 0.0;       // heldout.txt, ctx 512, every position after the first
    std::vector<ReferencePrompt> prompts;
};

inline Reference load_reference(const std::string& model) {
    const auto dir = source_dir() / "tests" / "fixtures" / "reference";
    std::ifstream jf(dir / (model + ".json"));
    const auto j = nlohmann::json::parse(jf);
    Reference r;
    r.n_vocab = j.at("n_vocab").get<int>();
    r.perplexity = j.at("perplexity").at("value").get<double>();
    std::ifstream lf(dir / (model + ".logits"), std::ios::binary);
    for (const auto& p : j.at("prompts")) {
        ReferencePrompt rp;
        rp.text = p.at("text").get<std::string>();
        rp.ids = p.at("ids").get<std::vector<int32_t>>();
        rp.greedy = p.at("greedy").get<std::vector<int32_t>>();
        rp.logits.resize(rp.ids.size() * static_cast<size_t>(r.n_vocab));
        lf.read(reinterpret_cast<char*>(rp.logits.data()), static_cast<std::streamsize>(rp.logits.size() * 4));
        r.prompts.push_back(std::move(rp));
    }
    return r;
}

// A model on the CPU with a KV cache of n_ctx tokens.
struct CpuModel {
    CpuBackend backend;
    Model model;
    KvCache kv;
    CpuModel(const std::string& path, int32_t n_ctx, KvCodec codec = KvCodec::F32, int threads = 2)
        : backend(threads),
          model(path, backend),
          kv(backend, {(n_ctx + 15) / 16, 16, codec}, model.kv_layer_shapes()) {}

    std::vector<float> logits_all(const std::vector<int32_t>& ids, int32_t n_batch = 512) {
        Session s(model, kv, static_cast<int32_t>(ids.size()) + 1);
        std::vector<float> all;
        s.feed(ids, n_batch, nullptr, &all);
        return all;
    }

    std::vector<int32_t> greedy(const std::vector<int32_t>& prompt, int n) {
        Session s(model, kv, static_cast<int32_t>(prompt.size()) + n + 1);
        std::vector<float> logits;
        s.feed(prompt, 512, &logits);
        std::vector<int32_t> out;
        for (int i = 0; i < n; ++i) {
            int32_t best = 0;
            for (int32_t v = 1; v < static_cast<int32_t>(logits.size()); ++v)
                if (logits[static_cast<size_t>(v)] > logits[static_cast<size_t>(best)]) best = v;
            out.push_back(best);
            if (i + 1 < n) s.feed(std::vector<int32_t>{best}, 1, &logits);
        }
        return out;
    }
};

// max |a - b| / max |b| over a whole logits array.
inline double relative_max_error(const std::vector<float>& a, const std::vector<float>& b) {
    double max_diff = 0.0, max_ref = 0.0;
    for (size_t i = 0; i < b.size(); ++i) {
        max_diff = std::max(max_diff, static_cast<double>(std::fabs(a[i] - b[i])));
        max_ref = std::max(max_ref, static_cast<double>(std::fabs(b[i])));
    }
    return max_diff / max_ref;
}

inline int32_t argmax_row(const std::vector<float>& logits, size_t row, int n_vocab) {
    const float* r = logits.data() + row * static_cast<size_t>(n_vocab);
    int32_t best = 0;
    for (int32_t v = 1; v < n_vocab; ++v)
        if (r[v] > r[best]) best = v;
    return best;
}

// Number of leading tokens two sequences share.
inline size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
    size_t n = 0;
    while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
    return n;
}

// A model file on the CPU against a reference fixture: the worst max |dlogit| / max |logit| over the
// prompts, the positions whose argmax agrees, and (n_greedy > 0) per prompt the leading greedy tokens
// equal to the reference's. Prints a line naming the file.
struct ReferenceReport {
    double worst = 0.0;
    int positions = 0, same_argmax = 0;
    std::vector<size_t> greedy_agree;
};

inline ReferenceReport compare_with_reference(const std::string& path, const std::string& reference, int n_greedy) {
    const Reference ref = load_reference(reference);
    CpuModel m(path, 256);
    EXPECT_EQ(m.model.n_vocab(), ref.n_vocab);
    ReferenceReport r;
    for (const auto& p : ref.prompts) {
        const auto logits = m.logits_all(p.ids);
        r.worst = std::max(r.worst, relative_max_error(logits, p.logits));
        for (size_t t = 0; t < p.ids.size(); ++t) {
            ++r.positions;
            r.same_argmax += argmax_row(logits, t, ref.n_vocab) == argmax_row(p.logits, t, ref.n_vocab);
        }
        if (n_greedy > 0) r.greedy_agree.push_back(common_prefix(m.greedy(p.ids, n_greedy), p.greedy));
    }
    std::printf("%s: max |dlogit| / max |logit| = %.3g, same argmax at %d of %d positions\n", path.c_str(), r.worst,
                r.same_argmax, r.positions);
    return r;
}

}  // namespace rf::test
