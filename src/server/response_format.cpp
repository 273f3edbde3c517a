#include "server/response_format.h"

#include "core/error.h"
#include "engine/json_schema.h"
#include "server/api_fields.h"

namespace rf::server {


std::shared_ptr<const JsonSchema> response_format_schema(const json& body) {
    const json* rf = find_field(body, "response_format");
    if (rf == nullptr) return nullptr;
    const char* param = "response_format";
    if (!rf->is_object() || !rf->contains("type") || !(*rf)["type"].is_string())
        throw ApiError(400, param,
                       "response_format: expected {\"type\": \"text\" | \"json_object\" | \"json_schema\", ...}, got " +
                           describe_value(*rf));
    const std::string type = (*rf)["type"].get<std::string>();
    auto compile = [&](const json& schema, const std::string& where) {
        try {
            return std::make_shared<const JsonSchema>(JsonSchema::compile(schema));
        } catch (const Error& e) {
            throw ApiError(400, param, where + ": " + e.what());
        }
    };
    if (type == "text") return nullptr;
    if (type == "json_object") {
        if (rf->contains("schema")) return compile((*rf)["schema"], "response_format.schema");
        return std::make_shared<const JsonSchema>(JsonSchema::any_object());
    }
    if (type == "json_schema") {
        const json* js = find_field(*rf, "json_schema");
        if (js == nullptr || !js->is_object())
            throw ApiError(400, param, "response_format.json_schema: expected an object with the \"schema\"");
        const json* schema = find_field(*js, "schema");
        if (schema == nullptr) throw ApiError(400, param, "response_format.json_schema.schema: required");
        return compile(*schema, "response_format.json_schema.schema");
    }
    throw ApiError(400, param, "response_format.type: \"" + type + "\" is not supported (text, json_object, json_schema)");
}

}  // namespace rf::server
