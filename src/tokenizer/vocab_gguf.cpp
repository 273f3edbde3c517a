#include "tokenizer/vocab_gguf.h"

#include "core/error.h"
#include "formats/gguf/gguf_file.h"
#include "formats/gguf/gguf_writer.h"

namespace rf {
namespace {

constexpr const char* kNormalizerKey = "tokenizer.rocmforge.normalizer";

struct SpecialId {
    const char* key;
    int32_t Vocab::*field;
};
constexpr SpecialId kSpecialIds[] = {
    {"tokenizer.ggml.bos_token_id", &Vocab::bos_token_id},
    {"tokenizer.ggml.eos_token_id", &Vocab::eos_token_id},
    {"tokenizer.ggml.unknown_token_id", &Vocab::unknown_token_id},
    {"tokenizer.ggml.seperator_token_id", &Vocab::separator_token_id},
    {"tokenizer.ggml.padding_token_id", &Vocab::padding_token_id},
    {"tokenizer.ggml.cls_token_id", &Vocab::cls_token_id},
    {"tokenizer.ggml.mask_token_id", &Vocab::mask_token_id},
    {"tokenizer.ggml.eot_token_id", &Vocab::eot_token_id},
    {"tokenizer.ggml.eom_token_id", &Vocab::eom_token_id},
};

struct Flag {
    const char* key;
    std::optional<bool> Vocab::*field;
};
constexpr Flag kFlags[] = {
    {"tokenizer.ggml.add_bos_token", &Vocab::add_bos_token},
    {"tokenizer.ggml.add_eos_token", &Vocab::add_eos_token},
    {"tokenizer.ggml.add_space_prefix", &Vocab::add_space_prefix},
};

}  // namespace

Vocab vocab_from_gguf(const GgufFile& f) {
    Vocab v;
    v.model = f.get_string("tokenizer.ggml.model").value_or("");
    RF_CHECK(!v.model.empty(), "gguf {}: key 'tokenizer.ggml.model' is missing (the file has no tokenizer)", f.path());
    v.pre = f.get_string("tokenizer.ggml.pre").value_or("default");
    const auto* tokens = f.get_string_array("tokenizer.ggml.tokens");
    RF_CHECK(tokens != nullptr, "gguf {}: key 'tokenizer.ggml.tokens' is missing or not a string array", f.path());
    v.tokens = *tokens;
    if (f.has("tokenizer.ggml.scores")) {
        auto scores = f.get_float_array("tokenizer.ggml.scores");
        RF_CHECK(scores.has_value(), "gguf {}: key 'tokenizer.ggml.scores' is not a float array", f.path());
        v.scores = std::move(*scores);
    }
    if (f.has("tokenizer.ggml.token_type")) {
        auto types = f.get_int_array("tokenizer.ggml.token_type");
        RF_CHECK(types.has_value(), "gguf {}: key 'tokenizer.ggml.token_type' is not an integer array", f.path());
        v.token_type.assign(types->begin(), types->end());
    }
    if (f.has("tokenizer.ggml.merges")) {
        const auto* merges = f.get_string_array("tokenizer.ggml.merges");
        RF_CHECK(merges != nullptr, "gguf {}: key 'tokenizer.ggml.merges' is not a string array", f.path());
        v.merges = *merges;
    }
    for (const auto& s : kSpecialIds) {
        if (const auto id = f.get_int(s.key)) {
            RF_CHECK(*id >= -1 && *id < static_cast<int64_t>(v.tokens.size()),
                     "gguf {}: key '{}' = {} is not a token id (vocabulary of {})", f.path(), s.key, *id, v.tokens.size());
            v.*(s.field) = static_cast<int32_t>(*id);
        }
    }
    for (const auto& fl : kFlags)
        if (const auto b = f.get_bool(fl.key)) v.*(fl.field) = *b;
    v.chat_template = f.get_string("tokenizer.chat_template").value_or("");
    v.normalizer = f.get_string(kNormalizerKey).value_or("");
    try {
        validate_vocab(v);
    } catch (const Error& e) {
        fail("gguf {}: {}", f.path(), e.what());
    }
    return v;
}

void vocab_to_gguf(const Vocab& v, GgufWriter& w) {
    w.set_string("tokenizer.ggml.model", v.model);
    w.set_string("tokenizer.ggml.pre", v.pre);
    w.set_string_array("tokenizer.ggml.tokens", v.tokens);
    if (!v.scores.empty()) w.set_f32_array("tokenizer.ggml.scores", v.scores);
    if (!v.token_type.empty()) w.set_i32_array("tokenizer.ggml.token_type", v.token_type);
    if (!v.merges.empty()) w.set_string_array("tokenizer.ggml.merges", v.merges);
    for (const auto& s : kSpecialIds)
        if (v.*(s.field) >= 0) w.set_u32(s.key, static_cast<uint32_t>(v.*(s.field)));
    for (const auto& fl : kFlags)
        if ((v.*(fl.field)).has_value()) w.set_bool(fl.key, *(v.*(fl.field)));
    if (!v.chat_template.empty()) w.set_string("tokenizer.chat_template", v.chat_template);
    if (!v.normalizer.empty()) w.set_string(kNormalizerKey, v.normalizer);
}

}  // namespace rf
