#include "tokenizer/byte_level.h"

#include "tokenizer/utf8.h"

namespace rf::byte_level {
namespace {

struct Tables {
    std::array<std::string, 256> utf8;
    std::array<int16_t, 324> byte_of_codepoint;  // code points 0..323 cover the whole table

    Tables() {
        byte_of_codepoint.fill(-1);
        uint32_t next_extra = 0x100;
        for (uint32_t b = 0; b < 256; ++b) {
            const bool printable =
                (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
            const uint32_t cp = printable ? b : next_extra++;
            utf8::append_codepoint(utf8[b], cp);
            byte_of_codepoint[cp] = static_cast<int16_t>(b);
        }
    }
};

const Tables& tables() {
    static const Tables t;
    return t;
}

}  // namespace

const std::string& byte_to_utf8(uint8_t b) {
    return tables().utf8[b];
}

int codepoint_to_byte(uint32_t cp) {
    const auto& table = tables().byte_of_codepoint;
    return cp < table.size() ? table[cp] : -1;
}

std::string encode(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const char c : bytes) out += byte_to_utf8(static_cast<uint8_t>(c));
    return out;
}

std::string decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    while (!text.empty()) {
        const size_t n = utf8::symbol_length(text);
        const size_t valid = utf8::valid_sequence_length(text);
        const int b = valid ? codepoint_to_byte(utf8::decode_codepoint(text, valid)) : -1;
        if (b >= 0) {
            out.push_back(static_cast<char>(b));
        } else {
            out.append(text.substr(0, n));
        }
        text.remove_prefix(n);
    }
    return out;
}

}  // namespace rf::byte_level
