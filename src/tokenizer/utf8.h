// UTF-8 helpers for the tokenizers. "Valid" is the strict definition of Unicode Table 3-7: no
// overlong forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF — the same rules PCRE2
// (PCRE2_MATCH_INVALID_UTF) and utf8proc apply, so all three agree on where invalid bytes are.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace rf::utf8 {

// Length (1..4) of the valid UTF-8 sequence starting at s[0], or 0 when s starts with an invalid
// or truncated sequence (or is empty).
size_t valid_sequence_length(std::string_view s);

// Length of the symbol starting at s[0] when text is cut into characters: the valid sequence
// length, or 1 for a byte that does not start a valid sequence (so invalid bytes become
// one-byte symbols and every byte of the input is kept). 0 only for an empty s.
inline size_t symbol_length(std::string_view s) {
    const size_t n = valid_sequence_length(s);
    return n != 0 ? n : (s.empty() ? 0 : 1);
}

// Number of bytes at the end of s that form the beginning of a valid UTF-8 sequence still
// missing its last byte(s) (0..3): these are held back by a streaming decoder. Bytes that can
// never complete (a stray continuation byte, an invalid lead byte) are not counted.
size_t incomplete_tail_length(std::string_view s);

// True when all of s is valid UTF-8.
bool is_valid(std::string_view s);

// Appends the UTF-8 encoding of code point cp (cp <= 0x10FFFF).
void append_codepoint(std::string& out, uint32_t cp);

// Decodes the valid sequence of length n (from valid_sequence_length) at s[0].
uint32_t decode_codepoint(std::string_view s, size_t n);

}  // namespace rf::utf8
