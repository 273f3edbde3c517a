#include "tokenizer/jinja/value.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "tokenizer/jinja/py_string.h"
#include "tokenizer/jinja/template_error.h"

namespace rf::jinja {

const Value* Dict::find(std::string_view key) const {
    for (const auto& [k, v] : items_)
        if (k == key) return &v;
    return nullptr;
}

void Dict::set(std::string key, Value value) {
    for (auto& [k, v] : items_) {
        if (k == key) {
            v = std::move(value);
            return;
        }
    }
    items_.emplace_back(std::move(key), std::move(value));
}

Value Value::list(std::vector<Value> items, bool is_tuple) {
    auto l = std::make_shared<ListObject>();
    l->items = std::move(items);
    l->is_tuple = is_tuple;
    return Value(ListPtr(std::move(l)));
}

Value Value::dict(Dict d) { return Value(DictPtr(std::make_shared<Dict>(std::move(d)))); }

Value Value::function(std::string name, std::function<Value(Args&)> call) {
    return Value(FunctionPtr(std::make_shared<Function>(Function{std::move(name), std::move(call)})));
}

const void* Value::identity() const {
    switch (kind()) {
        case Kind::list: return std::get<ListPtr>(v_).get();
        case Kind::dict: return std::get<DictPtr>(v_).get();
        case Kind::function: return std::get<FunctionPtr>(v_).get();
        case Kind::name_space: return std::get<NamespacePtr>(v_).get();
        default: return nullptr;
    }
}

const char* type_name(const Value& v) {
    switch (v.kind()) {
        case Kind::undefined: return "undefined";
        case Kind::none: return "NoneType";
        case Kind::boolean: return "bool";
        case Kind::integer: return "int";
        case Kind::floating: return "float";
        case Kind::string: return "str";
        case Kind::list: return v.as_list().is_tuple ? "tuple" : "list";
        case Kind::dict: return "dict";
        case Kind::function: return "function";
        case Kind::name_space: return "Namespace";
    }
    return "?";
}

bool truthy(const Value& v) {
    switch (v.kind()) {
        case Kind::undefined:
        case Kind::none: return false;
        case Kind::boolean: return v.as_bool();
        case Kind::integer: return v.as_int() != 0;
        case Kind::floating: return v.as_float() != 0.0;
        case Kind::string: return !v.as_string().empty();
        case Kind::list: return !v.as_list().items.empty();
        case Kind::dict: return v.as_dict().size() != 0;
        case Kind::function:
        case Kind::name_space: return true;
    }
    return false;
}

std::string float_repr(double f) {
    if (std::isnan(f)) return "nan";
    if (std::isinf(f)) return f > 0 ? "inf" : "-inf";
    // Shortest round-trip digits in scientific form: d.ddde[+-]XX.
    char buf[64];
    const auto res = std::to_chars(buf, buf + sizeof buf, f, std::chars_format::scientific);
    std::string sci(buf, res.ptr);
    const size_t e_pos = sci.find('e');
    const int exponent = std::atoi(sci.c_str() + e_pos + 1);
    std::string mantissa = sci.substr(0, e_pos);
    const bool negative = mantissa[0] == '-';
    if (negative) mantissa.erase(0, 1);
    std::string digits;
    for (char c : mantissa)
        if (c != '.') digits += c;
    std::string out = negative ? "-" : "";
    // CPython repr: fixed notation when -4 <= exponent < 16, else scientific.
    const auto n_digits = static_cast<int>(digits.size());
    if (exponent >= -4 && exponent < 16) {
        if (exponent < 0) {
            out.append("0.").append(static_cast<size_t>(-exponent - 1), '0').append(digits);
        } else if (n_digits <= exponent + 1) {
            out.append(digits).append(static_cast<size_t>(exponent + 1 - n_digits), '0').append(".0");
        } else {
            out.append(digits, 0, static_cast<size_t>(exponent + 1)).append(1, '.').append(digits, static_cast<size_t>(exponent + 1));
        }
        return out;
    }
    out.append(digits, 0, 1);
    if (n_digits > 1) out.append(1, '.').append(digits, 1);
    out += fmt::format("e{}{:02d}", exponent < 0 ? '-' : '+', std::abs(exponent));
    return out;
}

namespace {

void append_str(std::string& out, const Value& v, bool as_repr);

// 'key': repr(value), ... as Python prints a dict's contents.
void append_items(std::string& out, const Dict& d) {
    bool first = true;
    for (const auto& [k, item] : d.items()) {
        if (!first) out += ", ";
        first = false;
        out += py::repr(k);
        out += ": ";
        append_str(out, item, true);
    }
}

void append_str(std::string& out, const Value& v, bool as_repr) {
    switch (v.kind()) {
        case Kind::undefined: return;
        case Kind::none: out += "None"; return;
        case Kind::boolean: out += v.as_bool() ? "True" : "False"; return;
        case Kind::integer: out += std::to_string(v.as_int()); return;
        case Kind::floating: out += float_repr(v.as_float()); return;
        case Kind::string: out += as_repr ? py::repr(v.as_string()) : v.as_string(); return;
        case Kind::list: {
            const ListObject& l = v.as_list();
            out += l.is_tuple ? '(' : '[';
            for (size_t i = 0; i < l.items.size(); ++i) {
                if (i) out += ", ";
                append_str(out, l.items[i], true);
            }
            if (l.is_tuple && l.items.size() == 1) out += ',';
            out += l.is_tuple ? ')' : ']';
            return;
        }
        case Kind::dict:
            out += '{';
            append_items(out, v.as_dict());
            out += '}';
            return;
        case Kind::function: out += "<function " + v.as_function().name + ">"; return;
        case Kind::name_space:
            out += "<Namespace {";
            append_items(out, v.as_namespace().attributes);
            out += "}>";
            return;
    }
}

}  // namespace

std::string to_str(const Value& v) {
    if (v.is_string()) return v.as_string();
    std::string out;
    append_str(out, v, false);
    return out;
}

std::string to_repr(const Value& v) {
    std::string out;
    append_str(out, v, true);
    return out;
}

bool equals(const Value& a, const Value& b) {
    if (a.is_number() && b.is_number()) {
        if (a.is_float() || b.is_float()) return a.float_value() == b.float_value();
        return a.int_value() == b.int_value();
    }
    if (a.kind() != b.kind()) return false;
    switch (a.kind()) {
        case Kind::undefined:
        case Kind::none: return true;
        case Kind::string: return a.as_string() == b.as_string();
        case Kind::list: {
            const ListObject& x = a.as_list();
            const ListObject& y = b.as_list();
            if (x.is_tuple != y.is_tuple || x.items.size() != y.items.size()) return false;
            for (size_t i = 0; i < x.items.size(); ++i)
                if (!equals(x.items[i], y.items[i])) return false;
            return true;
        }
        case Kind::dict: {
            const Dict& x = a.as_dict();
            const Dict& y = b.as_dict();
            if (x.size() != y.size()) return false;
            for (const auto& [k, v] : x.items()) {
                const Value* other = y.find(k);
                if (!other || !equals(v, *other)) return false;
            }
            return true;
        }
        default: return a.identity() == b.identity();
    }
}

bool less_than(const Value& a, const Value& b) {
    if (a.is_number() && b.is_number()) {
        if (a.is_float() || b.is_float()) return a.float_value() < b.float_value();
        return a.int_value() < b.int_value();
    }
    if (a.is_string() && b.is_string()) return a.as_string() < b.as_string();  // UTF-8 byte order = code point order
    if (a.is_list() && b.is_list() && a.as_list().is_tuple == b.as_list().is_tuple) {
        const auto& x = a.as_list().items;
        const auto& y = b.as_list().items;
        for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
            if (equals(x[i], y[i])) continue;
            return less_than(x[i], y[i]);
        }
        return x.size() < y.size();
    }
    throw_error("'<' not supported between instances of '{}' and '{}'", type_name(a), type_name(b));
}

}  // namespace rf::jinja
