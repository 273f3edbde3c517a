#include "tools/hf_config.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace rf {

HfConfig HfConfig::load(const std::string& dir) {
    const std::string path = (std::filesystem::path(dir) / "config.json").string();
    std::ifstream in(path, std::ios::binary);
    RF_CHECK(in.good(), "convert: {} not found (a Hugging Face model folder has config.json)",
             path);
    std::ostringstream text;
    text << in.rdbuf();
    return parse(text.str(), path);
}

HfConfig HfConfig::parse(const std::string& text, std::string path) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        fail("convert: {}: invalid JSON: {}", path, e.what());
    }
    RF_CHECK(j.is_object(), "convert: {}: expected a JSON object, found {}", path, j.type_name());
    if (j.contains("text_config") && j["text_config"].is_object()) {
        const nlohmann::json text_config = j["text_config"];
        for (const auto& [k, v] : text_config.items()) j[k] = v;
    }
    return HfConfig(std::move(j), std::move(path));
}

const nlohmann::json* HfConfig::find(const std::string& key) const {
    const auto it = json_.find(key);
    if (it == json_.end() || it->is_null()) return nullptr;
    return &*it;
}

void HfConfig::fail_field(const std::string& key, const std::string& message) const {
    fail("convert: {}: field '{}' {}", path_, key, message);
}

std::optional<int64_t> HfConfig::get_int(std::initializer_list<const char*> keys) const {
    for (const char* key : keys) {
        const nlohmann::json* v = find(key);
        if (v == nullptr) continue;
        if (v->is_number_integer()) return v->get<int64_t>();
        // 4096.0 is an integer written as a float by some exporters.
        if (v->is_number_float() &&
            v->get<double>() == static_cast<double>(static_cast<int64_t>(v->get<double>())))
            return static_cast<int64_t>(v->get<double>());
        fail_field(key, "is " + v->dump() + ", expected an integer");
    }
    return std::nullopt;
}

std::optional<double> HfConfig::get_float(std::initializer_list<const char*> keys) const {
    for (const char* key : keys) {
        const nlohmann::json* v = find(key);
        if (v == nullptr) continue;
        if (v->is_number()) return v->get<double>();
        fail_field(key, "is " + v->dump() + ", expected a number");
    }
    return std::nullopt;
}

std::optional<bool> HfConfig::get_bool(const std::string& key) const {
    const nlohmann::json* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_boolean()) fail_field(key, "is " + v->dump() + ", expected true or false");
    return v->get<bool>();
}

std::optional<std::string> HfConfig::get_string(const std::string& key) const {
    const nlohmann::json* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) fail_field(key, "is " + v->dump() + ", expected a string");
    return v->get<std::string>();
}

int64_t HfConfig::require_positive_int(const char* key) const {
    const std::optional<int64_t> v = get_int({key});
    if (!v) fail_field(key, "is missing");
    if (*v <= 0) fail_field(key, "is " + std::to_string(*v) + ", expected a positive integer");
    // (every size of a model fits; a larger value is a broken file, not a model to allocate for)
    if (*v > kMaxConfigInt) fail_field(key, "is " + std::to_string(*v) + ", above the largest accepted, " + std::to_string(kMaxConfigInt));
    return *v;
}

std::string HfConfig::architecture() const {
    const nlohmann::json* a = find("architectures");
    if (a == nullptr) fail_field("architectures", "is missing (it names the model class)");
    if (!a->is_array() || a->empty() || !(*a)[0].is_string())
        fail_field("architectures", "is " + a->dump() + ", expected a list of class names");
    return (*a)[0].get<std::string>();
}

}  // namespace rf
