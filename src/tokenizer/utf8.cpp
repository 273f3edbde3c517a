#include "tokenizer/utf8.h"

namespace rf::utf8 {
namespace {

// Sequence length announced by a lead byte (0 for bytes that cannot start a sequence) and the
// allowed range of the second byte (Unicode Table 3-7).
struct LeadInfo {
    uint8_t length;
    uint8_t second_lo;
    uint8_t second_hi;
};

LeadInfo lead_info(uint8_t b) {
    if (b < 0x80) return {1, 0, 0};
    if (b < 0xC2) return {0, 0, 0};  // continuation byte or overlong 2-byte lead
    if (b < 0xE0) return {2, 0x80, 0xBF};
    if (b == 0xE0) return {3, 0xA0, 0xBF};  // no overlong 3-byte forms
    if (b == 0xED) return {3, 0x80, 0x9F};  // no surrogates
    if (b < 0xF0) return {3, 0x80, 0xBF};
    if (b == 0xF0) return {4, 0x90, 0xBF};  // no overlong 4-byte forms
    if (b < 0xF4) return {4, 0x80, 0xBF};
    if (b == 0xF4) return {4, 0x80, 0x8F};  // nothing above U+10FFFF
    return {0, 0, 0};
}

bool is_continuation(uint8_t b) {
    return (b & 0xC0) == 0x80;
}

}  // namespace

size_t valid_sequence_length(std::string_view s) {
    if (s.empty()) return 0;
    const auto* p = reinterpret_cast<const uint8_t*>(s.data());
    if (p[0] < 0x80) return 1;
    const LeadInfo info = lead_info(p[0]);
    if (info.length == 0 || s.size() < info.length) return 0;
    if (p[1] < info.second_lo || p[1] > info.second_hi) return 0;
    for (size_t i = 2; i < info.length; ++i) {
        if (!is_continuation(p[i])) return 0;
    }
    return info.length;
}

size_t incomplete_tail_length(std::string_view s) {
    const auto* p = reinterpret_cast<const uint8_t*>(s.data());
    const size_t n = s.size();
    // The lead byte of an incomplete sequence is at most 3 bytes from the end.
    for (size_t back = 1; back <= 3 && back <= n; ++back) {
        const uint8_t b = p[n - back];
        if (is_continuation(b)) continue;
        const LeadInfo info = lead_info(b);
        if (info.length <= back) return 0;  // ASCII, invalid lead, or a complete sequence
        if (back >= 2 && (p[n - back + 1] < info.second_lo || p[n - back + 1] > info.second_hi))
            return 0;
        return back;  // later bytes are continuation bytes (checked by the loop)
    }
    return 0;
}

bool is_valid(std::string_view s) {
    while (!s.empty()) {
        const size_t n = valid_sequence_length(s);
        if (n == 0) return false;
        s.remove_prefix(n);
    }
    return true;
}

void append_codepoint(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

uint32_t decode_codepoint(std::string_view s, size_t n) {
    const auto* p = reinterpret_cast<const uint8_t*>(s.data());
    switch (n) {
        case 1:
            return p[0];
        case 2:
            return (uint32_t(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
        case 3:
            return (uint32_t(p[0] & 0x0F) << 12) | (uint32_t(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
        default:
            return (uint32_t(p[0] & 0x07) << 18) | (uint32_t(p[1] & 0x3F) << 12) |
                   (uint32_t(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
    }
}

}  // namespace rf::utf8
