// Incremental detokenizer for streaming generation: feed one token id at a time, get back only
// text that is complete UTF-8. Bytes that start a valid UTF-8 sequence still missing its last
// byte(s) are held until a later token completes it; bytes that can never complete (a stray
// continuation byte, an invalid lead byte, a sequence cut by the next token) are passed through
// as they are, and flush() returns whatever is still held at the end. Concatenating every
// push() and the final flush() gives exactly Tokenizer::decode of the same ids.
#pragma once

#include <cstdint>
#include <string>

#include "tokenizer/tokenizer.h"

namespace rf {

class StreamingDetokenizer {
  public:
    // `tokenizer` must outlive this object. skip_special: control tokens give no text.
    explicit StreamingDetokenizer(const Tokenizer& tokenizer, bool skip_special = false);

    // Text that became complete with token `id` (often empty for a byte token mid-character).
    std::string push(int32_t id);
    // The held bytes of an unfinished sequence, as they are; resets for a new stream.
    std::string flush();
    // Bytes currently held back (0..3).
    size_t pending_bytes() const { return pending_.size(); }

  private:
    const Tokenizer& tokenizer_;
    bool skip_special_;
    bool strip_leading_space_;
    std::string pending_;
};

}  // namespace rf
