// config.json of a Hugging Face checkpoint, with typed look-ups whose errors name the file, the
// field and the value: "convert: /m/config.json: field 'hidden_size' is "256", expected an
// integer". As llama.cpp's converter, a nested "text_config" (multimodal wrappers) is merged
// into the top level (its fields win).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>

namespace rf {

class HfConfig {
  public:
    // Reads DIR/config.json; throws when it is missing or not a JSON object.
    static HfConfig load(const std::string& dir);
    // From JSON text already read (tests); `path` stands for the file in messages.
    static HfConfig parse(const std::string& text, std::string path);

    const std::string& path() const { return path_; }
    const nlohmann::json& json() const { return json_; }

    // The field, or nullptr when absent or null.
    const nlohmann::json* find(const std::string& key) const;
    bool has(const std::string& key) const { return find(key) != nullptr; }

    // The first of `keys` that is present (llama.cpp's find_hparam), converted; a present field
    // of the wrong JSON type throws.
    std::optional<int64_t> get_int(std::initializer_list<const char*> keys) const;
    std::optional<double> get_float(std::initializer_list<const char*> keys) const;
    std::optional<bool> get_bool(const std::string& key) const;
    std::optional<std::string> get_string(const std::string& key) const;

    // Throws "...: field 'x' is missing" when absent; integers must also be positive.
    // In 1 .. kMaxConfigInt (2^24, as the GGUF reader's dimension bound).
    int64_t require_positive_int(const char* key) const;
    static constexpr int64_t kMaxConfigInt = int64_t{1} << 24;

    // architectures[0]; throws when absent or not a non-empty array of strings.
    std::string architecture() const;

    // "convert: <path>: field '<key>' ..." with the message appended.
    [[noreturn]] void fail_field(const std::string& key, const std::string& message) const;

  private:
    HfConfig(nlohmann::json json, std::string path)
        : json_(std::move(json)), path_(std::move(path)) {}
    nlohmann::json json_;
    std::string path_;
};

}  // namespace rf
