// `convert hf` on the architectures the shared models do not cover (Qwen2 with q/k/v biases and
// an untied output, the dense Qwen3.5), on fused expert tensors, and the hyper-parameter keys,
// on small synthetic checkpoints. The names, keys and types are llama.cpp's (gguf-py
// tensor_mapping.py / constants.py); the shared models' files pin the rest byte for byte.
#include <gtest/gtest.h>

#include "formats/safetensors/safetensors_file.h"
#include "tools_convert_test_util.h"

namespace rf {
namespace {

namespace fs = std::filesystem;
using test::SyntheticHf;

GgufFile convert(const SyntheticHf& m, const std::string& name, const std::string& type) {
    ConvertHfOptions o;
    o.model_dir = m.write(name).string();
    o.out_path = (test::convert_dir() / (name + ".gguf")).string();
    o.type = type;
    convert_hf_to_gguf(o);
    return GgufFile(o.out_path);
}

std::vector<std::string> tensor_names(const GgufFile& f) {
    std::vector<std::string> out;
    for (const auto& t : f.tensors()) out.push_back(t.name);
    return out;
}

std::vector<std::string> key_names(const GgufFile& f) {
    std::vector<std::string> out;
    for (const auto& [k, v] : f.metadata()) out.push_back(k);
    return out;
}

TEST(ToolsConvertArch, Qwen2BiasesAndUntiedOutput) {
    RF_REQUIRE_SHARED();
    const GgufFile f = convert(SyntheticHf("Qwen2ForCausalLM"), "arch-qwen2", "q8_0");
    EXPECT_EQ(f.require_string("general.architecture"), "qwen2");
    const std::vector<std::string> names = tensor_names(f);
    const std::vector<std::string> layer0 = {
        "blk.0.attn_norm.weight", "blk.0.ffn_down.weight",    "blk.0.ffn_gate.weight",
        "blk.0.ffn_up.weight",    "blk.0.ffn_norm.weight",    "blk.0.attn_k.bias",
        "blk.0.attn_k.weight",    "blk.0.attn_output.weight", "blk.0.attn_q.bias",
        "blk.0.attn_q.weight",    "blk.0.attn_v.bias",        "blk.0.attn_v.weight"};
    // The checkpoint's order: lm_head.weight sorts first.
    ASSERT_EQ(names.size(), 2 + 2 * layer0.size() + 1);
    EXPECT_EQ(names[0], "output.weight");
    EXPECT_EQ(names[1], "token_embd.weight");
    EXPECT_EQ(std::vector<std::string>(names.begin() + 2, names.begin() + 2 + layer0.size()),
              layer0);
    EXPECT_EQ(names.back(), "output_norm.weight");
    EXPECT_EQ(f.require_tensor("blk.1.attn_q.bias").type, TensorType::F32);
    EXPECT_EQ(f.require_tensor("blk.1.attn_q.weight").type, TensorType::Q8_0);
    EXPECT_EQ(f.require_tensor("output.weight").type, TensorType::Q8_0);
    EXPECT_EQ(f.require_tensor("blk.1.attn_k.bias").ne, (std::vector<int64_t>{32}));
    // No head_dim in config.json: no key_length / value_length (llama.cpp derives them).
    EXPECT_FALSE(f.has("qwen2.attention.key_length"));
    EXPECT_EQ(f.require_int("qwen2.feed_forward_length"), 96);
    EXPECT_EQ(f.require_int("qwen2.attention.head_count_kv"), 1);
    EXPECT_FLOAT_EQ(static_cast<float>(f.require_float("qwen2.rope.freq_base")), 10000.0f);
    EXPECT_EQ(f.require_string("general.size_label"), "1.1M");
    EXPECT_EQ(f.require_string("general.name"), "Arch Qwen2");
}

TEST(ToolsConvertArch, DenseQwen35) {
    RF_REQUIRE_SHARED();
    SyntheticHf m("Qwen3_5ForCausalLM");
    const GgufFile f = convert(m, "arch-qwen35", "f32");
    EXPECT_EQ(f.require_string("general.architecture"), "qwen35");
    const std::vector<std::string> keys = {"general.architecture",
                                           "general.type",
                                           "general.name",
                                           "general.size_label",
                                           "qwen35.block_count",
                                           "qwen35.context_length",
                                           "qwen35.embedding_length",
                                           "qwen35.feed_forward_length",
                                           "qwen35.attention.head_count",
                                           "qwen35.attention.head_count_kv",
                                           "qwen35.rope.freq_base",
                                           "qwen35.attention.layer_norm_rms_epsilon",
                                           "qwen35.attention.key_length",
                                           "qwen35.attention.value_length",
                                           "general.file_type",
                                           "qwen35.ssm.conv_kernel",
                                           "qwen35.ssm.state_size",
                                           "qwen35.ssm.group_count",
                                           "qwen35.ssm.time_step_rank",
                                           "qwen35.ssm.inner_size",
                                           "qwen35.full_attention_interval",
                                           "qwen35.rope.dimension_count",
                                           "qwen35.rope.dimension_sections",
                                           "general.quantization_version",
                                           "tokenizer.ggml.model",
                                           "tokenizer.ggml.pre",
                                           "tokenizer.ggml.tokens",
                                           "tokenizer.ggml.token_type",
                                           "tokenizer.ggml.merges",
                                           "tokenizer.ggml.eos_token_id",
                                           "tokenizer.ggml.padding_token_id",
                                           "tokenizer.ggml.bos_token_id"};
    EXPECT_EQ(key_names(f), keys);
    EXPECT_EQ(f.require_int("qwen35.full_attention_interval"), 2);
    EXPECT_EQ(f.require_int("qwen35.rope.dimension_count"), 8);  // 32 * 0.25
    EXPECT_EQ(*f.get_int_array("qwen35.rope.dimension_sections"),
              (std::vector<int64_t>{11, 11, 10, 0}));
    EXPECT_EQ(f.require_int("qwen35.ssm.inner_size"), 64);
    // Layer 0 Gated DeltaNet, layer 1 gated attention (q and gate rows), dense MLP.
    EXPECT_NE(f.find_tensor("blk.0.attn_qkv.weight"), nullptr);
    EXPECT_NE(f.find_tensor("blk.0.ffn_gate.weight"), nullptr);
    EXPECT_EQ(f.require_tensor("blk.1.attn_q.weight").ne, (std::vector<int64_t>{64, 128}));
    EXPECT_NE(f.find_tensor("blk.1.post_attention_norm.weight"), nullptr);
    EXPECT_EQ(f.find_tensor("blk.1.ffn_norm.weight"), nullptr);
    // 1 + w on the norms, w itself on ssm_norm.
    const SafetensorsModel st((test::convert_dir() / "synthetic" / "arch-qwen35").string());
    const auto w = st.require("model.layers.1.self_attn.k_norm.weight").to_f32();
    const auto got = test::tensor_f32(f.require_tensor("blk.1.attn_k_norm.weight"));
    for (size_t i = 0; i < w.size(); ++i) EXPECT_EQ(got[i], w[i] + 1.0f);
    EXPECT_EQ(test::tensor_f32(f.require_tensor("blk.0.ssm_norm.weight")),
              st.require("model.layers.0.linear_attn.norm.weight").to_f32());
}

TEST(ToolsConvertArch, LayerTypesMustFollowTheInterval) {
    RF_REQUIRE_SHARED();
    SyntheticHf m("Qwen3_5MoeForCausalLM");
    m.config["layer_types"] = {"linear_attention", "full_attention"};
    convert(m, "arch-layer-types", "f16");  // consistent: fine
    m.config["layer_types"] = {"full_attention", "linear_attention"};
    ConvertHfOptions o;
    o.model_dir = m.write("arch-layer-types-bad").string();
    o.out_path = (test::convert_dir() / "arch-layer-types-bad.gguf").string();
    const std::string e = test::convert_error(o);
    EXPECT_NE(e.find("field 'layer_types' [0] is \"full_attention\", but full_attention_interval 2 "
                     "makes layer 0 linear"),
              std::string::npos)
        << e;
}

// transformers' fused expert tensors give the same GGUF tensors as the per-expert ones.
TEST(ToolsConvertArch, FusedExpertsEqualPerExpertTensors) {
    RF_REQUIRE_SHARED();
    SyntheticHf per("Qwen3MoeForCausalLM", 1);
    SyntheticHf fused("Qwen3MoeForCausalLM", 1);
    std::erase_if(fused.tensors, [](const test::SyntheticTensor& t) {
        return t.name.find("mlp.experts.") != std::string::npos;
    });
    std::vector<float> gate_up, down;
    for (int x = 0; x < 4; ++x) {
        std::vector<float> g(64 * 64), u(64 * 64), d(64 * 64);
        for (size_t i = 0; i < g.size(); ++i) {
            g[i] = static_cast<float>((x * 7 + i) % 29) / 64.0f;
            u[i] = -static_cast<float>((x * 5 + i) % 31) / 64.0f;
            d[i] = static_cast<float>((x * 3 + i) % 37) / 128.0f;
        }
        const std::string e = "model.layers.0.mlp.experts." + std::to_string(x) + ".";
        per.find(e + "gate_proj.weight")->values = g;
        per.find(e + "up_proj.weight")->values = u;
        per.find(e + "down_proj.weight")->values = d;
        gate_up.insert(gate_up.end(), g.begin(), g.end());
        gate_up.insert(gate_up.end(), u.begin(), u.end());
        down.insert(down.end(), d.begin(), d.end());
    }
    fused.tensors.push_back({"model.layers.0.mlp.experts.down_proj", {4, 64, 64}, "BF16", down});
    fused.tensors.push_back(
        {"model.layers.0.mlp.experts.gate_up_proj", {4, 128, 64}, "BF16", gate_up});
    const GgufFile a = convert(per, "arch-per-expert", "f16");
    const GgufFile b = convert(fused, "arch-fused", "f16");
    for (const char* n :
         {"blk.0.ffn_gate_exps.weight", "blk.0.ffn_up_exps.weight", "blk.0.ffn_down_exps.weight"}) {
        const GgufTensorInfo& x = a.require_tensor(n);
        const GgufTensorInfo& y = b.require_tensor(n);
        ASSERT_EQ(x.ne, y.ne) << n;
        EXPECT_EQ(x.ne, (std::vector<int64_t>{64, 64, 4})) << n;
        EXPECT_EQ(std::memcmp(x.data, y.data, x.nbytes), 0) << n;
    }
    EXPECT_EQ(a.require_int("qwen3moe.expert_count"), 4);
    EXPECT_EQ(a.require_int("qwen3moe.expert_feed_forward_length"), 64);
    EXPECT_FALSE(a.has("qwen3moe.feed_forward_length"));  // no intermediate_size in config.json
}

TEST(ToolsConvertArch, RopeScalingAndSamplingKeys) {
    RF_REQUIRE_SHARED();
    SyntheticHf m("Qwen2ForCausalLM");
    m.config["rope_scaling"] = {
        {"type", "yarn"}, {"factor", 4.0}, {"original_max_position_embeddings", 32768}};
    m.config["_name_or_path"] = "Qwen/Qwen2.5-0.5B-Instruct";
    const fs::path dir = m.write("arch-yarn");
    std::ofstream(dir / "generation_config.json")
        << R"({"do_sample": true, "temperature": 0.7, "top_k": 20, "top_p": 0.8, "repetition_penalty": 1.05})";
    ConvertHfOptions o;
    o.model_dir = dir.string();
    o.out_path = (test::convert_dir() / "arch-yarn.gguf").string();
    convert_hf_to_gguf(o);
    const GgufFile f(o.out_path);
    EXPECT_EQ(f.require_string("qwen2.rope.scaling.type"), "yarn");
    EXPECT_FLOAT_EQ(static_cast<float>(f.require_float("qwen2.rope.scaling.factor")), 4.0f);
    EXPECT_EQ(f.require_int("qwen2.rope.scaling.original_context_length"), 32768);
    EXPECT_EQ(f.find("general.sampling.top_k")->type(), GgufType::I32);
    EXPECT_EQ(f.require_int("general.sampling.top_k"), 20);
    EXPECT_FLOAT_EQ(static_cast<float>(f.require_float("general.sampling.temp")), 0.7f);
    EXPECT_FALSE(
        f.has("general.sampling.penalty_repeat"));  // llama.cpp reads no repetition_penalty
    // The name comes from _name_or_path, with its parts. "0.5B" is far from this model's 1.1 M
    // parameters, so llama.cpp's heuristic takes it for a context length (a finetune part).
    EXPECT_EQ(f.require_string("general.name"), "Qwen2.5 0.5B Instruct");
    EXPECT_EQ(f.require_string("general.organization"), "Qwen");
    EXPECT_EQ(f.require_string("general.basename"), "Qwen2.5");
    EXPECT_EQ(f.require_string("general.finetune"), "0.5b-Instruct");
    EXPECT_EQ(f.require_string("general.size_label"), "1.1M");
    const std::vector<std::string> keys = key_names(f);
    const std::vector<std::string> general(keys.begin(), keys.begin() + 11);
    EXPECT_EQ(general, (std::vector<std::string>{
                           "general.architecture", "general.type", "general.sampling.top_k",
                           "general.sampling.top_p", "general.sampling.temp", "general.name",
                           "general.organization", "general.finetune", "general.basename",
                           "general.size_label", "qwen2.block_count"}));
}

}  // namespace
}  // namespace rf
