// GPT-2 byte-level encoding: every byte 0..255 is written as one printable Unicode character so
// that byte-level BPE vocabularies ("gpt2" model) are plain strings. Bytes that are printable
// Latin-1 ('!'..'~', '¡'..'¬', '®'..'ÿ') map to themselves; the other 68 map, in byte order,
// to U+0100, U+0101, ... (so ' ' is 'Ġ' U+0120 and '\n' is 'Ċ' U+010A).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace rf::byte_level {

// UTF-8 of the character that stands for byte b.
const std::string& byte_to_utf8(uint8_t b);

// The byte a code point stands for, or -1 when cp is not one of the 256 characters.
int codepoint_to_byte(uint32_t cp);

// Raw bytes -> byte-level string ("a b" -> "aĠb").
std::string encode(std::string_view bytes);

// Byte-level string -> raw bytes. Characters outside the table (and invalid UTF-8) are copied
// through unchanged, so decoding never fails.
std::string decode(std::string_view text);

}  // namespace rf::byte_level
