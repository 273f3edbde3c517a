// libFuzzer target: GGUF parsing and everything a parsed file exposes. Any input must either
// parse or throw rf::Error; another exception, a crash or a sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "formats/gguf/gguf_file.h"
#include "formats/gguf/gguf_json.h"

namespace {

// Getters may throw rf::Error for a key of the wrong type; that is their documented behaviour.
template <typename F>
void tolerate_errors(F&& f) {
    try {
        f();
    } catch (const rf::Error&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        const rf::GgufFile f(std::vector<uint8_t>(data, data + size), "fuzz.gguf");
        for (const auto& kv : f.metadata()) {
            const std::string& key = kv.first;  // (clang 14 cannot capture structured bindings)
            const rf::GgufValue& value = kv.second;
            (void)value.to_display_string();
            (void)value.to_display_string(2, 3);
            (void)value.type_string();
            (void)value.is_consistent();
            (void)(value == value);
            (void)value.as_int();
            (void)value.as_uint();
            (void)value.as_double();
            (void)rf::gguf_value_to_json(value).dump(
                -1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
            tolerate_errors([&] { (void)f.get_int(key); });
            tolerate_errors([&] { (void)f.get_float(key); });
            tolerate_errors([&] { (void)f.get_int_array(key); });
            tolerate_errors([&] { (void)f.get_float_array(key); });
            tolerate_errors([&] { (void)f.get_string_array(key); });
        }
        // Every tensor's bytes lie inside the buffer: touch the first and the last.
        volatile uint8_t sink = 0;
        for (const auto& t : f.tensors()) {
            sink = sink + t.data[0] + t.data[t.nbytes - 1];
            (void)f.require_tensor(t.name);
            (void)t.n_rows();
        }
        (void)f.n_parameters();
        (void)f.tensor_data_bytes();
    } catch (const rf::Error&) {
    }
    return 0;
}
