// Syntax tree of a parsed template. Each node keeps its source location for error messages.
// Filters and tests are resolved to their implementation at parse time, so an unknown filter
// fails when the template is parsed (as in Jinja2), not when a branch first runs.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/template_error.h"
#include "tokenizer/jinja/value.h"

namespace rf::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

// Arguments at a call site: f(a, b, key=c, *rest, **more).
struct CallArgs {
    std::vector<ExprPtr> positional;
    std::vector<std::pair<std::string, ExprPtr>> keyword;
    ExprPtr star;       // *expr, may be null
    ExprPtr star_star;  // **expr, may be null
};

enum class ExprKind {
    literal,      // value
    name,         // name
    list,         // items
    tuple,        // items
    dict,         // items = key0, value0, key1, value1, ...
    attribute,    // items[0].name  (name may be digits: foo.0)
    subscript,    // items[0][items[1]]
    slice,        // items[0][items[1]:items[2]:items[3]], absent parts are null
    call,         // items[0](args)
    filter,       // items[0] | name(args); items[0] is null inside a {% filter %} block
    test,         // items[0] is [not] name(args)
    unary,        // op items[0]: "-", "+", "not"
    binary,       // items[0] op items[1]: + - * / // % ** ~ and or
    compare,      // items[0] ops[0] items[1] ops[1] items[2] ...: == != < <= > >= in "not in"
    conditional,  // items[0] if items[1] else items[2] (items[2] null: undefined when false)
};

struct Expr {
    ExprKind kind;
    Location where;
    Value value;                   // literal
    std::string name;              // name / attribute / filter / test / unary+binary operator
    std::vector<ExprPtr> items;    // operands, see ExprKind
    std::vector<std::string> ops;  // compare operators
    CallArgs args;                 // call / filter / test arguments
    bool negated = false;          // test: "is not"
    const FilterFn* filter = nullptr;
    const TestFn* test = nullptr;
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

// A macro or call-block parameter; default_value may be null.
struct Param {
    std::string name;
    ExprPtr default_value;
};

enum class StmtKind {
    text,          // text
    output,        // {{ expr }}
    if_,           // if expr: body else else_body (elif = an if_ alone in else_body)
    for_,          // for target in expr [if loop_filter]: body else else_body
    set,           // set target = expr (target: name, tuple of names, or namespace attribute)
    set_block,     // set target: rendered body
    macro,         // macro name(params): body
    call_block,    // call(params) expr: body is the caller()
    filter_block,  // filter expr (a filter node without operand): body
    break_,
    continue_,
    generation,    // transformers' {% generation %}: renders body
};

struct Stmt {
    StmtKind kind;
    Location where;
    std::string text;
    ExprPtr expr;
    ExprPtr target;
    ExprPtr loop_filter;
    Body body;
    Body else_body;
    std::string name;
    std::vector<Param> params;
};

}  // namespace rf::jinja
