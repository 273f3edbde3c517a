#include "server/api_fields.h"

#include <cmath>
#include <fmt/format.h>

namespace rf::server {

std::string describe_value(const json& value) {
    std::string s = dump_json(value);
    if (s.size() > 80) s = s.substr(0, 77) + "...";
    return s;
}

std::string dump_json(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

const json* find_field(const json& body, const std::string& name) {
    if (!body.is_object()) throw ApiError(400, "", fmt::format("the request body must be a JSON object, got {}", describe_value(body)));
    const auto it = body.find(name);
    if (it == body.end() || it->is_null()) return nullptr;
    return &*it;
}

double number_field(const json& body, const std::string& name, double fallback, double lo, double hi) {
    const json* v = find_field(body, name);
    if (v == nullptr) return fallback;
    if (!v->is_number()) throw ApiError(400, name, fmt::format("{}: expected a number, got {}", name, describe_value(*v)));
    const double x = v->get<double>();
    if (!std::isfinite(x) || x < lo || x > hi)
        throw ApiError(400, name, fmt::format("{}: {} is out of range [{}, {}]", name, describe_value(*v), lo, hi));
    return x;
}

int64_t int_field(const json& body, const std::string& name, int64_t fallback, int64_t lo, int64_t hi) {
    const json* v = find_field(body, name);
    if (v == nullptr) return fallback;
    if (!v->is_number_integer() && !(v->is_number_float() && std::floor(v->get<double>()) == v->get<double>()))
        throw ApiError(400, name, fmt::format("{}: expected an integer, got {}", name, describe_value(*v)));
    const double x = v->get<double>();
    if (x < static_cast<double>(lo) || x > static_cast<double>(hi))
        throw ApiError(400, name, fmt::format("{}: {} is out of range [{}, {}]", name, describe_value(*v), lo, hi));
    return static_cast<int64_t>(x);
}

bool bool_field(const json& body, const std::string& name, bool fallback) {
    const json* v = find_field(body, name);
    if (v == nullptr) return fallback;
    if (!v->is_boolean()) throw ApiError(400, name, fmt::format("{}: expected true or false, got {}", name, describe_value(*v)));
    return v->get<bool>();
}

std::string string_field(const json& body, const std::string& name, const std::string& fallback) {
    const json* v = find_field(body, name);
    if (v == nullptr) return fallback;
    if (!v->is_string()) throw ApiError(400, name, fmt::format("{}: expected a string, got {}", name, describe_value(*v)));
    return v->get<std::string>();
}

const json& required_field(const json& body, const std::string& name) {
    const json* v = find_field(body, name);
    if (v == nullptr) throw ApiError(400, name, fmt::format("{}: missing required field", name));
    return *v;
}

std::vector<std::string> string_list_field(const json& body, const std::string& name, size_t max_items) {
    const json* v = find_field(body, name);
    std::vector<std::string> out;
    if (v == nullptr) return out;
    if (v->is_string()) {
        out.push_back(v->get<std::string>());
    } else if (v->is_array()) {
        if (v->size() > max_items)
            throw ApiError(400, name, fmt::format("{}: {} strings, at most {}", name, v->size(), max_items));
        for (size_t i = 0; i < v->size(); ++i) {
            if (!(*v)[i].is_string())
                throw ApiError(400, name, fmt::format("{}[{}]: expected a string, got {}", name, i, describe_value((*v)[i])));
            out.push_back((*v)[i].get<std::string>());
        }
    } else {
        throw ApiError(400, name, fmt::format("{}: expected a string or an array of strings, got {}", name, describe_value(*v)));
    }
    for (size_t i = 0; i < out.size(); ++i)
        if (out[i].empty()) throw ApiError(400, name, fmt::format("{}[{}]: an empty stop string", name, i));
    return out;
}

std::string text_content(const json& content, const std::string& where, const char* part, bool allow_null) {
    if (content.is_string()) return content.get<std::string>();
    if (content.is_null() && allow_null) return {};
    if (!content.is_array())
        throw ApiError(400, where, fmt::format("{}: expected a string or an array of {}s, got {}", where, part, describe_value(content)));
    std::string text;
    for (size_t j = 0; j < content.size(); ++j) {
        const json& p = content[j];
        const std::string at = fmt::format("{}[{}]", where, j);
        if (!p.is_object() || !p.contains("type"))
            throw ApiError(400, where, fmt::format("{}: expected a {} with a type, got {}", at, part, describe_value(p)));
        if (p["type"] != "text")
            throw ApiError(400, where, fmt::format("{}.type: {} is not supported by this server (text only)", at, describe_value(p["type"])));
        if (!p.contains("text") || !p["text"].is_string()) throw ApiError(400, where, at + ".text: expected a string");
        text += p["text"].get<std::string>();
    }
    return text;
}

void refuse_field(const json& body, const std::string& name, const std::string& why) {
    const json* v = find_field(body, name);
    if (v == nullptr) return;
    const bool unused = (v->is_boolean() && !v->get<bool>()) || ((v->is_array() || v->is_object()) && v->empty());
    if (!unused) throw ApiError(400, name, fmt::format("{}: {} is not supported by this server ({})", name, describe_value(*v), why));
}

}  // namespace rf::server
