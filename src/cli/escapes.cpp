#include "cli/escapes.h"

namespace rf::cli {
namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

std::string process_escapes(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\\' || i + 1 == text.size()) {
            out += text[i];
            continue;
        }
        const char e = text[i + 1];
        char c = 0;
        switch (e) {
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case 'a': c = '\a'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'v': c = '\v'; break;
            case '\'': case '"': case '\\': case '?': c = e; break;
            case 'x':
                if (i + 3 < text.size() && hex_value(text[i + 2]) >= 0 && hex_value(text[i + 3]) >= 0) {
                    out += static_cast<char>(hex_value(text[i + 2]) * 16 + hex_value(text[i + 3]));
                    i += 3;
                    continue;
                }
                break;
            default: break;
        }
        if (c == 0) {  // not an escape this knows: the backslash stays
            out += '\\';
            continue;
        }
        out += c;
        ++i;
    }
    return out;
}

}  // namespace rf::cli
