// Attribute and item access, iteration, argument binding, and the methods of str, dict and
// list that chat templates call (message.content.split('</think>'), tool.items(), ...).
#include <cctype>
#include <charconv>
#include <climits>
#include <unordered_map>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/py_string.h"
#include "tokenizer/jinja/template_error.h"

namespace rf::jinja {

BoundArgs::BoundArgs(Args& args, std::string_view what, std::initializer_list<const char*> names)
    : what_(what), names_(names.begin(), names.end()), values_(names.size()) {
    if (args.positional.size() > names_.size())
        throw_error("{} takes at most {} argument(s) ({} given)", what_, names_.size(), args.positional.size());
    for (size_t i = 0; i < args.positional.size(); ++i) values_[i] = std::move(args.positional[i]);
    for (auto& [key, value] : args.keyword) {
        size_t i = 0;
        while (i < names_.size() && names_[i] != key) ++i;
        if (i == names_.size()) throw_error("{} got an unexpected keyword argument '{}'", what_, key);
        if (i < args.positional.size()) throw_error("{} got multiple values for argument '{}'", what_, key);
        values_[i] = std::move(value);
    }
}

int64_t BoundArgs::get_int(size_t i, int64_t fallback) const {
    if (!given(i)) return fallback;
    if (!values_[i].is_int() && !values_[i].is_bool())
        throw_error("{}: argument '{}' must be an integer, not {}", what_, names_[i], type_name(values_[i]));
    return values_[i].int_value();
}

bool BoundArgs::get_bool(size_t i, bool fallback) const {
    if (!given(i)) return fallback;
    return truthy(values_[i]);
}

std::optional<std::string> BoundArgs::get_string(size_t i) const {
    if (!given(i) || values_[i].is_none()) return std::nullopt;
    if (!values_[i].is_string())
        throw_error("{}: argument '{}' must be a string, not {}", what_, names_[i], type_name(values_[i]));
    return values_[i].as_string();
}

std::vector<Value> iterate(const Value& v, std::string_view what) {
    switch (v.kind()) {
        case Kind::undefined: return {};
        case Kind::list: return v.as_list().items;
        case Kind::dict: {
            std::vector<Value> keys;
            for (const auto& [k, item] : v.as_dict().items()) keys.emplace_back(k);
            return keys;
        }
        case Kind::string: {
            std::vector<Value> chars;
            for (char32_t c : py::decode(v.as_string())) chars.emplace_back(py::encode(std::u32string(1, c)));
            return chars;
        }
        default: throw_error("{}: '{}' object is not iterable", what, type_name(v));
    }
}

bool contains(const Value& container, const Value& item) {
    switch (container.kind()) {
        case Kind::string:
            if (!item.is_string()) throw_error("'in <string>' requires string as left operand, not {}", type_name(item));
            return container.as_string().find(item.as_string()) != std::string::npos;
        case Kind::list:
            for (const Value& x : container.as_list().items)
                if (equals(x, item)) return true;
            return false;
        case Kind::dict: return item.is_string() && container.as_dict().find(item.as_string()) != nullptr;
        case Kind::undefined: return false;
        default: throw_error("argument of type '{}' is not iterable", type_name(container));
    }
}

namespace {

using Method = Value (*)(const Value& self, Args& args);

std::string require_string(const Value& v, std::string_view what) {
    if (!v.is_string()) throw_error("{}: expected a string argument, got {}", what, type_name(v));
    return v.as_string();
}

// startswith / endswith accept a string or a tuple of strings.
Value affix_test(const Value& self, Args& args, bool prefix) {
    const char* what = prefix ? "str.startswith()" : "str.endswith()";
    BoundArgs a(args, what, {prefix ? "prefix" : "suffix"});
    const std::string& s = self.as_string();
    auto match = [&](const Value& v) {
        const std::string p = require_string(v, what);
        return p.size() <= s.size() && (prefix ? s.compare(0, p.size(), p) == 0 : s.compare(s.size() - p.size(), p.size(), p) == 0);
    };
    if (a[0].is_list()) {
        for (const Value& item : a[0].as_list().items)
            if (match(item)) return Value(true);
        return Value(false);
    }
    return Value(match(a[0]));
}

Value strip_method(const Value& self, Args& args, bool left, bool right, const char* what) {
    BoundArgs a(args, what, {"chars"});
    return Value(py::strip(self.as_string(), a.get_string(0), left, right));
}

Value split_method(const Value& self, Args& args, bool from_right) {
    BoundArgs a(args, from_right ? "str.rsplit()" : "str.split()", {"sep", "maxsplit"});
    const auto sep = a.get_string(0);
    if (sep && sep->empty()) throw_error("str.split(): empty separator");
    const int64_t maxsplit = a.get_int(1, -1);
    std::vector<std::string> parts =
        from_right ? py::rsplit(self.as_string(), sep, maxsplit) : py::split(self.as_string(), sep, maxsplit);
    std::vector<Value> items;
    for (auto& p : parts) items.emplace_back(std::move(p));
    return Value::list(std::move(items));
}

bool all_chars(const std::string& s, bool (*pred)(char)) {
    if (s.empty()) return false;
    for (char c : s)
        if (!pred(c)) return false;
    return true;
}

// Python's str.format: {} {0} {name} fields and {{ }} escapes; format specs are not supported.
Value format_method(const Value& self, Args& args) {
    const std::string& f = self.as_string();
    std::string out;
    size_t next_auto = 0;
    for (size_t i = 0; i < f.size(); ++i) {
        if (f[i] == '{' && i + 1 < f.size() && f[i + 1] == '{') {
            out += '{';
            ++i;
        } else if (f[i] == '}' && i + 1 < f.size() && f[i + 1] == '}') {
            out += '}';
            ++i;
        } else if (f[i] == '{') {
            const size_t close = f.find('}', i);
            if (close == std::string::npos) throw_error("str.format(): single '{{' in format string");
            const std::string field = f.substr(i + 1, close - i - 1);
            if (field.find_first_of(":!") != std::string::npos)
                throw_error("str.format(): format specs and conversions ('{}') are not supported", field);
            const Value* v = nullptr;
            if (field.empty() || std::isdigit(static_cast<unsigned char>(field[0]))) {
                size_t index = next_auto;
                if (field.empty())
                    ++next_auto;
                else if (std::from_chars(field.data(), field.data() + field.size(), index).ec != std::errc())
                    throw_error("str.format(): bad field '{{{}}}'", field);
                if (index >= args.positional.size()) throw_error("str.format(): replacement index {} out of range", index);
                v = &args.positional[index];
            } else {
                for (const auto& [k, kv] : args.keyword)
                    if (k == field) v = &kv;
                if (!v) throw_error("str.format(): no argument named '{}'", field);
            }
            out += to_str(*v);
            i = close;
        } else if (f[i] == '}') {
            throw_error("str.format(): single '}}' in format string");
        } else {
            out += f[i];
        }
    }
    return Value(std::move(out));
}

const std::unordered_map<std::string_view, Method>& str_methods() {
    static const std::unordered_map<std::string_view, Method> methods = {
        {"upper", [](const Value& s, Args& a) { BoundArgs(a, "str.upper()", {}); return Value(py::upper(s.as_string())); }},
        {"lower", [](const Value& s, Args& a) { BoundArgs(a, "str.lower()", {}); return Value(py::lower(s.as_string())); }},
        {"title", [](const Value& s, Args& a) { BoundArgs(a, "str.title()", {}); return Value(py::title_method(s.as_string())); }},
        {"capitalize", [](const Value& s, Args& a) { BoundArgs(a, "str.capitalize()", {}); return Value(py::capitalize(s.as_string())); }},
        {"strip", [](const Value& s, Args& a) { return strip_method(s, a, true, true, "str.strip()"); }},
        {"lstrip", [](const Value& s, Args& a) { return strip_method(s, a, true, false, "str.lstrip()"); }},
        {"rstrip", [](const Value& s, Args& a) { return strip_method(s, a, false, true, "str.rstrip()"); }},
        {"startswith", [](const Value& s, Args& a) { return affix_test(s, a, true); }},
        {"endswith", [](const Value& s, Args& a) { return affix_test(s, a, false); }},
        {"split", [](const Value& s, Args& a) { return split_method(s, a, false); }},
        {"rsplit", [](const Value& s, Args& a) { return split_method(s, a, true); }},
        {"splitlines",
         [](const Value& s, Args& a) {
             BoundArgs(a, "str.splitlines()", {});
             std::vector<Value> items;
             for (auto& line : py::splitlines(s.as_string())) items.emplace_back(std::move(line));
             return Value::list(std::move(items));
         }},
        {"replace",
         [](const Value& s, Args& a) {
             BoundArgs b(a, "str.replace()", {"old", "new", "count"});
             return Value(py::replace(s.as_string(), require_string(b[0], "str.replace()"),
                                      require_string(b[1], "str.replace()"), b.get_int(2, -1)));
         }},
        {"find",
         [](const Value& s, Args& a) {
             BoundArgs b(a, "str.find()", {"sub"});
             return Value(py::find(s.as_string(), require_string(b[0], "str.find()")));
         }},
        {"rfind",
         [](const Value& s, Args& a) {
             BoundArgs b(a, "str.rfind()", {"sub"});
             return Value(py::rfind(s.as_string(), require_string(b[0], "str.rfind()")));
         }},
        {"index",
         [](const Value& s, Args& a) {
             BoundArgs b(a, "str.index()", {"sub"});
             const int64_t at = py::find(s.as_string(), require_string(b[0], "str.index()"));
             if (at < 0) throw_error("str.index(): substring not found");
             return Value(at);
         }},
        {"count",
         [](const Value& s, Args& a) {
             BoundArgs b(a, "str.count()", {"sub"});
             return Value(py::count(s.as_string(), require_string(b[0], "str.count()")));
         }},
        {"join",
         [](const Value& s, Args& a) {
             BoundArgs b(a, "str.join()", {"iterable"});
             std::string out;
             bool first = true;
             for (const Value& item : iterate(b[0], "str.join()")) {
                 if (!first) out += s.as_string();
                 first = false;
                 out += require_string(item, "str.join()");
             }
             return Value(std::move(out));
         }},
        {"format", format_method},
        {"removeprefix",
         [](const Value& s, Args& a) {
             BoundArgs b(a, "str.removeprefix()", {"prefix"});
             const std::string p = require_string(b[0], "str.removeprefix()");
             const std::string& str = s.as_string();
             return Value(str.compare(0, p.size(), p) == 0 ? str.substr(p.size()) : str);
         }},
        {"removesuffix",
         [](const Value& s, Args& a) {
             BoundArgs b(a, "str.removesuffix()", {"suffix"});
             const std::string p = require_string(b[0], "str.removesuffix()");
             const std::string& str = s.as_string();
             const bool has = p.size() <= str.size() && str.compare(str.size() - p.size(), p.size(), p) == 0;
             return Value(has ? str.substr(0, str.size() - p.size()) : str);
         }},
        {"isdigit", [](const Value& s, Args& a) { BoundArgs(a, "str.isdigit()", {}); return Value(all_chars(s.as_string(), [](char c) { return c >= '0' && c <= '9'; })); }},
        {"isalpha", [](const Value& s, Args& a) { BoundArgs(a, "str.isalpha()", {}); return Value(all_chars(s.as_string(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; })); }},
        {"isalnum", [](const Value& s, Args& a) { BoundArgs(a, "str.isalnum()", {}); return Value(all_chars(s.as_string(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; })); }},
        {"isspace", [](const Value& s, Args& a) { BoundArgs(a, "str.isspace()", {}); return Value(all_chars(s.as_string(), [](char c) { return py::is_space(static_cast<unsigned char>(c)); })); }},
        {"islower", [](const Value& s, Args& a) { BoundArgs(a, "str.islower()", {}); const auto& t = s.as_string(); return Value(py::lower(t) == t && py::upper(t) != t); }},
        {"isupper", [](const Value& s, Args& a) { BoundArgs(a, "str.isupper()", {}); const auto& t = s.as_string(); return Value(py::upper(t) == t && py::lower(t) != t); }},
    };
    return methods;
}

Value items_of(const Dict& d) {
    std::vector<Value> items;
    for (const auto& [k, v] : d.items()) items.push_back(Value::list({Value(k), v}, true));
    return Value::list(std::move(items));
}

const std::unordered_map<std::string_view, Method>& dict_methods() {
    static const std::unordered_map<std::string_view, Method> methods = {
        {"get",
         [](const Value& d, Args& a) {
             BoundArgs b(a, "dict.get()", {"key", "default"});
             const Value* found = b[0].is_string() ? d.as_dict().find(b[0].as_string()) : nullptr;
             return found ? *found : (b.given(1) ? b[1] : Value(None{}));
         }},
        {"items", [](const Value& d, Args& a) { BoundArgs(a, "dict.items()", {}); return items_of(d.as_dict()); }},
        {"keys",
         [](const Value& d, Args& a) {
             BoundArgs(a, "dict.keys()", {});
             return Value::list(iterate(d, "dict.keys()"));
         }},
        {"values",
         [](const Value& d, Args& a) {
             BoundArgs(a, "dict.values()", {});
             std::vector<Value> values;
             for (const auto& [k, v] : d.as_dict().items()) values.push_back(v);
             return Value::list(std::move(values));
         }},
    };
    return methods;
}

const std::unordered_map<std::string_view, Method>& list_methods() {
    static const std::unordered_map<std::string_view, Method> methods = {
        {"index",
         [](const Value& l, Args& a) {
             BoundArgs b(a, "list.index()", {"value"});
             const auto& items = l.as_list().items;
             for (size_t i = 0; i < items.size(); ++i)
                 if (equals(items[i], b[0])) return Value(static_cast<int64_t>(i));
             throw_error("list.index(): {} is not in list", to_repr(b[0]));
         }},
        {"count",
         [](const Value& l, Args& a) {
             BoundArgs b(a, "list.count()", {"value"});
             int64_t n = 0;
             for (const Value& item : l.as_list().items) n += equals(item, b[0]);
             return Value(n);
         }},
    };
    return methods;
}

Value bind_method(const Value& self, std::string_view type, std::string_view name, Method m) {
    return Value::function(fmt::format("{}.{}", type, name), [self, m](Args& args) { return m(self, args); });
}

bool is_mutating_method(std::string_view name) {
    static const char* const names[] = {"append", "extend", "insert", "pop", "remove", "clear", "update", "setdefault", "sort", "reverse", "popitem"};
    for (const char* n : names)
        if (name == n) return true;
    return false;
}

Value missing_attribute(const Value& obj, std::string_view name) {
    if ((obj.is_list() || obj.is_dict()) && is_mutating_method(name))
        return Value::undefined(fmt::format("{}.{}() is not available: chat templates render in an immutable sandbox (as in transformers), use namespace() for state",
                                            type_name(obj), name));
    return Value::undefined(fmt::format("'{}' object has no attribute '{}'", type_name(obj), name));
}

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

// "12" -> 12 as an index Value; digits too long for int64 give an index that is out of range.
Value digits_index(std::string_view digits) {
    int64_t i = 0;
    if (std::from_chars(digits.data(), digits.data() + digits.size(), i).ec != std::errc()) i = INT64_MAX;
    return Value(i);
}

}  // namespace

Value get_attribute(const Value& obj, std::string_view name) {
    switch (obj.kind()) {
        case Kind::undefined: return obj;
        case Kind::dict: {
            const auto& methods = dict_methods();
            if (auto it = methods.find(name); it != methods.end()) return bind_method(obj, "dict", name, it->second);
            if (const Value* v = obj.as_dict().find(name)) return *v;
            return missing_attribute(obj, name);
        }
        case Kind::name_space: {
            if (const Value* v = obj.as_namespace().attributes.find(name)) return *v;
            return missing_attribute(obj, name);
        }
        case Kind::string: {
            const auto& methods = str_methods();
            if (auto it = methods.find(name); it != methods.end()) return bind_method(obj, "str", name, it->second);
            return missing_attribute(obj, name);
        }
        case Kind::list: {
            if (all_digits(name)) return get_item(obj, digits_index(name));
            const auto& methods = list_methods();
            if (auto it = methods.find(name); it != methods.end()) return bind_method(obj, "list", name, it->second);
            return missing_attribute(obj, name);
        }
        default: return missing_attribute(obj, name);
    }
}

Value get_item(const Value& obj, const Value& key) {
    switch (obj.kind()) {
        case Kind::undefined: return obj;
        case Kind::dict: {
            if (!key.is_string()) return Value::undefined(fmt::format("dict has no key {}", to_repr(key)));
            if (const Value* v = obj.as_dict().find(key.as_string())) return *v;
            if (dict_methods().count(key.as_string())) return get_attribute(obj, key.as_string());
            return Value::undefined(fmt::format("dict has no key {}", to_repr(key)));
        }
        case Kind::list:
        case Kind::string: {
            if (key.is_string()) return get_attribute(obj, key.as_string());
            if (!key.is_int() && !key.is_bool())
                throw_error("{} indices must be integers, not {}", type_name(obj), type_name(key));
            int64_t i = key.int_value();
            if (obj.is_list()) {
                const auto n = static_cast<int64_t>(obj.as_list().items.size());
                if (i < 0) i += n;
                if (i < 0 || i >= n) return Value::undefined(fmt::format("list index {} out of range", key.int_value()));
                return obj.as_list().items[static_cast<size_t>(i)];
            }
            const std::u32string u = py::decode(obj.as_string());
            const auto n = static_cast<int64_t>(u.size());
            if (i < 0) i += n;
            if (i < 0 || i >= n) return Value::undefined(fmt::format("string index {} out of range", key.int_value()));
            return Value(py::encode(u.substr(static_cast<size_t>(i), 1)));
        }
        case Kind::name_space:
            if (key.is_string()) return get_attribute(obj, key.as_string());
            return Value::undefined("namespace keys are strings");
        default: return Value::undefined(fmt::format("'{}' object is not subscriptable", type_name(obj)));
    }
}

Value get_attribute_path(const Value& obj, std::string_view path) {
    Value v = obj;
    size_t start = 0;
    for (;;) {
        const size_t dot = path.find('.', start);
        const std::string_view part = path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        v = all_digits(part) ? get_item(v, digits_index(part)) : get_item(v, Value(std::string(part)));
        if (dot == std::string_view::npos) return v;
        start = dot + 1;
    }
}

}  // namespace rf::jinja
