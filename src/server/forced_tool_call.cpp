#include "server/forced_tool_call.h"

#include <fmt/format.h>

#include "core/error.h"
#include "engine/json_schema.h"

namespace rf::server {

std::shared_ptr<const JsonSchema> forced_tool_call_schema(const json& tools, const std::string& forced, const char* param) {
    // "any of them" with one tool is that tool (its parameters then hold the arguments too)
    const std::string name = forced.empty() && tools.size() == 1 ? tools[0]["function"]["name"].get<std::string>() : forced;
    nlohmann::json names = nlohmann::json::array();
    nlohmann::json arguments = {{"type", "object"}};
    std::string where;
    for (size_t i = 0; i < tools.size(); ++i) {
        const json& f = tools[i]["function"];
        const std::string n = f["name"].get<std::string>();
        names.push_back(n);
        if (n != name) continue;
        where = fmt::format("tools[{}].function.parameters", i);
        if (f.contains("parameters") && f["parameters"].is_object() && !f["parameters"].empty())
            arguments = nlohmann::json::parse(f["parameters"].dump());
    }
    if (!name.empty() && where.empty())
        throw ApiError(400, param, fmt::format("{}: \"{}\" is not one of the request's tools {}", param, name, names.dump()));
    nlohmann::json schema = {{"type", "object"},
                             {"properties", {{"name", name.empty() ? nlohmann::json{{"enum", names}} : nlohmann::json{{"const", name}}},
                                             {"arguments", arguments}}},
                             {"required", {"name", "arguments"}}};
    if (!name.empty()) {
        try {  // the tool's own schema first: its errors' places are then the request's
            (void)JsonSchema::compile(arguments);
        } catch (const Error& e) {
            throw ApiError(400, param, fmt::format("{} (forcing a call to \"{}\"): {}", where, name, e.what()));
        }
    }
    return std::make_shared<const JsonSchema>(JsonSchema::compile(schema));
}

}  // namespace rf::server
