// What the GPU backend gives besides logits, against the CPU on the embedded default model:
//   - embeddings (StepPlan::hidden_output: the output block's normed hidden states, pooled) of inputs
//     that run as prefill steps and as one-token steps, within the activations' rounding of the CPU's;
//   - structured output (a JSON schema on the sampler; rows read back and masked on the host): the
//     greedy text is a whole document of the schema, generation ends with it.
#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "backend/cpu/cpu_backend.h"
#include "engine/default_model.h"
#include "engine/embedding.h"
#include "engine/generator.h"
#include "engine/json_schema.h"
#include "engine/session.h"
#include "formats/gguf/gguf_file.h"
#include "gpu/gpu_test_util.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab_gguf.h"

namespace rf::gputest {
namespace {

std::vector<float> embedding_on(Backend& be, const std::vector<int32_t>& ids, Pooling pooling) {
    Model model(open_default_model(), be);
    KvCache kv(be, KvCacheConfig{16, 16, KvCodec::F16}, model.kv_layer_shapes());
    EmbedOptions o;
    o.pooling = pooling;
    return embed_tokens(model, kv, ids, 256, o);
}

TEST(GpuOutputs, EmbeddingsMatchTheCpu) {
    auto file = open_default_model();
    const Tokenizer tok(vocab_from_gguf(*file));
    CpuBackend cpu(2);
    for (const char* text : {"Hi", "The Python interpreter", "In computer science, a hash table is a data structure that maps keys to values"}) {
        const auto ids = tok.encode(text, true, true);
        for (Pooling p : {Pooling::Last, Pooling::Mean}) {
            const std::vector<float> g = embedding_on(gpu(), ids, p), c = embedding_on(cpu, ids, p);
            ASSERT_EQ(g.size(), c.size());
            ASSERT_TRUE(all_finite(g));
            double dot = 0.0, gn = 0.0, cn = 0.0;
            for (size_t i = 0; i < g.size(); ++i) {
                dot += static_cast<double>(g[i]) * c[i];
                gn += static_cast<double>(g[i]) * g[i];
                cn += static_cast<double>(c[i]) * c[i];
            }
            const double cosine = dot / std::sqrt(gn * cn);
            std::printf("  %-3zu tokens, %-4s pooling: cosine GPU / CPU %.6f, NMSE %.2e\n", ids.size(), pooling_name(p), cosine,
                        nmse(g.data(), c.data(), g.size()));
            EXPECT_GT(cosine, 0.999) << text << " " << pooling_name(p);
            EXPECT_NEAR(std::sqrt(gn), 1.0, 1e-4);
        }
    }
    // a one-token input: the decode-sized step (matvec kernels), rows of n_embd
    const auto one = tok.encode("x", false, false);
    ASSERT_EQ(one.size(), 1u);
    const std::vector<float> g = embedding_on(gpu(), one, Pooling::Last), c = embedding_on(cpu, one, Pooling::Last);
    EXPECT_LT(nmse(g.data(), c.data(), g.size()), 1e-3);
}

TEST(GpuOutputs, JsonSchemaGreedyTextIsADocument) {
    auto file = open_default_model();
    const Tokenizer tok(vocab_from_gguf(*file));
    Model model(open_default_model(), gpu());
    KvCache kv(gpu(), KvCacheConfig{32, 16, KvCodec::F16}, model.kv_layer_shapes());
    GenerateOptions g;
    g.max_tokens = 300;
    g.sampling.temperature = 0.0f;
    g.sampling.json_schema = std::make_shared<const JsonSchema>(JsonSchema::compile(nlohmann::json::parse(
        R"({"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}, "required": ["name", "age"]})")));
    Session s(model, kv, 400);
    const GenerateResult r = generate(s, tok, tok.encode("A person: ", true, true), g);
    EXPECT_EQ(r.finish, FinishReason::EndOfGeneration) << r.text;
    nlohmann::json v;
    ASSERT_NO_THROW(v = nlohmann::json::parse(r.text)) << r.text;
    EXPECT_TRUE(v["name"].is_string() && v["age"].is_number_integer()) << r.text;
    std::printf("  GPU: %s\n", r.text.c_str());
}

// Drafted greedy decoding on the GPU takes each verification row's argmax on the device (no rows copied to
// the host): the same tokens as with the rows read back (RF_DRAFT_DEVICE_ROWS=off).
TEST(GpuOutputs, DraftRowsArgmaxOnTheDeviceGivesTheHostRowsTokens) {
    auto file = open_default_model();
    const Tokenizer tok(vocab_from_gguf(*file));
    Model model(open_default_model(), gpu());
    KvCache kv(gpu(), KvCacheConfig{32, 16, KvCodec::F16}, model.kv_layer_shapes());
    const std::string f = "def add(a, b):\n    return a + b\n\ndef mul(a, b):\n    return a * b\n\n";
    const auto prompt = tok.encode(f + f + "def sub(a, b):\n    return a - b\n\n" + f, true, true);
    GenerateOptions g;
    g.max_tokens = 96;
    g.sampling.temperature = 0.0f;
    g.draft = 4;
    auto run = [&](const char* device_rows) {
        ScopedEnv env("RF_DRAFT_DEVICE_ROWS", device_rows);
        Session s(model, kv, 400);
        return generate(s, tok, prompt, g);
    };
    const GenerateResult dev = run("on"), host = run("off");
    EXPECT_EQ(dev.tokens, host.tokens);
    EXPECT_EQ(dev.text, host.text);
    EXPECT_GT(dev.accepted, 0);
    std::printf("  drafted: %d of %d kept, %d passes for %zu tokens\n", dev.accepted, dev.drafted, dev.decode_steps, dev.tokens.size());
}

}  // namespace
}  // namespace rf::gputest
