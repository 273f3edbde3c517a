#include "tokenizer/jinja/interpreter.h"

#include <cmath>

#include "tokenizer/jinja/py_string.h"

namespace rf::jinja {

const Value* Scope::lookup(const std::string& name) const {
    for (const Scope* s = this; s; s = s->parent.get()) {
        const auto it = s->vars.find(name);
        if (it != s->vars.end()) return &it->second;
    }
    return nullptr;
}

namespace {

enum class Flow { normal, break_loop, continue_loop };

constexpr int kMaxCallDepth = 256;  // nested macro calls; deeper is almost surely runaway recursion

[[noreturn]] void undefined_operand(const Value& v) { throw_error("{}", v.undefined_hint()); }

[[noreturn]] void bad_operands(std::string_view op, const Value& a, const Value& b) {
    if (a.is_undefined()) undefined_operand(a);
    if (b.is_undefined()) undefined_operand(b);
    throw_error("unsupported operand type(s) for {}: '{}' and '{}'", op, type_name(a), type_name(b));
}

[[noreturn]] void integer_overflow() { throw_error("integer overflow (rocmforge's Jinja integers are 64-bit)"); }

int64_t add_checked(int64_t a, int64_t b) {
    int64_t r = 0;
    if (__builtin_add_overflow(a, b, &r)) integer_overflow();
    return r;
}
int64_t sub_checked(int64_t a, int64_t b) {
    int64_t r = 0;
    if (__builtin_sub_overflow(a, b, &r)) integer_overflow();
    return r;
}
int64_t mul_checked(int64_t a, int64_t b) {
    int64_t r = 0;
    if (__builtin_mul_overflow(a, b, &r)) integer_overflow();
    return r;
}

Value repeat(const Value& seq, int64_t n) {
    constexpr int64_t kMaxItems = 10'000'000;
    if (n <= 0) return seq.is_string() ? Value("") : Value::list({}, seq.as_list().is_tuple);
    if (seq.is_string()) {
        if (static_cast<int64_t>(seq.as_string().size()) * n > kMaxItems) throw_error("string repetition result is too large");
        std::string out;
        for (int64_t i = 0; i < n; ++i) out += seq.as_string();
        return Value(std::move(out));
    }
    if (static_cast<int64_t>(seq.as_list().items.size()) * n > kMaxItems) throw_error("list repetition result is too large");
    std::vector<Value> out;
    for (int64_t i = 0; i < n; ++i) out.insert(out.end(), seq.as_list().items.begin(), seq.as_list().items.end());
    return Value::list(std::move(out), seq.as_list().is_tuple);
}

Value power(const Value& a, const Value& b) {
    if (!a.is_float() && !b.is_float() && b.int_value() >= 0) {
        int64_t base = a.int_value(), exp = b.int_value(), result = 1;
        while (exp > 0) {
            if (exp & 1) result = mul_checked(result, base);
            exp >>= 1;
            if (exp > 0) base = mul_checked(base, base);
        }
        return Value(result);
    }
    if (a.float_value() == 0.0 && b.float_value() < 0) throw_error("0.0 cannot be raised to a negative power");
    return Value(std::pow(a.float_value(), b.float_value()));
}

Value arithmetic(const std::string& op, const Value& a, const Value& b) {
    if (op == "~") return Value(to_str(a) + to_str(b));
    const bool numbers = a.is_number() && b.is_number();
    const bool use_float = numbers && (a.is_float() || b.is_float());
    if (op == "+") {
        if (numbers) {
            if (use_float) return Value(a.float_value() + b.float_value());
            return Value(add_checked(a.int_value(), b.int_value()));
        }
        if (a.is_string() && b.is_string()) return Value(a.as_string() + b.as_string());
        if (a.is_list() && b.is_list() && a.as_list().is_tuple == b.as_list().is_tuple) {
            std::vector<Value> items = a.as_list().items;
            items.insert(items.end(), b.as_list().items.begin(), b.as_list().items.end());
            return Value::list(std::move(items), a.as_list().is_tuple);
        }
        bad_operands(op, a, b);
    }
    if (op == "-") {
        if (!numbers) bad_operands(op, a, b);
        if (use_float) return Value(a.float_value() - b.float_value());
        return Value(sub_checked(a.int_value(), b.int_value()));
    }
    if (op == "*") {
        if (numbers) {
            if (use_float) return Value(a.float_value() * b.float_value());
            return Value(mul_checked(a.int_value(), b.int_value()));
        }
        if ((a.is_string() || a.is_list()) && (b.is_int() || b.is_bool())) return repeat(a, b.int_value());
        if ((b.is_string() || b.is_list()) && (a.is_int() || a.is_bool())) return repeat(b, a.int_value());
        bad_operands(op, a, b);
    }
    if (op == "%" && a.is_string()) return Value(percent_format(a.as_string(), {b}));
    if (!numbers) bad_operands(op, a, b);
    if (op == "**") return power(a, b);
    if (b.float_value() == 0.0) throw_error("division by zero");
    if (op == "/") return Value(a.float_value() / b.float_value());
    if (op == "//") {
        if (use_float) return Value(std::floor(a.float_value() / b.float_value()));
        const int64_t x = a.int_value(), y = b.int_value();
        if (x == INT64_MIN && y == -1) integer_overflow();
        int64_t q = x / y;
        if ((x % y != 0) && ((x < 0) != (y < 0))) --q;
        return Value(q);
    }
    if (op == "%") {
        if (use_float) {
            double r = std::fmod(a.float_value(), b.float_value());
            if (r != 0.0 && ((r < 0) != (b.float_value() < 0))) r += b.float_value();
            return Value(r);
        }
        const int64_t x = a.int_value(), y = b.int_value();
        if (y == -1) return Value(int64_t{0});
        int64_t r = x % y;
        if (r != 0 && ((r < 0) != (y < 0))) r += y;
        return Value(r);
    }
    throw_error("unknown operator '{}'", op);
}

bool compare(const std::string& op, const Value& a, const Value& b) {
    if (op == "==") return equals(a, b);
    if (op == "!=") return !equals(a, b);
    if (op == "in") return contains(b, a);
    if (op == "not in") return !contains(b, a);
    if (a.is_undefined()) undefined_operand(a);
    if (b.is_undefined()) undefined_operand(b);
    if (op == "<") return less_than(a, b);
    if (op == ">") return less_than(b, a);
    if (op == "<=") return !less_than(b, a);
    if (op == ">=") return !less_than(a, b);
    throw_error("unknown comparison '{}'", op);
}

class Interpreter {
public:
    Flow exec(const Body& body, const ScopePtr& scope, std::string& out) {
        for (const StmtPtr& s : body) {
            const Flow flow = exec_located(*s, scope, out);
            if (flow != Flow::normal) return flow;
        }
        return Flow::normal;
    }

private:
    Flow exec_located(const Stmt& s, const ScopePtr& scope, std::string& out) {
        try {
            return exec_stmt(s, scope, out);
        } catch (TemplateError& e) {
            if (!e.located()) e.locate(s.where);
            throw;
        }
    }

    Flow exec_stmt(const Stmt& s, const ScopePtr& scope, std::string& out) {
        switch (s.kind) {
            case StmtKind::text: out += s.text; return Flow::normal;
            case StmtKind::output: out += to_str(eval(*s.expr, scope)); return Flow::normal;
            case StmtKind::if_: return exec(truthy(eval(*s.expr, scope)) ? s.body : s.else_body, scope, out);
            case StmtKind::for_: exec_for(s, scope, out); return Flow::normal;
            case StmtKind::set: assign(*s.target, eval(*s.expr, scope), scope); return Flow::normal;
            case StmtKind::set_block: {
                Value rendered(render_child(s.body, scope));
                if (s.expr) rendered = eval_filter(*s.expr, scope, &rendered);
                assign(*s.target, rendered, scope);
                return Flow::normal;
            }
            case StmtKind::macro: scope->vars[s.name] = make_macro(s, scope); return Flow::normal;
            case StmtKind::call_block: out += to_str(exec_call_block(s, scope)); return Flow::normal;
            case StmtKind::filter_block: {
                const Value rendered(render_child(s.body, scope));
                out += to_str(eval_filter(*s.expr, scope, &rendered));
                return Flow::normal;
            }
            case StmtKind::break_: return Flow::break_loop;
            case StmtKind::continue_: return Flow::continue_loop;
            case StmtKind::generation: return exec(s.body, scope, out);
        }
        return Flow::normal;
    }

    std::string render_child(const Body& body, const ScopePtr& scope) {
        auto child = std::make_shared<Scope>();
        child->parent = scope;
        std::string out;
        exec(body, child, out);
        return out;
    }

    // Binds a for / set target: a name, a tuple of targets (unpacking), or ns.attr.
    void assign(const Expr& target, const Value& value, const ScopePtr& scope) {
        switch (target.kind) {
            case ExprKind::name: scope->vars[target.name] = value; return;
            case ExprKind::tuple: {
                std::vector<Value> items;
                try {
                    items = iterate(value, "unpacking");
                } catch (TemplateError& e) {
                    e.locate(target.where);
                    throw;
                }
                if (items.size() != target.items.size())
                    throw_error_at(target.where, "cannot unpack {} value(s) into {} target(s)", items.size(), target.items.size());
                for (size_t i = 0; i < items.size(); ++i) assign(*target.items[i], items[i], scope);
                return;
            }
            case ExprKind::attribute: {
                const Value object = eval(*target.items[0], scope);
                if (!object.is_namespace())
                    throw_error_at(target.where, "cannot assign attribute '{}' on a {} (only on namespace() objects)", target.name,
                                   type_name(object));
                object.as_namespace().attributes.set(target.name, value);
                return;
            }
            default: throw_error_at(target.where, "cannot assign to this expression");
        }
    }

    void exec_for(const Stmt& s, const ScopePtr& scope, std::string& out) {
        std::vector<Value> items = iterate(eval(*s.expr, scope), "for loop");
        if (s.loop_filter) {
            std::vector<Value> kept;
            for (Value& item : items) {
                auto probe = std::make_shared<Scope>();
                probe->parent = scope;
                assign(*s.target, item, probe);
                if (truthy(eval(*s.loop_filter, probe))) kept.push_back(std::move(item));
            }
            items = std::move(kept);
        }
        if (items.empty()) {
            exec(s.else_body, scope, out);
            return;
        }
        const auto n = static_cast<int64_t>(items.size());
        for (int64_t i = 0; i < n; ++i) {
            auto iteration = std::make_shared<Scope>();
            iteration->parent = scope;
            assign(*s.target, items[static_cast<size_t>(i)], iteration);
            Dict loop;
            loop.set("index", Value(i + 1));
            loop.set("index0", Value(i));
            loop.set("revindex", Value(n - i));
            loop.set("revindex0", Value(n - i - 1));
            loop.set("first", Value(i == 0));
            loop.set("last", Value(i == n - 1));
            loop.set("length", Value(n));
            loop.set("depth", Value(int64_t{1}));
            loop.set("depth0", Value(int64_t{0}));
            loop.set("previtem", i > 0 ? items[static_cast<size_t>(i - 1)] : Value::undefined("there is no previous item"));
            loop.set("nextitem", i + 1 < n ? items[static_cast<size_t>(i + 1)] : Value::undefined("there is no next item"));
            loop.set("cycle", Value::function("loop.cycle", [i](Args& args) {
                         if (args.positional.empty()) throw_error("loop.cycle() needs at least one value");
                         return args.positional[static_cast<size_t>(i) % args.positional.size()];
                     }));
            iteration->vars["loop"] = Value::dict(std::move(loop));
            if (exec(s.body, iteration, out) == Flow::break_loop) break;
        }
    }

    // A macro is a function closing over the scope it was defined in.
    Value make_macro(const Stmt& s, const ScopePtr& scope) {
        std::weak_ptr<Scope> weak_scope = scope;  // the scope owns the macro: avoid a cycle
        return Value::function("macro '" + s.name + "'", [this, &s, weak_scope](Args& args) {
            ScopePtr defined_in = weak_scope.lock();
            if (!defined_in) throw_error("macro '{}' called after its scope ended", s.name);
            return Value(call_macro(s.name, s.params, s.body, defined_in, args));
        });
    }

    std::string call_macro(const std::string& name, const std::vector<Param>& params, const Body& body,
                           const ScopePtr& defined_in, Args& args) {
        if (depth_ >= kMaxCallDepth) throw_error("macro '{}': calls nested more than {} deep", name, kMaxCallDepth);
        auto frame = std::make_shared<Scope>();
        frame->parent = defined_in;
        std::vector<bool> bound(params.size(), false);
        for (size_t i = 0; i < args.positional.size() && i < params.size(); ++i) {
            frame->vars[params[i].name] = args.positional[i];
            bound[i] = true;
        }
        std::vector<Value> varargs;
        for (size_t i = params.size(); i < args.positional.size(); ++i) varargs.push_back(args.positional[i]);
        Dict kwargs;
        for (auto& [key, value] : args.keyword) {
            size_t i = 0;
            while (i < params.size() && params[i].name != key) ++i;
            if (i < params.size()) {
                if (bound[i]) throw_error("macro '{}' got multiple values for argument '{}'", name, key);
                frame->vars[key] = value;
                bound[i] = true;
            } else if (key == "caller") {
                frame->vars["caller"] = value;
            } else {
                kwargs.set(key, value);
            }
        }
        frame->vars["varargs"] = Value::list(std::move(varargs), true);
        frame->vars["kwargs"] = Value::dict(std::move(kwargs));
        for (size_t i = 0; i < params.size(); ++i) {
            if (bound[i]) continue;
            frame->vars[params[i].name] = params[i].default_value
                                              ? eval(*params[i].default_value, frame)
                                              : Value::undefined(fmt::format("parameter '{}' of macro '{}' was not given", params[i].name, name));
        }
        ++depth_;
        std::string out;
        try {
            exec(body, frame, out);
        } catch (...) {
            --depth_;
            throw;
        }
        --depth_;
        return out;
    }

    Value exec_call_block(const Stmt& s, const ScopePtr& scope) {
        const Value caller = Value::function("caller", [this, &s, scope](Args& args) {
            return Value(call_macro("caller", s.params, s.body, scope, args));
        });
        const Expr& call = *s.expr;
        const Value callee = eval(*call.items[0], scope);
        Args args = eval_args(call.args, scope);
        args.keyword.emplace_back("caller", caller);
        return invoke(callee, args);
    }

    static Value invoke(const Value& callee, Args& args) {
        if (callee.is_undefined()) throw_error("{} (cannot call it)", callee.undefined_hint());
        if (!callee.is_function()) throw_error("'{}' object is not callable", type_name(callee));
        return callee.as_function().call(args);
    }

    Args eval_args(const CallArgs& call, const ScopePtr& scope) {
        Args args;
        for (const ExprPtr& e : call.positional) args.positional.push_back(eval(*e, scope));
        if (call.star)
            for (Value& v : iterate(eval(*call.star, scope), "*args")) args.positional.push_back(std::move(v));
        for (const auto& [key, e] : call.keyword) args.keyword.emplace_back(key, eval(*e, scope));
        if (call.star_star) {
            const Value extra = eval(*call.star_star, scope);
            if (!extra.is_dict()) throw_error("argument after ** must be a mapping, not {}", type_name(extra));
            for (const auto& [key, v] : extra.as_dict().items()) args.keyword.emplace_back(key, v);
        }
        return args;
    }

    // A filter node; operand_override stands in for a missing operand ({% filter %} blocks).
    Value eval_filter(const Expr& e, const ScopePtr& scope, const Value* operand_override) {
        try {
            Value operand = e.items[0] ? (e.items[0]->kind == ExprKind::filter ? eval_filter(*e.items[0], scope, operand_override)
                                                                               : eval(*e.items[0], scope))
                                       : *operand_override;
            Args args = eval_args(e.args, scope);
            return (*e.filter)(operand, args);
        } catch (TemplateError& err) {
            if (!err.located()) err.locate(e.where);
            throw;
        }
    }

    Value eval(const Expr& e, const ScopePtr& scope) {
        try {
            return eval_expr(e, scope);
        } catch (TemplateError& err) {
            if (!err.located()) err.locate(e.where);
            throw;
        }
    }

    Value eval_expr(const Expr& e, const ScopePtr& scope) {
        switch (e.kind) {
            case ExprKind::literal: return e.value;
            case ExprKind::name: {
                if (const Value* v = scope->lookup(e.name)) return *v;
                return Value::undefined(fmt::format("'{}' is undefined", e.name));
            }
            case ExprKind::list:
            case ExprKind::tuple: {
                std::vector<Value> items;
                for (const ExprPtr& item : e.items) items.push_back(eval(*item, scope));
                return Value::list(std::move(items), e.kind == ExprKind::tuple);
            }
            case ExprKind::dict: {
                Dict d;
                for (size_t i = 0; i + 1 < e.items.size(); i += 2) {
                    const Value key = eval(*e.items[i], scope);
                    if (!key.is_string()) throw_error_at(e.items[i]->where, "dict keys must be strings, not {}", type_name(key));
                    d.set(key.as_string(), eval(*e.items[i + 1], scope));
                }
                return Value::dict(std::move(d));
            }
            case ExprKind::attribute: return get_attribute(eval(*e.items[0], scope), e.name);
            case ExprKind::subscript: return get_item(eval(*e.items[0], scope), eval(*e.items[1], scope));
            case ExprKind::slice: return eval_slice(e, scope);
            case ExprKind::call: {
                const Value callee = eval(*e.items[0], scope);
                Args args = eval_args(e.args, scope);
                return invoke(callee, args);
            }
            case ExprKind::filter: return eval_filter(e, scope, nullptr);
            case ExprKind::test: {
                const Value operand = eval(*e.items[0], scope);
                Args args = eval_args(e.args, scope);
                return Value((*e.test)(operand, args) != e.negated);
            }
            case ExprKind::unary: {
                const Value v = eval(*e.items[0], scope);
                if (e.name == "not") return Value(!truthy(v));
                if (v.is_undefined()) undefined_operand(v);
                if (!v.is_number()) throw_error("bad operand type for unary {}: '{}'", e.name, type_name(v));
                if (e.name == "+") return v.is_float() ? v : Value(v.int_value());
                if (v.is_float()) return Value(-v.as_float());
                return Value(sub_checked(0, v.int_value()));
            }
            case ExprKind::binary: {
                const Value left = eval(*e.items[0], scope);
                if (e.name == "and") return truthy(left) ? eval(*e.items[1], scope) : left;
                if (e.name == "or") return truthy(left) ? left : eval(*e.items[1], scope);
                return arithmetic(e.name, left, eval(*e.items[1], scope));
            }
            case ExprKind::compare: {
                Value left = eval(*e.items[0], scope);
                for (size_t i = 0; i < e.ops.size(); ++i) {
                    Value right = eval(*e.items[i + 1], scope);
                    if (!compare(e.ops[i], left, right)) return Value(false);
                    left = std::move(right);
                }
                return Value(true);
            }
            case ExprKind::conditional: {
                if (truthy(eval(*e.items[1], scope))) return eval(*e.items[0], scope);
                if (e.items[2]) return eval(*e.items[2], scope);
                return Value::undefined("the condition of an inline if was false and there is no else");
            }
        }
        return Value();
    }

    Value eval_slice(const Expr& e, const ScopePtr& scope) {
        const Value object = eval(*e.items[0], scope);
        auto bound = [&](const ExprPtr& part) -> std::optional<int64_t> {
            if (!part) return std::nullopt;
            const Value v = eval(*part, scope);
            if (v.is_none()) return std::nullopt;
            if (!v.is_int() && !v.is_bool()) throw_error_at(part->where, "slice indices must be integers or None, not {}", type_name(v));
            return v.int_value();
        };
        const auto start = bound(e.items[1]);
        const auto stop = bound(e.items[2]);
        const int64_t step = bound(e.items[3]).value_or(1);
        if (step == 0) throw_error("slice step cannot be zero");
        if (object.is_string()) {
            const std::u32string u = py::decode(object.as_string());
            std::u32string out;
            for (int64_t i : py::slice_indices(static_cast<int64_t>(u.size()), start, stop, step)) out += u[static_cast<size_t>(i)];
            return Value(py::encode(out));
        }
        if (object.is_list()) {
            const auto& items = object.as_list().items;
            std::vector<Value> out;
            for (int64_t i : py::slice_indices(static_cast<int64_t>(items.size()), start, stop, step))
                out.push_back(items[static_cast<size_t>(i)]);
            return Value::list(std::move(out), object.as_list().is_tuple);
        }
        if (object.is_undefined()) return object;
        throw_error("'{}' object is not subscriptable", type_name(object));
    }

    int depth_ = 0;
};

}  // namespace

std::string render_body(const Body& body, const Dict& context) {
    auto globals = std::make_shared<Scope>();
    const Dict builtin_globals = make_globals();
    for (const auto& [name, value] : builtin_globals.items()) globals->vars[name] = value;
    auto top = std::make_shared<Scope>();
    top->parent = globals;
    for (const auto& [name, value] : context.items()) top->vars[name] = value;
    Interpreter interpreter;
    std::string out;
    interpreter.exec(body, top, out);
    return out;
}

}  // namespace rf::jinja
