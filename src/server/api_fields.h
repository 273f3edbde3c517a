// Reading a request body's fields with the errors an API client needs: every ApiError names the
// field (as a JSON path such as "messages[2].content") and the value it got, and carries the HTTP
// status (400 for a bad request). Absent and null fields take the default.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace rf::server {

using json = nlohmann::ordered_json;

class ApiError : public std::runtime_error {
public:
    ApiError(int status, std::string param, const std::string& message)
        : std::runtime_error(message), status_(status), param_(std::move(param)) {}
    int status() const { return status_; }
    const std::string& param() const { return param_; }

private:
    int status_;
    std::string param_;
};

// A value as a short JSON text for messages (long values cut with "...").
std::string describe_value(const json& value);
// JSON text for a response: invalid UTF-8 (a byte token's piece) replaced, never an exception.
std::string dump_json(const json& value);

// The field, or nullptr when absent or null. Throws ApiError when body is not an object.
const json* find_field(const json& body, const std::string& name);

double number_field(const json& body, const std::string& name, double fallback, double lo, double hi);
int64_t int_field(const json& body, const std::string& name, int64_t fallback, int64_t lo, int64_t hi);
bool bool_field(const json& body, const std::string& name, bool fallback);
std::string string_field(const json& body, const std::string& name, const std::string& fallback);
// A required field of any type (ApiError "missing required field" when absent or null).
const json& required_field(const json& body, const std::string& name);
// A string or an array of at most max_items strings ("stop", "stop_sequences").
std::vector<std::string> string_list_field(const json& body, const std::string& name, size_t max_items);
// The text of a message's content: a string, or an array of {"type": "text", "text": ...} parts
// (`part` names them in errors: "part", "content block"); null is "" where allow_null. Any other
// part type is refused by name (this server reads text only).
std::string text_content(const json& content, const std::string& where, const char* part, bool allow_null);
// Refuses a field this server does not implement when it is present with a value other than
// the ones that mean "not used" (null, false, an empty array...): a client must not believe a
// feature took effect when it did not.
void refuse_field(const json& body, const std::string& name, const std::string& why);

}  // namespace rf::server
