// Tokenizer vocabulary as plain data. Each field mirrors one GGUF key of the llama.cpp
// ecosystem (tokenizer.ggml.* and tokenizer.chat_template), so vocab_from_gguf / vocab_to_gguf
// are one-to-one copies:
//
// clang-format off
//   model              tokenizer.ggml.model        "gpt2" (byte-level BPE) or "llama" (SentencePiece)
//   pre                tokenizer.ggml.pre          pre-tokenizer name ("qwen2", "llama-bpe", ...)
//   tokens             tokenizer.ggml.tokens       [n_vocab] text (byte-level characters for gpt2)
//   scores             tokenizer.ggml.scores       [n_vocab] SPM merge priority, or empty
//   token_type         tokenizer.ggml.token_type   [n_vocab] TokenType, or empty (all normal)
//   merges             tokenizer.ggml.merges       "left right", highest priority first (gpt2)
//   <x>_token_id       tokenizer.ggml.<x>_token_id -1 when the key is absent
//   add_bos_token ...  tokenizer.ggml.add_bos_token std::nullopt when the key is absent
//   chat_template      tokenizer.chat_template     "" when absent
// clang-format on
//
// One field has no llama.cpp key: `normalizer` (see its comment); the GGUF glue decides whether
// and under which key to store it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace rf {

// tokenizer.ggml.token_type values (llama.cpp's llama_token_type).
enum class TokenType : int32_t {
    undefined = 0,
    normal = 1,
    unknown = 2,
    control = 3,       // special tokens (<|im_start|>): matched in text only when parse_special
    user_defined = 4,  // added tokens that are always matched in text (<think> in Qwen3)
    unused = 5,
    byte = 6,  // <0xXX> byte-fallback tokens (SPM)
};

struct Vocab {
    std::string model;
    std::string pre;
    std::vector<std::string> tokens;
    std::vector<float> scores;
    std::vector<int32_t> token_type;
    std::vector<std::string> merges;

    int32_t bos_token_id = -1;        // tokenizer.ggml.bos_token_id
    int32_t eos_token_id = -1;        // tokenizer.ggml.eos_token_id
    int32_t unknown_token_id = -1;    // tokenizer.ggml.unknown_token_id
    int32_t separator_token_id = -1;  // tokenizer.ggml.seperator_token_id (llama.cpp's spelling)
    int32_t padding_token_id = -1;    // tokenizer.ggml.padding_token_id
    int32_t cls_token_id = -1;        // tokenizer.ggml.cls_token_id
    int32_t mask_token_id = -1;       // tokenizer.ggml.mask_token_id
    int32_t eot_token_id = -1;        // tokenizer.ggml.eot_token_id
    int32_t eom_token_id = -1;        // tokenizer.ggml.eom_token_id

    // Absent keys take llama.cpp's defaults (see tokenizer.h): add BOS for "llama" and
    // "llama-bpe", never add EOS, add a space prefix for "llama".
    std::optional<bool> add_bos_token;     // tokenizer.ggml.add_bos_token
    std::optional<bool> add_eos_token;     // tokenizer.ggml.add_eos_token
    std::optional<bool> add_space_prefix;  // tokenizer.ggml.add_space_prefix

    std::string chat_template;  // tokenizer.chat_template

    // Unicode normalization applied to text before pre-tokenization: "" (none) or "NFC".
    // tokenizer.json of the real Qwen2/Qwen3 tokenizers asks for NFC; llama.cpp has no GGUF key
    // for it and never normalizes, so a vocab read from a llama.cpp GGUF leaves this empty.
    std::string normalizer;

    int32_t n_tokens() const { return static_cast<int32_t>(tokens.size()); }
    TokenType type_of(int32_t id) const {
        return token_type.empty() ? TokenType::normal : static_cast<TokenType>(token_type[id]);
    }
};

// Checks sizes, ids and names; throws rf::Error naming the field and the value, e.g.
// "tokenizer: vocab has no merges (tokenizer.ggml.merges)". The Tokenizer constructor calls it.
void validate_vocab(const Vocab& vocab);

// `text` for an error message: control bytes (NUL included, which would end the message's C
// string) written as \xNN, everything else as is.
std::string printable_bytes(std::string_view text);

// Token text -> id for every non-empty token; the views point into vocab.tokens (keep the Vocab
// alive and unmodified). Throws rf::Error for a duplicate token text, as llama.cpp does.
using TokenIndex = std::unordered_map<std::string_view, int32_t>;
TokenIndex index_tokens(const Vocab& vocab);

}  // namespace rf
