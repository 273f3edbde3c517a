// Helpers of the converter tests:
//  - converted(): the shared tiny models converted by us, once per test binary, in the build tree;
//  - gguf_differences(): a key-by-key, tensor-by-tensor comparison of two GGUF files;
//  - SyntheticHf: a small Hugging Face checkpoint (config.json, model.safetensors with
//    deterministic bf16 weights, the tiny models' tokenizer) for architectures and broken inputs
//    the shared models do not cover.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/half.h"
#include "formats/gguf/gguf_file.h"
#include "formats/quant/quantize.h"
#include "test_paths.h"
#include "tools/convert_hf.h"

namespace rf::test {

namespace fs = std::filesystem;

// build/test_tmp/convert-<pid>: ctest runs every test in its own process, several at a time, so
// each process converts into its own folder (removed when the process ends).
inline fs::path convert_dir() {
    struct Dir {
        fs::path path = temp_dir() / ("convert-" + std::to_string(::getpid()));
        Dir() { fs::create_directories(path); }
        ~Dir() {
            std::error_code ec;
            fs::remove_all(path, ec);
        }
    };
    static const Dir dir;
    return dir.path;
}

inline fs::path shared_model(const std::string& name) {
    return shared_dir() / "models" / name;
}
inline fs::path llamacpp_file(const std::string& name) {
    return shared_dir() / "models" / "llamacpp-gguf" / name;
}

// <convert_dir>/<model>-<type>.gguf, converted once per process.
inline fs::path converted(const std::string& model, const std::string& type) {
    static std::mutex mutex;
    static std::map<std::string, fs::path> done;
    std::lock_guard<std::mutex> lock(mutex);
    const std::string key = model + "-" + type;
    if (auto it = done.find(key); it != done.end()) return it->second;
    const fs::path out = convert_dir() / (key + ".gguf");
    ConvertHfOptions o;
    o.model_dir = shared_model(model).string();
    o.out_path = out.string();
    o.type = type;
    convert_hf_to_gguf(o);
    done[key] = out;
    return out;
}

inline std::vector<uint8_t> read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// Differences between two GGUF files, one line each (empty: same metadata keys in the same
// order with the same types and values, same tensor names, order, types, shapes and bytes).
// Keys in `ignore_keys` are compared for presence only.
inline std::vector<std::string> gguf_differences(const GgufFile& a, const GgufFile& b,
                                                 const std::vector<std::string>& ignore_keys = {},
                                                 bool compare_tensor_bytes = true) {
    std::vector<std::string> d;
    const auto& ka = a.metadata();
    const auto& kb = b.metadata();
    for (size_t i = 0; i < std::max(ka.size(), kb.size()); ++i) {
        const std::string na = i < ka.size() ? ka[i].first : "<none>";
        const std::string nb = i < kb.size() ? kb[i].first : "<none>";
        if (na != nb) {
            d.push_back("key #" + std::to_string(i) + ": " + na + " vs " + nb);
            continue;
        }
        if (std::find(ignore_keys.begin(), ignore_keys.end(), na) != ignore_keys.end()) continue;
        if (!(ka[i].second == kb[i].second))
            d.push_back("key " + na + ": " + ka[i].second.to_display_string() + " vs " +
                        kb[i].second.to_display_string());
    }
    const auto& ta = a.tensors();
    const auto& tb = b.tensors();
    if (ta.size() != tb.size())
        d.push_back("tensor count " + std::to_string(ta.size()) + " vs " +
                    std::to_string(tb.size()));
    for (size_t i = 0; i < std::min(ta.size(), tb.size()); ++i) {
        const auto& x = ta[i];
        const auto& y = tb[i];
        if (x.name != y.name)
            d.push_back("tensor #" + std::to_string(i) + ": " + x.name + " vs " + y.name);
        else if (x.ne != y.ne)
            d.push_back("tensor " + x.name + ": shape differs");
        else if (x.type != y.type)
            d.push_back("tensor " + x.name + ": type " + type_name(x.type) + " vs " +
                        type_name(y.type));
        else if (compare_tensor_bytes && std::memcmp(x.data, y.data, x.nbytes) != 0)
            d.push_back("tensor " + x.name + ": bytes differ");
    }
    return d;
}

// All elements of a GGUF tensor as f32.
inline std::vector<float> tensor_f32(const GgufTensorInfo& t) {
    std::vector<float> out(static_cast<size_t>(t.n_elements()));
    const size_t row = row_size(t.type, t.ne[0]);
    for (int64_t r = 0; r < t.n_rows(); ++r)
        dequantize_row(t.type, t.data + r * row, out.data() + r * t.ne[0], t.ne[0]);
    return out;
}

// A Hugging Face checkpoint written by the test: config.json from `config`, model.safetensors
// from `tensors` (in the given order, bf16 unless dtype says otherwise, deterministic values),
// and tokenizer.json / tokenizer_config.json of ../shared/models/tiny-qwen3 (8192 tokens).
struct SyntheticTensor {
    SyntheticTensor(std::string n, std::vector<int64_t> s, std::string d = "BF16",
                    std::vector<float> v = {})
        : name(std::move(n)), shape(std::move(s)), dtype(std::move(d)), values(std::move(v)) {}
    std::string name;
    std::vector<int64_t> shape;
    std::string dtype;
    std::vector<float> values;  // when given: the values (else pseudo-random ones)
};

inline void write_safetensors(const fs::path& path, const std::vector<SyntheticTensor>& tensors,
                              uint32_t seed = 1) {
    nlohmann::ordered_json header;
    header["__metadata__"] = {{"format", "pt"}};
    std::vector<uint8_t> data;
    uint32_t x = seed * 2654435761u + 12345u;
    for (const SyntheticTensor& t : tensors) {
        int64_t n = 1;
        for (int64_t s : t.shape) n *= s;
        const size_t esize = t.dtype == "F64" ? 8 : t.dtype == "F32" ? 4 : 2;
        const size_t begin = data.size();
        data.resize(begin + static_cast<size_t>(n) * esize);
        for (int64_t i = 0; i < n; ++i) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            const float v = t.values.empty()
                                ? (static_cast<float>(x >> 8) / 16777216.0f - 0.5f) * 0.2f
                                : t.values.at(static_cast<size_t>(i));
            if (esize == 8) {
                const double dv = v;
                std::memcpy(&data[begin + 8 * i], &dv, 8);
            } else if (esize == 4) {
                std::memcpy(&data[begin + 4 * i], &v, 4);
            } else {
                const uint16_t h = t.dtype == "F16" ? f32_to_f16(v) : f32_to_bf16(v);
                std::memcpy(&data[begin + 2 * i], &h, 2);
            }
        }
        header[t.name] = {
            {"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {begin, data.size()}}};
    }
    std::string h = header.dump();
    h.resize((h.size() + 7) / 8 * 8, ' ');
    std::ofstream out(path, std::ios::binary);
    const uint64_t n = h.size();
    out.write(reinterpret_cast<const char*>(&n), 8);
    out.write(h.data(), static_cast<std::streamsize>(h.size()));
    out.write(reinterpret_cast<const char*>(data.data()),
              static_cast<std::streamsize>(data.size()));
}

// Tensors of a small Qwen model of the given HF class, in the checkpoint's (alphabetical) order.
// Dimensions: hidden 64, 2 heads of 32 (1 kv head), ffn 96, vocab 8192; MoE: 4 experts of 64,
// shared expert 64; Gated DeltaNet: 1 key head, 2 value heads of 32, conv 4.
struct SyntheticHf {
    std::string hf_class;
    nlohmann::json config;
    std::vector<SyntheticTensor> tensors;

    explicit SyntheticHf(const std::string& cls, int n_layer = 2) : hf_class(cls) {
        const bool moe = cls.find("Moe") != std::string::npos;
        const bool hybrid = cls.starts_with("Qwen3_5");
        const bool qwen2 = cls == "Qwen2ForCausalLM";
        config = {{"architectures", {cls}},         {"hidden_size", 64},
                  {"num_hidden_layers", n_layer},   {"num_attention_heads", 2},
                  {"num_key_value_heads", 1},       {"vocab_size", 8192},
                  {"max_position_embeddings", 512}, {"rms_norm_eps", 1e-6},
                  {"rope_theta", 10000.0},          {"tie_word_embeddings", !qwen2},
                  {"bos_token_id", 8189},           {"eos_token_id", 8189}};
        if (!qwen2) config["head_dim"] = 32;
        if (!moe) config["intermediate_size"] = 96;
        if (moe) {
            config["num_experts"] = 4;
            config["num_experts_per_tok"] = 2;
            config["moe_intermediate_size"] = 64;
        }
        if (hybrid) {
            config["linear_num_key_heads"] = 1;
            config["linear_num_value_heads"] = 2;
            config["linear_key_head_dim"] = 32;
            config["linear_value_head_dim"] = 32;
            config["linear_conv_kernel_dim"] = 4;
            config["full_attention_interval"] = 2;
            config["partial_rotary_factor"] = 0.25;
            if (moe) config["shared_expert_intermediate_size"] = 64;
        }
        std::map<std::string, std::vector<int64_t>> t;  // sorted, as safetensors writes them
        t["model.embed_tokens.weight"] = {8192, 64};
        t["model.norm.weight"] = {64};
        if (qwen2) t["lm_head.weight"] = {8192, 64};
        for (int il = 0; il < n_layer; ++il) {
            const std::string p = "model.layers." + std::to_string(il) + ".";
            t[p + "input_layernorm.weight"] = {64};
            t[p + "post_attention_layernorm.weight"] = {64};
            const bool linear = hybrid && (il + 1) % 2 != 0;
            if (linear) {
                const std::string l = p + "linear_attn.";
                t[l + "A_log"] = {2};
                t[l + "dt_bias"] = {2};
                t[l + "conv1d.weight"] = {128, 1, 4};
                t[l + "in_proj_qkv.weight"] = {128, 64};
                t[l + "in_proj_z.weight"] = {64, 64};
                t[l + "in_proj_a.weight"] = {2, 64};
                t[l + "in_proj_b.weight"] = {2, 64};
                t[l + "norm.weight"] = {32};
                t[l + "out_proj.weight"] = {64, 64};
            } else {
                const std::string a = p + "self_attn.";
                t[a + "q_proj.weight"] = {hybrid ? 128 : 64, 64};
                t[a + "k_proj.weight"] = {32, 64};
                t[a + "v_proj.weight"] = {32, 64};
                t[a + "o_proj.weight"] = {64, 64};
                if (qwen2) {
                    t[a + "q_proj.bias"] = {64};
                    t[a + "k_proj.bias"] = {32};
                    t[a + "v_proj.bias"] = {32};
                } else {
                    t[a + "q_norm.weight"] = {32};
                    t[a + "k_norm.weight"] = {32};
                }
            }
            if (moe) {
                t[p + "mlp.gate.weight"] = {4, 64};
                for (int x = 0; x < 4; ++x) {
                    const std::string e = p + "mlp.experts." + std::to_string(x) + ".";
                    t[e + "gate_proj.weight"] = {64, 64};
                    t[e + "up_proj.weight"] = {64, 64};
                    t[e + "down_proj.weight"] = {64, 64};
                }
                if (hybrid) {
                    t[p + "mlp.shared_expert.gate_proj.weight"] = {64, 64};
                    t[p + "mlp.shared_expert.up_proj.weight"] = {64, 64};
                    t[p + "mlp.shared_expert.down_proj.weight"] = {64, 64};
                    t[p + "mlp.shared_expert_gate.weight"] = {1, 64};
                }
            } else {
                t[p + "mlp.gate_proj.weight"] = {96, 64};
                t[p + "mlp.up_proj.weight"] = {96, 64};
                t[p + "mlp.down_proj.weight"] = {64, 96};
            }
        }
        for (auto& [name, shape] : t) tensors.push_back({name, shape, "BF16"});
    }

    SyntheticTensor* find(const std::string& name) {
        for (auto& t : tensors)
            if (t.name == name) return &t;
        return nullptr;
    }
    void erase(const std::string& name) {
        std::erase_if(tensors, [&](const SyntheticTensor& t) { return t.name == name; });
    }

    // Writes the folder and returns it.
    fs::path write(const std::string& name) const {
        const fs::path dir = convert_dir() / "synthetic" / name;
        fs::remove_all(dir);
        fs::create_directories(dir);
        std::ofstream(dir / "config.json") << config.dump(2);
        write_safetensors(dir / "model.safetensors", tensors);
        for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
            fs::copy_file(shared_model("tiny-qwen3") / f, dir / f);
        return dir;
    }
};

// Runs a conversion expected to fail and returns the message (empty when it did not fail).
inline std::string convert_error(const ConvertHfOptions& o) {
    try {
        convert_hf_to_gguf(o);
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

}  // namespace rf::test
