// Jinja lexer: template source -> tokens (text runs, tag delimiters, expression tokens).
//
// Follows Python Jinja2 as transformers configures it for chat templates:
//   - newlines normalised to \n and one trailing newline dropped (keep_trailing_newline=False);
//   - `{%-` / `{{-` / `{#-` strip all whitespace before the tag, `-%}` / `-}}` / `-#}` after it;
//   - trim_blocks: the first newline after a block or comment tag is removed (not after `}}`);
//   - lstrip_blocks: spaces and tabs between the start of a line and a block or comment tag
//     are removed; `{%+` turns that off for one tag, `+%}` turns trim_blocks off;
//   - `{% raw %}...{% endraw %}` becomes one text token;
//   - inside a tag, `%}` / `}}` only close it when no ( [ { is open.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/jinja/template_error.h"

namespace rf::jinja {

enum class TokenType {
    text,            // literal template text (value = the text)
    block_begin,     // {%
    block_end,       // %}
    variable_begin,  // {{
    variable_end,    // }}
    name,            // identifier or keyword: for, in, not, true, ...
    string,          // string literal, escapes resolved (value = the string)
    integer,         // value = digits, underscores removed
    floating,        // value = literal text, underscores removed
    op,              // operator or punctuation: + - * / // % ** ~ == != < <= > >= = ( ) [ ] { } , . : |
    eof,
};

struct Token {
    TokenType type;
    std::string value;
    Location where;
};

struct LexOptions {
    bool trim_blocks = true;
    bool lstrip_blocks = true;
};

// Throws TemplateError (located) on an unterminated tag, comment or string, or a stray character.
std::vector<Token> tokenize(std::string_view source, const LexOptions& options = {});

// The source as the lexer sees it: \r\n and \r -> \n, one trailing \n dropped.
std::string normalize_newlines(std::string_view source);

}  // namespace rf::jinja
