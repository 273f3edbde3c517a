// Structured output on the embedded default model (CPU): with SamplingParams::json_schema the sampler
// only draws tokens that keep the text a prefix of a document of the schema, generation ends with the
// document, and the most likely token that fits wins under greedy decoding.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "engine/generator.h"
#include "engine/json_prefix.h"
#include "engine/sampler.h"
#include "engine/session.h"
#include "engine_test_util.h"
#include "tokenizer/tokenizer.h"

namespace rf {
namespace {

using nlohmann::json;

const char* kPerson = R"({"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
    "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3}}, "required": ["name", "age"]})";

std::shared_ptr<const JsonSchema> compiled(const char* text) {
    return std::make_shared<const JsonSchema>(JsonSchema::compile(json::parse(text)));
}

GenerateResult run(const std::string& prompt, GenerateOptions g) {
    LoadedModel& lm = test::default_cpu_model(512);
    Session s(lm.model(), lm.kv(), 512);
    return generate(s, lm.tokenizer(), lm.tokenizer().encode(prompt, true, true), g);
}

void expect_person(const std::string& text) {
    json v;
    ASSERT_NO_THROW(v = json::parse(text)) << text;
    ASSERT_TRUE(v.is_object()) << text;
    EXPECT_TRUE(v["name"].is_string()) << text;
    EXPECT_TRUE(v["age"].is_number_integer()) << text;
    for (const auto& [k, e] : v.items()) EXPECT_TRUE(k == "name" || k == "age" || k == "tags") << text;
    if (v.contains("tags")) {
        EXPECT_LE(v["tags"].size(), 3u) << text;
    }
}

TEST(StructuredOutput, GreedyTextIsADocumentOfTheSchemaAndEndsWithIt) {
    GenerateOptions g;
    g.max_tokens = 300;
    g.sampling.temperature = 0.0f;
    const GenerateResult free_text = run("A person: ", g);
    g.sampling.json_schema = compiled(kPerson);
    const GenerateResult r = run("A person: ", g);
    EXPECT_EQ(r.finish, FinishReason::EndOfGeneration) << r.text;
    expect_person(r.text);
    EXPECT_NE(r.text, free_text.text);
    // the same again: greedy under the constraint is deterministic
    EXPECT_EQ(run("A person: ", g).text, r.text);
}

TEST(StructuredOutput, SampledTextsFitTheSchemaWhetherWholeOrCutByTheLimit) {
    GenerateOptions g;
    g.max_tokens = 200;
    g.sampling.temperature = 1.0f;
    g.sampling.top_k = 0;
    g.sampling.top_p = 1.0f;
    g.sampling.min_p = 0.0f;
    g.sampling.json_schema = compiled(kPerson);
    int whole = 0;
    for (uint64_t seed = 1; seed <= 6; ++seed) {
        g.sampling.seed = seed;
        const GenerateResult r = run("A person: ", g);
        if (r.finish == FinishReason::EndOfGeneration) {
            ++whole;
            expect_person(r.text);
        } else {
            EXPECT_EQ(r.finish, FinishReason::Length);
            JsonPrefix p(g.sampling.json_schema);
            for (char c : r.text) ASSERT_TRUE(p.feed(static_cast<uint8_t>(c))) << r.text;  // a prefix of one
        }
    }
    EXPECT_GE(whole, 3);
    // any JSON object (response_format json_object)
    g.sampling.json_schema = std::make_shared<const JsonSchema>(JsonSchema::any_object());
    g.sampling.seed = 3;
    g.sampling.temperature = 0.0f;
    const GenerateResult r = run("A person: ", g);
    ASSERT_EQ(r.finish, FinishReason::EndOfGeneration) << r.text;
    EXPECT_TRUE(json::parse(r.text).is_object()) << r.text;
}

TEST(StructuredOutput, TheSamplerTakesTheMostLikelyTokenThatFits) {
    const Tokenizer& tok = test::default_cpu_model(512).tokenizer();
    const int32_t hello = tok.find_token("hello"), brace = tok.find_token("{"), bracket = tok.find_token("[");
    ASSERT_GE(hello, 0);
    ASSERT_GE(brace, 0);
    ASSERT_GE(bracket, 0);
    std::vector<float> logits(static_cast<size_t>(tok.n_vocab()), 0.0f);
    logits[static_cast<size_t>(hello)] = 9.0f;
    logits[static_cast<size_t>(bracket)] = 5.0f;
    logits[static_cast<size_t>(brace)] = 4.0f;
    SamplingParams p;
    p.temperature = 0.0f;
    p.json_schema = compiled(R"({"type": "object"})");
    Sampler s(p, &tok);
    const SampleResult r = s.sample(logits, {});
    EXPECT_EQ(r.token, brace);  // "hello" and "[" do not start an object
    EXPECT_LT(r.logprob, -5.0f);  // (the model's own distribution)
    // then: "}" closes it, and after it only an end of generation
    std::vector<float> next(static_cast<size_t>(tok.n_vocab()), 0.0f);
    const int32_t close = tok.find_token("}");
    ASSERT_GE(close, 0);
    next[static_cast<size_t>(close)] = 3.0f;
    next[static_cast<size_t>(hello)] = 9.0f;
    EXPECT_EQ(s.sample(next, {}).token, close);
    EXPECT_TRUE(tok.is_eog(s.sample(next, {}).token));
    // without the tokenizer a schema cannot be used
    EXPECT_THROW(Sampler(p, nullptr), Error);
}

TEST(StructuredOutput, DraftsAreRefusedWithASchema) {
    GenerateOptions g;
    g.max_tokens = 8;
    g.sampling.temperature = 0.0f;
    g.draft = 4;
    g.sampling.json_schema = compiled("{}");
    try {
        (void)run("x", g);
        ADD_FAILURE() << "drafts with a schema were taken";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("JSON schema"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace rf
