#include "server/response_format.h"

#include "core/error.h"
#include "engine/json_schema.h"
#include "server/api_fields.h"

namespace rf::server {
namespace {

// The schema compiled; its errors as a 400 with `param`, prefixed by where it sits in the request.
std::shared_ptr<const JsonSchema> compile(const json& schema, const char* param, const std::string& where) {
    try {
        return std::make_shared<const JsonSchema>(JsonSchema::compile(schema));
    } catch (const Error& e) {
        throw ApiError(400, param, where + ": " + e.what());
    }
}

// vLLM's guided_json / llama.cpp's json_schema: a schema (a JSON object, or its text).
std::shared_ptr<const JsonSchema> schema_field(const json& body, const char* field) {
    const json& v = *find_field(body, field);
    if (!v.is_string()) return compile(v, field, field);
    json schema;
    try {
        schema = json::parse(v.get<std::string>());
    } catch (const json::parse_error& e) {
        throw ApiError(400, field, std::string(field) + ": the schema text is not JSON (" + e.what() + ")");
    }
    return compile(schema, field, field);
}

std::shared_ptr<const JsonSchema> response_format_field(const json& rf) {
    const char* param = "response_format";
    if (!rf.is_object() || !rf.contains("type") || !rf["type"].is_string())
        throw ApiError(400, param,
                       "response_format: expected {\"type\": \"text\" | \"json_object\" | \"json_schema\", ...}, got " +
                           describe_value(rf));
    const std::string type = rf["type"].get<std::string>();
    if (type == "text") return nullptr;
    if (type == "json_object") {
        if (rf.contains("schema")) return compile(rf["schema"], param, "response_format.schema");
        return std::make_shared<const JsonSchema>(JsonSchema::any_object());
    }
    if (type == "json_schema") {
        const json* js = find_field(rf, "json_schema");
        if (js == nullptr || !js->is_object())
            throw ApiError(400, param, "response_format.json_schema: expected an object with the \"schema\"");
        const json* schema = find_field(*js, "schema");
        if (schema == nullptr) throw ApiError(400, param, "response_format.json_schema.schema: required");
        return compile(*schema, param, "response_format.json_schema.schema");
    }
    throw ApiError(400, param, "response_format.type: \"" + type + "\" is not supported (text, json_object, json_schema)");
}

}  // namespace

std::shared_ptr<const JsonSchema> response_format_schema(const json& body) {
    const char* given = nullptr;
    for (const char* f : {"response_format", "guided_json", "json_schema"}) {
        if (find_field(body, f) == nullptr) continue;
        if (given != nullptr) throw ApiError(400, f, std::string(f) + ": only one of response_format, guided_json and json_schema");
        given = f;
    }
    if (given == nullptr) return nullptr;
    if (std::string(given) == "response_format") return response_format_field(*find_field(body, given));
    return schema_field(body, given);
}

}  // namespace rf::server
