// Token ids of the byte-level BPE tokenizer against @huggingface/tokenizers (fixtures written by
// tests/node/tokenize_reference.mjs): every corpus case id for id, plus a fingerprint of the
// whole held-out text, for the real Qwen3 tokenizer (NFC normalizer, 151k tokens) and the tiny
// models' tokenizer (no normalizer, 8192 tokens). Also decode(encode(x)) == x for each case.
#include "tokenizer_test_util.h"

namespace rf {
namespace {

using nlohmann::json;

void check_cases(const Tokenizer& tokenizer, const json& fixture) {
    ASSERT_GE(fixture["cases"].size(), 90u);
    for (const json& c : fixture["cases"]) {
        const std::string name = c["name"];
        const std::string text = c["text"];
        const std::vector<int32_t> expected = c["ids"];
        const std::vector<int32_t> ids =
            tokenizer.encode(text, /*add_special=*/false, /*parse_special=*/true);
        EXPECT_EQ(ids, expected) << "case " << name << ": " << test::escape_bytes(text);
        if (fixture["tokenizer"] == "models/tiny-qwen3") {
            // No normalizer: decoding gives back the exact input.
            EXPECT_EQ(tokenizer.decode(ids), text) << "case " << name;
        } else {
            // NFC: decoding gives the NFC form, which encodes to the same ids again.
            EXPECT_EQ(tokenizer.encode(tokenizer.decode(ids), false, true), ids) << "case " << name;
        }
    }
}

void check_heldout(const Tokenizer& tokenizer, const json& fixture) {
    const std::string text =
        test::read_text_file(test::shared_dir() / fixture["heldout"]["file"].get<std::string>());
    ASSERT_EQ(text.size(), fixture["heldout"]["bytes"].get<size_t>());
    const std::vector<int32_t> ids = tokenizer.encode(text, false, true);
    EXPECT_EQ(ids.size(), fixture["heldout"]["n_tokens"].get<size_t>());
    EXPECT_EQ(test::ids_fingerprint(ids), fixture["heldout"]["fnv1a64"].get<std::string>());
    EXPECT_EQ(tokenizer.decode(ids), text);
}

TEST(TokenizerReference, Qwen3Cases) {
    RF_REQUIRE_SHARED();
    check_cases(*test::qwen3_tokenizer(), test::read_tokenizer_fixture("qwen3_reference.json"));
}

TEST(TokenizerReference, TinyQwen3Cases) {
    RF_REQUIRE_SHARED();
    check_cases(*test::tiny_qwen3_tokenizer(),
                test::read_tokenizer_fixture("tiny_qwen3_reference.json"));
}

TEST(TokenizerReference, Qwen3HeldoutText) {
    RF_REQUIRE_SHARED();
    check_heldout(*test::qwen3_tokenizer(), test::read_tokenizer_fixture("qwen3_reference.json"));
}

TEST(TokenizerReference, TinyQwen3HeldoutText) {
    RF_REQUIRE_SHARED();
    check_heldout(*test::tiny_qwen3_tokenizer(),
                  test::read_tokenizer_fixture("tiny_qwen3_reference.json"));
}

}  // namespace
}  // namespace rf
