// A JSON Schema compiled into the node graph the constrained sampler walks (json_prefix.h): the subset
// that structured-output requests use (OpenAI response_format json_schema, llama.cpp's --json-schema):
//   type (a name or a list); properties, required, additionalProperties (false, true or a schema;
//   absent: none beside the listed properties where some are listed, as llama.cpp and xgrammar generate),
//   minProperties, maxProperties;
//   items, prefixItems (tuples; also items as a list with additionalItems, the drafts before 2020-12;
//   items / additionalItems false: no item after them), minItems, maxItems; minLength, maxLength,
//   pattern (json_pattern.h; a pattern that needs more characters than maxLength allows leaves the
//   output no way on: an error, not a wrong document); minimum, maximum, exclusiveMinimum,
//   exclusiveMaximum on integers and numbers (a bounded number is written without an exponent); multipleOf
//   on integers, and on numbers as a power of ten below 1 (0.01: at most two decimals); enum, const; anyOf / oneOf (branches of different JSON types merged
//   into one node, as Optional[...] in Pydantic; overlapping ones, as a union of models, kept as
//   alternatives; oneOf is taken as anyOf: a document may fit several); allOf (its branches' keywords
//   merged: properties and required united, any other keyword in two branches with one value, else
//   refused); $ref to "#", "#/$defs/NAME" or
//   "#/definitions/NAME" (recursion allowed; a definition that is itself a reference is the referred one's).
// Annotations (title, description, default, examples, format, $schema, $id, $comment, ...) are
// ignored, as JSON Schema allows; every other keyword is refused with an rf::Error naming it and
// where it is (a JSON pointer into the schema), never ignored.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/json_pattern.h"

namespace rf {

// JSON value kinds a node admits (bits).
enum JsonKind : uint8_t {
    kJsonObject = 1,
    kJsonArray = 2,
    kJsonString = 4,
    kJsonInteger = 8,   // a number without fraction or exponent
    kJsonNumber = 16,   // any number (implies integers)
    kJsonBoolean = 32,
    kJsonNull = 64,
    kJsonAny = 127,
};

// Bounds of a {"type": "number"} value (minimum / maximum, exclusive or not). The automaton writes such
// numbers without an exponent (a prefix with one could reach any magnitude).
struct DecimalBounds {
    bool has_min = false, has_max = false;
    bool min_exclusive = false, max_exclusive = false;
    double min = 0.0, max = 0.0;
    bool any() const { return has_min || has_max; }
};

struct JsonSchemaNode {
    uint8_t kinds = kJsonAny;
    // enum / const: the admitted values as compact JSON texts (empty: no such restriction)
    std::vector<std::string> literals;
    // object: each property's name as a JSON string literal (quotes included) and its value's node
    std::vector<std::pair<std::string, int32_t>> properties;
    uint64_t required = 0;       // bits over properties
    int32_t min_properties = 0;  // object: members at least / at most (-1: no limit)
    int32_t max_properties = -1;
    int32_t additional = 0;      // node of other properties' values, or kNoNode (additionalProperties false)
    int32_t items = 0;           // node of array items (those after prefix_items)
    std::vector<int32_t> prefix_items;  // array: the nodes of its first items in order (prefixItems, a tuple)
    int32_t min_items = 0;
    int32_t max_items = -1;      // -1: no limit
    // integer: inclusive bounds (minimum / maximum, exclusiveMinimum / exclusiveMaximum made inclusive)
    bool has_minimum = false, has_maximum = false;
    int64_t minimum = 0, maximum = 0;
    int64_t multiple_of = 1;  // integer: multipleOf
    int32_t max_decimals = -1;  // number: multipleOf 10^-k as at most k decimals, written without an exponent (-1: any)
    DecimalBounds decimal;  // number: its bounds
    int32_t min_length = 0;      // string: characters (code points; an escape is one)
    int32_t max_length = -1;     // -1: no limit
    std::shared_ptr<const JsonPattern> pattern;  // string: a regular expression it must match (null: none)
    // anyOf / oneOf whose branches overlap (two objects, say): the value is one of these nodes (the
    // automaton follows each until they part); empty for every other node
    std::vector<int32_t> alternatives;
};

class JsonSchema {
public:
    static constexpr int32_t kNoNode = -1;
    static constexpr int32_t kAnyNode = 0;  // any JSON value (node 0 of every schema)
    static constexpr size_t kMaxProperties = 64;
    static constexpr size_t kMaxLiterals = 64;
    static constexpr size_t kMaxAlternatives = 16;

    // Throws rf::Error naming the keyword and its place when the schema uses what is not supported.
    static JsonSchema compile(const nlohmann::json& schema);
    // Any JSON object (response_format json_object).
    static JsonSchema any_object();

    const JsonSchemaNode& node(int32_t i) const { return nodes_[static_cast<size_t>(i)]; }
    int32_t root() const { return root_; }
    size_t size() const { return nodes_.size(); }

private:
    std::vector<JsonSchemaNode> nodes_;
    int32_t root_ = 0;
    friend class JsonSchemaCompiler;
};

}  // namespace rf
