// `convert hf` against llama.cpp's convert_hf_to_gguf.py on the three shared tiny models
// (../shared/models/llamacpp-gguf): the q8_0 conversions of all three and the f16 conversion of
// tiny-qwen3 are the same files byte for byte (metadata keys, order, types and values; tensor
// names, order, types, shapes, offsets and data). The other types keep llama.cpp's names, shapes
// and metadata, and the conversion-time transforms are checked value by value against the
// checkpoint.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cmath>

#include "formats/safetensors/safetensors_file.h"
#include "tools/quant_mix.h"
#include "tools_convert_test_util.h"

namespace rf {
namespace {

namespace fs = std::filesystem;

using test::converted;
using test::gguf_differences;
using test::llamacpp_file;

const char* const kModels[] = {"tiny-qwen3", "tiny-qwen3moe", "tiny-qwen35moe"};

void expect_identical(const std::string& model, const std::string& type,
                      const std::string& theirs_name) {
    const auto ours_path = converted(model, type);
    const GgufFile ours(ours_path.string());
    const GgufFile theirs(llamacpp_file(theirs_name).string());
    const std::vector<std::string> none;
    EXPECT_EQ(gguf_differences(ours, theirs), none) << model << " " << type;
    EXPECT_TRUE(test::read_bytes(ours_path) == test::read_bytes(llamacpp_file(theirs_name)))
        << model << " " << type << ": the files differ";
}

TEST(ToolsConvertLlamaCpp, Q8_0OfEveryModelIsByteIdentical) {
    RF_REQUIRE_SHARED();
    for (const char* m : kModels)
        expect_identical(m, "q8_0", std::string(m) + "-llamacpp-q8_0.gguf");
}

TEST(ToolsConvertLlamaCpp, F16OfTinyQwen3IsByteIdentical) {
    RF_REQUIRE_SHARED();
    expect_identical("tiny-qwen3", "f16", "tiny-qwen3-llamacpp-f16.gguf");
}

// Normalised RMS error of a against b.
double nrmse(const std::vector<float>& a, const std::vector<float>& b) {
    double err = 0, ref = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        err += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
        ref += double(b[i]) * b[i];
    }
    return ref > 0 ? std::sqrt(err / ref) : std::sqrt(err);
}

// f32, f16, bf16, q4_0 and q4_k_m: the llama.cpp file's metadata (but general.file_type), tensor
// names, order and shapes; the types llama-quantize would choose; values near the q8_0 reference.
TEST(ToolsConvertLlamaCpp, OtherTypesKeepMetadataNamesAndShapes) {
    RF_REQUIRE_SHARED();
    for (const char* m : kModels) {
        const GgufFile ref(llamacpp_file(std::string(m) + "-llamacpp-q8_0.gguf").string());
        for (const std::string type : {"f32", "f16", "bf16", "q4_0", "q4_k_m"}) {
            SCOPED_TRACE(std::string(m) + " " + type);
            const GgufFile ours(converted(m, type).string());
            const QuantFileType ft = *parse_quant_file_type(type);
            EXPECT_EQ(ours.require_int("general.file_type"), ft.gguf_file_type);
            const std::vector<std::string> diffs =
                gguf_differences(ours, ref, {"general.file_type"}, /*compare_tensor_bytes=*/false);
            for (const std::string& d : diffs)  // only types may differ
                EXPECT_NE(d.find(": type "), std::string::npos) << d;

            std::vector<QuantTensor> list;
            for (const auto& t : ref.tensors()) list.push_back({t.name, t.ne});
            const QuantMixPlanner planner(
                ft, list,
                static_cast<int>(
                    ours.get_int(ours.require_string("general.architecture") + ".expert_count")
                        .value_or(0)));
            const double tol = type == "q4_0" || type == "q4_k_m" ? 0.2 : 0.01;
            for (size_t i = 0; i < ours.tensors().size(); ++i) {
                const GgufTensorInfo& t = ours.tensors()[i];
                const GgufTensorInfo& r = ref.tensors()[i];
                if (type == "q4_0" || type == "q4_k_m") {
                    EXPECT_EQ(t.type, planner.type_for(i)) << t.name;
                } else {
                    // convert_hf_to_gguf.py keeps f32 exactly where the q8_0 file has f32.
                    EXPECT_EQ(t.type, r.type == TensorType::F32 ? TensorType::F32 : ft.base)
                        << t.name;
                }
                EXPECT_LT(nrmse(test::tensor_f32(t), test::tensor_f32(r)), tol) << t.name;
            }
        }
    }
}

// The mixes on the hybrid MoE model follow llama-quantize: attn_qkv is attn_v-like (q8_0 with 8
// experts), the shared-expert gate and ssm_alpha/ssm_beta are quantized, ssm_a and ssm_conv1d
// are not, and rows of 128 fall back from q4_K to q5_0.
TEST(ToolsConvertLlamaCpp, Q4KMixOfTheHybridModel) {
    RF_REQUIRE_SHARED();
    const GgufFile f(converted("tiny-qwen35moe", "q4_k_m").string());
    auto type = [&](const std::string& n) { return f.require_tensor(n).type; };
    EXPECT_EQ(type("token_embd.weight"), TensorType::Q6_K);  // tied: the output's type
    EXPECT_EQ(type("blk.0.attn_qkv.weight"), TensorType::Q8_0);
    EXPECT_EQ(type("blk.3.attn_v.weight"), TensorType::Q8_0);
    EXPECT_EQ(type("blk.3.attn_k.weight"), TensorType::Q8_0);
    EXPECT_EQ(type("blk.3.attn_output.weight"), TensorType::Q5_K);
    EXPECT_EQ(type("blk.3.attn_q.weight"), TensorType::Q4_K);
    EXPECT_EQ(type("blk.0.attn_gate.weight"), TensorType::Q4_K);
    EXPECT_EQ(type("blk.0.ssm_alpha.weight"), TensorType::Q4_K);
    EXPECT_EQ(type("blk.0.ffn_gate_inp_shexp.weight"), TensorType::Q4_K);
    EXPECT_EQ(type("blk.0.ffn_gate_inp.weight"), TensorType::F32);
    EXPECT_EQ(type("blk.0.ssm_a"), TensorType::F32);
    EXPECT_EQ(type("blk.0.ssm_conv1d.weight"), TensorType::F32);
    EXPECT_EQ(type("blk.0.ffn_down_exps.weight"), TensorType::Q5_0);  // 128 columns
    EXPECT_EQ(type("blk.3.ffn_down_exps.weight"), TensorType::Q8_0);  // more bits: q6_K -> q8_0
    EXPECT_EQ(type("blk.1.ffn_down_shexp.weight"), TensorType::Q4_K);
}

// A checkpoint split into shards (model.safetensors.index.json) converts to the same file.
TEST(ToolsConvertLlamaCpp, ShardedCheckpointGivesTheSameFile) {
    RF_REQUIRE_SHARED();
    const SafetensorsModel m(test::shared_model("tiny-qwen35moe").string());
    const fs::path dir = test::convert_dir() / "synthetic" / "tiny-qwen35moe";  // same folder name
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::vector<test::SyntheticTensor> shard[2];
    nlohmann::json index = {{"metadata", {{"total_size", 0}}},
                            {"weight_map", nlohmann::json::object()}};
    const auto& all = m.tensors();
    for (size_t i = 0; i < all.size(); ++i) {
        const int s = i < all.size() / 3 ? 0 : 1;
        shard[s].emplace_back(all[i].name, all[i].shape, "BF16", all[i].to_f32());
        index["weight_map"][all[i].name] = fmt::format("model-0000{}-of-00002.safetensors", s + 1);
    }
    for (int s = 0; s < 2; ++s)
        test::write_safetensors(dir / fmt::format("model-0000{}-of-00002.safetensors", s + 1),
                                shard[s]);
    std::ofstream(dir / "model.safetensors.index.json") << index.dump();
    for (const char* f : {"config.json", "generation_config.json", "tokenizer.json",
                          "tokenizer_config.json", "chat_template.jinja"})
        fs::copy_file(test::shared_model("tiny-qwen35moe") / f, dir / f);
    ConvertHfOptions o;
    o.model_dir = dir.string();
    o.out_path = (test::convert_dir() / "sharded-q8_0.gguf").string();
    o.type = "q8_0";
    convert_hf_to_gguf(o);
    EXPECT_TRUE(test::read_bytes(o.out_path) ==
                test::read_bytes(llamacpp_file("tiny-qwen35moe-llamacpp-q8_0.gguf")));
}

std::vector<float> hf(const SafetensorsModel& m, const std::string& name) {
    return m.require(name).to_f32();
}

// The transforms, value by value, on the f32 conversion of the Qwen3.5 MoE model.
TEST(ToolsConvertLlamaCpp, HybridTransformsMatchTheCheckpoint) {
    RF_REQUIRE_SHARED();
    const GgufFile f(converted("tiny-qwen35moe", "f32").string());
    const SafetensorsModel m(test::shared_model("tiny-qwen35moe").string());
    auto ours = [&](const std::string& n) { return test::tensor_f32(f.require_tensor(n)); };

    // RMSNorm weights stored as w for x * (1 + w) are written 1 + w ...
    for (const auto& [g, h] : std::vector<std::pair<std::string, std::string>>{
             {"output_norm.weight", "model.norm.weight"},
             {"blk.0.attn_norm.weight", "model.layers.0.input_layernorm.weight"},
             {"blk.0.post_attention_norm.weight", "model.layers.0.post_attention_layernorm.weight"},
             {"blk.3.attn_q_norm.weight", "model.layers.3.self_attn.q_norm.weight"},
             {"blk.3.attn_k_norm.weight", "model.layers.3.self_attn.k_norm.weight"}}) {
        const auto w = hf(m, h);
        const auto got = ours(g);
        ASSERT_EQ(got.size(), w.size()) << g;
        for (size_t i = 0; i < w.size(); ++i) ASSERT_EQ(got[i], w[i] + 1.0f) << g << " " << i;
    }
    // ... but the gated Gated DeltaNet norm multiplies by w itself.
    EXPECT_EQ(ours("blk.0.ssm_norm.weight"), hf(m, "model.layers.0.linear_attn.norm.weight"));

    // Value heads: 2 key heads, 4 value heads -> tiled order [v0 of K0, v0 of K1, v1 of K0,
    // v1 of K1] = HF heads [0, 2, 1, 3].
    const int src_head[4] = {0, 2, 1, 3};
    const auto a_log = hf(m, "model.layers.0.linear_attn.A_log");
    const auto ssm_a = ours("blk.0.ssm_a");
    const auto dt = hf(m, "model.layers.0.linear_attn.dt_bias");
    const auto ssm_dt = ours("blk.0.ssm_dt.bias");
    for (int h = 0; h < 4; ++h) {
        EXPECT_EQ(ssm_a[h], -std::exp(a_log[src_head[h]])) << h;
        EXPECT_EQ(ssm_dt[h], dt[src_head[h]]) << h;
    }
    const int64_t d = 64, qk_rows = 2 * 2 * 64, embd = 256;
    const auto qkv_hf = hf(m, "model.layers.0.linear_attn.in_proj_qkv.weight");  // [512, 256]
    const auto qkv = ours("blk.0.attn_qkv.weight");
    const auto conv_hf = hf(m, "model.layers.0.linear_attn.conv1d.weight");  // [512, 1, 4]
    const auto conv = ours("blk.0.ssm_conv1d.weight");                       // ne {4, 512}
    EXPECT_EQ(f.require_tensor("blk.0.ssm_conv1d.weight").ne, (std::vector<int64_t>{4, 512}));
    for (int64_t r = 0; r < 512; ++r) {
        const int64_t src =
            r < qk_rows ? r : qk_rows + src_head[(r - qk_rows) / d] * d + (r - qk_rows) % d;
        for (int64_t c = 0; c < embd; ++c)
            ASSERT_EQ(qkv[r * embd + c], qkv_hf[src * embd + c]) << r;
        for (int64_t k = 0; k < 4; ++k) ASSERT_EQ(conv[r * 4 + k], conv_hf[src * 4 + k]) << r;
    }
    const auto z_hf = hf(m, "model.layers.0.linear_attn.in_proj_z.weight");     // [256, 256]
    const auto out_hf = hf(m, "model.layers.0.linear_attn.out_proj.weight");    // [256, 256]
    const auto beta_hf = hf(m, "model.layers.0.linear_attn.in_proj_b.weight");  // [4, 256]
    const auto z = ours("blk.0.attn_gate.weight");
    const auto out = ours("blk.0.ssm_out.weight");
    const auto beta = ours("blk.0.ssm_beta.weight");
    for (int64_t r = 0; r < 256; ++r) {
        const int64_t src = src_head[r / d] * d + r % d;
        for (int64_t c = 0; c < embd; ++c) {
            ASSERT_EQ(z[r * embd + c], z_hf[src * embd + c]) << r;
            ASSERT_EQ(out[c * embd + r], out_hf[c * embd + src]) << r;  // columns
        }
    }
    for (int h = 0; h < 4; ++h)
        for (int64_t c = 0; c < embd; ++c)
            ASSERT_EQ(beta[h * embd + c], beta_hf[src_head[h] * embd + c]);

    // The gated attention's q_proj (per head [q, gate]) is kept as it is.
    EXPECT_EQ(ours("blk.3.attn_q.weight"), hf(m, "model.layers.3.self_attn.q_proj.weight"));
    // Experts stacked along ne[2] in expert order; the shared-expert gate is [1, 256].
    const auto up = ours("blk.2.ffn_up_exps.weight");
    EXPECT_EQ(f.require_tensor("blk.2.ffn_up_exps.weight").ne, (std::vector<int64_t>{256, 128, 8}));
    for (int x = 0; x < 8; ++x) {
        const auto e = hf(m, "model.layers.2.mlp.experts." + std::to_string(x) + ".up_proj.weight");
        ASSERT_TRUE(std::equal(e.begin(), e.end(), up.begin() + x * e.size())) << x;
    }
    EXPECT_EQ(f.require_tensor("blk.2.ffn_gate_inp_shexp.weight").ne,
              (std::vector<int64_t>{256, 1}));
}

}  // namespace
}  // namespace rf
