// vocab_from_hf against what llama.cpp's convert_hf_to_gguf.py wrote for the same model
// (../shared/models/llamacpp-gguf/tiny-qwen3-llamacpp-f16.gguf), key by key, plus the real
// Qwen3 tokenizer folder, the two merge formats of tokenizer.json, vocab_size padding and the
// errors.
#include <cstring>
#include <map>
#include <variant>

#include "core/error.h"
#include "tokenizer_test_util.h"

namespace rf {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Stopgap GGUF metadata reader for this test only (the project's reader lives in
// src/formats/gguf): header, then n_kv x {string key, u32 type, value}; tensors are not read.
using GgufScalar = std::variant<int64_t, double, bool, std::string>;
struct GgufEntry {
    GgufScalar scalar;
    std::vector<GgufScalar> array;
    bool is_array = false;
};

class GgufMetadata {
  public:
    explicit GgufMetadata(const fs::path& path) : in_(path, std::ios::binary) {
        EXPECT_TRUE(in_.good()) << path;
        char magic[4];
        in_.read(magic, 4);
        EXPECT_EQ(std::string(magic, 4), "GGUF");
        EXPECT_EQ(read<uint32_t>(), 3u);
        read<uint64_t>();  // n_tensors
        const uint64_t n_kv = read<uint64_t>();
        for (uint64_t i = 0; i < n_kv; ++i) {
            std::string key = read_string();
            const uint32_t type = read<uint32_t>();
            GgufEntry entry;
            if (type == 9) {
                const uint32_t elem = read<uint32_t>();
                const uint64_t n = read<uint64_t>();
                entry.is_array = true;
                entry.array.reserve(n);
                for (uint64_t k = 0; k < n; ++k) entry.array.push_back(read_scalar(elem));
            } else {
                entry.scalar = read_scalar(type);
            }
            entries_.emplace(std::move(key), std::move(entry));
        }
    }

    bool has(const std::string& key) const { return entries_.count(key) != 0; }
    const GgufEntry& at(const std::string& key) const { return entries_.at(key); }
    std::vector<std::string> keys_with_prefix(const std::string& prefix) const {
        std::vector<std::string> out;
        for (const auto& [k, v] : entries_) {
            if (k.starts_with(prefix)) out.push_back(k);
        }
        return out;
    }

  private:
    template <typename T>
    T read() {
        T v{};
        in_.read(reinterpret_cast<char*>(&v), sizeof v);
        return v;
    }
    std::string read_string() {
        const uint64_t n = read<uint64_t>();
        std::string s(n, '\0');
        in_.read(s.data(), static_cast<std::streamsize>(n));
        return s;
    }
    GgufScalar read_scalar(uint32_t type) {
        switch (type) {
            case 0:
                return int64_t{read<uint8_t>()};
            case 1:
                return int64_t{read<int8_t>()};
            case 2:
                return int64_t{read<uint16_t>()};
            case 3:
                return int64_t{read<int16_t>()};
            case 4:
                return int64_t{read<uint32_t>()};
            case 5:
                return int64_t{read<int32_t>()};
            case 6:
                return double{read<float>()};
            case 7:
                return read<uint8_t>() != 0;
            case 8:
                return read_string();
            case 10:
                return static_cast<int64_t>(read<uint64_t>());
            case 11:
                return read<int64_t>();
            case 12:
                return read<double>();
            default:
                ADD_FAILURE() << "GGUF value type " << type;
                return int64_t{0};
        }
    }

    std::ifstream in_;
    std::map<std::string, GgufEntry> entries_;
};

template <typename T>
std::vector<T> array_of(const GgufEntry& e) {
    std::vector<T> out;
    for (const auto& v : e.array)
        out.push_back(static_cast<T>(
            std::get<std::conditional_t<std::is_same_v<T, std::string>, std::string, int64_t>>(v)));
    return out;
}

TEST(TokenizerHfVocab, TinyQwen3EqualsLlamaCppConversion) {
    RF_REQUIRE_SHARED();
    const Vocab vocab = vocab_from_hf((test::shared_dir() / "models" / "tiny-qwen3").string());
    const GgufMetadata gguf(test::shared_dir() / "models" / "llamacpp-gguf" /
                            "tiny-qwen3-llamacpp-f16.gguf");

    EXPECT_EQ(vocab.model, std::get<std::string>(gguf.at("tokenizer.ggml.model").scalar));
    EXPECT_EQ(vocab.pre, std::get<std::string>(gguf.at("tokenizer.ggml.pre").scalar));
    EXPECT_EQ(vocab.tokens, array_of<std::string>(gguf.at("tokenizer.ggml.tokens")));
    EXPECT_EQ(vocab.token_type, array_of<int32_t>(gguf.at("tokenizer.ggml.token_type")));
    EXPECT_EQ(vocab.merges, array_of<std::string>(gguf.at("tokenizer.ggml.merges")));
    EXPECT_EQ(vocab.chat_template,
              std::get<std::string>(gguf.at("tokenizer.chat_template").scalar));
    EXPECT_TRUE(vocab.scores.empty());
    EXPECT_FALSE(gguf.has("tokenizer.ggml.scores"));

    // Every special id / flag key: present in the GGUF exactly when set here, with the same value.
    const std::pair<const char*, int32_t> ids[] = {
        {"bos_token_id", vocab.bos_token_id},
        {"eos_token_id", vocab.eos_token_id},
        {"unknown_token_id", vocab.unknown_token_id},
        {"seperator_token_id", vocab.separator_token_id},
        {"padding_token_id", vocab.padding_token_id},
        {"cls_token_id", vocab.cls_token_id},
        {"mask_token_id", vocab.mask_token_id},
        {"eot_token_id", vocab.eot_token_id},
        {"eom_token_id", vocab.eom_token_id},
    };
    size_t n_expected_keys = 5;  // model, pre, tokens, token_type, merges
    for (const auto& [name, id] : ids) {
        const std::string key = std::string("tokenizer.ggml.") + name;
        if (id < 0) {
            EXPECT_FALSE(gguf.has(key)) << key;
        } else {
            ASSERT_TRUE(gguf.has(key)) << key;
            EXPECT_EQ(std::get<int64_t>(gguf.at(key).scalar), id) << key;
            ++n_expected_keys;
        }
    }
    for (const auto& [name, flag] : {std::pair{"add_bos_token", vocab.add_bos_token},
                                     std::pair{"add_eos_token", vocab.add_eos_token},
                                     std::pair{"add_space_prefix", vocab.add_space_prefix}}) {
        const std::string key = std::string("tokenizer.ggml.") + name;
        EXPECT_EQ(gguf.has(key), flag.has_value()) << key;
        if (flag) {
            EXPECT_EQ(std::get<bool>(gguf.at(key).scalar), *flag) << key;
            ++n_expected_keys;
        }
    }
    // No tokenizer.ggml.* key that vocab_from_hf does not produce.
    EXPECT_EQ(gguf.keys_with_prefix("tokenizer.ggml.").size(), n_expected_keys);
    EXPECT_EQ(vocab.bos_token_id,
              8189);  // from config.json (tokenizer_config.json has no bos_token)
    EXPECT_EQ(vocab.eos_token_id, 8189);
    EXPECT_EQ(vocab.padding_token_id, 8189);
    EXPECT_EQ(vocab.normalizer, "");
}

TEST(TokenizerHfVocab, RealQwen3Folder) {
    RF_REQUIRE_SHARED();
    const Vocab vocab = vocab_from_hf((test::shared_dir() / "tokenizers" / "qwen3").string());
    EXPECT_EQ(vocab.model, "gpt2");
    EXPECT_EQ(vocab.pre, "qwen2");
    EXPECT_EQ(vocab.normalizer, "NFC");
    ASSERT_EQ(vocab.tokens.size(), 151669u);  // no config.json: every id of tokenizer.json
    EXPECT_EQ(vocab.merges.size(), 151387u);
    EXPECT_EQ(vocab.merges[0], "\xC4\xA0 \xC4\xA0");  // "Ġ Ġ", from the pair form
    EXPECT_EQ(vocab.tokens[151644], "<|im_start|>");
    EXPECT_EQ(vocab.type_of(151644), TokenType::control);
    EXPECT_EQ(vocab.tokens[151667], "<think>");
    EXPECT_EQ(vocab.type_of(151667),
              TokenType::user_defined);  // "special": false in tokenizer.json
    EXPECT_EQ(vocab.type_of(151657), TokenType::user_defined);  // <tool_call>
    EXPECT_EQ(vocab.type_of(151652), TokenType::control);       // <|vision_start|>
    EXPECT_EQ(vocab.type_of(100), TokenType::normal);
    EXPECT_EQ(vocab.eos_token_id, 151645);  // <|im_end|>
    EXPECT_EQ(vocab.padding_token_id, 151643);
    EXPECT_EQ(vocab.bos_token_id, -1);                           // "bos_token": null
    EXPECT_EQ(vocab.add_bos_token, std::optional<bool>(false));  // "add_bos_token": false
    EXPECT_FALSE(vocab.add_eos_token.has_value());
    EXPECT_NE(vocab.chat_template.find("<|im_start|>"), std::string::npos);
    EXPECT_NE(vocab.chat_template.find("enable_thinking"), std::string::npos);

    const Tokenizer tokenizer(vocab);
    EXPECT_TRUE(tokenizer.is_eog(151645));  // <|im_end|>
    EXPECT_TRUE(tokenizer.is_eog(151643));  // <|endoftext|>
    EXPECT_FALSE(tokenizer.is_eog(151644));
    EXPECT_FALSE(tokenizer.add_bos());
    EXPECT_EQ(tokenizer.eot_id(), 151645);  // no eot key: found by text
}

// A copy of the tiny tokenizer folder with tokenizer.json / config.json / tokenizer_config.json
// edited by `edit`.
using FolderEdit = std::function<void(json& tokenizer, json& config, json& tokenizer_config)>;
fs::path edited_tiny_folder(const std::string& name, const FolderEdit& edit) {
    const fs::path src = test::shared_dir() / "models" / "tiny-qwen3";
    const fs::path dir = test::temp_dir() / name;
    fs::create_directories(dir);
    json tokenizer = json::parse(test::read_text_file(src / "tokenizer.json"));
    json config = json::parse(test::read_text_file(src / "config.json"));
    json tokenizer_config = json::parse(test::read_text_file(src / "tokenizer_config.json"));
    edit(tokenizer, config, tokenizer_config);
    std::ofstream(dir / "tokenizer.json") << tokenizer.dump();
    std::ofstream(dir / "config.json") << config.dump();
    std::ofstream(dir / "tokenizer_config.json") << tokenizer_config.dump();
    fs::copy_file(src / "chat_template.jinja", dir / "chat_template.jinja",
                  fs::copy_options::overwrite_existing);
    return dir;
}

TEST(TokenizerHfVocab, MergesAsStringsOrPairsGiveTheSameVocab) {
    RF_REQUIRE_SHARED();
    const Vocab pairs = vocab_from_hf((test::shared_dir() / "models" / "tiny-qwen3").string());
    const fs::path dir =
        edited_tiny_folder("tiny_merges_as_strings", [](json& tokenizer, json&, json&) {
            json strings = json::array();
            for (const json& m : tokenizer["model"]["merges"])
                strings.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
            tokenizer["model"]["merges"] = strings;
        });
    ASSERT_TRUE(json::parse(test::read_text_file(dir / "tokenizer.json"))["model"]["merges"][0]
                    .is_string());
    const Vocab strings = vocab_from_hf(dir.string());
    EXPECT_EQ(strings.merges, pairs.merges);
    EXPECT_EQ(strings.tokens, pairs.tokens);

    // A space inside a pair part is written as U+0120, as convert_hf_to_gguf.py does.
    const fs::path spaced =
        edited_tiny_folder("tiny_merges_with_space", [](json& tokenizer, json&, json&) {
            tokenizer["model"]["merges"][0] = json::array({"a b", "c"});
        });
    EXPECT_EQ(vocab_from_hf(spaced.string()).merges[0],
              "a\xC4\xA0"
              "b c");
}

TEST(TokenizerHfVocab, ConfigVocabSizePadsWithUnusedTokens) {
    RF_REQUIRE_SHARED();
    const fs::path dir = edited_tiny_folder(
        "tiny_padded", [](json&, json& config, json&) { config["vocab_size"] = 8200; });
    const Vocab vocab = vocab_from_hf(dir.string());
    ASSERT_EQ(vocab.tokens.size(), 8200u);
    EXPECT_EQ(vocab.tokens[8195], "[PAD8195]");
    EXPECT_EQ(vocab.type_of(8195), TokenType::unused);
    const Tokenizer tokenizer(vocab);
    EXPECT_EQ(tokenizer.token_to_piece(8195), "");
}

TEST(TokenizerHfVocab, TemplateProcessingAndTokenizerConfigFlags) {
    RF_REQUIRE_SHARED();
    auto with_template = [](json& tokenizer, json&, json& tc) {
        tokenizer["post_processor"] = {
            {"type", "TemplateProcessing"},
            {"single", json::array({{{"SpecialToken", {{"id", "<|im_start|>"}, {"type_id", 0}}}},
                                    {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                                    {{"SpecialToken", {{"id", "<|im_end|>"}, {"type_id", 0}}}}})},
        };
        tc["bos_token"] = "<|im_start|>";
        tc["eos_token"] = {{"content", "<|im_end|>"}, {"special", true}};  // the object form
    };
    const Vocab v = vocab_from_hf(edited_tiny_folder("tiny_template", with_template).string());
    EXPECT_EQ(v.add_bos_token, std::optional<bool>(true));
    EXPECT_EQ(v.add_eos_token, std::optional<bool>(true));
    EXPECT_EQ(v.bos_token_id, 8190);  // tokenizer_config.json wins over config.json's 8189
    EXPECT_EQ(v.eos_token_id, 8191);
    const Vocab overridden =
        vocab_from_hf(edited_tiny_folder("tiny_template_override", [&](json& t, json& c, json& tc) {
                          with_template(t, c, tc);
                          tc["add_eos_token"] = false;
                          tc["chat_template"] = "{{ messages }}";
                      }).string());
    EXPECT_EQ(overridden.add_bos_token, std::optional<bool>(true));
    EXPECT_EQ(overridden.add_eos_token, std::optional<bool>(false));
    EXPECT_EQ(overridden.chat_template,
              "{{ messages }}");  // tokenizer_config.json before chat_template.jinja
    const Tokenizer t(overridden);
    EXPECT_EQ(t.encode("hi", true, false).front(), 8190);
}

TEST(TokenizerHfVocab, PreTokenizerFromTheRegex) {
    RF_REQUIRE_SHARED();
    auto pre_with = [](const std::string& name, const json& pre_tokenizer) {
        return vocab_from_hf(
                   edited_tiny_folder(
                       name, [&](json& t, json&, json&) { t["pre_tokenizer"] = pre_tokenizer; })
                       .string())
            .pre;
    };
    auto split = [](const std::string& regex) {
        return json{
            {"type", "Sequence"},
            {"pretokenizers", json::array({{{"type", "Split"},
                                            {"pattern", {{"Regex", regex}}},
                                            {"behavior", "Isolated"},
                                            {"invert", false}},
                                           {{"type", "ByteLevel"}, {"use_regex", false}}})}};
    };
    EXPECT_EQ(
        pre_with("tiny_pre_llama3",
                 split("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
                       "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")),
        "llama-bpe");
    EXPECT_EQ(
        pre_with("tiny_pre_qwen35",
                 split("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| "
                       "?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")),
        "qwen35");
    EXPECT_EQ(pre_with("tiny_pre_gpt2",
                       {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}),
              "gpt-2");
}

TEST(TokenizerHfVocab, Errors) {
    RF_REQUIRE_SHARED();
    auto expect_error = [](const fs::path& dir, const std::string& fragment) {
        try {
            vocab_from_hf(dir.string());
            ADD_FAILURE() << "no error for " << dir;
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
        }
    };
    expect_error(test::temp_dir() / "no_such_folder", "tokenizer.json not found");
    expect_error(
        edited_tiny_folder("tiny_byte_fallback",
                           [](json& t, json&, json&) { t["model"]["byte_fallback"] = true; }),
        "with byte_fallback is not supported");
    expect_error(edited_tiny_folder("tiny_unknown_regex",
                                    [](json& t, json&, json&) {
                                        t["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] =
                                            "\\w+";
                                    }),
                 "pre-tokenizer regex '\\w+' matches no known tokenizer.ggml.pre");
    expect_error(edited_tiny_folder("tiny_nfkc",
                                    [](json& t, json&, json&) {
                                        t["normalizer"] = {{"type", "NFKC"}};
                                    }),
                 "is not supported (supported: NFC)");
    expect_error(edited_tiny_folder("tiny_bad_id_type",
                                    [](json& t, json&, json&) { t["model"]["vocab"]["a"] = "x"; }),
                 "unexpected content");
    expect_error(edited_tiny_folder("tiny_small_vocab_size",
                                    [](json&, json& c, json&) { c["vocab_size"] = 100; }),
                 "is not below the vocab size 100");
}

}  // namespace
}  // namespace rf
