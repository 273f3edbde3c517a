#include "tokenizer/vocab.h"

#include <limits>

#include "core/error.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/pre_tokenizer.h"

namespace rf {
namespace {

void check_special_id(const char* key, int32_t id, int32_t n_tokens) {
    RF_CHECK(id == -1 || (id >= 0 && id < n_tokens),
             "tokenizer: tokenizer.ggml.{} = {} is out of range (vocab has {} tokens)", key, id,
             n_tokens);
}

}  // namespace

void validate_vocab(const Vocab& vocab) {
    RF_CHECK(
        vocab.model == "gpt2" || vocab.model == "llama",
        "tokenizer: unknown tokenizer model '{}' (tokenizer.ggml.model); supported: gpt2, llama",
        vocab.model);
    RF_CHECK(!vocab.tokens.empty(), "tokenizer: vocab has no tokens (tokenizer.ggml.tokens)");
    RF_CHECK(vocab.tokens.size() < size_t(std::numeric_limits<int32_t>::max()),
             "tokenizer: vocab has {} tokens, more than int32 ids can address",
             vocab.tokens.size());
    const int32_t n = vocab.n_tokens();
    RF_CHECK(vocab.scores.empty() || vocab.scores.size() == vocab.tokens.size(),
             "tokenizer: tokenizer.ggml.scores has {} entries, expected {} (one per token)",
             vocab.scores.size(), n);
    RF_CHECK(vocab.token_type.empty() || vocab.token_type.size() == vocab.tokens.size(),
             "tokenizer: tokenizer.ggml.token_type has {} entries, expected {} (one per token)",
             vocab.token_type.size(), n);
    for (size_t i = 0; i < vocab.token_type.size(); ++i) {
        const int32_t t = vocab.token_type[i];
        RF_CHECK(t >= 0 && t <= static_cast<int32_t>(TokenType::byte),
                 "tokenizer: token {} '{}' has unknown type {} (tokenizer.ggml.token_type)", i,
                 vocab.tokens[i], t);
    }
    if (vocab.model == "gpt2") {
        RF_CHECK(!vocab.merges.empty(), "tokenizer: vocab has no merges (tokenizer.ggml.merges)");
        RF_CHECK(find_pre_tokenizer(vocab.pre).has_value(),
                 "tokenizer: unknown pre-tokenizer '{}' (tokenizer.ggml.pre); supported: {}",
                 vocab.pre, supported_pre_tokenizers());
    }
    check_special_id("bos_token_id", vocab.bos_token_id, n);
    check_special_id("eos_token_id", vocab.eos_token_id, n);
    check_special_id("unknown_token_id", vocab.unknown_token_id, n);
    check_special_id("seperator_token_id", vocab.separator_token_id, n);
    check_special_id("padding_token_id", vocab.padding_token_id, n);
    check_special_id("cls_token_id", vocab.cls_token_id, n);
    check_special_id("mask_token_id", vocab.mask_token_id, n);
    check_special_id("eot_token_id", vocab.eot_token_id, n);
    check_special_id("eom_token_id", vocab.eom_token_id, n);
    RF_CHECK(is_known_normalizer(vocab.normalizer),
             "tokenizer: unknown normalizer '{}' (supported: NFC)", vocab.normalizer);
}

std::string printable_bytes(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char ch : text) {
        const auto b = static_cast<unsigned char>(ch);
        if (b < 0x20 || b == 0x7f) out += fmt::format("\\x{:02x}", b);
        else out += ch;
    }
    return out;
}

TokenIndex index_tokens(const Vocab& vocab) {
    TokenIndex index;
    index.reserve(vocab.tokens.size());
    for (int32_t id = 0; id < vocab.n_tokens(); ++id) {
        if (vocab.tokens[id].empty()) continue;  // can never match text
        const auto [it, inserted] = index.emplace(vocab.tokens[id], id);
        RF_CHECK(inserted, "tokenizer: token {} '{}' duplicates token {} (tokenizer.ggml.tokens)",
                 id, printable_bytes(vocab.tokens[id]), it->second);
    }
    return index;
}

}  // namespace rf
