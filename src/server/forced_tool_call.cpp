#include "server/forced_tool_call.h"

#include <fmt/format.h>

#include "core/error.h"
#include "engine/json_schema.h"

namespace rf::server {

namespace {

// A call of tool i: {"name": its name, "arguments": its parameters (any object without)}, the
// parameters checked on their own first so that an error's place is the request's.
nlohmann::json call_schema(const json& tools, size_t i, const char* param) {
    const json& f = tools[i]["function"];
    const std::string name = f["name"].get<std::string>();
    nlohmann::json arguments = {{"type", "object"}};
    if (f.contains("parameters") && f["parameters"].is_object() && !f["parameters"].empty())
        arguments = nlohmann::json::parse(f["parameters"].dump());
    try {
        (void)JsonSchema::compile(arguments);
    } catch (const Error& e) {
        throw ApiError(400, param, fmt::format("tools[{}].function.parameters (forcing a call to \"{}\"): {}", i, name, e.what()));
    }
    return {{"type", "object"},
            {"properties", {{"name", {{"const", name}}}, {"arguments", arguments}}},
            {"required", {"name", "arguments"}}};
}

}  // namespace

std::shared_ptr<const JsonSchema> forced_tool_call_schema(const json& tools, const std::string& forced, const char* param) {
    nlohmann::json names = nlohmann::json::array();
    for (const json& t : tools) names.push_back(t["function"]["name"].get<std::string>());
    nlohmann::json schema;
    if (!forced.empty()) {
        size_t i = 0;
        while (i < tools.size() && tools[i]["function"]["name"] != forced) ++i;
        if (i == tools.size())
            throw ApiError(400, param, fmt::format("{}: \"{}\" is not one of the request's tools {}", param, forced, names.dump()));
        schema = call_schema(tools, i, param);
    } else if (tools.size() <= JsonSchema::kMaxAlternatives) {
        // any of them: one alternative per tool, each its own arguments (the automaton follows them all
        // until the name parts them)
        schema = {{"anyOf", nlohmann::json::array()}};
        for (size_t i = 0; i < tools.size(); ++i) schema["anyOf"].push_back(call_schema(tools, i, param));
        if (tools.size() == 1) schema = schema["anyOf"][0];
    } else {  // (more tools than alternatives: a name of them, the arguments any object)
        schema = {{"type", "object"},
                  {"properties", {{"name", {{"enum", names}}}, {"arguments", {{"type", "object"}}}}},
                  {"required", {"name", "arguments"}}};
    }
    return std::make_shared<const JsonSchema>(JsonSchema::compile(schema));
}

}  // namespace rf::server
