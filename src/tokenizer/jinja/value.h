// Runtime values of the Jinja interpreter, with Python semantics (Jinja2 is Python).
//
// A Value is one of: undefined, none, bool, int (64-bit), float (double), string (UTF-8),
// list (or tuple), dict (string keys, insertion order kept), function (native or macro),
// namespace. Lists and dicts are immutable once built (transformers renders chat templates in
// an ImmutableSandboxedEnvironment), so they are shared by pointer and copying a Value is cheap.
// A namespace is the one mutable object: `{% set ns.x = 1 %}` changes it for every holder.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace rf::jinja {

class Value;

// An undefined value remembers why it is undefined ("'foo' is undefined"), for error messages.
struct Undefined {
    std::string hint;
};
struct None {};

// Defined after Value (they hold Values; clang rejects containers of the incomplete type).
struct ListObject;
class Dict;
struct Args;
struct Function;
struct Namespace;

using ListPtr = std::shared_ptr<const ListObject>;
using DictPtr = std::shared_ptr<const Dict>;
using FunctionPtr = std::shared_ptr<const Function>;
using NamespacePtr = std::shared_ptr<Namespace>;

enum class Kind : uint8_t { undefined, none, boolean, integer, floating, string, list, dict, function, name_space };

class Value {
public:
    Value() : v_(Undefined{}) {}
    Value(None) : v_(None{}) {}
    Value(bool b) : v_(b) {}
    Value(int64_t i) : v_(i) {}
    Value(int i) : v_(int64_t{i}) {}
    Value(double f) : v_(f) {}
    Value(std::string s) : v_(std::move(s)) {}
    Value(const char* s) : v_(std::string(s)) {}
    Value(ListPtr l) : v_(std::move(l)) {}
    Value(DictPtr d) : v_(std::move(d)) {}
    Value(FunctionPtr f) : v_(std::move(f)) {}
    Value(NamespacePtr n) : v_(std::move(n)) {}

    static Value undefined(std::string hint) { Value v; v.v_ = Undefined{std::move(hint)}; return v; }
    static Value list(std::vector<Value> items, bool is_tuple = false);
    static Value dict(Dict d);
    static Value function(std::string name, std::function<Value(Args&)> call);

    Kind kind() const { return static_cast<Kind>(v_.index()); }
    bool is_undefined() const { return kind() == Kind::undefined; }
    bool is_none() const { return kind() == Kind::none; }
    bool is_bool() const { return kind() == Kind::boolean; }
    bool is_int() const { return kind() == Kind::integer; }
    bool is_float() const { return kind() == Kind::floating; }
    bool is_number() const { return is_int() || is_float() || is_bool(); }  // Python: bool is an int
    bool is_string() const { return kind() == Kind::string; }
    bool is_list() const { return kind() == Kind::list; }
    bool is_dict() const { return kind() == Kind::dict; }
    bool is_function() const { return kind() == Kind::function; }
    bool is_namespace() const { return kind() == Kind::name_space; }

    bool as_bool() const { return std::get<bool>(v_); }
    int64_t as_int() const { return std::get<int64_t>(v_); }
    double as_float() const { return std::get<double>(v_); }
    const std::string& as_string() const { return std::get<std::string>(v_); }
    const ListObject& as_list() const { return *std::get<ListPtr>(v_); }
    const Dict& as_dict() const { return *std::get<DictPtr>(v_); }
    const Function& as_function() const { return *std::get<FunctionPtr>(v_); }
    Namespace& as_namespace() const { return *std::get<NamespacePtr>(v_); }
    const std::string& undefined_hint() const { return std::get<Undefined>(v_).hint; }

    // Numbers widened: bool and int as int64, for arithmetic. Requires is_number().
    int64_t int_value() const { return is_bool() ? int64_t{as_bool()} : as_int(); }
    double float_value() const { return is_float() ? as_float() : static_cast<double>(int_value()); }

    // Identity of shared objects (namespace, function), for `is sameas` and ==.
    const void* identity() const;

private:
    std::variant<Undefined, None, bool, int64_t, double, std::string, ListPtr, DictPtr, FunctionPtr, NamespacePtr> v_;
};

struct ListObject {
    std::vector<Value> items;
    bool is_tuple = false;  // prints as (a, b) instead of [a, b]
};

// Insertion-ordered string-keyed map. Chat-template dicts hold a handful of keys, so a linear
// scan beats hashing.
class Dict {
public:
    const Value* find(std::string_view key) const;
    void set(std::string key, Value value);  // replaces an existing key in place
    const std::vector<std::pair<std::string, Value>>& items() const { return items_; }
    size_t size() const { return items_.size(); }

private:
    std::vector<std::pair<std::string, Value>> items_;
};

// Call arguments: positional then keyword, as written at the call site.
struct Args {
    std::vector<Value> positional;
    std::vector<std::pair<std::string, Value>> keyword;
};

struct Function {
    std::string name;  // for messages: "range", "macro 'render'", "str.split"
    std::function<Value(Args&)> call;
};

struct Namespace {
    Dict attributes;
};

// Python type names for messages: "str", "int", "NoneType", "dict", "list", "undefined", ...
const char* type_name(const Value& v);

// Python truthiness: empty string/list/dict, 0, 0.0, None, False and undefined are false.
bool truthy(const Value& v);

// Python str(): None -> "None", True -> "True", 1.5 -> "1.5", lists and dicts as their repr,
// undefined -> "".
std::string to_str(const Value& v);
// Python repr(): strings quoted, the rest as to_str().
std::string to_repr(const Value& v);
// Python repr of a float: shortest round-trip digits, "1.0", "1e+20", "1.5e-07", "inf", "nan".
std::string float_repr(double f);

// Python ==: numbers across int/float/bool, deep lists and dicts (dict order ignored).
bool equals(const Value& a, const Value& b);
// Python <: numbers, strings (by code point), lists lexicographically; otherwise throws.
bool less_than(const Value& a, const Value& b);

}  // namespace rf::jinja
