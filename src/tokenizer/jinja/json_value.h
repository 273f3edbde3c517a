// JSON <-> Value. Input is nlohmann::ordered_json so a context's key order survives into
// dicts (tojson output depends on it). Output follows Python's json.dumps, which is what
// transformers' tojson filter calls: ensure_ascii=False by default, separators (", ", ": ")
// without indent and (",", ": ") with it, keys in insertion order unless sort_keys.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "tokenizer/jinja/value.h"

namespace rf::jinja {

Value from_json(const nlohmann::ordered_json& j);

struct JsonDumpOptions {
    std::optional<std::string> indent;  // nullopt: one line; "" / "  ": newline + that per level
    bool ensure_ascii = false;
    std::optional<std::string> item_separator;  // default ", " (or "," with indent)
    std::string key_separator = ": ";
    bool sort_keys = false;
};

// Throws TemplateError for values JSON cannot hold (undefined, functions, namespaces, nan).
std::string dump_json(const Value& v, const JsonDumpOptions& options = {});

}  // namespace rf::jinja
