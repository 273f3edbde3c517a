// Structured output's byte automaton (engine/json_prefix.h) and schema compiler (engine/json_schema.h):
// documents of a schema are taken byte by byte and end complete; the first byte no document can have
// is refused; unsupported schema keywords are refused with their place; random walks through the
// automaton only ever complete documents that parse and fit the schema, and never reach a dead end.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <regex>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "engine/json_prefix.h"

namespace rf {
namespace {

using nlohmann::json;

std::shared_ptr<const JsonSchema> schema_of(const std::string& text) {
    return std::make_shared<const JsonSchema>(JsonSchema::compile(json::parse(text)));
}

// The index of the first byte refused (-1: none) and whether the whole text is complete.
struct Fed {
    int refused = -1;
    bool complete = false;
};

Fed feed(const std::shared_ptr<const JsonSchema>& s, const std::string& text) {
    JsonPrefix p(s);
    Fed f;
    for (size_t i = 0; i < text.size(); ++i)
        if (!p.feed(static_cast<uint8_t>(text[i]))) {
            f.refused = static_cast<int>(i);
            return f;
        }
    f.complete = p.complete();
    return f;
}

void expect_document(const std::shared_ptr<const JsonSchema>& s, const std::string& text) {
    const Fed f = feed(s, text);
    EXPECT_EQ(f.refused, -1) << text << " refused at byte " << f.refused;
    EXPECT_TRUE(f.complete) << text;
}

// `text` refused at the first occurrence of `at` after `from` bytes.
void expect_refused_at(const std::shared_ptr<const JsonSchema>& s, const std::string& text, size_t at) {
    EXPECT_EQ(feed(s, text).refused, static_cast<int>(at)) << text;
}

// The error a schema's compilation gives ("(compiled)": none).
std::string refusal(const std::string& text) {
    try {
        (void)JsonSchema::compile(json::parse(text));
    } catch (const Error& e) {
        return std::string(e.what());
    }
    return std::string("(compiled)");
}

TEST(JsonPrefix, AnyValueTakesJsonAndRefusesTheFirstBadByte) {
    const auto any = schema_of("{}");
    for (const char* doc : {"{\"a\": [1, 2.5e-3, true, null, \"x\\\"y\\u00e9\"], \"b\": {}}", " [ ]", "\"s\"", "-0.5",
                            "true", "0", "1E+9", "{\"\": \"\xc3\xa9\"}"})
        expect_document(any, doc);
    expect_refused_at(any, "{\"a\" 1}", 5);
    expect_refused_at(any, "[1,]", 3);
    expect_refused_at(any, "01", 1);
    expect_refused_at(any, "\"a\x01\"", 2);
    expect_refused_at(any, "\"\\x\"", 2);
    expect_refused_at(any, "{\"a\":1}}", 7);
    expect_refused_at(any, "1.e5", 2);
    expect_refused_at(any, "nul1", 3);
    EXPECT_FALSE(feed(any, "tru").complete);
    EXPECT_FALSE(feed(any, "{\"a\":1").complete);
    EXPECT_FALSE(feed(any, "-").complete);
    EXPECT_TRUE(feed(any, "12").complete);  // (a top-level number may end here)
}

TEST(JsonPrefix, ObjectPropertiesRequiredAndNoOthers) {
    const auto s = schema_of(R"({"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string"}}}, "required": ["name", "age"]})");
    expect_document(s, R"({"name": "x", "age": 3})");
    expect_document(s, R"({ "age" : -3 , "tags": ["a", "b"], "name": "\"q\"" })");
    expect_refused_at(s, R"({"name": "x"})", 12);                 // age is required
    expect_refused_at(s, R"({"nick": 1})", 3);                    // no such property
    expect_refused_at(s, R"({"name": "x", "name": "y"})", 15);    // written twice: refused once only it can follow
    expect_refused_at(s, R"({"age": 3.5, "name": "x"})", 9);      // an integer
    expect_refused_at(s, R"({"age": "3"})", 8);
    expect_refused_at(s, R"({"tags": [1]})", 10);
    expect_refused_at(s, R"([])", 0);
    // additional properties allowed by schema: any name, values of their schema
    const auto extra = schema_of(R"({"properties": {"a": {"type": "null"}}, "additionalProperties": {"type": "boolean"}})");
    expect_document(extra, R"({"ab": true, "a": null, "x\u0041": false})");
    expect_refused_at(extra, R"({"ab": 1})", 7);
    expect_refused_at(extra, R"({"a": true})", 6);
    // an object schema without properties takes any
    expect_document(schema_of(R"({"type": "object"})"), R"({"k": [1, {"z": null}]})");
    expect_document(std::make_shared<const JsonSchema>(JsonSchema::any_object()), R"({"k": "v"})");
    expect_refused_at(std::make_shared<const JsonSchema>(JsonSchema::any_object()), R"([1])", 0);
}

TEST(JsonPrefix, EnumConstAnyOfAndReferences) {
    const auto colours = schema_of(R"({"enum": ["red", "green", 1, null, {"a": 1}]})");
    for (const char* doc : {"\"green\"", "1", "null", "{\"a\":1}", " \"red\""}) expect_document(colours, doc);
    expect_refused_at(colours, "\"gray\"", 3);  // (\"gr... still matches \"green\")
    expect_refused_at(colours, "12", 1);
    expect_refused_at(colours, "{\"a\": 1}", 5);  // (the literal's compact text)
    expect_document(schema_of(R"({"const": "on"})"), "\"on\"");

    const auto nullable = schema_of(R"({"anyOf": [{"type": "string"}, {"type": "null"}]})");
    expect_document(nullable, "\"x\"");
    expect_document(nullable, "null");
    expect_refused_at(nullable, "1", 0);

    const auto tree = schema_of(R"({"$defs": {"node": {"type": "object", "properties": {"v": {"type": "integer"},
        "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}}, "required": ["v"]}}, "$ref": "#/$defs/node"})");
    expect_document(tree, R"({"v": 1, "kids": [{"v": 2}, {"v": 3, "kids": []}]})");
    expect_refused_at(tree, R"({"v": 1, "kids": [{"kids": []}]})", 29);

    const auto pair = schema_of(R"({"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 2})");
    expect_document(pair, "[1, 2]");
    expect_refused_at(pair, "[]", 1);
    expect_refused_at(pair, "[1, 2, 3]", 5);
    expect_refused_at(schema_of(R"({"type": "array", "maxItems": 0})"), "[1]", 1);
}

// anyOf of overlapping branches (a union of objects told apart by a const): each branch followed until
// the bytes part them, in any property order.
TEST(JsonPrefix, OverlappingAlternativesAreFollowedUntilTheyPart) {
    const auto pet = schema_of(R"({"anyOf": [
        {"type": "object", "properties": {"kind": {"const": "cat"}, "lives": {"type": "integer"}}, "required": ["kind", "lives"]},
        {"type": "object", "properties": {"kind": {"const": "dog"}, "bark": {"type": "boolean"}}, "required": ["kind", "bark"]}]})");
    for (const char* doc : {R"({"kind": "cat", "lives": 9})", R"({"kind": "dog", "bark": true})", R"({"lives": 9, "kind": "cat"})"})
        expect_document(pet, doc);
    expect_refused_at(pet, R"({"kind":"cat","bark":true})", 15);
    expect_refused_at(pet, R"({"kind":"dog","lives":9})", 15);
    expect_refused_at(pet, R"({"lives":9,"kind":"dog"})", 19);
    expect_refused_at(pet, R"({"kind":"cat"})", 13);  // (lives is required)
    // nested: an array of the union, and a union beside other kinds
    const auto pets = schema_of(R"({"type": "array", "items": {"anyOf": [{"type": "object", "properties": {"a": {"type": "integer"}}},
        {"type": "object", "properties": {"b": {"type": "string"}}}, {"type": "null"}]}})");
    expect_document(pets, R"([{"a": 1}, {"b": "x"}, null, {}])");
    expect_refused_at(pets, R"([{"a": "1"}])", 7);
    expect_refused_at(pets, R"([{"a": 1, "b": "x"}])", 8);  // (no property can follow: no comma)
    // an integer or a number: both ways stay open, either may end the document
    EXPECT_TRUE(feed(schema_of(R"({"anyOf": [{"type": "integer"}, {"type": "number"}]})"), "12").complete);
}

// minLength / maxLength count characters: an escape or a multi-byte UTF-8 character is one.
TEST(JsonPrefix, StringLengths) {
    const auto s = schema_of(R"({"type": "string", "minLength": 2, "maxLength": 3})");
    for (const char* doc : {"\"ab\"", "\"abc\"", "\"\\n\\u0041\"", "\"\xc3\xa9\xc3\xa9\xc3\xa9\""}) expect_document(s, doc);
    expect_refused_at(s, "\"a\"", 2);
    expect_refused_at(s, "\"abcd\"", 4);
    expect_refused_at(s, "\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"", 7);
    expect_document(schema_of(R"({"maxLength": 0})"), "\"\"");
}

// Integer bounds: a prefix that cannot end within them is refused at its first digit that leaves them.
TEST(JsonPrefix, IntegerBounds) {
    const auto month = schema_of(R"({"type": "integer", "minimum": 1, "maximum": 12})");
    for (const char* doc : {"1", "12", "9"}) expect_document(month, doc);
    expect_refused_at(month, "0", 0);
    expect_refused_at(month, "13", 1);
    expect_refused_at(month, "-1", 0);
    expect_refused_at(month, "123", 2);
    const auto teens = schema_of(R"({"type": "integer", "minimum": 10, "maximum": 19})");
    EXPECT_FALSE(feed(teens, "1").complete);  // (a prefix of 10 - 19, not one of them)
    expect_refused_at(teens, "2", 0);
    const auto exclusive = schema_of(R"({"type": "integer", "minimum": -5, "exclusiveMaximum": 100, "exclusiveMinimum": -6.5})");
    for (const char* doc : {"-5", "-0", "0", "99"}) expect_document(exclusive, doc);
    expect_refused_at(exclusive, "-6", 1);
    expect_refused_at(exclusive, "100", 2);
    expect_refused_at(schema_of(R"({"properties": {"n": {"type": "integer", "maximum": 5}}})"), R"({"n": 6})", 6);
}

// Tuples: prefixItems (or items as a list with additionalItems) give the first items their own schemas,
// items (additionalItems) the rest; false allows none past the tuple.
TEST(JsonPrefix, TupleItems) {
    const auto point = schema_of(R"({"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}], "items": false})");
    for (const char* doc : {"[]", "[1]", "[1, \"a\"]"}) expect_document(point, doc);
    expect_refused_at(point, "[\"a\"]", 1);
    expect_refused_at(point, "[1, 2]", 4);
    expect_refused_at(point, "[1, \"a\", 3]", 7);
    const auto rest = schema_of(R"({"prefixItems": [{"type": "boolean"}], "items": {"type": "null"}, "minItems": 2})");
    for (const char* doc : {"[true, null]", "[false, null, null]"}) expect_document(rest, doc);
    expect_refused_at(rest, "[true]", 5);
    expect_refused_at(rest, "[true, true]", 7);
    const auto open = schema_of(R"({"prefixItems": [{"const": "x"}]})");  // (the rest: any value)
    for (const char* doc : {"[\"x\", 1, {}]", "[\"x\"]"}) expect_document(open, doc);
    expect_refused_at(open, "[\"y\"]", 2);
    const auto draft7 = schema_of(R"({"items": [{"type": "integer"}], "additionalItems": {"type": "string"}})");
    expect_document(draft7, "[1, \"a\", \"b\"]");
    expect_refused_at(draft7, "[1, 2]", 4);
    const auto none = schema_of(R"({"items": [{"type": "integer"}, {"type": "integer"}], "additionalItems": false})");
    expect_document(none, "[1, 2]");
    expect_refused_at(none, "[1, 2, 3]", 5);
    // a tuple inside anyOf with another kind (one node, merged)
    const auto maybe = schema_of(R"({"anyOf": [{"prefixItems": [{"type": "boolean"}], "items": false}, {"type": "null"}]})");
    for (const char* doc : {"null", "[true]"}) expect_document(maybe, doc);
    expect_refused_at(maybe, "[1]", 1);
}

// pattern: a string is refused at the first byte after which no continuation can match (anchored
// patterns), and at its closing quote where it does not match; escapes and UTF-8 count as the characters
// they give; no byte is taken that leaves the string without a way on (a backslash, a UTF-8 character's
// second-to-last byte).
TEST(JsonPrefix, PatternStrings) {
    const auto phone = schema_of(R"({"type": "string", "pattern": "^[0-9]{3}-[0-9]{4}$"})");
    expect_document(phone, "\"555-1234\"");
    expect_refused_at(phone, "\"55a", 3);
    expect_refused_at(phone, "\"555-12345\"", 9);
    expect_refused_at(phone, "\"555-123\"", 8);
    const auto somewhere = schema_of(R"({"pattern": "ab"})");  // (unanchored: any prefix can still match)
    for (const char* doc : {"\"ab\"", "\"xxabyy\"", "12", "[\"no\"]"}) expect_document(somewhere, doc);
    expect_refused_at(somewhere, "\"ba\"", 3);
    const auto escaped = schema_of(R"({"type": "string", "pattern": "^a\\nb\"$"})");  // a, newline, b, quote
    expect_document(escaped, "\"a\\nb\\\"\"");
    expect_refused_at(escaped, "\"a\\tb", 3);
    expect_refused_at(escaped, "\"a\\u000a", 3);  // (\u escapes are not taken where a pattern applies)
    expect_refused_at(escaped, "\"a\\nb\\\"\\", 7);  // (no escape gives a character that fits after the whole)
    const auto accents = schema_of(R"({"type": "string", "pattern": "^\\p{L}+$", "maxLength": 3})");
    expect_document(accents, "\"\xc3\xa9t\xc3\xa9\"");
    expect_refused_at(accents, "\"a1", 2);
    expect_refused_at(accents, "\"a\xc2\xb2", 3);  // (superscript two: a 2-byte character that is no letter)
    const auto emoji = schema_of(R"({"type": "string", "pattern": "^\\x{1F600}+$"})");
    expect_document(emoji, "\"\xf0\x9f\x98\x80\xf0\x9f\x98\x80\"");
    expect_refused_at(emoji, "\"\xf0\x9f\x99", 3);  // (no last byte completes a U+1F600 after these three)
    const auto ascii = schema_of(R"({"type": "string", "pattern": "^[a-z]+$"})");
    expect_refused_at(ascii, "\"ab\xc3", 3);  // (no 2-byte character is a lowercase ASCII letter)
    // enum values that do not match are not offered; an enum with none matching is refused
    const auto codes = schema_of(R"({"enum": ["AB", "x1", 3], "pattern": "^[A-Z]+$"})");
    expect_document(codes, "\"AB\"");
    expect_document(codes, "3");
    expect_refused_at(codes, "\"x", 1);
    EXPECT_THROW((void)JsonSchema::compile(json::parse(R"({"enum": ["a"], "pattern": "^b$"})")), Error);
    try {
        (void)JsonSchema::compile(json::parse(R"({"properties": {"p": {"type": "string", "pattern": "a("}}})"));
        ADD_FAILURE() << "a pattern that does not compile was taken";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("#/properties/p/pattern"), std::string::npos) << e.what();
    }
}

// minProperties / maxProperties: an object closes only with enough members and takes no member past the
// most; where the members left are as many as the required ones unseen, the next name must be one of them.
TEST(JsonPrefix, PropertyCounts) {
    const auto some = schema_of(R"({"type": "object", "minProperties": 1})");
    expect_document(some, R"({"a":1})");
    expect_refused_at(some, "{}", 1);
    const auto two = schema_of(R"({"properties": {"a": {}, "b": {}, "c": {}}, "maxProperties": 2})");
    for (const char* doc : {"{}", R"({"c":1,"a":2})"}) expect_document(two, doc);
    expect_refused_at(two, R"({"a":1,"b":2,"c":3})", 12);
    const auto tight = schema_of(R"({"properties": {"a": {}, "b": {}}, "required": ["b"], "additionalProperties": true, "maxProperties": 2})");
    for (const char* doc : {R"({"x":1,"b":2})", R"({"a":1,"b":2})", R"({"b":1,"y":2})"}) expect_document(tight, doc);
    expect_refused_at(tight, R"({"x":1,"a":2})", 8);
    const auto both = schema_of(R"({"properties": {"a": {}, "b": {}}, "minProperties": 2})");
    expect_document(both, R"({"b":1,"a":2})");
    expect_refused_at(both, R"({"a":1})", 6);
    EXPECT_NE(refusal(R"({"properties": {"a": {}}, "minProperties": 2})").find("minProperties 2 > the 1 properties"), std::string::npos);
    EXPECT_NE(refusal(R"({"properties": {"a": {}, "b": {}}, "required": ["a", "b"], "maxProperties": 1})").find("2 required properties > maxProperties 1"),
              std::string::npos);
    EXPECT_NE(refusal(R"({"minProperties": 3, "maxProperties": 2})").find("minProperties 3 > maxProperties 2"), std::string::npos);
}

// multipleOf on integers: a prefix is taken while it can still end on a multiple (within the bounds).
TEST(JsonPrefix, IntegerMultipleOf) {
    const auto fives = schema_of(R"({"type": "integer", "multipleOf": 5})");
    for (const char* doc : {"0", "5", "-15", "1000", "-0"}) expect_document(fives, doc);
    EXPECT_FALSE(feed(fives, "1").complete);  // (1 could become 10)
    EXPECT_TRUE(feed(fives, "10").complete);
    expect_refused_at(fives, "12 ", 2);
    const auto dozen = schema_of(R"({"type": "integer", "multipleOf": 12, "minimum": 1, "maximum": 30})");
    for (const char* doc : {"12", "24"}) expect_document(dozen, doc);
    expect_refused_at(dozen, "3", 0);   // (30 is no multiple of 12: nothing from 3)
    expect_refused_at(dozen, "0", 0);
    expect_refused_at(dozen, "25", 1);
    EXPECT_NE(refusal(R"({"type": "integer", "multipleOf": 7, "minimum": 8, "maximum": 13})").find("no multiple of 7 in [8, 13]"),
              std::string::npos);
    // on numbers: a power of ten below 1 as the most decimals (cents), without an exponent
    const auto cents = schema_of(R"({"type": "number", "multipleOf": 0.01, "minimum": 0})");
    for (const char* doc : {"12.34", "5", "0.5", "-0"}) expect_document(cents, doc);
    expect_refused_at(cents, "12.345", 5);
    expect_refused_at(cents, "1e2", 1);
    EXPECT_NE(refusal(R"({"type": "number", "multipleOf": 0.5})").find("a power of ten below 1"), std::string::npos);
    EXPECT_NE(refusal(R"({"type": "string", "multipleOf": 2})").find("#/multipleOf"), std::string::npos);
    EXPECT_NE(refusal(R"({"type": "integer", "multipleOf": 0})").find("expected a whole number"), std::string::npos);
}

// Decimal bounds: a number (written without an exponent) is refused at the first byte after which it
// cannot end within them, and where it ends outside them (exclusive bounds exclusive).
TEST(JsonPrefix, DecimalBounds) {
    const auto prob = schema_of(R"({"type": "number", "minimum": 0, "maximum": 1})");
    for (const char* doc : {"0", "1", "0.5", "1.0", "1.000", "-0", "0.999"}) expect_document(prob, doc);
    expect_refused_at(prob, "2", 0);
    expect_refused_at(prob, "-1", 1);
    expect_refused_at(prob, "1.5", 2);
    expect_refused_at(prob, "10", 1);
    expect_refused_at(prob, "1e0", 1);  // (no exponent)
    const auto price = schema_of(R"({"type": "number", "exclusiveMinimum": 0, "maximum": 99.95})");
    for (const char* doc : {"0.01", "99.95", "12", "99.949"}) expect_document(price, doc);
    expect_refused_at(price, "0 ", 1);  // (0 itself is out; "0." could still go on)
    EXPECT_FALSE(feed(price, "0").complete);
    EXPECT_TRUE(feed(price, "0.5").complete);
    expect_refused_at(price, "-", 0);
    expect_refused_at(price, "99.96", 4);
    expect_refused_at(price, "100", 2);
    const auto cold = schema_of(R"({"type": "number", "maximum": -2.5})");
    for (const char* doc : {"-2.5", "-3", "-1000.25"}) expect_document(cold, doc);
    expect_refused_at(cold, "2", 0);
    expect_refused_at(cold, "-2.4", 3);
    expect_refused_at(cold, "-1.", 2);  // ("-1" could still become -10)
    const auto temp = schema_of(R"({"properties": {"t": {"anyOf": [{"type": "number", "minimum": -40, "maximum": 60}, {"type": "null"}]}}})");
    expect_document(temp, R"({"t": -12.5})");
    expect_document(temp, R"({"t": null})");
    expect_refused_at(temp, R"({"t": 61})", 7);
}

// allOf of one schema (Pydantic's described reference) is that schema, of several their keywords merged;
// a definition that is itself a reference is the referred one's.
TEST(JsonSchema, AllOfOneSchemaAndReferenceChains) {
    const auto described = schema_of(R"({"$defs": {"P": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}},
        "type": "object", "properties": {"p": {"allOf": [{"$ref": "#/$defs/P"}], "description": "a point"}}, "required": ["p"]})");
    expect_document(described, R"({"p": {"n": 3}})");
    expect_refused_at(described, R"({"p": {"n": "x"}})", 12);
    const auto chain = schema_of(R"({"$defs": {"A": {"$ref": "#/$defs/B"}, "B": {"type": "integer"}}, "$ref": "#/$defs/A"})");
    expect_document(chain, "7");
    expect_refused_at(chain, "\"x\"", 0);
    // several schemas: their keywords merged (properties and required united)
    const auto both = schema_of(R"({"allOf": [{"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
        {"properties": {"b": {"type": "string"}}, "required": ["b"]}], "description": "a and b"})");
    expect_document(both, R"({"a":1,"b":"x"})");
    expect_refused_at(both, R"({"a":1})", 6);
    expect_refused_at(both, R"({"a":1,"c":2})", 8);
    const auto derived = schema_of(R"({"$defs": {"Base": {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}},
        "allOf": [{"$ref": "#/$defs/Base"}, {"properties": {"name": {"type": "string"}}}]})");
    expect_document(derived, R"({"id":1,"name":"x"})");
    expect_refused_at(derived, R"({"name":"x"})", 11);
    const auto small = schema_of(R"({"allOf": [{"type": "integer"}, {"minimum": 1, "maximum": 5}]})");
    expect_document(small, "3");
    expect_refused_at(small, "7", 0);
    EXPECT_NE(refusal(R"({"allOf": [{"type": "integer"}, {"type": "string"}]})").find("\"type\" in two allOf branches"),
              std::string::npos);
    EXPECT_NE(refusal(R"({"allOf": [{"properties": {"a": {"type": "integer"}}}, {"properties": {"a": {}}}]})").find("#/allOf/1/properties/a"),
              std::string::npos);
    EXPECT_NE(refusal(R"({"allOf": []})").find("non-empty array"), std::string::npos);
    EXPECT_NE(refusal(R"({"$defs": {"A": {"$ref": "#/$defs/A"}}, "$ref": "#/$defs/A"})").find("refers to itself"), std::string::npos);
}

// Integer bounds inside anyOf with another kind (one merged node) still bound the integer.
TEST(JsonPrefix, IntegerBoundsOfAMergedBranch) {
    const auto month_or_null = schema_of(R"({"anyOf": [{"type": "integer", "minimum": 1, "maximum": 12}, {"type": "null"}]})");
    for (const char* doc : {"null", "7", "12"}) expect_document(month_or_null, doc);
    expect_refused_at(month_or_null, "13", 1);
    expect_refused_at(month_or_null, "0", 0);
}

TEST(JsonPrefix, BoundsWhitespaceNumbersAndDepth) {
    const auto any = schema_of("{}");
    // whitespace between tokens: nothing, one space, or a newline and an indent
    expect_document(any, "{\n" + std::string(JsonPrefix::kMaxIndent, ' ') + "\"a\": [1, 2],\n\t\"b\" : {\n}\n}");
    expect_refused_at(any, "{\n" + std::string(JsonPrefix::kMaxIndent + 1, ' '), JsonPrefix::kMaxIndent + 2);
    expect_refused_at(any, "{  }", 2);
    expect_refused_at(any, "{ \n}", 2);
    expect_refused_at(any, "{\t}", 1);
    expect_document(any, "\"" + std::string(200, ' ') + "\"");  // (spaces inside a string are text)
    expect_refused_at(any, std::string(JsonPrefix::kMaxNumberBytes + 1, '1'), JsonPrefix::kMaxNumberBytes);
    expect_document(any, "-1.5e-99");
    expect_refused_at(any, "1e100", 4);  // (a double holds every number it takes)
    const auto integer = schema_of(R"({"type": "integer"})");
    expect_document(integer, "-" + std::string(JsonPrefix::kMaxIntegerDigits, '9'));  // (an int64 holds it)
    expect_refused_at(integer, std::string(JsonPrefix::kMaxIntegerDigits + 1, '9'), JsonPrefix::kMaxIntegerDigits);
    expect_refused_at(any, std::string(JsonPrefix::kMaxDepth, '['), JsonPrefix::kMaxDepth - 2);
    // no dead ends: a ',' only where another property can follow
    const auto two = schema_of(R"({"properties": {"a": {}, "b": {}}})");
    expect_refused_at(two, R"({"a": 1, "b": 2,)", 15);
    expect_document(two, R"({"b": 2, "a": 1})");
}

TEST(JsonSchema, UnsupportedKeywordsAreRefusedWithTheirPlace) {
    EXPECT_NE(refusal(R"({"type": "object", "not": {"required": ["a"]}})").find("\"not\""), std::string::npos);
    EXPECT_NE(refusal(R"({"type": "string", "minLength": 4, "maxLength": 2})").find("minLength 4 > maxLength 2"), std::string::npos);
    EXPECT_NE(refusal(R"({"type": ["number", "string"], "minimum": 0})").find("number\"} only"), std::string::npos);
    EXPECT_NE(refusal(R"({"type": "number", "exclusiveMinimum": 1, "maximum": 1})").find("no number in (1, 1]"), std::string::npos);
    EXPECT_NE(refusal(R"({"type": "integer", "minimum": 3, "maximum": 2})").find("no integer in [3, 2]"), std::string::npos);
    const std::string nested = refusal(R"({"properties": {"x/y": {"type": "object", "if": {"required": ["a"]}}}})");
    EXPECT_NE(nested.find("#/properties/x~1y"), std::string::npos) << nested;
    EXPECT_NE(nested.find("\"if\""), std::string::npos) << nested;
    EXPECT_NE(refusal(R"({"$ref": "https://example.com/s.json"})").find("not supported"), std::string::npos);
    EXPECT_NE(refusal(R"({"$ref": "#/$defs/missing"})").find("no such definition"), std::string::npos);
    json many = {{"anyOf", json::array()}};
    for (int i = 0; i < 17; ++i) many["anyOf"].push_back({{"const", i}});
    EXPECT_NE(refusal(many.dump()).find("17 alternatives (at most 16)"), std::string::npos);
    EXPECT_NE(refusal(R"({"properties": {"a": {}}, "required": ["b"]})").find("\"b\" is not among"), std::string::npos);
    EXPECT_NE(refusal(R"({"type": "strin"})").find("unknown type"), std::string::npos);
    EXPECT_NE(refusal(R"({"type": "integer", "enum": ["a"]})").find("no enum"), std::string::npos);
    EXPECT_NE(refusal("false").find("admits no value"), std::string::npos);
    EXPECT_NE(refusal(R"({"prefixItems": [{}], "items": [{}, {}]})").find("beside prefixItems"), std::string::npos);
    EXPECT_NE(refusal(R"({"type": "array", "additionalItems": false})").find("without a list of items"), std::string::npos);
    EXPECT_NE(refusal(R"({"prefixItems": [{}], "items": false, "minItems": 2})").find("minItems 2 > the 1 items"), std::string::npos);
    EXPECT_NE(refusal(R"({"prefixItems": {}})").find("#/prefixItems"), std::string::npos);
    // annotations are not constraints
    EXPECT_EQ(refusal(R"({"title": "T", "description": "d", "type": "string", "format": "date"})"), "(compiled)");
}

// A tiny validator of the supported subset, for the random walks below.
bool fits(const json& v, const json& s, const json& root) {
    if (s.is_boolean() || s.empty()) return true;
    if (s.contains("$ref")) return fits(v, root["$defs"][s["$ref"].get<std::string>().substr(8)], root);
    if (s.contains("anyOf")) {
        for (const json& b : s["anyOf"])
            if (fits(v, b, root)) return true;
        return false;
    }
    if (s.contains("enum")) {
        for (const json& e : s["enum"])
            if (e == v) return true;
        return false;
    }
    const std::string t = s.value("type", "");
    if (t == "string") {  // characters: the UTF-8 bytes that are not continuation bytes
        if (!v.is_string()) return false;
        size_t chars = 0;
        for (unsigned char b : v.get<std::string>()) chars += (b & 0xC0) != 0x80;
        if (s.contains("pattern") && !std::regex_search(v.get<std::string>(), std::regex(s["pattern"].get<std::string>())))
            return false;
        return chars >= s.value("minLength", 0u) && chars <= s.value("maxLength", 1000000u);
    }
    if (t == "integer")
        return v.is_number_integer() && v.get<int64_t>() >= s.value("minimum", INT64_MIN) && v.get<int64_t>() <= s.value("maximum", INT64_MAX) &&
               v.get<int64_t>() % s.value("multipleOf", int64_t{1}) == 0;
    if (t == "number") {
        if (!v.is_number()) return false;
        const double x = v.get<double>();
        if (s.contains("multipleOf") && std::fabs(x * 10 - std::round(x * 10)) > 1e-9) return false;  // (0.1 in the walks)
        return x >= s.value("minimum", -1e300) && x <= s.value("maximum", 1e300) && x > s.value("exclusiveMinimum", -1e300) &&
               x < s.value("exclusiveMaximum", 1e300);
    }
    if (t == "boolean") return v.is_boolean();
    if (t == "null") return v.is_null();
    if (t == "array") {
        if (!v.is_array()) return false;
        if (v.size() < s.value("minItems", 0u) || v.size() > s.value("maxItems", 1000000u)) return false;
        const json tuple = s.value("prefixItems", json::array());
        const json rest = s.value("items", json::object());
        for (size_t i = 0; i < v.size(); ++i) {
            if (i >= tuple.size() && rest == json(false)) return false;
            if (!fits(v[i], i < tuple.size() ? tuple[i] : rest, root)) return false;
        }
        return true;
    }
    if (t == "object") {
        if (!v.is_object()) return false;
        for (const json& r : s.value("required", json::array()))
            if (!v.contains(r.get<std::string>())) return false;
        if (v.size() < s.value("minProperties", 0u) || v.size() > s.value("maxProperties", 1000000u)) return false;
        const json props = s.value("properties", json::object());
        for (const auto& [k, e] : v.items()) {
            if (props.contains(k)) {
                if (!fits(e, props[k], root)) return false;
            } else if (!s.contains("additionalProperties") || !fits(e, s["additionalProperties"], root)) {
                return false;  // (absent: none beside the listed ones, as the compiler takes it)
            }
        }
        return true;
    }
    return true;
}

TEST(JsonPrefix, RandomWalksCompleteOnlyDocumentsOfTheSchemaAndNeverStick) {
    const std::string alphabet = "{}[],:\" 0123456789-.eEtrufalsnxvkidgob\\/";  // (every byte the schemas need)
    const std::vector<std::string> schemas = {
        R"({})",
        R"({"type": "object", "properties": {"id": {"type": "integer"}, "ok": {"type": "boolean"},
            "kind": {"enum": ["a", "b", 3]}, "v": {"type": "array", "items": {"type": "number"}, "maxItems": 3},
            "s": {"anyOf": [{"type": "string"}, {"type": "null"}]}}, "required": ["id", "kind"]})",
        R"({"$defs": {"n": {"type": "object", "properties": {"k": {"type": "array", "items": {"$ref": "#/$defs/n"}}}}},
            "$ref": "#/$defs/n"})",
        R"({"type": "object", "properties": {"s": {"type": "string", "minLength": 1, "maxLength": 3},
            "n": {"type": "integer", "minimum": -3, "maximum": 250}}, "required": ["s", "n"]})",
        R"({"type": "array", "prefixItems": [{"type": "integer", "minimum": 0, "maximum": 9}, {"type": "boolean"}],
            "items": false, "minItems": 1})",
        R"({"type": "array", "prefixItems": [{"enum": ["a", "b"]}], "items": {"type": "null"}, "maxItems": 3})",
        R"({"type": "object", "properties": {"k": {"type": "string", "pattern": "^[a-f]{1,3}-?[0-9]$"},
            "x": {"type": "string", "pattern": "0"}}, "required": ["k", "x"]})",
        R"({"type": "array", "items": {"type": "number", "minimum": -1.5, "exclusiveMaximum": 20}, "minItems": 1})",
        R"({"type": "array", "items": {"type": "integer", "multipleOf": 3, "minimum": -20, "maximum": 50}})",
        R"({"type": "array", "items": {"type": "number", "multipleOf": 0.1, "maximum": 9.5}})",
        R"({"type": "object", "properties": {"k": {"type": "integer"}, "x": {"type": "boolean"}, "n": {"type": "null"}},
            "required": ["x"], "additionalProperties": {"type": "null"}, "minProperties": 2, "maxProperties": 3})",
        R"({"type": "array", "items": {"anyOf": [{"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]},
            {"type": "object", "properties": {"kind": {"enum": ["a", "b"]}, "ok": {"type": "boolean"}}, "required": ["kind"]}]}})",
    };
    std::mt19937 rng(7);
    for (const std::string& text : schemas) {
        const json sj = json::parse(text);
        const auto s = std::make_shared<const JsonSchema>(JsonSchema::compile(sj));
        int completed = 0;
        for (int walk = 0; walk < 300; ++walk) {
            JsonPrefix p(s);
            std::string doc;
            for (int step = 0; step < 300 && !(p.complete() && rng() % 3 == 0); ++step) {
                std::vector<char> ok;
                for (char c : alphabet)
                    if (p.accepts(std::string_view(&c, 1)))
                        for (int w = 0; w < ((c == '}' || c == ']' || c == '"') ? 6 : 1); ++w) ok.push_back(c);
                if (ok.empty()) {  // nothing continues: the document must be whole
                    if (!p.complete()) ADD_FAILURE() << text << "\ndead end after " << doc;
                    break;
                }
                const char c = ok[rng() % ok.size()];
                ASSERT_TRUE(p.feed(static_cast<uint8_t>(c)));
                doc += c;
            }
            if (!p.complete()) continue;
            ++completed;
            json v;
            ASSERT_NO_THROW(v = json::parse(doc)) << doc;
            EXPECT_TRUE(fits(v, sj, sj)) << text << "\n" << doc;
        }
        EXPECT_GT(completed, 50) << text;
    }
}

}  // namespace
}  // namespace rf
