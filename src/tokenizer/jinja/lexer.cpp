#include "tokenizer/jinja/lexer.h"

#include <algorithm>
#include <cstring>

#include "tokenizer/jinja/py_string.h"

namespace rf::jinja {

std::string normalize_newlines(std::string_view source) {
    std::string out;
    out.reserve(source.size());
    for (size_t i = 0; i < source.size(); ++i) {
        if (source[i] == '\r') {
            out += '\n';
            if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
        } else {
            out += source[i];
        }
    }
    if (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
}

namespace {

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Python string-literal escapes (Jinja decodes literals with "unicode-escape"); an unknown
// escape such as \d stays as written.
std::string unescape(std::string_view s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\' || i + 1 == s.size()) {
            out += s[i];
            continue;
        }
        const char c = s[++i];
        switch (c) {
            case 'n': out += '\n'; break;
            case 't': out += '\t'; break;
            case 'r': out += '\r'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'v': out += '\v'; break;
            case 'a': out += '\a'; break;
            case '\\': out += '\\'; break;
            case '\'': out += '\''; break;
            case '"': out += '"'; break;
            case '\n': break;  // line continuation
            case 'x':
            case 'u':
            case 'U': {
                const size_t width = c == 'x' ? 2 : c == 'u' ? 4 : 8;
                char32_t cp = 0;
                bool ok = true;
                for (size_t k = 1; ok && k <= width; ++k) {
                    if (i + k >= s.size() || hex_value(s[i + k]) < 0) {
                        ok = false;
                        break;
                    }
                    cp = cp * 16 + static_cast<char32_t>(hex_value(s[i + k]));
                }
                if (!ok) throw_error("truncated \\{}XX escape in string literal", c);
                py::append_utf8(out, cp);
                i += width;
                break;
            }
            default:
                if (c >= '0' && c <= '7') {
                    char32_t cp = 0;
                    size_t k = 0;
                    while (k < 3 && i + k < s.size() && s[i + k] >= '0' && s[i + k] <= '7') cp = cp * 8 + (s[i + k++] - '0');
                    py::append_utf8(out, cp);
                    i += k - 1;
                } else {
                    out += '\\';
                    out += c;
                }
        }
    }
    return out;
}

class Lexer {
public:
    Lexer(std::string source, const LexOptions& options) : src_(std::move(source)), options_(options) {
        line_starts_.push_back(0);
        for (size_t i = 0; i < src_.size(); ++i)
            if (src_[i] == '\n') line_starts_.push_back(i + 1);
    }

    std::vector<Token> run() {
        while (pos_ < src_.size()) {
            const size_t tag = find_tag(pos_);
            std::string text = src_.substr(pos_, tag - pos_);
            const size_t text_pos = pos_;
            if (tag == src_.size()) {
                emit(TokenType::text, std::move(text), text_pos);
                break;
            }
            const char kind = src_[tag + 1];
            size_t after = tag + 2;
            char modifier = 0;
            if (after < src_.size() && (src_[after] == '-' || (kind != '{' && src_[after] == '+'))) modifier = src_[after++];

            if (modifier == '-') {
                while (!text.empty() && is_ws(text.back())) text.pop_back();
            } else if (kind != '{' && options_.lstrip_blocks && modifier != '+') {
                const size_t line_begin = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
                const bool line_starting = line_begin > 0 || text_pos == 0 || src_[text_pos - 1] == '\n';
                const bool blank = std::all_of(text.begin() + static_cast<ptrdiff_t>(line_begin), text.end(),
                                               [](char c) { return c == ' ' || c == '\t'; });
                if (line_starting && blank) text.resize(line_begin);
            }
            emit(TokenType::text, std::move(text), text_pos);

            if (kind == '#') {
                lex_comment(tag, after);
            } else if (kind == '%' && lex_raw(tag, after)) {
                // raw block consumed
            } else {
                emit(kind == '%' ? TokenType::block_begin : TokenType::variable_begin, kind == '%' ? "{%" : "{{", tag);
                pos_ = after;
                lex_tag_body(kind);
            }
        }
        tokens_.push_back(Token{TokenType::eof, "", locate(src_.size())});
        return std::move(tokens_);
    }

private:
    Location locate(size_t offset) const {
        const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
        const size_t line = static_cast<size_t>(it - line_starts_.begin());
        const size_t start = line_starts_[line - 1];
        return Location{static_cast<int>(line),
                        static_cast<int>(py::length(std::string_view(src_).substr(start, offset - start))) + 1};
    }

    void emit(TokenType type, std::string value, size_t offset) {
        if (type == TokenType::text && value.empty()) return;
        tokens_.push_back(Token{type, std::move(value), locate(offset)});
    }

    // Offset of the next "{{", "{%" or "{#" at or after from; src_.size() if none.
    size_t find_tag(size_t from) const {
        for (size_t i = src_.find('{', from); i != std::string::npos; i = src_.find('{', i + 1)) {
            if (i + 1 < src_.size() && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
        }
        return src_.size();
    }

    bool starts_with(size_t at, const char* s) const { return src_.compare(at, std::strlen(s), s) == 0; }

    void skip_ws() {
        while (pos_ < src_.size() && is_ws(src_[pos_])) ++pos_;
    }

    // After a closing %} or #}: trim_blocks drops one newline.
    void trim_newline() {
        if (options_.trim_blocks && pos_ < src_.size() && src_[pos_] == '\n') ++pos_;
    }

    void lex_comment(size_t tag, size_t after) {
        const size_t end = src_.find("#}", after);
        if (end == std::string::npos) throw_error_at(locate(tag), "missing end of comment tag '#}}'");
        const char before_end = end > after ? src_[end - 1] : 0;
        pos_ = end + 2;
        if (before_end == '-')
            skip_ws();
        else if (before_end != '+')
            trim_newline();
    }

    // {% raw %} ... {% endraw %} as one text token. Returns false when the tag is not "raw".
    bool lex_raw(size_t tag, size_t after) {
        size_t p = after;
        while (p < src_.size() && is_ws(src_[p])) ++p;
        if (!starts_with(p, "raw") || (p + 3 < src_.size() && is_name_char(src_[p + 3]))) return false;
        p += 3;
        while (p < src_.size() && is_ws(src_[p])) ++p;
        const bool strip_body_start = starts_with(p, "-%}");
        if (!strip_body_start && !starts_with(p, "%}")) return false;
        p += strip_body_start ? 3 : 2;
        if (strip_body_start)
            while (p < src_.size() && is_ws(src_[p])) ++p;
        // Find {%[-+]? endraw [-+]?%}.
        for (size_t q = src_.find("{%", p); q != std::string::npos; q = src_.find("{%", q + 1)) {
            size_t r = q + 2;
            const bool strip_body_end = r < src_.size() && src_[r] == '-';
            if (r < src_.size() && (src_[r] == '-' || src_[r] == '+')) ++r;
            while (r < src_.size() && is_ws(src_[r])) ++r;
            if (!starts_with(r, "endraw")) continue;
            r += 6;
            while (r < src_.size() && is_ws(src_[r])) ++r;
            const char modifier = r < src_.size() ? src_[r] : 0;
            if (modifier == '-' || modifier == '+') ++r;
            if (!starts_with(r, "%}")) continue;
            std::string body = src_.substr(p, q - p);
            if (strip_body_end)
                while (!body.empty() && is_ws(body.back())) body.pop_back();
            tokens_.push_back(Token{TokenType::text, std::move(body), locate(tag)});
            pos_ = r + 2;
            if (modifier == '-')
                skip_ws();
            else if (modifier != '+')
                trim_newline();
            return true;
        }
        throw_error_at(locate(tag), "missing {{% endraw %}} for {{% raw %}}");
    }

    void lex_tag_body(char kind) {
        std::string open;  // unclosed ( [ {, innermost last
        const size_t tag_start = pos_;
        for (;;) {
            skip_ws();
            if (pos_ >= src_.size())
                throw_error_at(locate(tag_start), "unexpected end of template, expected '{}'", kind == '%' ? "%}" : "}}");
            if (open.empty() && kind == '%') {
                if (starts_with(pos_, "-%}") || starts_with(pos_, "+%}") || starts_with(pos_, "%}")) {
                    const char modifier = src_[pos_] == '%' ? 0 : src_[pos_];
                    emit(TokenType::block_end, "%}", pos_);
                    pos_ += modifier ? 3 : 2;
                    if (modifier == '-')
                        skip_ws();
                    else if (modifier != '+')
                        trim_newline();
                    return;
                }
            }
            if (open.empty() && kind == '{') {
                if (starts_with(pos_, "-}}") || starts_with(pos_, "}}")) {
                    const bool strip = src_[pos_] == '-';
                    emit(TokenType::variable_end, "}}", pos_);
                    pos_ += strip ? 3 : 2;
                    if (strip) skip_ws();
                    return;
                }
            }
            lex_expression_token(open);
        }
    }

    void lex_expression_token(std::string& open) {
        const size_t start = pos_;
        const char c = src_[pos_];
        if (c == '\'' || c == '"') {
            size_t p = pos_ + 1;
            while (p < src_.size() && src_[p] != c) p += src_[p] == '\\' ? 2 : 1;
            if (p >= src_.size()) throw_error_at(locate(start), "unterminated string literal");
            try {
                emit(TokenType::string, unescape(std::string_view(src_).substr(pos_ + 1, p - pos_ - 1)), start);
            } catch (TemplateError& e) {
                e.locate(locate(start));
                throw;
            }
            pos_ = p + 1;
            return;
        }
        if (is_digit(c)) {
            lex_number();
            return;
        }
        if (is_name_start(c)) {
            size_t p = pos_;
            while (p < src_.size() && is_name_char(src_[p])) ++p;
            emit(TokenType::name, src_.substr(pos_, p - pos_), start);
            pos_ = p;
            return;
        }
        static const char* const two_char_ops[] = {"**", "//", "==", "!=", "<=", ">="};
        for (const char* op : two_char_ops) {
            if (starts_with(pos_, op)) {
                emit(TokenType::op, op, start);
                pos_ += 2;
                return;
            }
        }
        if (std::strchr("+-*/%~<>=()[]{},.:|", c) != nullptr) {
            if (c == '(' || c == '[' || c == '{') open += c;
            if (c == ')' || c == ']' || c == '}') {
                const char expected = open.empty() ? 0 : open.back() == '(' ? ')' : open.back() == '[' ? ']' : '}';
                if (c != expected) {
                    if (expected) throw_error_at(locate(start), "unexpected '{}', expected '{}'", c, expected);
                    throw_error_at(locate(start), "unexpected '{}'", c);
                }
                open.pop_back();
            }
            emit(TokenType::op, std::string(1, c), start);
            ++pos_;
            return;
        }
        throw_error_at(locate(start), "unexpected character '{}'", c);
    }

    // Digits with optional underscores; a fraction and/or exponent make a float. After a "."
    // (as in foo.0.1) only an integer is read.
    void lex_number() {
        const size_t start = pos_;
        auto digits = [&](std::string& out) {
            while (pos_ < src_.size() && (is_digit(src_[pos_]) || (src_[pos_] == '_' && pos_ + 1 < src_.size() && is_digit(src_[pos_ + 1])))) {
                if (src_[pos_] != '_') out += src_[pos_];
                ++pos_;
            }
        };
        std::string text;
        digits(text);
        const bool after_dot = !tokens_.empty() && tokens_.back().type == TokenType::op && tokens_.back().value == ".";
        bool is_float = false;
        if (!after_dot && pos_ + 1 < src_.size() && src_[pos_] == '.' && is_digit(src_[pos_ + 1])) {
            text += '.';
            ++pos_;
            digits(text);
            is_float = true;
        }
        if (!after_dot && pos_ < src_.size() && (src_[pos_] == 'e' || src_[pos_] == 'E')) {
            size_t p = pos_ + 1;
            if (p < src_.size() && (src_[p] == '+' || src_[p] == '-')) ++p;
            if (p < src_.size() && is_digit(src_[p])) {
                text += src_.substr(pos_, p - pos_);
                pos_ = p;
                digits(text);
                is_float = true;
            }
        }
        emit(is_float ? TokenType::floating : TokenType::integer, std::move(text), start);
    }

    std::string src_;
    LexOptions options_;
    std::vector<size_t> line_starts_;
    std::vector<Token> tokens_;
    size_t pos_ = 0;
};

}  // namespace

std::vector<Token> tokenize(std::string_view source, const LexOptions& options) {
    return Lexer(normalize_newlines(source), options).run();
}

}  // namespace rf::jinja
