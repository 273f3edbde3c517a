#include "tokenizer/jinja/json_value.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "tokenizer/jinja/py_string.h"
#include "tokenizer/jinja/template_error.h"

namespace rf::jinja {

Value from_json(const nlohmann::ordered_json& j) {
    using value_t = nlohmann::ordered_json::value_t;
    switch (j.type()) {
        case value_t::null:
        case value_t::discarded: return Value(None{});
        case value_t::boolean: return Value(j.get<bool>());
        case value_t::number_integer: return Value(j.get<int64_t>());
        case value_t::number_unsigned: {
            const auto u = j.get<uint64_t>();
            if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
                throw_error("integer {} in the template context does not fit in 64 bits", u);
            return Value(static_cast<int64_t>(u));
        }
        case value_t::number_float: return Value(j.get<double>());
        case value_t::string: return Value(j.get<std::string>());
        case value_t::array: {
            std::vector<Value> items;
            items.reserve(j.size());
            for (const auto& item : j) items.push_back(from_json(item));
            return Value::list(std::move(items));
        }
        case value_t::object: {
            Dict d;
            for (const auto& [key, item] : j.items()) d.set(key, from_json(item));
            return Value::dict(std::move(d));
        }
        case value_t::binary: throw_error("binary values are not supported in a template context");
    }
    return Value(None{});
}

namespace {

void dump_string(std::string& out, const std::string& s, bool ensure_ascii) {
    out += '"';
    for (char32_t c : py::decode(s)) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            default:
                if (c < 0x20 || (ensure_ascii && c > 0x7e)) {
                    if (c >= 0x10000) {  // UTF-16 surrogate pair
                        const char32_t v = c - 0x10000;
                        out += fmt::format("\\u{:04x}\\u{:04x}", static_cast<uint32_t>(0xd800 + (v >> 10)),
                                           static_cast<uint32_t>(0xdc00 + (v & 0x3ff)));
                    } else {
                        out += fmt::format("\\u{:04x}", static_cast<uint32_t>(c));
                    }
                } else {
                    py::append_utf8(out, c);
                }
        }
    }
    out += '"';
}

void dump(std::string& out, const Value& v, const JsonDumpOptions& o, int depth) {
    const std::string& item_sep = o.item_separator ? *o.item_separator : (o.indent ? std::string(",") : std::string(", "));
    auto newline = [&](int level) {
        if (!o.indent) return;
        out += '\n';
        for (int i = 0; i < level; ++i) out += *o.indent;
    };
    switch (v.kind()) {
        case Kind::none: out += "null"; return;
        case Kind::boolean: out += v.as_bool() ? "true" : "false"; return;
        case Kind::integer: out += std::to_string(v.as_int()); return;
        case Kind::floating: {
            const double f = v.as_float();
            if (std::isnan(f))
                out += "NaN";
            else if (std::isinf(f))
                out += f > 0 ? "Infinity" : "-Infinity";
            else
                out += float_repr(f);
            return;
        }
        case Kind::string: dump_string(out, v.as_string(), o.ensure_ascii); return;
        case Kind::list: {
            const auto& items = v.as_list().items;
            if (items.empty()) {
                out += "[]";
                return;
            }
            out += '[';
            for (size_t i = 0; i < items.size(); ++i) {
                if (i) out += item_sep;
                newline(depth + 1);
                dump(out, items[i], o, depth + 1);
            }
            newline(depth);
            out += ']';
            return;
        }
        case Kind::dict: {
            std::vector<const std::pair<std::string, Value>*> entries;
            for (const auto& entry : v.as_dict().items()) entries.push_back(&entry);
            if (entries.empty()) {
                out += "{}";
                return;
            }
            if (o.sort_keys)
                std::stable_sort(entries.begin(), entries.end(), [](auto* a, auto* b) { return a->first < b->first; });
            out += '{';
            for (size_t i = 0; i < entries.size(); ++i) {
                if (i) out += item_sep;
                newline(depth + 1);
                dump_string(out, entries[i]->first, o.ensure_ascii);
                out += o.key_separator;
                dump(out, entries[i]->second, o, depth + 1);
            }
            newline(depth);
            out += '}';
            return;
        }
        case Kind::undefined:
            throw_error("cannot serialise an undefined value to JSON ({})", v.undefined_hint());
        default: throw_error("object of type '{}' is not JSON serializable", type_name(v));
    }
}

}  // namespace

std::string dump_json(const Value& v, const JsonDumpOptions& options) {
    std::string out;
    dump(out, v, options, 0);
    return out;
}

}  // namespace rf::jinja
