// Jinja parser: tokens -> syntax tree, with Jinja2's grammar and operator precedence
// (loosest first): `a if c else b`, or, and, not, comparisons (== != < <= > >= in, not in,
// chained), + -, ~, * / // %, **, unary - +, then filters `|f` and tests `is t`, then
// postfix .attr [index] [a:b:c] (call).
//
// Statements: if/elif/else, for/else (with `if` filter, tuple targets), set (name, tuple,
// namespace attribute, block set), macro, call, filter, break, continue, generation, raw.
#pragma once

#include <string_view>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/lexer.h"

namespace rf::jinja {

// Throws TemplateError (located) on a syntax error, an unknown tag, filter or test.
Body parse_template(std::string_view source, const LexOptions& options = {});

}  // namespace rf::jinja
