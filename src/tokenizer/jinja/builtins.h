// Built-in filters, tests, methods (str / dict / list), attribute access and globals, with the
// behaviour of Python Jinja2 as transformers configures it (tojson = json.dumps with
// ensure_ascii=False; raise_exception and strftime_now globals; immutable sandbox).
#pragma once

#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/jinja/value.h"

namespace rf::jinja {

using FilterFn = std::function<Value(const Value& input, Args& args)>;
using TestFn = std::function<bool(const Value& input, Args& args)>;

// nullptr when no such filter / test exists.
const FilterFn* find_filter(std::string_view name);
const TestFn* find_test(std::string_view name);

// obj.name: dict key (or dict method), str/list method, namespace attribute, foo.0 on lists.
// Missing attributes give undefined (never an error), like Jinja's sandboxed getattr.
Value get_attribute(const Value& obj, std::string_view name);
// obj[key]: dict key, list/str index (negative counts from the end); undefined when missing.
Value get_item(const Value& obj, const Value& key);
// Dotted path as used by map(attribute=), sort(attribute=), selectattr: "a.b.0".
Value get_attribute_path(const Value& obj, std::string_view path);

// Items visited by a for loop or a filter: list items, dict keys, string characters, nothing
// for undefined. Other types throw.
std::vector<Value> iterate(const Value& v, std::string_view what);

// Python `item in container`: substring, list membership, dict key; false for undefined.
bool contains(const Value& container, const Value& item);

// Globals every template sees: range, namespace, dict, raise_exception, strftime_now, ...
Dict make_globals();

// Python's printf-style "fmt % args" (also the |format filter): %s %r %d %i %f %x %%.
std::string percent_format(const std::string& format, const std::vector<Value>& args);

// Python-style argument binding for a built-in: positional arguments fill the names in
// order, keyword arguments by name; an unknown keyword or too many positionals throws.
class BoundArgs {
public:
    BoundArgs(Args& args, std::string_view what, std::initializer_list<const char*> names);
    // The value passed for parameter i, or undefined when not passed.
    const Value& operator[](size_t i) const { return values_[i]; }
    bool given(size_t i) const { return !values_[i].is_undefined(); }
    // Typed getters with a default for an absent argument; a wrong type throws.
    int64_t get_int(size_t i, int64_t fallback) const;
    bool get_bool(size_t i, bool fallback) const;
    std::optional<std::string> get_string(size_t i) const;  // nullopt if absent or none

private:
    std::string what_;
    std::vector<std::string> names_;
    std::vector<Value> values_;
};

}  // namespace rf::jinja
