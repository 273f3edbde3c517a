// Tokenizer facade over a Vocab: byte-level BPE ("gpt2") or SentencePiece-style ("llama").
//
// encode(text):
//   1. BOS when add_special and the vocab adds one (tokenizer.ggml.add_bos_token; absent: yes
//      for "llama" and llama3-style "gpt2" vocabs, no otherwise — llama.cpp's defaults);
//   2. special tokens are split out (longest match, left to right): control tokens when
//      parse_special, user-defined tokens always;
//   3. every text fragment is normalized (Vocab::normalizer), then
//      gpt2:  split by the pre-tokenizer regex of tokenizer.ggml.pre, each piece merged by BPE;
//      llama: spaces become "▁" (one more in front of a fragment at the start or after a
//             special token when add_space_prefix), then SentencePiece merging by score;
//   4. EOS when add_special and tokenizer.ggml.add_eos_token.
//
// decode / token_to_piece turn ids back into bytes: byte-level characters back to bytes, "▁"
// back to spaces, <0xXX> tokens to their byte, control tokens to their text (or nothing with
// skip_special). For "llama" vocabs with add_space_prefix, the one space encode put in front of
// a fragment is removed again, so decode(encode(x)) == x for every x, invalid UTF-8 included.
//
// Construction validates the vocab (validate_vocab, duplicate tokens, merges) and throws
// rf::Error naming the problem. All methods are const and thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace rf {

class Tokenizer {
  public:
    explicit Tokenizer(Vocab vocab);
    ~Tokenizer();
    Tokenizer(Tokenizer&&) noexcept;
    Tokenizer& operator=(Tokenizer&&) noexcept;

    std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const;

    // Concatenated pieces of `ids`; with skip_special, control and unknown tokens give nothing.
    // Throws rf::Error for an id outside [0, n_vocab).
    std::string decode(std::span<const int32_t> ids, bool skip_special = false) const;

    // The bytes token `id` stands for (may be an incomplete UTF-8 sequence). With special ==
    // false, control and unknown tokens give "". Unused tokens always give "".
    const std::string& token_to_piece(int32_t id, bool special = true) const;

    int32_t n_vocab() const;
    const Vocab& vocab() const;
    TokenType token_type(int32_t id) const;
    bool is_control(int32_t id) const;  // control or unknown: hidden by skip_special

    int32_t bos_id() const;  // -1 when the vocab has none
    int32_t eos_id() const;
    // tokenizer.ggml.eot_token_id, else the first of <|eot_id|>, <|im_end|>, <|end|>,
    // <end_of_turn>, <|endoftext|> in the vocab (llama.cpp detects it by text, too).
    int32_t eot_id() const;
    int32_t pad_id() const;
    int32_t unknown_id() const;
    bool add_bos() const;  // the resolved flags (GGUF key, else llama.cpp's default)
    bool add_eos() const;
    bool add_space_prefix() const;
    // End of generation: eos, eot, eom, and control tokens such as <|im_end|>, <|endoftext|>,
    // <|eot_id|>, <end_of_turn> (llama.cpp's list).
    bool is_eog(int32_t id) const;
    const std::vector<int32_t>& eog_ids() const;

    // Token id of exactly this text, or -1.
    int32_t find_token(std::string_view text) const;

    // For the streaming detokenizer and decode: appends token `id` to `out`, removing the
    // space-prefix space when `strip_leading_space` is set and updating it for the next token.
    void append_piece(int32_t id, bool skip_special, bool& strip_leading_space,
                      std::string& out) const;
    // The initial value of strip_leading_space for a new decode.
    bool strips_space_prefix() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace rf
