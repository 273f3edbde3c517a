#include "tokenizer/jinja/parser.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <initializer_list>

namespace rf::jinja {

namespace {

ExprPtr make_expr(ExprKind kind, Location where) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->where = where;
    return e;
}

StmtPtr make_stmt(StmtKind kind, Location where) {
    auto s = std::make_unique<Stmt>();
    s->kind = kind;
    s->where = where;
    return s;
}

std::string describe(const Token& t) {
    switch (t.type) {
        case TokenType::text: return "template text";
        case TokenType::block_begin: return "'{%'";
        case TokenType::block_end: return "'%}'";
        case TokenType::variable_begin: return "'{{'";
        case TokenType::variable_end: return "'}}'";
        case TokenType::string: return "a string";
        case TokenType::integer:
        case TokenType::floating: return "number " + t.value;
        case TokenType::eof: return "end of template";
        default: return "'" + t.value + "'";
    }
}

// Deeper nesting than this is rejected rather than risking the native stack.
constexpr int kMaxNesting = 200;

class Parser {
public:
    explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

    Body parse_all() {
        Body body = parse_body({}, nullptr);
        return body;
    }

private:
    // ---- token helpers ------------------------------------------------------------------
    const Token& peek(size_t ahead = 0) const { return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)]; }
    const Token& next() { return tokens_[std::min(pos_++, tokens_.size() - 1)]; }
    bool at_op(std::string_view op) const { return peek().type == TokenType::op && peek().value == op; }
    bool at_name(std::string_view name) const { return peek().type == TokenType::name && peek().value == name; }
    bool skip_op(std::string_view op) {
        if (!at_op(op)) return false;
        ++pos_;
        return true;
    }
    bool skip_name(std::string_view name) {
        if (!at_name(name)) return false;
        ++pos_;
        return true;
    }
    [[noreturn]] void unexpected(std::string_view expected) const {
        throw_error_at(peek().where, "unexpected {}, expected {}", describe(peek()), expected);
    }
    void expect_op(std::string_view op) {
        if (!skip_op(op)) unexpected(fmt::format("'{}'", op));
    }
    void expect(TokenType type, std::string_view what) {
        if (peek().type != type) unexpected(what);
        ++pos_;
    }
    std::string expect_identifier(std::string_view what) {
        if (peek().type != TokenType::name) unexpected(what);
        return next().value;
    }

    // ---- statements ---------------------------------------------------------------------
    bool at_end_tag(std::initializer_list<std::string_view> names) const {
        if (peek().type != TokenType::block_begin || peek(1).type != TokenType::name) return false;
        return std::find(names.begin(), names.end(), peek(1).value) != names.end();
    }

    // Parses until one of the end tags ({% endfor %} ...), leaving the position at its '{%'.
    // opener names the statement being closed, for the error at end of template.
    Body parse_body(std::initializer_list<std::string_view> end_tags, const Token* opener) {
        if (end_tags.size() != 0) open_blocks_.push_back(std::string(*end_tags.begin()));
        Body body = parse_body_until(end_tags, opener);
        if (end_tags.size() != 0) open_blocks_.pop_back();
        return body;
    }

    Body parse_body_until(std::initializer_list<std::string_view> end_tags, const Token* opener) {
        Body body;
        for (;;) {
            const Token& t = peek();
            if (t.type == TokenType::eof) {
                if (end_tags.size() == 0) return body;
                throw_error_at(opener->where, "'{}' tag is never closed (expected {{% {} %}})", opener->value, *end_tags.begin());
            }
            if (end_tags.size() != 0 && at_end_tag(end_tags)) return body;
            if (t.type == TokenType::text) {
                auto s = make_stmt(StmtKind::text, t.where);
                s->text = t.value;
                body.push_back(std::move(s));
                ++pos_;
            } else if (t.type == TokenType::variable_begin) {
                ++pos_;
                auto s = make_stmt(StmtKind::output, t.where);
                s->expr = parse_tuple(true);
                expect(TokenType::variable_end, "'}}'");
                body.push_back(std::move(s));
            } else if (t.type == TokenType::block_begin) {
                ++pos_;
                body.push_back(parse_statement());
            } else {
                unexpected("template text or a tag");
            }
        }
    }

    // Consumes "{% name" and returns the name token, which must be one of names.
    const Token& expect_end_tag(std::initializer_list<std::string_view> names) {
        expect(TokenType::block_begin, "'{%'");
        const Token& t = next();
        if (t.type != TokenType::name || std::find(names.begin(), names.end(), t.value) == names.end())
            throw_error_at(t.where, "unexpected {}, expected '{}'", describe(t), *names.begin());
        return t;
    }

    StmtPtr parse_statement() {
        NestingGuard guard(*this);
        const Token& tag = peek();
        if (tag.type != TokenType::name) unexpected("a tag name");
        const std::string& name = tag.value;
        if (name == "if") return parse_if(next());
        if (name == "for") return parse_for(next());
        if (name == "set") return parse_set(next());
        if (name == "macro") return parse_macro(next());
        if (name == "call") return parse_call_block(next());
        if (name == "filter") return parse_filter_block(next());
        if (name == "generation") {
            const Token& opener = next();
            auto s = make_stmt(StmtKind::generation, opener.where);
            expect(TokenType::block_end, "'%}'");
            s->body = parse_body({"endgeneration"}, &opener);
            expect_end_tag({"endgeneration"});
            expect(TokenType::block_end, "'%}'");
            return s;
        }
        if (name == "break" || name == "continue") {
            const Token& t = next();
            if (loop_depth_ == 0) throw_error_at(t.where, "'{}' outside of a for loop", name);
            expect(TokenType::block_end, "'%}'");
            return make_stmt(name == "break" ? StmtKind::break_ : StmtKind::continue_, t.where);
        }
        const bool closing = name.rfind("end", 0) == 0 || name == "else" || name == "elif";
        if (closing && !open_blocks_.empty())
            throw_error_at(tag.where, "unexpected '{}', expected '{}'", name, open_blocks_.back());
        if (closing) throw_error_at(tag.where, "unexpected '{}': no block is open", name);
        throw_error_at(tag.where, "unknown tag '{}'", name);
    }

    StmtPtr parse_if(const Token& opener) {
        auto s = make_stmt(StmtKind::if_, opener.where);
        s->expr = parse_expression();
        expect(TokenType::block_end, "'%}'");
        s->body = parse_body({"elif", "else", "endif"}, &opener);
        const Token& tag = expect_end_tag({"endif", "elif", "else"});
        if (tag.value == "elif") {
            s->else_body.push_back(parse_if(tag));  // the nested if consumes the shared endif
            return s;
        }
        if (tag.value == "else") {
            expect(TokenType::block_end, "'%}'");
            s->else_body = parse_body({"endif"}, &opener);
            expect_end_tag({"endif"});
        }
        expect(TokenType::block_end, "'%}'");
        return s;
    }

    StmtPtr parse_for(const Token& opener) {
        auto s = make_stmt(StmtKind::for_, opener.where);
        s->target = parse_assign_target(false);
        if (!skip_name("in")) unexpected("'in'");
        s->expr = parse_tuple(false);
        if (skip_name("if")) s->loop_filter = parse_expression();
        if (at_name("recursive")) throw_error_at(peek().where, "recursive for loops are not supported");
        expect(TokenType::block_end, "'%}'");
        ++loop_depth_;
        s->body = parse_body({"endfor", "else"}, &opener);
        --loop_depth_;
        if (expect_end_tag({"endfor", "else"}).value == "else") {
            expect(TokenType::block_end, "'%}'");
            s->else_body = parse_body({"endfor"}, &opener);
            expect_end_tag({"endfor"});
        }
        expect(TokenType::block_end, "'%}'");
        return s;
    }

    StmtPtr parse_set(const Token& opener) {
        auto target = parse_assign_target(true);
        if (skip_op("=")) {
            auto s = make_stmt(StmtKind::set, opener.where);
            s->target = std::move(target);
            s->expr = parse_tuple(true);
            expect(TokenType::block_end, "'%}'");
            return s;
        }
        auto s = make_stmt(StmtKind::set_block, opener.where);
        s->target = std::move(target);
        if (at_op("|")) s->expr = parse_filter_chain(nullptr);
        expect(TokenType::block_end, "'%}'");
        s->body = parse_body({"endset"}, &opener);
        expect_end_tag({"endset"});
        expect(TokenType::block_end, "'%}'");
        return s;
    }

    std::vector<Param> parse_params() {
        std::vector<Param> params;
        expect_op("(");
        while (!skip_op(")")) {
            if (!params.empty()) expect_op(",");
            if (skip_op(")")) break;
            Param p;
            p.name = expect_identifier("a parameter name");
            if (skip_op("=")) p.default_value = parse_expression();
            else if (!params.empty() && params.back().default_value)
                throw_error_at(peek().where, "parameter '{}' without a default follows one with a default", p.name);
            params.push_back(std::move(p));
        }
        return params;
    }

    StmtPtr parse_macro(const Token& opener) {
        auto s = make_stmt(StmtKind::macro, opener.where);
        s->name = expect_identifier("a macro name");
        s->params = parse_params();
        expect(TokenType::block_end, "'%}'");
        const int saved_depth = std::exchange(loop_depth_, 0);
        s->body = parse_body({"endmacro"}, &opener);
        loop_depth_ = saved_depth;
        expect_end_tag({"endmacro"});
        expect(TokenType::block_end, "'%}'");
        return s;
    }

    StmtPtr parse_call_block(const Token& opener) {
        auto s = make_stmt(StmtKind::call_block, opener.where);
        if (at_op("(")) s->params = parse_params();
        s->expr = parse_expression();
        if (s->expr->kind != ExprKind::call) throw_error_at(s->expr->where, "expected a macro call after 'call'");
        expect(TokenType::block_end, "'%}'");
        const int saved_depth = std::exchange(loop_depth_, 0);
        s->body = parse_body({"endcall"}, &opener);
        loop_depth_ = saved_depth;
        expect_end_tag({"endcall"});
        expect(TokenType::block_end, "'%}'");
        return s;
    }

    StmtPtr parse_filter_block(const Token& opener) {
        auto s = make_stmt(StmtKind::filter_block, opener.where);
        s->expr = parse_filter_chain(nullptr, /*first_pipe_optional=*/true);
        expect(TokenType::block_end, "'%}'");
        s->body = parse_body({"endfilter"}, &opener);
        expect_end_tag({"endfilter"});
        expect(TokenType::block_end, "'%}'");
        return s;
    }

    // Targets of for and set: a name, a namespace attribute (set only), or a tuple of them.
    ExprPtr parse_assign_target(bool allow_attribute) {
        NestingGuard guard(*this);
        const Location where = peek().where;
        std::vector<ExprPtr> items;
        bool is_tuple = false;
        for (;;) {
            ExprPtr atom;
            if (skip_op("(")) {
                atom = parse_assign_target(allow_attribute);
                expect_op(")");
            } else {
                atom = make_expr(ExprKind::name, peek().where);
                atom->name = expect_identifier("a variable name");
                if (allow_attribute && at_op(".")) {
                    ++pos_;
                    auto attr = make_expr(ExprKind::attribute, atom->where);
                    attr->name = expect_identifier("an attribute name");
                    attr->items.push_back(std::move(atom));
                    atom = std::move(attr);
                }
            }
            items.push_back(std::move(atom));
            if (!skip_op(",")) break;
            is_tuple = true;
            if (peek().type != TokenType::name && !at_op("(")) break;  // trailing comma
        }
        if (!is_tuple) return std::move(items[0]);
        auto t = make_expr(ExprKind::tuple, where);
        t->items = std::move(items);
        return t;
    }

    // ---- expressions --------------------------------------------------------------------
    bool at_tuple_end() const {
        const Token& t = peek();
        return t.type == TokenType::block_end || t.type == TokenType::variable_end || t.type == TokenType::eof ||
               (t.type == TokenType::op && (t.value == ")" || t.value == "=")) || (t.type == TokenType::name && t.value == "if");
    }

    // expr, expr, ... -> tuple (a single expression without a comma stays itself).
    ExprPtr parse_tuple(bool with_condexpr) {
        const Location where = peek().where;
        std::vector<ExprPtr> items;
        bool is_tuple = false;
        for (;;) {
            if (!items.empty() && at_tuple_end()) break;
            items.push_back(with_condexpr ? parse_expression() : parse_or());
            if (!skip_op(",")) break;
            is_tuple = true;
        }
        if (!is_tuple) return std::move(items[0]);
        auto t = make_expr(ExprKind::tuple, where);
        t->items = std::move(items);
        return t;
    }

    ExprPtr parse_expression() {
        NestingGuard guard(*this);
        ExprPtr expr = parse_or();
        while (at_name("if")) {
            const Location where = next().where;
            auto cond = make_expr(ExprKind::conditional, where);
            ExprPtr test = parse_or();
            ExprPtr otherwise = skip_name("else") ? parse_expression() : nullptr;
            cond->items.push_back(std::move(expr));
            cond->items.push_back(std::move(test));
            cond->items.push_back(std::move(otherwise));
            expr = std::move(cond);
        }
        return expr;
    }

    ExprPtr binary(std::string op, ExprPtr left, ExprPtr right, Location where) {
        auto e = make_expr(ExprKind::binary, where);
        e->name = std::move(op);
        e->items.push_back(std::move(left));
        e->items.push_back(std::move(right));
        return e;
    }

    ExprPtr parse_or() {
        ExprPtr left = parse_and();
        while (at_name("or")) {
            const Location where = next().where;
            left = binary("or", std::move(left), parse_and(), where);
        }
        return left;
    }

    ExprPtr parse_and() {
        ExprPtr left = parse_not();
        while (at_name("and")) {
            const Location where = next().where;
            left = binary("and", std::move(left), parse_not(), where);
        }
        return left;
    }

    ExprPtr parse_not() {
        NestingGuard guard(*this);
        if (at_name("not")) {
            auto e = make_expr(ExprKind::unary, next().where);
            e->name = "not";
            e->items.push_back(parse_not());
            return e;
        }
        return parse_compare();
    }

    ExprPtr parse_compare() {
        const Location where = peek().where;
        ExprPtr first = parse_math1();
        std::vector<std::string> ops;
        std::vector<ExprPtr> operands;
        for (;;) {
            const Token& t = peek();
            if (t.type == TokenType::op && (t.value == "==" || t.value == "!=" || t.value == "<" || t.value == "<=" ||
                                            t.value == ">" || t.value == ">=")) {
                ops.push_back(next().value);
            } else if (at_name("in")) {
                ++pos_;
                ops.emplace_back("in");
            } else if (at_name("not") && peek(1).type == TokenType::name && peek(1).value == "in") {
                pos_ += 2;
                ops.emplace_back("not in");
            } else {
                break;
            }
            operands.push_back(parse_math1());
        }
        if (ops.empty()) return first;
        auto e = make_expr(ExprKind::compare, where);
        e->items.push_back(std::move(first));
        for (auto& o : operands) e->items.push_back(std::move(o));
        e->ops = std::move(ops);
        return e;
    }

    ExprPtr parse_math1() {
        ExprPtr left = parse_concat();
        while (at_op("+") || at_op("-")) {
            const Token& op = next();
            left = binary(op.value, std::move(left), parse_concat(), op.where);
        }
        return left;
    }

    ExprPtr parse_concat() {
        ExprPtr left = parse_math2();
        while (at_op("~")) {
            const Location where = next().where;
            left = binary("~", std::move(left), parse_math2(), where);
        }
        return left;
    }

    ExprPtr parse_math2() {
        ExprPtr left = parse_pow();
        while (at_op("*") || at_op("/") || at_op("//") || at_op("%")) {
            const Token& op = next();
            left = binary(op.value, std::move(left), parse_pow(), op.where);
        }
        return left;
    }

    ExprPtr parse_pow() {
        ExprPtr left = parse_unary(true);
        while (at_op("**")) {
            const Location where = next().where;
            left = binary("**", std::move(left), parse_unary(true), where);
        }
        return left;
    }

    ExprPtr parse_unary(bool with_filter) {
        NestingGuard guard(*this);
        ExprPtr node;
        if (at_op("-") || at_op("+")) {
            const Token& op = next();
            node = make_expr(ExprKind::unary, op.where);
            node->name = op.value;
            node->items.push_back(parse_unary(false));
        } else {
            node = parse_primary();
        }
        node = parse_postfix(std::move(node));
        if (with_filter) node = parse_filter_expr(std::move(node));
        return node;
    }

    ExprPtr parse_primary() {
        const Token& t = peek();
        switch (t.type) {
            case TokenType::name: {
                ++pos_;
                if (t.value == "true" || t.value == "True" || t.value == "false" || t.value == "False") {
                    auto e = make_expr(ExprKind::literal, t.where);
                    e->value = Value(t.value == "true" || t.value == "True");
                    return e;
                }
                if (t.value == "none" || t.value == "None") {
                    auto e = make_expr(ExprKind::literal, t.where);
                    e->value = Value(None{});
                    return e;
                }
                auto e = make_expr(ExprKind::name, t.where);
                e->name = t.value;
                return e;
            }
            case TokenType::string: {
                auto e = make_expr(ExprKind::literal, t.where);
                std::string s;
                while (peek().type == TokenType::string) s += next().value;  // 'a' 'b' -> 'ab'
                e->value = Value(std::move(s));
                return e;
            }
            case TokenType::integer: {
                ++pos_;
                int64_t v = 0;
                const auto res = std::from_chars(t.value.data(), t.value.data() + t.value.size(), v);
                if (res.ec != std::errc()) throw_error_at(t.where, "integer literal {} does not fit in 64 bits", t.value);
                auto e = make_expr(ExprKind::literal, t.where);
                e->value = Value(v);
                return e;
            }
            case TokenType::floating: {
                ++pos_;
                auto e = make_expr(ExprKind::literal, t.where);
                e->value = Value(std::strtod(t.value.c_str(), nullptr));
                return e;
            }
            case TokenType::op:
                if (t.value == "(") {
                    ++pos_;
                    if (skip_op(")")) return make_expr(ExprKind::tuple, t.where);
                    ExprPtr inner = parse_tuple(true);
                    expect_op(")");
                    return inner;
                }
                if (t.value == "[") {
                    ++pos_;
                    auto e = make_expr(ExprKind::list, t.where);
                    while (!skip_op("]")) {
                        if (!e->items.empty()) expect_op(",");
                        if (skip_op("]")) break;
                        e->items.push_back(parse_expression());
                    }
                    return e;
                }
                if (t.value == "{") {
                    ++pos_;
                    auto e = make_expr(ExprKind::dict, t.where);
                    while (!skip_op("}")) {
                        if (!e->items.empty()) expect_op(",");
                        if (skip_op("}")) break;
                        e->items.push_back(parse_expression());
                        expect_op(":");
                        e->items.push_back(parse_expression());
                    }
                    return e;
                }
                break;
            default: break;
        }
        unexpected("an expression");
    }

    ExprPtr parse_postfix(ExprPtr node) {
        for (;;) {
            if (at_op(".")) {
                const Location where = next().where;
                auto e = make_expr(ExprKind::attribute, where);
                if (peek().type == TokenType::name || peek().type == TokenType::integer)
                    e->name = next().value;
                else
                    unexpected("an attribute name");
                e->items.push_back(std::move(node));
                node = std::move(e);
            } else if (at_op("[")) {
                node = parse_subscript(std::move(node));
            } else if (at_op("(")) {
                node = parse_call(std::move(node));
            } else {
                return node;
            }
        }
    }

    ExprPtr parse_subscript(ExprPtr object) {
        const Location where = next().where;  // '['
        ExprPtr start;
        if (!at_op(":")) {
            start = parse_expression();
            if (skip_op("]")) {
                auto e = make_expr(ExprKind::subscript, where);
                e->items.push_back(std::move(object));
                e->items.push_back(std::move(start));
                return e;
            }
        }
        expect_op(":");
        ExprPtr stop, step;
        if (!at_op("]") && !at_op(":")) stop = parse_expression();
        if (skip_op(":") && !at_op("]")) step = parse_expression();
        expect_op("]");
        auto e = make_expr(ExprKind::slice, where);
        e->items.push_back(std::move(object));
        e->items.push_back(std::move(start));
        e->items.push_back(std::move(stop));
        e->items.push_back(std::move(step));
        return e;
    }

    CallArgs parse_call_args() {
        CallArgs args;
        expect_op("(");
        bool first = true;
        while (!skip_op(")")) {
            if (!first) expect_op(",");
            first = false;
            if (skip_op(")")) break;
            if (skip_op("*")) {
                args.star = parse_expression();
            } else if (skip_op("**")) {
                args.star_star = parse_expression();
            } else if (peek().type == TokenType::name && peek(1).type == TokenType::op && peek(1).value == "=") {
                std::string key = next().value;
                ++pos_;  // '='
                args.keyword.emplace_back(std::move(key), parse_expression());
            } else {
                if (!args.keyword.empty()) throw_error_at(peek().where, "positional argument follows keyword argument");
                args.positional.push_back(parse_expression());
            }
        }
        return args;
    }

    ExprPtr parse_call(ExprPtr callee) {
        auto e = make_expr(ExprKind::call, callee->where);
        e->args = parse_call_args();
        e->items.push_back(std::move(callee));
        return e;
    }

    // One filter: name [(args)], applied to operand (null inside {% filter %}).
    ExprPtr parse_filter(ExprPtr operand) {
        const Token& t = peek();
        auto e = make_expr(ExprKind::filter, t.where);
        e->name = expect_identifier("a filter name");
        e->filter = find_filter(e->name);
        if (!e->filter) throw_error_at(t.where, "unknown filter '{}'", e->name);
        if (at_op("(")) e->args = parse_call_args();
        e->items.push_back(std::move(operand));
        return e;
    }

    // "| f | g(x)" after an operand; for {% filter %} and {% set x | f %} the first filter
    // has no operand.
    ExprPtr parse_filter_chain(ExprPtr operand, bool first_pipe_optional = false) {
        if (!(first_pipe_optional && !at_op("|"))) expect_op("|");
        ExprPtr node = parse_filter(std::move(operand));
        while (skip_op("|")) node = parse_filter(std::move(node));
        return node;
    }

    ExprPtr parse_test(ExprPtr operand) {
        const Location where = next().where;  // 'is'
        auto e = make_expr(ExprKind::test, where);
        e->negated = skip_name("not");
        const Token& name = peek();
        e->name = expect_identifier("a test name");
        e->test = find_test(e->name);
        if (!e->test) throw_error_at(name.where, "unknown test '{}'", e->name);
        const Token& t = peek();
        if (at_op("(")) {
            e->args = parse_call_args();
        } else if ((t.type == TokenType::name && t.value != "else" && t.value != "or" && t.value != "and") ||
                   t.type == TokenType::string || t.type == TokenType::integer || t.type == TokenType::floating ||
                   at_op("[") || at_op("{")) {
            if (at_name("is")) throw_error_at(t.where, "tests cannot be chained with 'is'");
            e->args.positional.push_back(parse_postfix(parse_primary()));
        }
        e->items.push_back(std::move(operand));
        return e;
    }

    ExprPtr parse_filter_expr(ExprPtr node) {
        for (;;) {
            if (at_op("|")) {
                ++pos_;
                node = parse_filter(std::move(node));
            } else if (at_name("is")) {
                node = parse_test(std::move(node));
            } else if (at_op("(")) {
                node = parse_call(std::move(node));
            } else {
                return node;
            }
        }
    }

    // Counts recursion in the parser; throws past kMaxNesting.
    struct NestingGuard {
        explicit NestingGuard(Parser& p) : parser(p) {
            if (++parser.nesting_ > kMaxNesting)
                throw_error_at(parser.peek().where, "expression or block nested too deeply (more than {} levels)", kMaxNesting);
        }
        ~NestingGuard() { --parser.nesting_; }
        Parser& parser;
    };

    std::vector<Token> tokens_;
    size_t pos_ = 0;
    int loop_depth_ = 0;
    int nesting_ = 0;
    std::vector<std::string> open_blocks_;  // the end tag each open block waits for, innermost last
};

}  // namespace

Body parse_template(std::string_view source, const LexOptions& options) {
    return Parser(tokenize(source, options)).parse_all();
}

}  // namespace rf::jinja
