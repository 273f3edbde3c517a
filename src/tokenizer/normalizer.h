// Unicode normalization of text before pre-tokenization (Vocab::normalizer), with utf8proc.
#pragma once

#include <string>
#include <string_view>

namespace rf {

// NFC of `text`. Invalid UTF-8 bytes are kept as they are and act as boundaries (nothing
// composes across them), so the function never fails. ASCII-only text is returned unchanged
// without calling utf8proc; elsewhere only the non-ASCII runs (with the ASCII character before
// each, which may compose with a following combining mark) go through utf8proc.
std::string nfc_normalize(std::string_view text);

// Applies the normalizer named by Vocab::normalizer ("" or "NFC"); `scratch` receives the
// normalized text when it differs. Returns a view of the text to tokenize.
std::string_view apply_normalizer(std::string_view normalizer, std::string_view text,
                                  std::string& scratch);

// True when `name` is a normalizer apply_normalizer knows.
bool is_known_normalizer(std::string_view name);

}  // namespace rf
