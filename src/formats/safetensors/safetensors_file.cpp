// safetensors header parsing and validation (layout in safetensors_file.h), dtypes, to_f32.
#include "formats/safetensors/safetensors_file.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/half.h"

namespace rf {

namespace {

// The reference implementation refuses headers above 100 MB; so do we (a 1T-parameter
// checkpoint needs a few MB).
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

struct DTypeInfo {
    SafetensorsDType dtype;
    const char* name;
    size_t size;
};

constexpr std::array kDTypes = {
    DTypeInfo{SafetensorsDType::F32, "F32", 4},
    DTypeInfo{SafetensorsDType::F16, "F16", 2},
    DTypeInfo{SafetensorsDType::BF16, "BF16", 2},
    DTypeInfo{SafetensorsDType::F64, "F64", 8},
    DTypeInfo{SafetensorsDType::I64, "I64", 8},
    DTypeInfo{SafetensorsDType::I32, "I32", 4},
    DTypeInfo{SafetensorsDType::I16, "I16", 2},
    DTypeInfo{SafetensorsDType::I8, "I8", 1},
    DTypeInfo{SafetensorsDType::U8, "U8", 1},
    DTypeInfo{SafetensorsDType::BOOL, "BOOL", 1},
    DTypeInfo{SafetensorsDType::U16, "U16", 2},
    DTypeInfo{SafetensorsDType::U32, "U32", 4},
    DTypeInfo{SafetensorsDType::U64, "U64", 8},
    DTypeInfo{SafetensorsDType::F8_E4M3, "F8_E4M3", 1},
    DTypeInfo{SafetensorsDType::F8_E5M2, "F8_E5M2", 1},
};

const DTypeInfo* find_dtype(const std::string& name) {
    for (const auto& d : kDTypes)
        if (name == d.name) return &d;
    return nullptr;
}

const DTypeInfo& dtype_info(SafetensorsDType t) {
    for (const auto& d : kDTypes)
        if (d.dtype == t) return d;
    fail("safetensors: dtype id {} is not known", static_cast<int>(t));
}

using json = nlohmann::json;

std::string json_excerpt(const json& j) {
    std::string s = j.dump(-1, ' ', false, json::error_handler_t::replace);
    if (s.size() > 80) s = s.substr(0, 77) + "...";
    return s;
}

[[noreturn]] void entry_fail(const std::string& what, const std::string& name,
                             const std::string& msg) {
    fail("safetensors {}: tensor '{}': {}", what, name, msg);
}

// Reads one tensor entry; `data_size` is the size of the data section.
SafetensorsTensor parse_entry(const std::string& what, const std::string& name, const json& e,
                              const uint8_t* data_section, uint64_t data_size) {
    if (!e.is_object())
        entry_fail(what, name, fmt::format("entry is {}, expected an object", json_excerpt(e)));
    const auto dt = e.find("dtype");
    const auto sh = e.find("shape");
    const auto off = e.find("data_offsets");
    if (dt == e.end() || sh == e.end() || off == e.end())
        entry_fail(what, name, "entry needs \"dtype\", \"shape\" and \"data_offsets\"");
    if (!dt->is_string())
        entry_fail(what, name, fmt::format("dtype {} is not a string", json_excerpt(*dt)));
    const DTypeInfo* info = find_dtype(dt->get_ref<const std::string&>());
    if (info == nullptr)
        entry_fail(what, name,
                   fmt::format("dtype '{}' is not a safetensors dtype this build knows",
                               dt->get_ref<const std::string&>()));

    SafetensorsTensor t;
    t.name = name;
    t.dtype = info->dtype;
    t.file = what;
    if (!sh->is_array())
        entry_fail(what, name, fmt::format("shape {} is not an array", json_excerpt(*sh)));
    uint64_t n = 1;
    for (const json& d : *sh) {
        if (!d.is_number_unsigned())
            entry_fail(what, name,
                       fmt::format("shape {} has an entry that is not a non-negative integer",
                                   json_excerpt(*sh)));
        const uint64_t v = d.get<uint64_t>();
        if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
            __builtin_mul_overflow(n, v, &n) ||
            n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
            entry_fail(
                what, name,
                fmt::format("shape {} has more elements than fit in int64", json_excerpt(*sh)));
        t.shape.push_back(static_cast<int64_t>(v));
    }
    uint64_t nbytes = 0;
    if (__builtin_mul_overflow(n, static_cast<uint64_t>(info->size), &nbytes))
        entry_fail(
            what, name,
            fmt::format("shape {} of {} overflows the byte count", json_excerpt(*sh), info->name));

    if (!off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
        !(*off)[1].is_number_unsigned())
        entry_fail(what, name,
                   fmt::format("data_offsets {} is not [begin, end] with non-negative integers",
                               json_excerpt(*off)));
    const uint64_t begin = (*off)[0].get<uint64_t>();
    const uint64_t end = (*off)[1].get<uint64_t>();
    if (begin > end)
        entry_fail(what, name, fmt::format("data_offsets [{}, {}] has begin > end", begin, end));
    if (end > data_size)
        entry_fail(what, name,
                   fmt::format("data_offsets [{}, {}] end past the data section ({} bytes)", begin,
                               end, data_size));
    if (end - begin != nbytes)
        entry_fail(
            what, name,
            fmt::format("data_offsets [{}, {}] span {} bytes, but shape [{}] of {} needs {}", begin,
                        end, end - begin, fmt::join(t.shape, ", "), info->name, nbytes));
    t.offset = begin;
    t.nbytes = static_cast<size_t>(nbytes);
    t.data = data_section + begin;
    return t;
}

}  // namespace

const char* safetensors_dtype_name(SafetensorsDType t) {
    return dtype_info(t).name;
}
size_t safetensors_dtype_size(SafetensorsDType t) {
    return dtype_info(t).size;
}

std::vector<SafetensorsTensor> parse_safetensors(const uint8_t* data, size_t size,
                                                 const std::string& what,
                                                 std::map<std::string, std::string>* metadata) {
    if (size < 8)
        fail("safetensors {}: the file is {} bytes, too small for the 8-byte header length", what,
             size);
    uint64_t header_len = 0;
    std::memcpy(&header_len, data, 8);
    if (header_len > kMaxHeaderBytes)
        fail(
            "safetensors {}: header length {} is larger than the {} byte limit (not a "
            "safetensors file?)",
            what, header_len, kMaxHeaderBytes);
    if (header_len > size - 8)
        fail("safetensors {}: header length {} is past the end of the file (size {})", what,
             header_len, size);
    const char* header = reinterpret_cast<const char*>(data + 8);
    const uint8_t* data_section = data + 8 + header_len;
    const uint64_t data_size = size - 8 - header_len;

    // Names at the top level, in file order: nlohmann keeps only the last of duplicate keys, so
    // duplicates are caught while parsing.
    std::set<std::string> seen;
    std::string duplicate;
    const json::parser_callback_t on_event = [&](int depth, json::parse_event_t event,
                                                 json& parsed) {
        if (depth == 1 && event == json::parse_event_t::key && duplicate.empty()) {
            const std::string& key = parsed.get_ref<const std::string&>();
            if (!seen.insert(key).second) duplicate = key;
        }
        return true;
    };
    json root;
    try {
        root = json::parse(header, header + header_len, on_event);
    } catch (const json::exception& e) {
        fail("safetensors {}: header JSON does not parse: {}", what, e.what());
    }
    if (!duplicate.empty()) fail("safetensors {}: tensor name '{}' appears twice", what, duplicate);
    if (!root.is_object())
        fail("safetensors {}: header is {}, expected a JSON object", what, json_excerpt(root));

    std::vector<SafetensorsTensor> tensors;
    for (const auto& [name, entry] : root.items()) {
        if (name == "__metadata__") {
            if (!entry.is_object())
                fail("safetensors {}: __metadata__ is {}, expected an object of strings", what,
                     json_excerpt(entry));
            for (const auto& [k, v] : entry.items()) {
                if (!v.is_string())
                    fail("safetensors {}: __metadata__ '{}' is {}, expected a string", what, k,
                         json_excerpt(v));
                if (metadata != nullptr) (*metadata)[k] = v.get<std::string>();
            }
            continue;
        }
        tensors.push_back(parse_entry(what, name, entry, data_section, data_size));
    }
    std::stable_sort(tensors.begin(), tensors.end(),
                     [](const auto& a, const auto& b) { return a.offset < b.offset; });
    for (size_t i = 1; i < tensors.size(); ++i) {
        const auto& prev = tensors[i - 1];
        if (prev.offset + prev.nbytes > tensors[i].offset)
            fail("safetensors {}: tensor '{}' (bytes {}..{}) overlaps tensor '{}' (from {})", what,
                 prev.name, prev.offset, prev.offset + prev.nbytes, tensors[i].name,
                 tensors[i].offset);
    }
    return tensors;
}

int64_t SafetensorsTensor::n_elements() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

std::vector<float> SafetensorsTensor::to_f32() const {
    const size_t n = static_cast<size_t>(n_elements());
    std::vector<float> out(n);
    switch (dtype) {
        case SafetensorsDType::F32:
            if (n > 0) std::memcpy(out.data(), data, n * 4);
            break;
        case SafetensorsDType::F16:
        case SafetensorsDType::BF16: {
            const bool bf16 = dtype == SafetensorsDType::BF16;
            for (size_t i = 0; i < n; ++i) {
                uint16_t h;
                std::memcpy(&h, data + 2 * i, 2);  // the data section need not be 2-byte aligned
                out[i] = bf16 ? bf16_to_f32(h) : f16_to_f32(h);
            }
            break;
        }
        default:
            fail("safetensors {}: tensor '{}' has dtype {}; only F32, F16 and BF16 convert to f32",
                 file, name, safetensors_dtype_name(dtype));
    }
    return out;
}

}  // namespace rf
