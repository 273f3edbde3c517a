#include "tokenizer/jinja/py_string.h"

#include <fmt/format.h>

#include <algorithm>

namespace rf::jinja::py {

std::u32string decode(std::string_view s) {
    std::u32string out;
    out.reserve(s.size());
    size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        int len = 0;
        char32_t cp = 0;
        if (c < 0x80) {
            len = 1;
            cp = c;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            cp = c & 0x07;
        }
        bool ok = len > 0 && i + len <= s.size();
        for (int k = 1; ok && k < len; ++k) {
            const auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xc0) != 0x80) ok = false;
            cp = (cp << 6) | (cc & 0x3f);
        }
        if (!ok) {
            out.push_back(0xfffd);
            ++i;
            continue;
        }
        out.push_back(cp);
        i += len;
    }
    return out;
}

void append_utf8(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
        out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
}

std::string encode(std::u32string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char32_t c : s) append_utf8(out, c);
    return out;
}

size_t length(std::string_view s) {
    size_t n = 0;
    for (char c : s) n += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
    return n;
}

bool is_space(char32_t c) {
    return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f ||
           c == 0x3000;
}

std::string strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right) {
    const std::u32string u = decode(s);
    const std::u32string set = chars ? decode(*chars) : std::u32string();
    auto strippable = [&](char32_t c) { return chars ? set.find(c) != std::u32string::npos : is_space(c); };
    size_t b = 0, e = u.size();
    if (left)
        while (b < e && strippable(u[b])) ++b;
    if (right)
        while (e > b && strippable(u[e - 1])) --e;
    return encode(std::u32string_view(u).substr(b, e - b));
}

namespace {

// Whitespace split (sep=None) from the left; maxsplit < 0 means no limit.
std::vector<std::string> split_whitespace(const std::u32string& u, int64_t maxsplit) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < u.size()) {
        while (i < u.size() && is_space(u[i])) ++i;
        if (i == u.size()) break;
        if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) {
            out.push_back(encode(std::u32string_view(u).substr(i)));  // the rest, trailing space kept
            break;
        }
        size_t j = i;
        while (j < u.size() && !is_space(u[j])) ++j;
        out.push_back(encode(std::u32string_view(u).substr(i, j - i)));
        i = j;
    }
    return out;
}

}  // namespace

std::vector<std::string> split(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit) {
    if (!sep) return split_whitespace(decode(s), maxsplit);
    std::vector<std::string> out;
    size_t start = 0;
    while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
        const size_t at = s.find(*sep, start);
        if (at == std::string_view::npos) break;
        out.emplace_back(s.substr(start, at - start));
        start = at + sep->size();
    }
    out.emplace_back(s.substr(start));
    return out;
}

std::vector<std::string> rsplit(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit) {
    if (!sep) {
        // Split reversed text from the left, then reverse back.
        std::u32string u = decode(s);
        std::reverse(u.begin(), u.end());
        std::vector<std::string> parts = split_whitespace(u, maxsplit);
        std::reverse(parts.begin(), parts.end());
        for (auto& p : parts) {
            std::u32string pu = decode(p);
            std::reverse(pu.begin(), pu.end());
            p = encode(pu);
        }
        return parts;
    }
    std::vector<std::string> out;
    size_t end = s.size();
    while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
        if (end < sep->size()) break;
        const size_t at = s.rfind(*sep, end - sep->size());
        if (at == std::string_view::npos) break;
        out.emplace_back(s.substr(at + sep->size(), end - at - sep->size()));
        end = at;
    }
    out.emplace_back(s.substr(0, end));
    std::reverse(out.begin(), out.end());
    return out;
}

std::vector<std::string> splitlines(std::string_view s) {
    const std::u32string u = decode(s);
    std::vector<std::string> out;
    size_t start = 0, i = 0;
    while (i < u.size()) {
        const char32_t c = u[i];
        const bool is_break = c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || (c >= 0x1c && c <= 0x1e) ||
                              c == 0x85 || c == 0x2028 || c == 0x2029;
        if (!is_break) {
            ++i;
            continue;
        }
        out.push_back(encode(std::u32string_view(u).substr(start, i - start)));
        i += (c == '\r' && i + 1 < u.size() && u[i + 1] == '\n') ? 2 : 1;
        start = i;
    }
    if (start < u.size()) out.push_back(encode(std::u32string_view(u).substr(start)));
    return out;
}

std::string replace(std::string_view s, std::string_view old, std::string_view replacement, int64_t count) {
    std::string out;
    if (old.empty()) {
        // Python inserts the replacement before every code point and at the end.
        const std::u32string u = decode(s);
        int64_t done = 0;
        for (char32_t c : u) {
            if (count < 0 || done < count) {
                out += replacement;
                ++done;
            }
            append_utf8(out, c);
        }
        if (count < 0 || done < count) out += replacement;
        return out;
    }
    size_t start = 0;
    int64_t done = 0;
    while (count < 0 || done < count) {
        const size_t at = s.find(old, start);
        if (at == std::string_view::npos) break;
        out += s.substr(start, at - start);
        out += replacement;
        start = at + old.size();
        ++done;
    }
    out += s.substr(start);
    return out;
}

int64_t find(std::string_view s, std::string_view sub) {
    const size_t at = s.find(sub);
    return at == std::string_view::npos ? -1 : static_cast<int64_t>(length(s.substr(0, at)));
}

int64_t rfind(std::string_view s, std::string_view sub) {
    const size_t at = s.rfind(sub);
    return at == std::string_view::npos ? -1 : static_cast<int64_t>(length(s.substr(0, at)));
}

int64_t count(std::string_view s, std::string_view sub) {
    if (sub.empty()) return static_cast<int64_t>(length(s)) + 1;
    int64_t n = 0;
    for (size_t at = s.find(sub); at != std::string_view::npos; at = s.find(sub, at + sub.size())) ++n;
    return n;
}

namespace {
char ascii_upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c; }
char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
bool ascii_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
}  // namespace

std::string upper(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = ascii_upper(c);
    return out;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = ascii_lower(c);
    return out;
}

std::string capitalize(std::string_view s) {
    std::string out = lower(s);
    if (!out.empty()) out[0] = ascii_upper(out[0]);
    return out;
}

std::string title_method(std::string_view s) {
    std::string out(s);
    bool prev_cased = false;
    for (char& c : out) {
        // Non-ASCII bytes count as letters (cased) so "éa" stays one word.
        const bool letter = ascii_alpha(c) || (static_cast<unsigned char>(c) & 0x80);
        if (ascii_alpha(c)) c = prev_cased ? ascii_lower(c) : ascii_upper(c);
        prev_cased = letter;
    }
    return out;
}

std::string title_filter(std::string_view s) {
    // Jinja: words start after runs of whitespace, '-', '(', '{', '[', '<'; each word is
    // word[0].upper() + word[1:].lower().
    std::string out(s);
    bool word_start = true;
    for (char& c : out) {
        const bool sep = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || c == '-' ||
                         c == '(' || c == '{' || c == '[' || c == '<';
        if (sep) {
            word_start = true;
            continue;
        }
        c = word_start ? ascii_upper(c) : ascii_lower(c);
        word_start = false;
    }
    return out;
}

namespace {
// Python's str.isprintable() is false for Unicode categories C* and Z* (except ' ').
bool printable(char32_t c) {
    if (c < 0x20 || (c >= 0x7f && c <= 0xa0) || c == 0xad) return false;
    if (c == 0x1680 || (c >= 0x2000 && c <= 0x200f) || (c >= 0x2028 && c <= 0x202f)) return false;
    if ((c >= 0x205f && c <= 0x206f) || c == 0x3000 || c == 0xfeff || (c >= 0xfff9 && c <= 0xfffb)) return false;
    if ((c >= 0xd800 && c <= 0xf8ff) || c > 0x10ffff) return false;  // surrogates, private use
    return true;
}
}  // namespace

std::string repr(std::string_view s) {
    const std::u32string u = decode(s);
    const bool has_single = u.find(U'\'') != std::u32string::npos;
    const bool has_double = u.find(U'"') != std::u32string::npos;
    const char quote = (has_single && !has_double) ? '"' : '\'';
    std::string out(1, quote);
    for (char32_t c : u) {
        if (c == static_cast<char32_t>(quote) || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else if (printable(c)) {
            append_utf8(out, c);
        } else if (c < 0x100) {
            out += fmt::format("\\x{:02x}", static_cast<uint32_t>(c));
        } else if (c < 0x10000) {
            out += fmt::format("\\u{:04x}", static_cast<uint32_t>(c));
        } else {
            out += fmt::format("\\U{:08x}", static_cast<uint32_t>(c));
        }
    }
    out += quote;
    return out;
}

std::vector<int64_t> slice_indices(int64_t n, std::optional<int64_t> start, std::optional<int64_t> stop, int64_t step) {
    // CPython PySlice_AdjustIndices.
    int64_t b, e;
    if (step > 0) {
        b = start.value_or(0);
        e = stop.value_or(n);
        if (b < 0) b = std::max<int64_t>(b + n, 0);
        if (e < 0) e = std::max<int64_t>(e + n, 0);
        b = std::min(b, n);
        e = std::min(e, n);
    } else {
        b = start.value_or(n - 1);
        e = stop.value_or(-1 - n);  // "before the first item"
        if (b < 0) b = std::max<int64_t>(b + n, -1);
        if (e < 0) e = std::max<int64_t>(e + n, -1);
        b = std::min(b, n - 1);
        e = std::min(e, n - 1);
    }
    std::vector<int64_t> out;
    if (step > 0)
        for (int64_t i = b; i < e; i += step) out.push_back(i);
    else
        for (int64_t i = b; i > e; i += step) out.push_back(i);
    return out;
}

}  // namespace rf::jinja::py
