// OpenAI's response_format (structured output) as the sampler's JSON schema:
//   {"type": "text"}                                         free text (null)
//   {"type": "json_object"}                                  any JSON object
//   {"type": "json_object", "schema": {...}}                 llama.cpp's server: a document of the schema
//   {"type": "json_schema", "json_schema": {"name": ..., "schema": {...}, "strict": ...}}
// and, in its place, the servers' own fields: "guided_json" (vLLM) or "json_schema" (llama.cpp), a schema.
// The schema subset is engine/json_schema.h's; what it does not support is a 400 naming the keyword.
#pragma once

#include <memory>

#include <nlohmann/json.hpp>

namespace rf {
class JsonSchema;
}

namespace rf::server {

// The request body's response_format (or guided_json / json_schema), or null for free text. Throws
// ApiError (400, the field's name as param) naming what is wrong, and for two of them at once.
std::shared_ptr<const JsonSchema> response_format_schema(const nlohmann::ordered_json& body);

}  // namespace rf::server
