// libFuzzer target: the safetensors header parser and f32 conversion of what it returns. Any
// input must either parse or throw rf::Error.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "formats/safetensors/safetensors_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // A copy of exactly `size` bytes, so that a read past the end is an ASan report.
    const std::vector<uint8_t> bytes(data, data + size);
    try {
        std::map<std::string, std::string> metadata;
        const auto tensors =
            rf::parse_safetensors(bytes.data(), bytes.size(), "fuzz.safetensors", &metadata);
        volatile float sink = 0;
        for (const auto& t : tensors) {
            (void)t.n_elements();
            (void)rf::safetensors_dtype_name(t.dtype);
            if (t.nbytes == 0) continue;
            if (t.dtype == rf::SafetensorsDType::F32 || t.dtype == rf::SafetensorsDType::F16 ||
                t.dtype == rf::SafetensorsDType::BF16) {
                const std::vector<float> v = t.to_f32();
                sink = sink + v.front() + v.back();
            } else {
                sink = sink + static_cast<float>(t.data[0] + t.data[t.nbytes - 1]);
            }
        }
    } catch (const rf::Error&) {
    }
    return 0;
}
