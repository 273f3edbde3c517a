#include "engine/json_schema.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <map>
#include <set>

#include "core/error.h"

namespace rf {

using nlohmann::json;

namespace {

const std::set<std::string>& annotations() {
    static const std::set<std::string> a = {"title",    "description", "default", "examples",  "format",
                                            "$schema",  "$id",         "$comment", "deprecated", "readOnly",
                                            "writeOnly", "$defs",      "definitions", "strict"};
    return a;
}

uint8_t kind_of_name(const std::string& name, const std::string& where) {
    if (name == "object") return kJsonObject;
    if (name == "array") return kJsonArray;
    if (name == "string") return kJsonString;
    if (name == "integer") return kJsonInteger;
    if (name == "number") return kJsonNumber | kJsonInteger;
    if (name == "boolean") return kJsonBoolean;
    if (name == "null") return kJsonNull;
    throw Error(fmt::format("json schema {}: unknown type \"{}\"", where, name));
}

uint8_t kind_of_value(const json& v) {
    switch (v.type()) {
    case json::value_t::object: return kJsonObject;
    case json::value_t::array: return kJsonArray;
    case json::value_t::string: return kJsonString;
    case json::value_t::boolean: return kJsonBoolean;
    case json::value_t::null: return kJsonNull;
    case json::value_t::number_float: return kJsonNumber;
    default: return kJsonInteger;
    }
}

std::string escape_pointer_token(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '~') out += "~0";
        else if (c == '/') out += "~1";
        else out += c;
    }
    return out;
}

}  // namespace

class JsonSchemaCompiler {
public:
    explicit JsonSchemaCompiler(const json& root) : root_(root) {}

    JsonSchema run() {
        JsonSchema s;
        out_ = &s;
        s.nodes_.push_back(JsonSchemaNode{});  // node 0: any value (its own items and extra properties)
        s.root_ = compile(root_, "#");
        return s;
    }

private:
    int32_t new_node() {
        out_->nodes_.emplace_back();
        return static_cast<int32_t>(out_->nodes_.size() - 1);
    }
    JsonSchemaNode& at(int32_t i) { return out_->nodes_[static_cast<size_t>(i)]; }

    [[noreturn]] static void refuse(const std::string& where, const std::string& what) {
        throw Error(fmt::format("json schema {}: {}", where, what));
    }

    const json& resolve(const std::string& ref, const std::string& where) {
        if (ref == "#") return root_;
        for (const char* prefix : {"#/$defs/", "#/definitions/"}) {
            const std::string p = prefix;
            if (ref.rfind(p, 0) != 0) continue;
            const std::string defs = p.substr(2, p.size() - 3);
            const std::string name = ref.substr(p.size());
            if (root_.contains(defs) && root_[defs].is_object() && root_[defs].contains(name)) return root_[defs][name];
            refuse(where, fmt::format("$ref \"{}\": no such definition", ref));
        }
        refuse(where, fmt::format("$ref \"{}\" is not supported (only \"#\", \"#/$defs/NAME\" and \"#/definitions/NAME\")", ref));
    }

    // allOf: the branches' keywords (and those beside allOf) as one schema: properties and required
    // united, a property in two branches with the same schema; any other keyword in two branches with the
    // same value, else refused naming it. A branch that is a local $ref (annotations beside it) is read as
    // its definition; a branch's own allOf is merged first.
    json merge_all_of(const json& s, const std::string& where, int depth) {
        if (depth > 8) refuse(where, "allOf nested more than 8 deep (through references)");
        const json& all = s["allOf"];
        if (!all.is_array() || all.empty()) refuse(where + "/allOf", "expected a non-empty array of schemas");
        json merged = json::object();
        auto take = [&](json branch, const std::string& bw) {
            for (int hops = 0; branch.is_object() && branch.contains("$ref"); ++hops) {
                for (const auto& [k, v] : branch.items())
                    if (k != "$ref" && !annotations().count(k)) refuse(bw, fmt::format("\"{}\" beside $ref is not supported", k));
                if (!branch["$ref"].is_string()) refuse(bw + "/$ref", "expected a string");
                if (hops > 8) refuse(bw, "a chain of more than 8 references");
                branch = resolve(branch["$ref"].get<std::string>(), bw + "/$ref");
            }
            if (branch.is_boolean()) {
                if (!branch.get<bool>()) refuse(bw, "false admits no value");
                return;
            }
            if (!branch.is_object()) refuse(bw, "expected a schema object, got " + branch.dump());
            if (branch.contains("allOf")) branch = merge_all_of(branch, bw, depth + 1);
            for (const auto& [k, v] : branch.items()) {
                if (annotations().count(k)) continue;
                if (!merged.contains(k)) {
                    merged[k] = v;
                } else if (k == "properties" && v.is_object() && merged[k].is_object()) {
                    for (const auto& [name, sub] : v.items()) {
                        if (merged[k].contains(name) && merged[k][name] != sub)
                            refuse(bw + "/properties/" + escape_pointer_token(name),
                                   "a property of two allOf branches with different schemas");
                        merged[k][name] = sub;
                    }
                } else if (k == "required" && v.is_array() && merged[k].is_array()) {
                    for (const json& name : v)
                        if (std::find(merged[k].begin(), merged[k].end(), name) == merged[k].end()) merged[k].push_back(name);
                } else if (merged[k] != v) {
                    refuse(bw + "/" + k, fmt::format("\"{}\" in two allOf branches with different values", k));
                }
            }
        };
        for (size_t i = 0; i < all.size(); ++i) take(all[i], fmt::format("{}/allOf/{}", where, i));
        json rest = s;
        rest.erase("allOf");
        take(std::move(rest), where);
        return merged;
    }

    // The node of the schema at `where` (a JSON pointer, for errors).
    int32_t compile(const json& s, const std::string& where) {
        if (s.is_boolean()) {
            if (!s.get<bool>()) refuse(where, "false admits no value");
            return JsonSchema::kAnyNode;
        }
        if (!s.is_object()) refuse(where, "expected a schema object, got " + s.dump());
        if (s.empty()) return JsonSchema::kAnyNode;
        if (s.contains("$ref")) {
            for (const auto& [k, v] : s.items())
                if (k != "$ref" && !annotations().count(k)) refuse(where, fmt::format("\"{}\" beside $ref is not supported", k));
            if (!s["$ref"].is_string()) refuse(where + "/$ref", "expected a string");
            const std::string ref = s["$ref"].get<std::string>();
            if (auto it = refs_.find(ref); it != refs_.end()) return it->second;
            const int32_t n = new_node();
            refs_[ref] = n;
            in_progress_.insert(n);
            fill(n, resolve(ref, where + "/$ref"), ref);
            in_progress_.erase(n);
            return n;
        }
        if (s.contains("allOf")) return compile(merge_all_of(s, where, 0), where);
        const int32_t n = new_node();
        fill(n, s, where);
        return n;
    }

    void fill(int32_t n, const json& s, const std::string& where) {
        if (s.is_boolean() || (s.is_object() && s.empty())) {  // (a $ref to true or {})
            if (s.is_boolean() && !s.get<bool>()) refuse(where, "false admits no value");
            at(n) = JsonSchemaNode{};
            return;
        }
        if (!s.is_object()) refuse(where, "expected a schema object, got " + s.dump());
        if (s.contains("$ref") || s.contains("allOf")) {  // a definition that is itself a reference: that node's copy
            const int32_t c = compile(s, where);
            if (in_progress_.count(c)) refuse(where, "a definition that only refers to itself admits no value");
            at(n) = at(c);
            return;
        }
        static const std::set<std::string> supported = {"type",      "properties", "required",  "additionalProperties",
                                                        "items",     "minItems",   "maxItems",  "enum",
                                                        "const",     "anyOf",      "oneOf",     "$ref",
                                                        "minLength", "maxLength", "minimum",  "maximum",
                                                        "exclusiveMinimum", "exclusiveMaximum", "prefixItems",
                                                        "additionalItems",  "pattern",   "multipleOf",
                                                        "minProperties",    "maxProperties"};
        for (const auto& [k, v] : s.items())
            if (!supported.count(k) && !annotations().count(k))
                refuse(where, fmt::format("keyword \"{}\" is not supported", k));
        for (const char* alt : {"anyOf", "oneOf"})
            if (s.contains(alt)) return fill_alternatives(n, s, alt, where);

        JsonSchemaNode node;
        uint8_t kinds = kJsonAny;
        if (s.contains("type")) {
            const json& t = s["type"];
            kinds = 0;
            if (t.is_string()) kinds = kind_of_name(t.get<std::string>(), where + "/type");
            else if (t.is_array() && !t.empty())
                for (const json& e : t) {
                    if (!e.is_string()) refuse(where + "/type", "expected type names, got " + e.dump());
                    kinds |= kind_of_name(e.get<std::string>(), where + "/type");
                }
            else refuse(where + "/type", "expected a type name or a list of them, got " + t.dump());
        } else if (s.contains("properties") || s.contains("required") || s.contains("additionalProperties")) {
            kinds = kJsonObject;
        } else if (s.contains("items") || s.contains("minItems") || s.contains("maxItems")) {
            kinds = kJsonArray;
        } else if (s.contains("minLength") || s.contains("maxLength")) {
            kinds = kJsonString;
        }
        node.kinds = kinds;
        if (s.contains("pattern")) {
            if (!s["pattern"].is_string()) refuse(where + "/pattern", "expected a regular expression string, got " + s["pattern"].dump());
            node.pattern = JsonPattern::compile(s["pattern"].get<std::string>(), where);
        }

        if (s.contains("enum") || s.contains("const")) {
            std::vector<json> values;
            if (s.contains("const")) values.push_back(s["const"]);
            if (s.contains("enum")) {
                if (!s["enum"].is_array() || s["enum"].empty()) refuse(where + "/enum", "expected a non-empty array");
                for (const json& v : s["enum"]) values.push_back(v);
            }
            uint8_t lk = 0;
            for (const json& v : values) {
                const uint8_t k = kind_of_value(v);
                if (!(k & kinds) && !(k == kJsonInteger && (kinds & kJsonNumber))) continue;  // (not of the type)
                if (node.pattern && v.is_string() && !node.pattern->matches(v.get<std::string>())) continue;
                node.literals.push_back(v.dump());
                lk |= k;
            }
            if (node.literals.empty()) refuse(where, "no enum / const value is of the schema's type (and pattern)");
            if (node.literals.size() > JsonSchema::kMaxLiterals)
                refuse(where + "/enum", fmt::format("{} values (at most {})", node.literals.size(), JsonSchema::kMaxLiterals));
            node.kinds = lk;
        }

        // object
        // additionalProperties absent: none beside listed properties (as llama.cpp and xgrammar generate);
        // an object schema without properties takes any
        node.additional = s.contains("properties") ? JsonSchema::kNoNode : JsonSchema::kAnyNode;
        if (s.contains("properties")) {
            const json& p = s["properties"];
            if (!p.is_object()) refuse(where + "/properties", "expected an object");
            if (p.size() > JsonSchema::kMaxProperties)
                refuse(where + "/properties", fmt::format("{} properties (at most {})", p.size(), JsonSchema::kMaxProperties));
            for (const auto& [name, sub] : p.items()) node.properties.emplace_back(json(name).dump(), -1);
        }
        if (s.contains("required")) {
            const json& r = s["required"];
            if (!r.is_array()) refuse(where + "/required", "expected an array of property names");
            for (const json& name : r) {
                if (!name.is_string()) refuse(where + "/required", "expected property names, got " + name.dump());
                const std::string lit = json(name.get<std::string>()).dump();
                size_t i = 0;
                while (i < node.properties.size() && node.properties[i].first != lit) ++i;
                if (i == node.properties.size())
                    refuse(where + "/required", fmt::format("\"{}\" is not among the properties", name.get<std::string>()));
                node.required |= uint64_t{1} << i;
            }
        }
        read_property_counts(s, node, where);
        if (s.contains("minItems")) node.min_items = count_field(s, "minItems", where);
        if (s.contains("maxItems")) node.max_items = count_field(s, "maxItems", where);
        if (node.max_items >= 0 && node.min_items > node.max_items)
            refuse(where, fmt::format("minItems {} > maxItems {}", node.min_items, node.max_items));
        read_integer_bounds(s, node, where);
        if (s.contains("minLength")) node.min_length = count_field(s, "minLength", where);
        if (s.contains("maxLength")) node.max_length = count_field(s, "maxLength", where);
        if (node.max_length >= 0 && node.min_length > node.max_length)
            refuse(where, fmt::format("minLength {} > maxLength {}", node.min_length, node.max_length));
        at(n) = node;  // (before the children: a recursive $ref may read this node's kinds)

        // children (the node vector may grow: no reference into it is held across these calls)
        if (s.contains("properties")) {
            size_t i = 0;
            for (const auto& [name, sub] : s["properties"].items()) {
                const int32_t c = compile(sub, where + "/properties/" + escape_pointer_token(name));
                at(n).properties[i++].second = c;
            }
        }
        if (s.contains("additionalProperties")) {
            const json& a = s["additionalProperties"];
            const int32_t c = a.is_boolean() ? (a.get<bool>() ? JsonSchema::kAnyNode : JsonSchema::kNoNode)
                                             : compile(a, where + "/additionalProperties");
            at(n).additional = c;
        }
        compile_items(n, s, where);
    }

    // Array items: a tuple's first items (prefixItems, or items as a list before 2020-12), then the rest
    // (items, or additionalItems after a list); a rest of false allows no item past the tuple.
    void compile_items(int32_t n, const json& s, const std::string& where) {
        const bool listed = s.contains("items") && s["items"].is_array();
        if (s.contains("prefixItems") && listed)
            refuse(where + "/items", "a list of item schemas beside prefixItems (take one form of tuple)");
        if (s.contains("additionalItems") && !listed)
            refuse(where + "/additionalItems", "additionalItems without a list of items (it applies to nothing)");
        const char* tuple_key = listed ? "items" : s.contains("prefixItems") ? "prefixItems" : nullptr;
        const char* rest_key = listed ? "additionalItems" : "items";
        if (tuple_key != nullptr) {
            const json& t = s[tuple_key];
            if (!t.is_array()) refuse(where + "/" + tuple_key, "expected an array of schemas, got " + t.dump());
            if (t.size() > JsonSchema::kMaxProperties)
                refuse(where + "/" + tuple_key, fmt::format("{} item schemas (at most {})", t.size(), JsonSchema::kMaxProperties));
            for (size_t i = 0; i < t.size(); ++i) {
                const int32_t c = compile(t[i], fmt::format("{}/{}/{}", where, tuple_key, i));
                at(n).prefix_items.push_back(c);
            }
        }
        if (!s.contains(rest_key)) return;
        const json& r = s[rest_key];
        if (r.is_boolean() && !r.get<bool>()) {  // no item past the tuple
            const auto tuple = static_cast<int32_t>(at(n).prefix_items.size());
            JsonSchemaNode& node = at(n);
            node.max_items = node.max_items < 0 ? tuple : std::min(node.max_items, tuple);
            if (node.min_items > node.max_items)
                refuse(where, fmt::format("minItems {} > the {} items the tuple allows", node.min_items, node.max_items));
            return;
        }
        const int32_t c = compile(r, where + "/" + rest_key);
        at(n).items = c;
    }

    // minimum / maximum / exclusive*: on {"type": "integer"} as inclusive int64 bounds, on {"type":
    // "number"} as decimal ones (DecimalBounds); not on enum / const or nodes of other kinds too
    static void read_integer_bounds(const json& s, JsonSchemaNode& node, const std::string& where) {
        if (s.contains("multipleOf") && node.kinds == (kJsonNumber | kJsonInteger) && node.literals.empty()) {
            // a number: multiples of 10^-k (0.01: cents) are the numbers of at most k decimals
            const json& m = s["multipleOf"];
            const double v = m.is_number() ? m.get<double>() : 0.0;
            int k = 1;
            while (k <= 15 && std::fabs(v * std::pow(10.0, k) - 1.0) > 1e-9) ++k;
            if (k > 15) refuse(where + "/multipleOf", "on a number, a power of ten below 1 (0.1, 0.01, ...) is supported, got " + m.dump());
            node.max_decimals = k;
        } else if (s.contains("multipleOf")) {
            const json& m = s["multipleOf"];
            if (node.kinds != kJsonInteger || !node.literals.empty())
                refuse(where + "/multipleOf", "supported on {\"type\": \"integer\"} and {\"type\": \"number\"} only");
            if (!m.is_number() || !(m.get<double>() >= 1.0 && m.get<double>() <= 1e18) || std::floor(m.get<double>()) != m.get<double>())
                refuse(where + "/multipleOf", "expected a whole number from 1 to 10^18, got " + m.dump());
            node.multiple_of = m.is_number_integer() ? m.get<int64_t>() : static_cast<int64_t>(m.get<double>());
        }
        const bool any = s.contains("minimum") || s.contains("maximum") || s.contains("exclusiveMinimum") || s.contains("exclusiveMaximum");
        if (!any) return;
        if ((node.kinds & ~(kJsonInteger | kJsonNumber)) != 0 || !node.literals.empty())
            refuse(where, "minimum / maximum are supported on {\"type\": \"integer\"} and {\"type\": \"number\"} only");
        if (node.kinds & kJsonNumber) return read_decimal_bounds(s, node.decimal, where);
        constexpr double kLimit = 999999999999999999.0;  // (18 digits: what the automaton writes)
        auto bound = [&](const char* key) {
            const json& v = s[key];
            if (!v.is_number() || !(v.get<double>() >= -kLimit && v.get<double>() <= kLimit))
                refuse(where + "/" + key, "expected a number within 18 digits, got " + v.dump());
            return v.get<double>();
        };
        auto lower = [&](int64_t v) { node.minimum = node.has_minimum ? std::max(node.minimum, v) : v; node.has_minimum = true; };
        auto upper = [&](int64_t v) { node.maximum = node.has_maximum ? std::min(node.maximum, v) : v; node.has_maximum = true; };
        if (s.contains("minimum")) lower(static_cast<int64_t>(std::ceil(bound("minimum"))));
        if (s.contains("exclusiveMinimum")) lower(static_cast<int64_t>(std::floor(bound("exclusiveMinimum"))) + 1);
        if (s.contains("maximum")) upper(static_cast<int64_t>(std::floor(bound("maximum"))));
        if (s.contains("exclusiveMaximum")) upper(static_cast<int64_t>(std::ceil(bound("exclusiveMaximum"))) - 1);
        if (node.has_minimum && node.has_maximum && node.minimum > node.maximum)
            refuse(where, fmt::format("no integer in [{}, {}]", node.minimum, node.maximum));
        if (node.has_minimum && node.has_maximum) {  // (the first multiple at or above the minimum)
            const int64_t k = node.multiple_of, r = ((node.minimum % k) + k) % k;
            if ((r == 0 ? node.minimum : node.minimum + (k - r)) > node.maximum)
                refuse(where, fmt::format("no multiple of {} in [{}, {}]", k, node.minimum, node.maximum));
        }
    }

    static void read_decimal_bounds(const json& s, DecimalBounds& d, const std::string& where) {
        auto bound = [&](const char* key) {
            const json& v = s[key];
            if (!v.is_number() || !std::isfinite(v.get<double>())) refuse(where + "/" + key, "expected a number, got " + v.dump());
            return v.get<double>();
        };
        auto lower = [&](double v, bool exclusive) {
            if (d.has_min && (v < d.min || (v == d.min && !exclusive))) return;  // (the tighter one stays)
            d.has_min = true;
            d.min = v;
            d.min_exclusive = exclusive;
        };
        auto upper = [&](double v, bool exclusive) {
            if (d.has_max && (v > d.max || (v == d.max && !exclusive))) return;
            d.has_max = true;
            d.max = v;
            d.max_exclusive = exclusive;
        };
        if (s.contains("minimum")) lower(bound("minimum"), false);
        if (s.contains("exclusiveMinimum")) lower(bound("exclusiveMinimum"), true);
        if (s.contains("maximum")) upper(bound("maximum"), false);
        if (s.contains("exclusiveMaximum")) upper(bound("exclusiveMaximum"), true);
        if (d.has_min && d.has_max && (d.min > d.max || (d.min == d.max && (d.min_exclusive || d.max_exclusive))))
            refuse(where, fmt::format("no number in {}{}, {}{}", d.min_exclusive ? "(" : "[", d.min, d.max,
                                      d.max_exclusive ? ")" : "]"));
    }

    // minProperties / maxProperties, checked against what the object can hold (its listed properties
    // where it takes no others; its required ones)
    static void read_property_counts(const json& s, JsonSchemaNode& node, const std::string& where) {
        if (s.contains("minProperties")) node.min_properties = count_field(s, "minProperties", where);
        if (s.contains("maxProperties")) node.max_properties = count_field(s, "maxProperties", where);
        const bool others = s.contains("additionalProperties") ? !(s["additionalProperties"].is_boolean() &&
                                                                   !s["additionalProperties"].get<bool>())
                                                               : !s.contains("properties");
        const auto listed = static_cast<int32_t>(node.properties.size());
        const auto required = static_cast<int32_t>(std::popcount(node.required));
        if (node.max_properties >= 0 && node.min_properties > node.max_properties)
            refuse(where, fmt::format("minProperties {} > maxProperties {}", node.min_properties, node.max_properties));
        if (!others && node.min_properties > listed)
            refuse(where, fmt::format("minProperties {} > the {} properties the object allows", node.min_properties, listed));
        if (node.max_properties >= 0 && required > node.max_properties)
            refuse(where, fmt::format("{} required properties > maxProperties {}", required, node.max_properties));
    }

    static int32_t count_field(const json& s, const char* key, const std::string& where) {
        const json& v = s[key];
        if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > (1 << 30))
            refuse(where + "/" + key, "expected a count >= 0, got " + v.dump());
        return static_cast<int32_t>(v.get<int64_t>());
    }

    // anyOf / oneOf: branches of different JSON kinds merged into one node; overlapping branches kept as
    // the node's alternatives.
    void fill_alternatives(int32_t n, const json& s, const char* alt, const std::string& where) {
        for (const auto& [k, v] : s.items())
            if (k != alt && !annotations().count(k))
                refuse(where, fmt::format("\"{}\" beside {} is not supported", k, alt));
        const json& branches = s[alt];
        if (!branches.is_array() || branches.empty()) refuse(where + "/" + alt, "expected a non-empty array of schemas");
        if (branches.size() > JsonSchema::kMaxAlternatives)
            refuse(where + "/" + alt, fmt::format("{} alternatives (at most {})", branches.size(), JsonSchema::kMaxAlternatives));
        std::vector<int32_t> nodes;
        bool overlap = false, with_literals = false, without_literals = false;
        uint8_t kinds = 0;
        for (size_t b = 0; b < branches.size(); ++b) {
            const std::string bw = fmt::format("{}/{}/{}", where, alt, b);
            const int32_t c = compile(branches[b], bw);
            if (in_progress_.count(c)) refuse(bw, "a recursive reference as an alternative is not supported");
            const JsonSchemaNode& branch = at(c);
            overlap = overlap || (branch.kinds & kinds) != 0 || !branch.alternatives.empty();
            kinds |= branch.kinds;
            (branch.literals.empty() ? without_literals : with_literals) = true;
            nodes.push_back(c);
        }
        if (overlap || (with_literals && without_literals)) {
            JsonSchemaNode u;
            u.kinds = kinds;
            u.alternatives = std::move(nodes);
            at(n) = std::move(u);
            return;
        }
        JsonSchemaNode merged;
        merged.kinds = 0;
        merged.additional = JsonSchema::kNoNode;
        for (int32_t c : nodes) {
            const JsonSchemaNode branch = at(c);
            merged.kinds |= branch.kinds;
            merged.literals.insert(merged.literals.end(), branch.literals.begin(), branch.literals.end());
            if (branch.kinds & kJsonObject) {
                merged.properties = branch.properties;
                merged.required = branch.required;
                merged.additional = branch.additional;
                merged.min_properties = branch.min_properties;
                merged.max_properties = branch.max_properties;
            }
            if (branch.kinds & kJsonArray) {
                merged.items = branch.items;
                merged.prefix_items = branch.prefix_items;
                merged.min_items = branch.min_items;
                merged.max_items = branch.max_items;
            }
            if (branch.kinds & (kJsonInteger | kJsonNumber)) {  // (bounds come with an integer or number type only)
                merged.has_minimum = branch.has_minimum;
                merged.has_maximum = branch.has_maximum;
                merged.minimum = branch.minimum;
                merged.maximum = branch.maximum;
                merged.multiple_of = branch.multiple_of;
                merged.max_decimals = branch.max_decimals;
                merged.decimal = branch.decimal;
            }
            if (branch.kinds & kJsonString) {
                merged.min_length = branch.min_length;
                merged.max_length = branch.max_length;
                merged.pattern = branch.pattern;
            }
        }
        at(n) = merged;
    }

    const json& root_;
    JsonSchema* out_ = nullptr;
    std::map<std::string, int32_t> refs_;
    std::set<int32_t> in_progress_;
};

JsonSchema JsonSchema::compile(const json& schema) { return JsonSchemaCompiler(schema).run(); }

JsonSchema JsonSchema::any_object() {
    JsonSchema s;
    s.nodes_.push_back(JsonSchemaNode{});
    JsonSchemaNode o;
    o.kinds = kJsonObject;
    o.additional = kAnyNode;
    s.nodes_.push_back(o);
    s.root_ = 1;
    return s;
}

}  // namespace rf
