// The tokenizer in GGUF: vocab_to_gguf / vocab_from_gguf, and `convert hf --vocab-only`.
//  - the real Qwen3 tokenizer folder (no config.json) -> vocab-only GGUF -> the same Vocab as
//    vocab_from_hf (NFC normalizer included, through tokenizer.rocmforge.normalizer), and the
//    same token ids on held-out text, Unicode that NFC changes and special tokens;
//  - a vocab-only conversion of tiny-qwen3 (with config.json) has exactly the metadata of
//    llama.cpp's conversion of that folder, less the size label (no tensors);
//  - llama.cpp's file reads back to the Vocab vocab_from_hf builds;
//  - malformed tokenizer keys are errors naming the file, the key and the value.
#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "formats/gguf/gguf_writer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab_from_hf.h"
#include "tokenizer/vocab_gguf.h"
#include "tools_convert_test_util.h"

namespace rf {
namespace {

namespace fs = std::filesystem;

void expect_same_vocab(const Vocab& a, const Vocab& b) {
    EXPECT_EQ(a.model, b.model);
    EXPECT_EQ(a.pre, b.pre);
    EXPECT_TRUE(a.tokens == b.tokens);
    EXPECT_EQ(a.scores, b.scores);
    EXPECT_TRUE(a.token_type == b.token_type);
    EXPECT_TRUE(a.merges == b.merges);
    EXPECT_EQ(a.bos_token_id, b.bos_token_id);
    EXPECT_EQ(a.eos_token_id, b.eos_token_id);
    EXPECT_EQ(a.unknown_token_id, b.unknown_token_id);
    EXPECT_EQ(a.separator_token_id, b.separator_token_id);
    EXPECT_EQ(a.padding_token_id, b.padding_token_id);
    EXPECT_EQ(a.cls_token_id, b.cls_token_id);
    EXPECT_EQ(a.mask_token_id, b.mask_token_id);
    EXPECT_EQ(a.eot_token_id, b.eot_token_id);
    EXPECT_EQ(a.eom_token_id, b.eom_token_id);
    EXPECT_EQ(a.add_bos_token, b.add_bos_token);
    EXPECT_EQ(a.add_eos_token, b.add_eos_token);
    EXPECT_EQ(a.add_space_prefix, b.add_space_prefix);
    EXPECT_EQ(a.chat_template, b.chat_template);
    EXPECT_EQ(a.normalizer, b.normalizer);
}

fs::path vocab_only(const fs::path& dir, const std::string& name) {
    ConvertHfOptions o;
    o.model_dir = dir.string();
    o.out_path = (test::convert_dir() / name).string();
    o.vocab_only = true;
    convert_hf_to_gguf(o);
    return o.out_path;
}

TEST(ToolsConvertVocab, RealQwen3VocabOnlyRoundTrips) {
    RF_REQUIRE_SHARED();
    const fs::path dir = test::shared_dir() / "tokenizers" / "qwen3";
    const fs::path out = vocab_only(dir, "qwen3-vocab-only.gguf");
    const GgufFile f(out.string());
    EXPECT_TRUE(f.tensors().empty());
    EXPECT_EQ(f.require_string("general.architecture"), "qwen2");  // no config.json
    EXPECT_EQ(f.require_string("general.name"), "Qwen3");
    EXPECT_EQ(f.require_string(kGgufNormalizerKey), "NFC");
    EXPECT_FALSE(f.has("general.size_label"));

    const Vocab from_hf = vocab_from_hf(dir.string());
    const Vocab from_gguf = vocab_from_gguf(f);
    expect_same_vocab(from_gguf, from_hf);

    const Tokenizer a(from_hf), b(from_gguf);
    std::ifstream heldout(test::shared_dir() / "text" / "heldout.txt");
    std::string text(20000, '\0');
    heldout.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<size_t>(heldout.gcount()));
    const std::vector<std::string> samples = {
        text,
        "Cafe\xCC\x81 na\xC3\xAFve \xE2\x84\xAB \xEF\xAC\x81 \xE1\x84\x80\xE1\x85\xA1",  // NFC
                                                                                         // changes
                                                                                         // these
        "<|im_start|>user\nhi<think>x</think><|im_end|><|endoftext|>",
        "\xF0\x9F\x98\x80 emoji, \xE4\xB8\xAD\xE6\x96\x87, \xD8\xB9\xD8\xB1\xD8\xA8\xD9\x8A  "
        "spaces\t\ttabs\n\n"};
    for (const std::string& s : samples) {
        for (bool special : {false, true}) {
            EXPECT_EQ(a.encode(s, true, special), b.encode(s, true, special)) << s.substr(0, 40);
        }
    }
}

TEST(ToolsConvertVocab, VocabOnlyWithConfigIsLlamaCppsMetadataWithoutSizeLabel) {
    RF_REQUIRE_SHARED();
    const fs::path out = vocab_only(test::shared_model("tiny-qwen3"), "tiny-qwen3-vocab-only.gguf");
    const GgufFile ours(out.string());
    const GgufFile theirs(test::llamacpp_file("tiny-qwen3-llamacpp-f16.gguf").string());
    EXPECT_TRUE(ours.tensors().empty());
    std::vector<std::pair<std::string, GgufValue>> expected;
    for (const auto& kv : theirs.metadata())
        if (kv.first != "general.size_label") expected.push_back(kv);
    ASSERT_EQ(ours.metadata().size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ(ours.metadata()[i].first, expected[i].first) << i;
        EXPECT_TRUE(ours.metadata()[i].second == expected[i].second) << expected[i].first;
    }
}

TEST(ToolsConvertVocab, LlamaCppFileReadsAsTheHfVocab) {
    RF_REQUIRE_SHARED();
    const GgufFile f(test::llamacpp_file("tiny-qwen35moe-llamacpp-q8_0.gguf").string());
    expect_same_vocab(vocab_from_gguf(f),
                      vocab_from_hf(test::shared_model("tiny-qwen35moe").string()));
}

Vocab small_vocab() {
    Vocab v;
    v.model = "gpt2";
    v.pre = "qwen2";
    v.tokens = {"a", "b", "ab", "<|end|>"};
    v.token_type = {1, 1, 1, 3};
    v.merges = {"a b"};
    v.eos_token_id = 3;
    v.bos_token_id = 3;
    v.padding_token_id = 0;
    return v;
}

GgufFile write_and_read(const GgufWriter& w, const std::string& name) {
    const fs::path path = test::convert_dir() / name;
    w.write(path.string());
    return GgufFile(path.string());
}

TEST(ToolsConvertVocab, WriterOrderAndOptionalKeys) {
    Vocab v = small_vocab();
    GgufWriter w;
    const std::string_view order[] = {"eos", "pad"};
    vocab_to_gguf(v, w, order);
    const GgufFile f = write_and_read(w, "vocab-order.gguf");
    std::vector<std::string> keys;
    for (const auto& [k, val] : f.metadata()) keys.push_back(k);
    EXPECT_EQ(keys, (std::vector<std::string>{
                        "tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens",
                        "tokenizer.ggml.token_type", "tokenizer.ggml.merges",
                        "tokenizer.ggml.eos_token_id", "tokenizer.ggml.padding_token_id",
                        "tokenizer.ggml.bos_token_id"}));
    EXPECT_EQ(f.find("tokenizer.ggml.eos_token_id")->type(), GgufType::U32);
    expect_same_vocab(vocab_from_gguf(f), v);

    v.scores = {0.f, -1.f, -2.f, 0.f};
    v.add_bos_token = false;
    v.add_eos_token = true;
    v.chat_template = "{{ messages }}";
    v.normalizer = "NFC";
    GgufWriter w2;
    vocab_to_gguf(v, w2);
    const GgufFile f2 = write_and_read(w2, "vocab-full.gguf");
    EXPECT_EQ(f2.require_string("tokenizer.rocmforge.normalizer"), "NFC");
    EXPECT_EQ(f2.get_bool("tokenizer.ggml.add_eos_token"), std::optional<bool>(true));
    expect_same_vocab(vocab_from_gguf(f2), v);

    GgufWriter w3;
    EXPECT_THROW(vocab_to_gguf(v, w3, std::vector<std::string_view>{"beginning"}), Error);
}

// A file with the small vocab's keys, then `edit` applied to the writer.
std::string read_error(const std::string& name, const std::function<void(GgufWriter&)>& edit) {
    GgufWriter w;
    vocab_to_gguf(small_vocab(), w);
    edit(w);
    const GgufFile f = write_and_read(w, name);
    try {
        vocab_from_gguf(f);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

TEST(ToolsConvertVocab, ReaderErrorsNameFileKeyAndValue) {
    auto expect = [](const std::string& e, const std::vector<std::string>& parts) {
        ASSERT_FALSE(e.empty());
        for (const auto& p : parts) EXPECT_NE(e.find(p), std::string::npos) << e;
    };
    expect(read_error("v-no-model.gguf", [](GgufWriter& w) { w.remove("tokenizer.ggml.model"); }),
           {"v-no-model.gguf", "'tokenizer.ggml.model' is missing"});
    expect(read_error("v-no-tokens.gguf", [](GgufWriter& w) { w.remove("tokenizer.ggml.tokens"); }),
           {"v-no-tokens.gguf", "'tokenizer.ggml.tokens' is missing"});
    expect(
        read_error("v-types.gguf",
                   [](GgufWriter& w) { w.set_string_array("tokenizer.ggml.token_type", {"x"}); }),
        {"v-types.gguf", "tokenizer.ggml.token_type", "array<string>", "array of integers"});
    expect(read_error("v-scores.gguf",
                      [](GgufWriter& w) {
                          w.set_f32_array("tokenizer.ggml.scores", {0.f, 1.f});
                      }),
           {"tokenizer.ggml.scores has 2 entries", "tokenizer.ggml.tokens has 4"});
    expect(read_error("v-eos.gguf",
                      [](GgufWriter& w) { w.set_u32("tokenizer.ggml.eos_token_id", 4); }),
           {"tokenizer.ggml.eos_token_id = 4 is out of range", "4 tokens"});
    expect(read_error("v-model.gguf",
                      [](GgufWriter& w) { w.set_string("tokenizer.ggml.model", "bert"); }),
           {"v-model.gguf", "unknown tokenizer model 'bert'"});
    expect(read_error("v-flag.gguf",
                      [](GgufWriter& w) { w.set_u32("tokenizer.ggml.add_bos_token", 1); }),
           {"tokenizer.ggml.add_bos_token", "has type u32, expected bool"});
    expect(
        read_error("v-norm.gguf", [](GgufWriter& w) { w.set_string(kGgufNormalizerKey, "NFKD"); }),
        {"v-norm.gguf", "unknown normalizer 'NFKD'"});
}

}  // namespace
}  // namespace rf
