#include "tokenizer/vocab_from_hf.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "core/error.h"
#include "tokenizer/pre_tokenizer.h"

namespace rf {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::optional<std::string> read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

std::optional<json> read_json(const fs::path& path) {
    const auto text = read_file(path);
    if (!text) return std::nullopt;
    try {
        return json::parse(*text);
    } catch (const json::exception& e) {
        fail("tokenizer: {}: invalid JSON: {}", path.string(), e.what());
    }
}

// object[key], or a null value when absent: a reference, so the big arrays are not copied.
const json& member(const json& object, const char* key) {
    static const json kNull;
    return object.is_object() && object.contains(key) ? object.at(key) : kNull;
}

// convert_hf_to_gguf.py does_token_look_special(): added tokens some models forget to mark
// special.
bool looks_special(const std::string& t) {
    auto wrapped = [&](std::string_view open, std::string_view close) {
        return t.size() >= open.size() + close.size() && t.starts_with(open) && t.ends_with(close);
    };
    return t == "<pad>" || t == "<mask>" || t == "<2mass>" || t == "[@BOS@]" ||
           wrapped("<|", "|>") || wrapped("<\xEF\xBD\x9C", "\xEF\xBD\x9C>") /* <｜...｜> */ ||
           wrapped("<unused", ">");
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
    for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
        s.replace(pos, from.size(), to);
    }
    return s;
}

// The regex of the first Split pre-tokenizer (top level or inside a Sequence), if any.
std::optional<std::string> split_regex(const json& pre) {
    if (!pre.is_object()) return std::nullopt;
    const std::string type = pre.value("type", "");
    if (type == "Split" && pre.contains("pattern") && pre["pattern"].contains("Regex")) {
        return pre["pattern"]["Regex"].get<std::string>();
    }
    if (type == "Sequence") {
        for (const json& p : pre.value("pretokenizers", json::array())) {
            if (auto r = split_regex(p)) return r;
        }
    }
    return std::nullopt;
}

bool has_byte_level_regex(const json& pre) {
    if (!pre.is_object()) return false;
    const std::string type = pre.value("type", "");
    if (type == "ByteLevel") return pre.value("use_regex", true);
    if (type == "Sequence") {
        for (const json& p : pre.value("pretokenizers", json::array())) {
            if (has_byte_level_regex(p)) return true;
        }
    }
    return false;
}

std::string detect_pre(const json& tokenizer, const std::string& where) {
    const json& pre = member(tokenizer, "pre_tokenizer");
    if (const auto regex = split_regex(pre)) {
        if (const auto name = pre_tokenizer_for_hf_regex(*regex)) return *name;
        fail(
            "tokenizer: {}: pre-tokenizer regex '{}' matches no known tokenizer.ggml.pre "
            "(supported: {})",
            where, *regex, supported_pre_tokenizers());
    }
    if (has_byte_level_regex(pre)) return "gpt-2";
    fail("tokenizer: {}: pre_tokenizer {} is not a byte-level BPE pre-tokenizer rocmforge knows",
         where, pre.dump());
}

std::string detect_normalizer(const json& normalizer, const std::string& where) {
    if (normalizer.is_null()) return "";
    const std::string type = normalizer.value("type", "");
    if (type == "NFC") return "NFC";
    if (type == "Sequence") {
        std::string result;
        for (const json& n : normalizer.value("normalizers", json::array())) {
            const std::string r = detect_normalizer(n, where);
            RF_CHECK(result.empty() || r.empty(), "tokenizer: {}: more than one normalizer in {}",
                     where, normalizer.dump());
            if (!r.empty()) result = r;
        }
        return result;
    }
    fail("tokenizer: {}: normalizer {} is not supported (supported: NFC)", where,
         normalizer.dump());
}

std::vector<std::string> read_merges(const json& merges, const std::string& where) {
    std::vector<std::string> out;
    if (!merges.is_array()) return out;
    out.reserve(merges.size());
    for (const json& m : merges) {
        if (m.is_string()) {
            out.push_back(m.get<std::string>());
        } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
            // Pair form (transformers >= 4.45): a space inside a part is written as U+0120 'Ġ'.
            out.push_back(replace_all(m[0].get<std::string>(), " ", "\xC4\xA0") + " " +
                          replace_all(m[1].get<std::string>(), " ", "\xC4\xA0"));
        } else {
            fail("tokenizer: {}: model.merges entry {} is neither \"a b\" nor [\"a\", \"b\"]",
                 where, m.dump());
        }
    }
    return out;
}

// tokenizer_config.json "<typ>_token": a string or {"content": ...}.
std::optional<std::string> token_content(const json& config, const std::string& key) {
    if (!config.contains(key)) return std::nullopt;
    const json& entry = config[key];
    if (entry.is_string()) return entry.get<std::string>();
    if (entry.is_object() && entry.contains("content") && entry["content"].is_string()) {
        return entry["content"].get<std::string>();
    }
    return std::nullopt;
}

// config.json "vocab_size" (or text_config.vocab_size), if present.
std::optional<size_t> config_vocab_size(const std::optional<json>& config) {
    if (!config) return std::nullopt;
    for (const json* c : {&*config, &member(*config, "text_config")}) {
        const json& size = member(*c, "vocab_size");
        if (size.is_number_unsigned()) return size.get<size_t>();
    }
    return std::nullopt;
}

// tokens and token_type, as convert_hf_to_gguf.py get_vocab_base() writes them.
void read_tokens(const json& model, const json& added_tokens, const std::optional<json>& config,
                 const std::string& where, Vocab& vocab) {
    struct Entry {
        std::optional<std::string> text;
        bool added = false;
        bool special = false;
    };
    std::vector<Entry> by_id;
    size_t n_distinct = 0;  // ids with a token
    auto put = [&](const json& id_value, const std::string& text) -> Entry& {
        const int64_t id = id_value.get<int64_t>();
        RF_CHECK(id >= 0 && id < (int64_t{1} << 31), "tokenizer: {}: token '{}' has id {}", where,
                 text, id);
        if (static_cast<size_t>(id) >= by_id.size()) by_id.resize(id + 1);
        Entry& e = by_id[id];
        if (!e.text) ++n_distinct;
        e.text = text;
        return e;
    };
    const json& bpe_vocab = member(model, "vocab");
    RF_CHECK(bpe_vocab.is_object(), "tokenizer: {}: model.vocab is not an object", where);
    for (const auto& [text, id] : bpe_vocab.items()) put(id, text);
    // Added tokens may repeat vocab entries; their text and flags win.
    for (const json& added : added_tokens) {
        Entry& e = put(added.at("id"), added.at("content").get<std::string>());
        e.added = true;
        e.special = added.value("special", false);
    }

    const size_t n_vocab = config_vocab_size(config).value_or(n_distinct);
    RF_CHECK(by_id.size() <= n_vocab, "tokenizer: {}: token id {} is not below the vocab size {}",
             where, by_id.size() - 1, n_vocab);
    vocab.tokens.reserve(n_vocab);
    vocab.token_type.reserve(n_vocab);
    auto add = [&](std::string text, TokenType type) {
        vocab.tokens.push_back(std::move(text));
        vocab.token_type.push_back(static_cast<int32_t>(type));
    };
    for (size_t id = 0; id < n_vocab; ++id) {
        const Entry* e = id < by_id.size() ? &by_id[id] : nullptr;
        if (e == nullptr || !e->text) {
            add("[PAD" + std::to_string(id) + "]", TokenType::unused);
        } else if (!e->added) {
            add(*e->text, TokenType::normal);
        } else if (e->special || looks_special(*e->text)) {
            add(*e->text, TokenType::control);
        } else {
            add(replace_all(*e->text, "\xE2\x96\x81", " "), TokenType::user_defined);  // "▁" -> " "
        }
    }
}

// add_bos_token / add_eos_token implied by the post-processor: RobertaProcessing adds both; a
// TemplateProcessing whose single-sequence template starts with the BOS (or CLS) token adds
// BOS, one that ends with the EOS token adds EOS.
void read_post_processor(const json& post, const json& tc, Vocab& vocab) {
    if (!post.is_object()) return;
    const json processors =
        post.contains("processors") ? post.at("processors") : json::array({post});
    auto special_id = [](const json& item) -> std::optional<std::string> {
        if (!item.contains("SpecialToken")) return std::nullopt;
        return item.at("SpecialToken").value("id", "");
    };
    for (const json& p : processors) {
        const std::string type = p.value("type", "");
        if (type == "RobertaProcessing") {
            vocab.add_bos_token = true;
            vocab.add_eos_token = true;
        }
        const json& single = member(p, "single");
        if (type != "TemplateProcessing" || !single.is_array() || single.size() < 2) continue;
        if (const auto first = special_id(single.front())) {
            vocab.add_bos_token = *first == token_content(tc, "bos_token").value_or("") ||
                                  *first == token_content(tc, "cls_token").value_or("");
        }
        if (const auto last = special_id(single.back())) {
            vocab.add_eos_token = *last == token_content(tc, "eos_token").value_or("");
        }
    }
}

// tokenizer_config.json "chat_template" (a string, or named templates of which "default" is
// taken), else chat_template.jinja, else chat_template.json.
std::string read_chat_template(const fs::path& root, const json& tc) {
    const json& t = member(tc, "chat_template");
    if (t.is_string()) return t.get<std::string>();
    if (t.is_array()) {
        for (const json& named : t) {
            if (named.value("name", "") == "default") return named.value("template", "");
        }
        return "";
    }
    if (const auto jinja = read_file(root / "chat_template.jinja")) return *jinja;
    if (const auto chat_json = read_json(root / "chat_template.json"))
        return chat_json->value("chat_template", "");
    return "";
}

Vocab read_vocab(const std::string& dir) {
    const fs::path root(dir);
    const fs::path tokenizer_path = root / "tokenizer.json";
    const std::string where = tokenizer_path.string();
    const auto tokenizer = read_json(tokenizer_path);
    RF_CHECK(tokenizer.has_value(), "tokenizer: {} not found", where);
    const auto tokenizer_config = read_json(root / "tokenizer_config.json");
    const auto config = read_json(root / "config.json");

    const json& model = member(*tokenizer, "model");
    RF_CHECK(model.is_object(), "tokenizer: {}: no \"model\" object", where);
    const std::string model_type = model.value("type", "");
    const bool byte_fallback = model.value("byte_fallback", false);
    RF_CHECK(model_type == "BPE" && !byte_fallback,
             "tokenizer: {}: model type '{}'{} is not supported; vocab_from_hf reads byte-level "
             "BPE tokenizers",
             where, model_type, byte_fallback ? " with byte_fallback" : "");

    Vocab vocab;
    vocab.model = "gpt2";
    vocab.pre = detect_pre(*tokenizer, where);
    vocab.normalizer = detect_normalizer(member(*tokenizer, "normalizer"), where);
    const json& added_tokens = member(*tokenizer, "added_tokens");
    read_tokens(model, added_tokens, config, where, vocab);
    vocab.merges = read_merges(member(model, "merges"), where);

    // Special token ids: tokenizer_config.json first, then config.json; the first value wins.
    struct SpecialSlot {
        const char* name;
        int32_t* id;
    };
    const SpecialSlot slots[] = {
        {"bos", &vocab.bos_token_id},     {"eos", &vocab.eos_token_id},
        {"unk", &vocab.unknown_token_id}, {"sep", &vocab.separator_token_id},
        {"pad", &vocab.padding_token_id}, {"cls", &vocab.cls_token_id},
        {"mask", &vocab.mask_token_id},
    };
    auto set_special = [](const SpecialSlot& slot, const json& value, const fs::path& source) {
        if (!value.is_number_integer() || *slot.id >= 0) return;
        const int64_t id = value.get<int64_t>();
        RF_CHECK(id >= 0, "tokenizer: {}: invalid value for special token type {}: {}",
                 source.string(), slot.name, id);
        *slot.id = static_cast<int32_t>(id);
    };
    if (tokenizer_config) {
        json tc = *tokenizer_config;
        // As the converter: no BOS/EOS given means CLS/SEP stand in for them.
        const auto bos = token_content(tc, "bos_token");
        const auto eos = token_content(tc, "eos_token");
        const auto cls = token_content(tc, "cls_token");
        const auto sep = token_content(tc, "sep_token");
        if ((!bos || bos->empty()) && cls && !cls->empty()) tc["bos_token"] = *cls;
        if ((!eos || eos->empty()) && sep && !sep->empty()) tc["eos_token"] = *sep;

        read_post_processor(member(*tokenizer, "post_processor"), tc, vocab);
        if (member(tc, "add_bos_token").is_boolean())
            vocab.add_bos_token = tc.at("add_bos_token").get<bool>();
        if (member(tc, "add_eos_token").is_boolean())
            vocab.add_eos_token = tc.at("add_eos_token").get<bool>();

        // "<x>_token" names an added token; its id is the first added token with that text.
        for (const SpecialSlot& slot : slots) {
            const auto content = token_content(tc, std::string(slot.name) + "_token");
            if (!content) continue;
            for (const json& added : added_tokens) {
                if (added.value("content", "") == *content) {
                    set_special(slot, added.at("id"), root / "tokenizer_config.json");
                    break;
                }
            }
        }
        vocab.chat_template = read_chat_template(root, tc);
    }
    if (config) {
        for (const SpecialSlot& slot : slots) {
            const std::string key = std::string(slot.name) + "_token_id";
            const json& value = member(*config, key.c_str());
            set_special(
                slot, value.is_null() ? member(member(*config, "text_config"), key.c_str()) : value,
                root / "config.json");
        }
    }
    return vocab;
}

}  // namespace

Vocab vocab_from_hf(const std::string& dir) {
    try {
        return read_vocab(dir);
    } catch (const json::exception& e) {  // a field of the wrong JSON type
        fail("tokenizer: {}: unexpected content: {}", dir, e.what());
    }
}

}  // namespace rf
