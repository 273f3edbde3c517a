// Jinja filters (`x | name(args)`), with Jinja2's argument names and Python semantics.
// tojson is transformers' override: json.dumps(x, ensure_ascii=False, indent=None,
// separators=None, sort_keys=False), not Jinja's HTML-safe default.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <unordered_map>
#include <unordered_set>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/json_value.h"
#include "tokenizer/jinja/py_string.h"
#include "tokenizer/jinja/template_error.h"

namespace rf::jinja {

namespace {

Value list_value(std::vector<Value> items) { return Value::list(std::move(items)); }

// Sort key for sort / unique / dictsort: the attribute, lower-cased when case-insensitive.
Value sort_key(const Value& item, const std::optional<std::string>& attribute, bool case_sensitive) {
    Value key = attribute ? get_attribute_path(item, *attribute) : item;
    if (!case_sensitive && key.is_string()) return Value(py::lower(key.as_string()));
    return key;
}

Value filter_sort(const Value& v, Args& args) {
    BoundArgs a(args, "filter 'sort'", {"reverse", "case_sensitive", "attribute"});
    const bool reverse = a.get_bool(0, false);
    const bool case_sensitive = a.get_bool(1, false);
    const auto attribute = a.get_string(2);
    std::vector<Value> items = iterate(v, "filter 'sort'");
    std::vector<std::pair<Value, size_t>> keyed;
    for (size_t i = 0; i < items.size(); ++i) keyed.emplace_back(sort_key(items[i], attribute, case_sensitive), i);
    std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
        return reverse ? less_than(y.first, x.first) : less_than(x.first, y.first);
    });
    std::vector<Value> out;
    for (const auto& [key, i] : keyed) out.push_back(items[i]);
    return list_value(std::move(out));
}

Value filter_unique(const Value& v, Args& args) {
    BoundArgs a(args, "filter 'unique'", {"case_sensitive", "attribute"});
    const bool case_sensitive = a.get_bool(0, false);
    const auto attribute = a.get_string(1);
    std::vector<Value> out, seen;
    for (const Value& item : iterate(v, "filter 'unique'")) {
        Value key = sort_key(item, attribute, case_sensitive);
        if (std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return equals(s, key); })) continue;
        seen.push_back(std::move(key));
        out.push_back(item);
    }
    return list_value(std::move(out));
}

Value filter_dictsort(const Value& v, Args& args) {
    BoundArgs a(args, "filter 'dictsort'", {"case_sensitive", "by", "reverse"});
    if (!v.is_dict()) throw_error("filter 'dictsort' needs a dict, got {}", type_name(v));
    const bool case_sensitive = a.get_bool(0, false);
    const std::string by = a.get_string(1).value_or("key");
    if (by != "key" && by != "value") throw_error("filter 'dictsort': 'by' must be 'key' or 'value', not '{}'", by);
    const bool reverse = a.get_bool(2, false);
    std::vector<Value> pairs;
    for (const auto& [k, item] : v.as_dict().items()) pairs.push_back(Value::list({Value(k), item}, true));
    const size_t index = by == "key" ? 0 : 1;
    std::stable_sort(pairs.begin(), pairs.end(), [&](const Value& x, const Value& y) {
        const Value kx = sort_key(x.as_list().items[index], std::nullopt, case_sensitive);
        const Value ky = sort_key(y.as_list().items[index], std::nullopt, case_sensitive);
        return reverse ? less_than(ky, kx) : less_than(kx, ky);
    });
    return list_value(std::move(pairs));
}

// map('filter', args...) or map(attribute='x', default=...).
Value filter_map(const Value& v, Args& args) {
    std::vector<Value> items = iterate(v, "filter 'map'");
    std::vector<Value> out;
    if (args.positional.empty()) {
        BoundArgs a(args, "filter 'map'", {"attribute", "default"});
        const auto attribute = a.get_string(0);
        if (!attribute) throw_error("filter 'map' needs a filter name or attribute=");
        for (const Value& item : items) {
            Value x = get_attribute_path(item, *attribute);
            out.push_back(x.is_undefined() && a.given(1) ? a[1] : x);
        }
        return list_value(std::move(out));
    }
    if (!args.positional[0].is_string()) throw_error("filter 'map': the filter name must be a string");
    const std::string name = args.positional[0].as_string();
    const FilterFn* f = find_filter(name);
    if (!f) throw_error("filter 'map': unknown filter '{}'", name);
    for (const Value& item : items) {
        Args rest{std::vector<Value>(args.positional.begin() + 1, args.positional.end()), args.keyword};
        out.push_back((*f)(item, rest));
    }
    return list_value(std::move(out));
}

// select / reject (test on the item) and selectattr / rejectattr (test on an attribute).
Value select_filter(const Value& v, Args& args, bool on_attribute, bool keep_matching, const char* what) {
    std::vector<Value> positional = args.positional;
    std::optional<std::string> attribute;
    if (on_attribute) {
        if (positional.empty() || !positional[0].is_string()) throw_error("{} needs an attribute name", what);
        attribute = positional[0].as_string();
        positional.erase(positional.begin());
    }
    const TestFn* test = nullptr;
    if (!positional.empty()) {
        if (!positional[0].is_string()) throw_error("{}: the test name must be a string", what);
        test = find_test(positional[0].as_string());
        if (!test) throw_error("{}: unknown test '{}'", what, positional[0].as_string());
        positional.erase(positional.begin());
    }
    std::vector<Value> out;
    for (const Value& item : iterate(v, what)) {
        const Value x = attribute ? get_attribute_path(item, *attribute) : item;
        bool match;
        if (test) {
            Args test_args{positional, args.keyword};
            match = (*test)(x, test_args);
        } else {
            match = truthy(x);
        }
        if (match == keep_matching) out.push_back(item);
    }
    return list_value(std::move(out));
}

Value filter_join(const Value& v, Args& args) {
    BoundArgs a(args, "filter 'join'", {"d", "attribute"});
    const std::string sep = a.given(0) ? to_str(a[0]) : "";
    const auto attribute = a.get_string(1);
    std::string out;
    bool first = true;
    for (const Value& item : iterate(v, "filter 'join'")) {
        if (!first) out += sep;
        first = false;
        out += to_str(attribute ? get_attribute_path(item, *attribute) : item);
    }
    return Value(std::move(out));
}

Value filter_tojson(const Value& v, Args& args) {
    BoundArgs a(args, "filter 'tojson'", {"ensure_ascii", "indent", "separators", "sort_keys"});
    JsonDumpOptions o;
    o.ensure_ascii = a.get_bool(0, false);
    if (a.given(1) && !a[1].is_none()) {
        if (a[1].is_string())
            o.indent = a[1].as_string();
        else
            o.indent = std::string(static_cast<size_t>(std::max<int64_t>(a.get_int(1, 0), 0)), ' ');
    }
    if (a.given(2) && !a[2].is_none()) {
        if (!a[2].is_list() || a[2].as_list().items.size() != 2 || !a[2].as_list().items[0].is_string() ||
            !a[2].as_list().items[1].is_string())
            throw_error("filter 'tojson': separators must be a pair of strings");
        o.item_separator = a[2].as_list().items[0].as_string();
        o.key_separator = a[2].as_list().items[1].as_string();
    }
    o.sort_keys = a.get_bool(3, false);
    return Value(dump_json(v, o));
}

Value filter_indent(const Value& v, Args& args) {
    BoundArgs a(args, "filter 'indent'", {"width", "first", "blank"});
    const std::string indention = a.given(0) && a[0].is_string() ? a[0].as_string() : std::string(static_cast<size_t>(a.get_int(0, 4)), ' ');
    const bool first = a.get_bool(1, false);
    const bool blank = a.get_bool(2, false);
    // Jinja appends a newline so that splitlines keeps a trailing empty line.
    std::vector<std::string> lines = py::splitlines(to_str(v) + "\n");
    std::string out;
    for (size_t i = 0; i < lines.size(); ++i) {
        if (i) out += "\n";
        if (i > 0 && (blank || !lines[i].empty())) out += indention;
        out += lines[i];
    }
    if (first) out = indention + out;
    return Value(std::move(out));
}

// Python round(x, n): correctly rounded, ties to even on the exact binary value, like printf.
double python_round(double x, int64_t digits) {
    char buf[512];
    std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(std::clamp<int64_t>(digits, 0, 300)), x);
    return std::strtod(buf, nullptr);
}

Value filter_round(const Value& v, Args& args) {
    BoundArgs a(args, "filter 'round'", {"precision", "method"});
    const int64_t precision = a.get_int(0, 0);
    const std::string method = a.get_string(1).value_or("common");
    if (!v.is_number()) throw_error("filter 'round' needs a number, got {}", type_name(v));
    if (method == "common") {
        if (!v.is_float()) return Value(v.int_value());
        return Value(python_round(v.as_float(), precision));
    }
    const double scale = std::pow(10.0, static_cast<double>(precision));
    if (method == "floor") return Value(std::floor(v.float_value() * scale) / scale);
    if (method == "ceil") return Value(std::ceil(v.float_value() * scale) / scale);
    throw_error("filter 'round': method must be 'common', 'ceil' or 'floor', not '{}'", method);
}

// Python int(str): optional sign, digits with underscores, surrounding whitespace.
std::optional<int64_t> parse_int(const std::string& text) {
    const std::string s = py::strip(text, std::nullopt, true, true);
    if (s.empty()) return std::nullopt;
    size_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0;
    if (i == s.size()) return std::nullopt;
    int64_t value = 0;
    for (; i < s.size(); ++i) {
        if (s[i] == '_' && i + 1 < s.size() && s[i + 1] != '_') continue;
        if (s[i] < '0' || s[i] > '9') return std::nullopt;
        if (__builtin_mul_overflow(value, 10, &value) || __builtin_add_overflow(value, s[i] - '0', &value)) return std::nullopt;
    }
    return s[0] == '-' ? -value : value;
}

std::optional<double> parse_float(const std::string& text) {
    const std::string s = py::strip(text, std::nullopt, true, true);
    if (s.empty()) return std::nullopt;
    char* end = nullptr;
    const double d = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size()) return std::nullopt;
    return d;
}

Value filter_int(const Value& v, Args& args) {
    BoundArgs a(args, "filter 'int'", {"default", "base"});
    const Value fallback = a.given(0) ? a[0] : Value(int64_t{0});
    const int64_t base = a.get_int(1, 10);
    if (base != 10 && v.is_string()) {
        // int("ff", 16): digits of that base only (Python also accepts a 0x / 0o / 0b prefix).
        if (base < 2 || base > 36) throw_error("filter 'int': base must be between 2 and 36, not {}", base);
        const std::string s = py::strip(v.as_string(), std::nullopt, true, true);
        char* end = nullptr;
        errno = 0;
        const long long parsed = std::strtoll(s.c_str(), &end, static_cast<int>(base));
        if (s.empty() || end != s.c_str() + s.size() || errno == ERANGE) return fallback;
        return Value(static_cast<int64_t>(parsed));
    }
    if (v.is_int() || v.is_bool()) return Value(v.int_value());
    if (v.is_float()) return std::isfinite(v.as_float()) ? Value(static_cast<int64_t>(v.as_float())) : fallback;
    if (v.is_string()) {
        if (const auto i = parse_int(v.as_string())) return Value(*i);
        if (const auto f = parse_float(v.as_string()); f && std::isfinite(*f)) return Value(static_cast<int64_t>(*f));
    }
    return fallback;
}

Value filter_float(const Value& v, Args& args) {
    BoundArgs a(args, "filter 'float'", {"default"});
    const Value fallback = a.given(0) ? a[0] : Value(0.0);
    if (v.is_number()) return Value(v.float_value());
    if (v.is_string())
        if (const auto f = parse_float(v.as_string())) return Value(*f);
    return fallback;
}

Value filter_escape(const Value& v, Args& args) {
    BoundArgs(args, "filter 'escape'", {});
    std::string out;
    for (char c : to_str(v)) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&#34;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return Value(std::move(out));
}

Value filter_first_last(const Value& v, Args& args, bool first) {
    BoundArgs(args, first ? "filter 'first'" : "filter 'last'", {});
    std::vector<Value> items = iterate(v, first ? "filter 'first'" : "filter 'last'");
    if (items.empty()) return Value::undefined("no first/last item of an empty sequence");
    return first ? items.front() : items.back();
}

Value filter_length(const Value& v, Args& args) {
    BoundArgs(args, "filter 'length'", {});
    switch (v.kind()) {
        case Kind::string: return Value(static_cast<int64_t>(py::length(v.as_string())));
        case Kind::list: return Value(static_cast<int64_t>(v.as_list().items.size()));
        case Kind::dict: return Value(static_cast<int64_t>(v.as_dict().size()));
        case Kind::undefined: return Value(int64_t{0});
        case Kind::name_space: return Value(static_cast<int64_t>(v.as_namespace().attributes.size()));
        default: throw_error("object of type '{}' has no len()", type_name(v));
    }
}

Value min_max(const Value& v, Args& args, bool want_max) {
    BoundArgs a(args, want_max ? "filter 'max'" : "filter 'min'", {"case_sensitive", "attribute"});
    const bool case_sensitive = a.get_bool(0, false);
    const auto attribute = a.get_string(1);
    std::vector<Value> items = iterate(v, want_max ? "filter 'max'" : "filter 'min'");
    if (items.empty()) return Value::undefined("min/max of an empty sequence");
    size_t best = 0;
    for (size_t i = 1; i < items.size(); ++i) {
        const Value ki = sort_key(items[i], attribute, case_sensitive);
        const Value kb = sort_key(items[best], attribute, case_sensitive);
        if (want_max ? less_than(kb, ki) : less_than(ki, kb)) best = i;
    }
    return items[best];
}

Value filter_sum(const Value& v, Args& args) {
    BoundArgs a(args, "filter 'sum'", {"attribute", "start"});
    const auto attribute = a.get_string(0);
    Value total = a.given(1) ? a[1] : Value(int64_t{0});
    for (const Value& item : iterate(v, "filter 'sum'")) {
        const Value x = attribute ? get_attribute_path(item, *attribute) : item;
        if (!x.is_number() || !total.is_number()) throw_error("filter 'sum' needs numbers, got {}", type_name(x));
        if (x.is_float() || total.is_float())
            total = Value(total.float_value() + x.float_value());
        else
            total = Value(total.int_value() + x.int_value());
    }
    return total;
}

Value filter_batch(const Value& v, Args& args) {
    BoundArgs a(args, "filter 'batch'", {"linecount", "fill_with"});
    const int64_t n = a.get_int(0, 1);
    if (n <= 0) throw_error("filter 'batch': linecount must be positive, not {}", n);
    std::vector<Value> out, row;
    for (const Value& item : iterate(v, "filter 'batch'")) {
        row.push_back(item);
        if (static_cast<int64_t>(row.size()) == n) out.push_back(list_value(std::exchange(row, {})));
    }
    if (!row.empty()) {
        if (a.given(1))
            while (static_cast<int64_t>(row.size()) < n) row.push_back(a[1]);
        out.push_back(list_value(std::move(row)));
    }
    return list_value(std::move(out));
}

Value filter_wordcount(const Value& v, Args& args) {
    BoundArgs(args, "filter 'wordcount'", {});
    // Python's \w+ : letters, digits and underscore; non-ASCII letters count as word characters.
    int64_t words = 0;
    bool in_word = false;
    for (char32_t c : py::decode(to_str(v))) {
        const bool w = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                       (c >= 0xaa && !py::is_space(c) && !(c >= 0x2000 && c <= 0x206f) && !(c >= 0x3000 && c <= 0x303f));
        if (w && !in_word) ++words;
        in_word = w;
    }
    return Value(words);
}

// Filters that take no arguments and map a string to a string.
FilterFn string_filter(const char* what, std::string (*f)(std::string_view)) {
    return [what, f](const Value& v, Args& args) {
        BoundArgs(args, what, {});
        return Value(f(to_str(v)));
    };
}

std::unordered_map<std::string_view, FilterFn> make_filters() {
    std::unordered_map<std::string_view, FilterFn> f;
    f["upper"] = string_filter("filter 'upper'", py::upper);
    f["lower"] = string_filter("filter 'lower'", py::lower);
    f["capitalize"] = string_filter("filter 'capitalize'", py::capitalize);
    f["title"] = string_filter("filter 'title'", py::title_filter);
    f["trim"] = [](const Value& v, Args& args) {
        BoundArgs a(args, "filter 'trim'", {"chars"});
        return Value(py::strip(to_str(v), a.get_string(0), true, true));
    };
    f["string"] = [](const Value& v, Args& args) {
        BoundArgs(args, "filter 'string'", {});
        return Value(to_str(v));
    };
    f["safe"] = [](const Value& v, Args& args) {
        BoundArgs(args, "filter 'safe'", {});
        return v;
    };
    f["escape"] = f["e"] = filter_escape;
    f["length"] = f["count"] = filter_length;
    f["default"] = f["d"] = [](const Value& v, Args& args) {
        BoundArgs a(args, "filter 'default'", {"default_value", "boolean"});
        const bool use_default = v.is_undefined() || (a.get_bool(1, false) && !truthy(v));
        return use_default ? (a.given(0) ? a[0] : Value("")) : v;
    };
    f["first"] = [](const Value& v, Args& args) { return filter_first_last(v, args, true); };
    f["last"] = [](const Value& v, Args& args) { return filter_first_last(v, args, false); };
    f["list"] = [](const Value& v, Args& args) {
        BoundArgs(args, "filter 'list'", {});
        return list_value(iterate(v, "filter 'list'"));
    };
    f["items"] = [](const Value& v, Args& args) {
        BoundArgs(args, "filter 'items'", {});
        if (v.is_undefined()) return list_value({});
        if (!v.is_dict()) throw_error("filter 'items' can only get item pairs from a mapping, not {}", type_name(v));
        std::vector<Value> pairs;
        for (const auto& [k, item] : v.as_dict().items()) pairs.push_back(Value::list({Value(k), item}, true));
        return list_value(std::move(pairs));
    };
    f["reverse"] = [](const Value& v, Args& args) {
        BoundArgs(args, "filter 'reverse'", {});
        if (v.is_string()) {
            std::u32string u = py::decode(v.as_string());
            std::reverse(u.begin(), u.end());
            return Value(py::encode(u));
        }
        std::vector<Value> items = iterate(v, "filter 'reverse'");
        std::reverse(items.begin(), items.end());
        return list_value(std::move(items));
    };
    f["replace"] = [](const Value& v, Args& args) {
        BoundArgs a(args, "filter 'replace'", {"old", "new", "count"});
        return Value(py::replace(to_str(v), to_str(a[0]), to_str(a[1]), a.given(2) && !a[2].is_none() ? a.get_int(2, -1) : -1));
    };
    f["join"] = filter_join;
    f["tojson"] = filter_tojson;
    f["indent"] = filter_indent;
    f["int"] = filter_int;
    f["float"] = filter_float;
    f["round"] = filter_round;
    f["abs"] = [](const Value& v, Args& args) {
        BoundArgs(args, "filter 'abs'", {});
        if (v.is_float()) return Value(std::fabs(v.as_float()));
        if (v.is_int() || v.is_bool()) return Value(v.int_value() < 0 ? -v.int_value() : v.int_value());
        throw_error("bad operand type for abs(): '{}'", type_name(v));
    };
    f["attr"] = [](const Value& v, Args& args) {
        BoundArgs a(args, "filter 'attr'", {"name"});
        return get_attribute(v, to_str(a[0]));
    };
    f["sort"] = filter_sort;
    f["unique"] = filter_unique;
    f["dictsort"] = filter_dictsort;
    f["map"] = filter_map;
    f["select"] = [](const Value& v, Args& args) { return select_filter(v, args, false, true, "filter 'select'"); };
    f["reject"] = [](const Value& v, Args& args) { return select_filter(v, args, false, false, "filter 'reject'"); };
    f["selectattr"] = [](const Value& v, Args& args) { return select_filter(v, args, true, true, "filter 'selectattr'"); };
    f["rejectattr"] = [](const Value& v, Args& args) { return select_filter(v, args, true, false, "filter 'rejectattr'"); };
    f["min"] = [](const Value& v, Args& args) { return min_max(v, args, false); };
    f["max"] = [](const Value& v, Args& args) { return min_max(v, args, true); };
    f["sum"] = filter_sum;
    f["batch"] = filter_batch;
    f["wordcount"] = filter_wordcount;
    f["format"] = [](const Value& v, Args& args) {
        if (!args.keyword.empty()) throw_error("filter 'format' takes positional arguments only");
        return Value(percent_format(to_str(v), args.positional));
    };
    return f;
}

}  // namespace

const FilterFn* find_filter(std::string_view name) {
    static const std::unordered_map<std::string_view, FilterFn> filters = make_filters();
    const auto it = filters.find(name);
    return it == filters.end() ? nullptr : &it->second;
}

}  // namespace rf::jinja
