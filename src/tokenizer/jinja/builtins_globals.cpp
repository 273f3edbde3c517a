// Global functions of chat templates: Jinja's range / namespace / dict, and transformers'
// raise_exception(message) and strftime_now(format). Also Python's printf-style formatting.
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/template_error.h"

namespace rf::jinja {

namespace {

// namespace(...) and dict(...) take a mapping or pairs positionally, then keyword arguments.
Dict dict_from_args(Args& args, const char* what) {
    Dict d;
    if (args.positional.size() > 1) throw_error("{} takes at most 1 positional argument", what);
    if (!args.positional.empty()) {
        const Value& src = args.positional[0];
        if (src.is_dict()) {
            for (const auto& [k, v] : src.as_dict().items()) d.set(k, v);
        } else {
            for (const Value& pair : iterate(src, what)) {
                if (!pair.is_list() || pair.as_list().items.size() != 2 || !pair.as_list().items[0].is_string())
                    throw_error("{}: expected (key, value) pairs with string keys", what);
                d.set(pair.as_list().items[0].as_string(), pair.as_list().items[1]);
            }
        }
    }
    for (auto& [k, v] : args.keyword) d.set(k, v);
    return d;
}

Value range_function(Args& args) {
    if (!args.keyword.empty()) throw_error("range() takes no keyword arguments");
    std::vector<int64_t> n;
    for (const Value& v : args.positional) {
        if (!v.is_int() && !v.is_bool()) throw_error("range() arguments must be integers, not {}", type_name(v));
        n.push_back(v.int_value());
    }
    if (n.empty() || n.size() > 3) throw_error("range() takes 1 to 3 arguments ({} given)", n.size());
    const int64_t start = n.size() == 1 ? 0 : n[0];
    const int64_t stop = n.size() == 1 ? n[0] : n[1];
    const int64_t step = n.size() == 3 ? n[2] : 1;
    if (step == 0) throw_error("range() arg 3 must not be zero");
    constexpr int64_t kMaxRange = 1'000'000;  // Jinja's sandbox caps range() at 100000; be generous
    std::vector<Value> items;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
        if (static_cast<int64_t>(items.size()) >= kMaxRange) throw_error("range() is too large (more than {} items)", kMaxRange);
        items.emplace_back(i);
    }
    return Value::list(std::move(items));
}

Value strftime_now(Args& args) {
    BoundArgs a(args, "strftime_now()", {"format"});
    const auto format = a.get_string(0);
    if (!format) throw_error("strftime_now() needs a format string");
    const std::time_t now = std::time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    char buf[512];
    const size_t n = std::strftime(buf, sizeof buf, format->c_str(), &local);
    if (n == 0 && !format->empty()) throw_error("strftime_now(): format '{}' gives an empty or too long result", *format);
    return Value(std::string(buf, n));
}

}  // namespace

Dict make_globals() {
    Dict g;
    g.set("range", Value::function("range", range_function));
    g.set("namespace", Value::function("namespace", [](Args& args) {
              auto ns = std::make_shared<Namespace>();
              ns->attributes = dict_from_args(args, "namespace()");
              return Value(NamespacePtr(std::move(ns)));
          }));
    g.set("dict", Value::function("dict", [](Args& args) { return Value::dict(dict_from_args(args, "dict()")); }));
    g.set("raise_exception", Value::function("raise_exception", [](Args& args) -> Value {
              BoundArgs a(args, "raise_exception()", {"message"});
              throw_error("template raised an exception: {}", to_str(a[0]));
          }));
    g.set("strftime_now", Value::function("strftime_now", strftime_now));
    return g;
}

std::string percent_format(const std::string& format, const std::vector<Value>& args_in) {
    // "fmt" % x: a tuple spreads into the arguments, anything else is one argument.
    std::vector<Value> args = args_in;
    if (args.size() == 1 && args[0].is_list() && args[0].as_list().is_tuple) args = args[0].as_list().items;
    std::string out;
    size_t next = 0;
    for (size_t i = 0; i < format.size(); ++i) {
        if (format[i] != '%') {
            out += format[i];
            continue;
        }
        size_t j = i + 1;
        std::string spec = "%";
        while (j < format.size() && std::string_view("-+ 0#").find(format[j]) != std::string_view::npos) spec += format[j++];
        while (j < format.size() && std::isdigit(static_cast<unsigned char>(format[j]))) spec += format[j++];
        if (j < format.size() && format[j] == '.') {
            spec += format[j++];
            while (j < format.size() && std::isdigit(static_cast<unsigned char>(format[j]))) spec += format[j++];
        }
        if (j >= format.size()) throw_error("incomplete format: '{}'", format.substr(i));
        const char conv = format[j];
        i = j;
        if (conv == '%') {
            out += '%';
            continue;
        }
        if (next >= args.size()) throw_error("not enough arguments for format string '{}'", format);
        const Value& v = args[next++];
        char buf[512];
        switch (conv) {
            case 's':
            case 'r': {
                // Width and precision count bytes here (Python counts code points).
                std::string s = conv == 's' ? to_str(v) : to_repr(v);
                const size_t dot = spec.find('.');
                const std::string width_digits = spec.substr(1, dot == std::string::npos ? std::string::npos : dot - 1);
                if (dot != std::string::npos) s = s.substr(0, static_cast<size_t>(std::atoi(spec.c_str() + dot + 1)));
                size_t width = 0;
                for (char c : width_digits)
                    if (std::isdigit(static_cast<unsigned char>(c))) width = width * 10 + static_cast<size_t>(c - '0');
                const bool left = width_digits.find('-') != std::string::npos;
                if (s.size() < width && !left) out.append(width - s.size(), ' ');
                out += s;
                if (s.size() < width && left) out.append(width - s.size(), ' ');
                break;
            }
            case 'd':
            case 'i':
            case 'x':
            case 'X':
            case 'o': {
                if (!v.is_number()) throw_error("%{} format: a number is required, not {}", conv, type_name(v));
                const auto n = static_cast<long long>(v.is_float() ? static_cast<int64_t>(v.as_float()) : v.int_value());
                std::snprintf(buf, sizeof buf, (spec + "ll" + (conv == 'i' ? 'd' : conv)).c_str(), n);
                out += buf;
                break;
            }
            case 'f':
            case 'F':
            case 'e':
            case 'E':
            case 'g':
            case 'G': {
                if (!v.is_number()) throw_error("%{} format: a number is required, not {}", conv, type_name(v));
                std::snprintf(buf, sizeof buf, (spec + conv).c_str(), v.float_value());
                out += buf;
                break;
            }
            default: throw_error("unsupported format character '{}' in '{}'", conv, format);
        }
    }
    if (next < args.size()) throw_error("not all arguments converted during string formatting");
    return out;
}

}  // namespace rf::jinja
