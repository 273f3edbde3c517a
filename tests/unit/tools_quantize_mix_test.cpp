// QuantMixPlanner against the current llama-quant.cpp rules the converter relies on: which
// tensors are quantized at all (the shared-expert gate and ssm_alpha/beta are, ssm_a is not),
// attn_qkv counted with attn_v, tensors visited in (layer, name) order, and the Q4_K_S / Q2_K
// file types.
#include <gtest/gtest.h>

#include "tools/quant_mix.h"

namespace rf {
namespace {

TensorType type_of(const QuantMixPlanner& p, const std::vector<QuantTensor>& t,
                   const std::string& name) {
    for (size_t i = 0; i < t.size(); ++i)
        if (t[i].name == name) return p.type_for(i);
    ADD_FAILURE() << name;
    return TensorType::F32;
}

TEST(ToolsQuantizeMix, WhatIsQuantized) {
    EXPECT_TRUE(tensor_is_quantizable("blk.0.ffn_gate_inp_shexp.weight", {256, 1}));
    EXPECT_TRUE(tensor_is_quantizable("blk.0.ssm_alpha.weight", {256, 4}));
    EXPECT_TRUE(tensor_is_quantizable("blk.0.ssm_out.weight", {256, 256}));
    EXPECT_FALSE(tensor_is_quantizable("blk.0.ffn_gate_inp.weight", {256, 8}));
    EXPECT_FALSE(tensor_is_quantizable("blk.0.ssm_a", {4, 1}));  // no "weight" suffix
    EXPECT_FALSE(tensor_is_quantizable("blk.0.ssm_dt.bias", {4, 1}));
    EXPECT_FALSE(tensor_is_quantizable("blk.0.ssm_conv1d.weight", {4, 512}));
    EXPECT_FALSE(tensor_is_quantizable("blk.0.attn_q_norm.weight", {64, 1}));
    EXPECT_FALSE(tensor_is_quantizable("blk.0.attn_q.weight", {256}));
    EXPECT_FALSE(tensor_is_quantizable("position_embd.weight", {256, 512}));
}

TEST(ToolsQuantizeMix, HybridMoeWithEightExperts) {
    const std::vector<QuantTensor> t = {
        {"token_embd.weight", {256, 1000}},
        {"blk.0.ssm_a", {4}},
        {"blk.0.ssm_alpha.weight", {256, 4}},
        {"blk.0.attn_qkv.weight", {256, 512}},
        {"blk.0.attn_gate.weight", {256, 256}},
        {"blk.0.ffn_gate_inp.weight", {256, 8}},
        {"blk.0.ffn_gate_inp_shexp.weight", {256, 1}},
        {"blk.0.ffn_down_exps.weight", {128, 256, 8}},
        {"blk.1.attn_v.weight", {256, 128}},
        {"blk.1.attn_output.weight", {256, 256}},
    };
    const QuantMixPlanner p(*parse_quant_file_type("q4_k_m"), t, 8);
    EXPECT_EQ(type_of(p, t, "token_embd.weight"), TensorType::Q6_K);
    EXPECT_EQ(type_of(p, t, "blk.0.ssm_a"), TensorType::F32);
    EXPECT_EQ(type_of(p, t, "blk.0.ssm_alpha.weight"), TensorType::Q4_K);
    EXPECT_EQ(type_of(p, t, "blk.0.attn_qkv.weight"), TensorType::Q8_0);
    EXPECT_EQ(type_of(p, t, "blk.0.attn_gate.weight"), TensorType::Q4_K);
    EXPECT_EQ(type_of(p, t, "blk.0.ffn_gate_inp.weight"), TensorType::F32);
    EXPECT_EQ(type_of(p, t, "blk.0.ffn_gate_inp_shexp.weight"), TensorType::Q4_K);
    EXPECT_EQ(type_of(p, t, "blk.0.ffn_down_exps.weight"), TensorType::Q5_0);  // 128 columns
    EXPECT_EQ(type_of(p, t, "blk.1.attn_v.weight"), TensorType::Q8_0);
    EXPECT_EQ(type_of(p, t, "blk.1.attn_output.weight"), TensorType::Q5_K);
    // q8_0: the f32 ones stay, the rest q8_0 (the shared-expert gate too, unlike the converter).
    const QuantMixPlanner q8(*parse_quant_file_type("q8_0"), t, 8);
    EXPECT_EQ(type_of(q8, t, "blk.0.ffn_gate_inp_shexp.weight"), TensorType::Q8_0);
    EXPECT_EQ(type_of(q8, t, "blk.0.ffn_gate_inp.weight"), TensorType::F32);
}

// 16 layers listed in a checkpoint's alphabetical order (blk.0, blk.1, blk.10, ...): the
// attn_v-like counter runs in layer order, and attn_qkv (Gated DeltaNet) counts with attn_v.
TEST(ToolsQuantizeMix, AttnVLikeCountedInLayerOrder) {
    std::vector<std::string> layers;
    for (int il = 0; il < 16; ++il) layers.push_back(std::to_string(il));
    std::sort(layers.begin(), layers.end());
    std::vector<QuantTensor> t;
    for (const std::string& il : layers) {
        const bool full = (std::stoi(il) + 1) % 4 == 0;
        t.push_back({"blk." + il + (full ? ".attn_v.weight" : ".attn_qkv.weight"), {256, 512}});
    }
    const QuantMixPlanner p(*parse_quant_file_type("q4_k_m"), t, 0);
    for (int il = 0; il < 16; ++il) {
        const bool more = il < 2 || il >= 14 || (il - 2) % 3 == 2;
        const bool full = (il + 1) % 4 == 0;
        const std::string name =
            "blk." + std::to_string(il) + (full ? ".attn_v.weight" : ".attn_qkv.weight");
        EXPECT_EQ(type_of(p, t, name), more ? TensorType::Q6_K : TensorType::Q4_K) << name;
    }
}

TEST(ToolsQuantizeMix, Q4KSmallAndQ2K) {
    std::vector<QuantTensor> t;
    for (int il = 0; il < 16; ++il) {
        const std::string p = "blk." + std::to_string(il) + ".";
        t.push_back({p + "attn_v.weight", {256, 256}});
        t.push_back({p + "attn_output.weight", {256, 256}});
        t.push_back({p + "ffn_down.weight", {512, 256}});
    }
    const QuantMixPlanner s(*parse_quant_file_type("q4_k"), t, 0);  // Q4_K_S
    for (int il = 0; il < 16; ++il) {
        const std::string p = "blk." + std::to_string(il) + ".";
        EXPECT_EQ(type_of(s, t, p + "attn_v.weight"), il < 4 ? TensorType::Q5_K : TensorType::Q4_K);
        EXPECT_EQ(type_of(s, t, p + "ffn_down.weight"),
                  il < 2 ? TensorType::Q5_K : TensorType::Q4_K);
        EXPECT_EQ(type_of(s, t, p + "attn_output.weight"), TensorType::Q4_K);
    }
    const QuantMixPlanner q2(*parse_quant_file_type("q2_k"), t, 0, 4);
    EXPECT_EQ(type_of(q2, t, "blk.5.attn_v.weight"), TensorType::Q4_K);  // GQA 4
    EXPECT_EQ(type_of(q2, t, "blk.5.ffn_down.weight"), TensorType::Q3_K);
    EXPECT_EQ(type_of(q2, t, "blk.5.attn_output.weight"), TensorType::Q3_K);
    const QuantMixPlanner q2_mha(*parse_quant_file_type("q2_k"), t, 0, 1);
    EXPECT_EQ(type_of(q2_mha, t, "blk.5.attn_v.weight"), TensorType::Q3_K);
}

}  // namespace
}  // namespace rf
