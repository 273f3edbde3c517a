#include "tokenizer/normalizer.h"

#include <utf8proc.h>

#include <cstdlib>

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace rf {
namespace {

bool is_ascii(char c) {
    return static_cast<unsigned char>(c) < 0x80;
}

// NFC of a segment that may hold invalid bytes: each maximal valid run goes through utf8proc.
void nfc_segment(std::string_view segment, std::string& out) {
    while (!segment.empty()) {
        size_t valid = 0;
        while (valid < segment.size()) {
            const size_t n = utf8::valid_sequence_length(segment.substr(valid));
            if (n == 0) break;
            valid += n;
        }
        if (valid > 0) {
            utf8proc_uint8_t* normalized = nullptr;
            const utf8proc_ssize_t n =
                utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(segment.data()),
                             static_cast<utf8proc_ssize_t>(valid), &normalized,
                             static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
            if (n < 0) {
                fail("tokenizer: NFC normalization failed: {}", utf8proc_errmsg(n));
            }
            out.append(reinterpret_cast<const char*>(normalized), static_cast<size_t>(n));
            std::free(normalized);
            segment.remove_prefix(valid);
        }
        // Invalid bytes up to the next valid sequence are kept as they are.
        size_t invalid = 0;
        while (invalid < segment.size() &&
               utf8::valid_sequence_length(segment.substr(invalid)) == 0)
            ++invalid;
        out.append(segment.substr(0, invalid));
        segment.remove_prefix(invalid);
    }
}

}  // namespace

std::string nfc_normalize(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    size_t emitted = 0;
    size_t i = 0;
    while (i < text.size()) {
        if (is_ascii(text[i])) {
            ++i;
            continue;
        }
        // A non-ASCII run [i, end), plus the ASCII character before it: ASCII characters never
        // compose with what precedes them, so the boundaries before ASCII characters are stable.
        const size_t begin = (i > emitted) ? i - 1 : i;
        size_t end = i;
        while (end < text.size() && !is_ascii(text[end])) ++end;
        out.append(text.substr(emitted, begin - emitted));
        nfc_segment(text.substr(begin, end - begin), out);
        emitted = i = end;
    }
    out.append(text.substr(emitted));
    return out;
}

std::string_view apply_normalizer(std::string_view normalizer, std::string_view text,
                                  std::string& scratch) {
    if (normalizer.empty()) return text;
    if (normalizer == "NFC") {
        bool ascii = true;
        for (const char c : text) ascii &= is_ascii(c);
        if (ascii) return text;
        scratch = nfc_normalize(text);
        return scratch;
    }
    fail("tokenizer: unknown normalizer '{}' (supported: NFC)", normalizer);
}

bool is_known_normalizer(std::string_view name) {
    return name.empty() || name == "NFC";
}

}  // namespace rf
