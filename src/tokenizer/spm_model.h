// SentencePiece-style BPE ("llama" vocabularies), the algorithm of llama.cpp's SPM tokenizer:
// spaces are written as U+2581 "▁" (and, with add_space_prefix, one "▁" starts each text
// fragment), the text is cut into UTF-8 characters, and the adjacent pair whose concatenation
// is the token with the highest score is merged until no pair is a token. Characters that end
// up as no token fall back to byte tokens <0xXX> (or, failing that, the unknown token).
//
// Merge targets are normal and user-defined tokens only: control, unknown, unused and byte
// tokens are never produced from plain text (llama.cpp would also merge into those).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace rf {

// " a b" -> "▁a▁b"; with add_prefix one more "▁" in front.
std::string spm_escape_whitespace(std::string_view text, bool add_prefix);

class SpmModel {
  public:
    SpmModel(const Vocab& vocab, const TokenIndex& index);

    // Appends the ids of one escaped fragment (see spm_escape_whitespace) to `out`.
    void encode_fragment(std::string_view escaped, std::vector<int32_t>& out) const;

  private:
    // Id of `text` when it is a token plain text may turn into, else -1.
    int32_t mergeable_token(std::string_view text) const;
    void append_bytes(std::string_view bytes, std::vector<int32_t>& out) const;

    const Vocab& vocab_;
    const TokenIndex& index_;
    std::array<int32_t, 256>
        byte_tokens_{};  // byte -> <0xXX> token (or the one-byte token), -1 if none
};

}  // namespace rf
