#include "tokenizer/vocab_gguf.h"

#include <algorithm>
#include <array>
#include <limits>
#include <string>

#include "core/error.h"
#include "formats/gguf/gguf_file.h"
#include "formats/gguf/gguf_writer.h"
#include "tokenizer/tokenizer.h"

namespace rf {
namespace {

// Special token ids: llama.cpp's SpecialVocab name, the key suffix and the Vocab field.
struct SpecialId {
    std::string_view name;
    const char* key;
    int32_t Vocab::*field;
};
constexpr std::array<SpecialId, 9> kSpecialIds = {{
    {"bos", "tokenizer.ggml.bos_token_id", &Vocab::bos_token_id},
    {"eos", "tokenizer.ggml.eos_token_id", &Vocab::eos_token_id},
    {"unk", "tokenizer.ggml.unknown_token_id", &Vocab::unknown_token_id},
    {"sep", "tokenizer.ggml.seperator_token_id", &Vocab::separator_token_id},
    {"pad", "tokenizer.ggml.padding_token_id", &Vocab::padding_token_id},
    {"cls", "tokenizer.ggml.cls_token_id", &Vocab::cls_token_id},
    {"mask", "tokenizer.ggml.mask_token_id", &Vocab::mask_token_id},
    {"eot", "tokenizer.ggml.eot_token_id", &Vocab::eot_token_id},
    {"eom", "tokenizer.ggml.eom_token_id", &Vocab::eom_token_id},
}};

struct Flag {
    const char* key;
    std::optional<bool> Vocab::*field;
};
constexpr std::array<Flag, 3> kFlags = {{
    {"tokenizer.ggml.add_bos_token", &Vocab::add_bos_token},
    {"tokenizer.ggml.add_eos_token", &Vocab::add_eos_token},
    {"tokenizer.ggml.add_space_prefix", &Vocab::add_space_prefix},
}};

constexpr const char* kModel = "tokenizer.ggml.model";
constexpr const char* kPre = "tokenizer.ggml.pre";
constexpr const char* kTokens = "tokenizer.ggml.tokens";
constexpr const char* kScores = "tokenizer.ggml.scores";
constexpr const char* kTokenType = "tokenizer.ggml.token_type";
constexpr const char* kMerges = "tokenizer.ggml.merges";
constexpr const char* kChatTemplate = "tokenizer.chat_template";

}  // namespace

Vocab vocab_from_gguf(const GgufFile& gguf) {
    const std::string& path = gguf.path();
    Vocab vocab;
    const auto model = gguf.get_string(kModel);
    RF_CHECK(model.has_value(), "gguf {}: key '{}' is missing: the file has no tokenizer", path,
             kModel);
    vocab.model = *model;
    vocab.pre = gguf.get_string(kPre).value_or("");

    const std::vector<std::string>* tokens = gguf.get_string_array(kTokens);
    RF_CHECK(tokens != nullptr, "gguf {}: key '{}' is missing", path, kTokens);
    vocab.tokens = *tokens;
    const size_t n_tokens = vocab.tokens.size();

    if (auto scores = gguf.get_float_array(kScores)) vocab.scores = std::move(*scores);
    if (const auto types = gguf.get_int_array(kTokenType)) {
        vocab.token_type.reserve(types->size());
        for (size_t i = 0; i < types->size(); ++i) {
            const int64_t t = (*types)[i];
            RF_CHECK(t >= std::numeric_limits<int32_t>::min() &&
                         t <= std::numeric_limits<int32_t>::max(),
                     "gguf {}: {}[{}] = {} does not fit in int32", path, kTokenType, i, t);
            vocab.token_type.push_back(static_cast<int32_t>(t));
        }
    }
    for (const char* key : {kScores, kTokenType}) {
        const size_t n = key == kScores ? vocab.scores.size() : vocab.token_type.size();
        RF_CHECK(n == 0 || n == n_tokens, "gguf {}: {} has {} entries, {} has {}", path, key, n,
                 kTokens, n_tokens);
    }
    if (const auto* merges = gguf.get_string_array(kMerges)) vocab.merges = *merges;

    for (const SpecialId& s : kSpecialIds) {
        const auto id = gguf.get_int(s.key);
        if (!id || *id == -1) continue;  // -1 (as i32): "none", as some writers store it
        RF_CHECK(*id >= 0 && static_cast<uint64_t>(*id) < n_tokens,
                 "gguf {}: {} = {} is out of range (the vocab has {} tokens)", path, s.key, *id,
                 n_tokens);
        vocab.*s.field = static_cast<int32_t>(*id);
    }
    for (const Flag& f : kFlags) vocab.*f.field = gguf.get_bool(f.key);
    vocab.chat_template = gguf.get_string(kChatTemplate).value_or("");
    vocab.normalizer = gguf.get_string(kGgufNormalizerKey).value_or("");

    try {
        validate_vocab(vocab);
    } catch (const Error& e) {
        fail("gguf {}: {}", path, e.what());
    }
    return vocab;
}

void vocab_to_gguf(const Vocab& vocab, GgufWriter& writer,
                   std::span<const std::string_view> special_id_order) {
    validate_vocab(vocab);
    writer.set_string(kModel, vocab.model);
    if (!vocab.pre.empty()) writer.set_string(kPre, vocab.pre);
    writer.set_string_array(kTokens, vocab.tokens);
    if (!vocab.scores.empty()) writer.set_f32_array(kScores, vocab.scores);
    if (!vocab.token_type.empty()) writer.set_i32_array(kTokenType, vocab.token_type);
    if (!vocab.merges.empty()) writer.set_string_array(kMerges, vocab.merges);

    // The requested order first, then the remaining ids in the canonical order.
    std::vector<const SpecialId*> order;
    for (std::string_view name : special_id_order) {
        const auto it = std::find_if(kSpecialIds.begin(), kSpecialIds.end(),
                                     [&](const SpecialId& s) { return s.name == name; });
        RF_CHECK(it != kSpecialIds.end(),
                 "vocab_to_gguf: unknown special token name '{}' (expected bos, eos, unk, sep, "
                 "pad, cls, mask, eot or eom)",
                 name);
        if (std::find(order.begin(), order.end(), &*it) == order.end()) order.push_back(&*it);
    }
    for (const SpecialId& s : kSpecialIds)
        if (std::find(order.begin(), order.end(), &s) == order.end()) order.push_back(&s);
    for (const SpecialId* s : order) {
        const int32_t id = vocab.*(s->field);
        if (id >= 0) writer.set_u32(s->key, static_cast<uint32_t>(id));
    }

    for (const Flag& f : kFlags)
        if (const auto& v = vocab.*f.field) writer.set_bool(f.key, *v);
    if (!vocab.chat_template.empty()) writer.set_string(kChatTemplate, vocab.chat_template);
    if (!vocab.normalizer.empty()) writer.set_string(kGgufNormalizerKey, vocab.normalizer);
}

Tokenizer tokenizer_from_gguf(const GgufFile& gguf) {
    Vocab vocab = vocab_from_gguf(gguf);  // (its errors name the file)
    try {
        return Tokenizer(std::move(vocab));
    } catch (const Error& e) {
        fail("gguf {}: {}", gguf.path(), e.what());
    }
}

}  // namespace rf
