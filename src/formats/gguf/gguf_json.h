// GGUF metadata values as JSON (for `rocmforge info --json` and tests): integers stay exact
// (u64 as unsigned, i64 as signed), f32 is widened to double exactly, bool and strings map to
// their JSON kinds, arrays (nested too) become JSON arrays. NaN and infinities print as null.
#pragma once

#include <nlohmann/json.hpp>

#include "formats/gguf/gguf_value.h"

namespace rf {

nlohmann::ordered_json gguf_value_to_json(const GgufValue& v);
nlohmann::ordered_json gguf_array_to_json(const GgufArray& a);

}  // namespace rf
