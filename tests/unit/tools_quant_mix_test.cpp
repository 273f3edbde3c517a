#include <gtest/gtest.h>

#include "formats/quant_blocks.h"
#include "tools/quant_mix.h"

namespace rf {
namespace {

std::vector<QuantTensor> dense_model(int n_layer, int64_t n_embd, int64_t n_ff, bool tied) {
    std::vector<QuantTensor> t;
    t.push_back({"token_embd.weight", {n_embd, 1000}});
    for (int il = 0; il < n_layer; ++il) {
        const std::string p = "blk." + std::to_string(il) + ".";
        t.push_back({p + "attn_norm.weight", {n_embd}});
        t.push_back({p + "attn_q.weight", {n_embd, n_embd}});
        t.push_back({p + "attn_v.weight", {n_embd, n_embd / 4}});
        t.push_back({p + "ffn_down.weight", {n_ff, n_embd}});
        t.push_back({p + "ffn_up.weight", {n_embd, n_ff}});
    }
    t.push_back({"output_norm.weight", {n_embd}});
    if (!tied) t.push_back({"output.weight", {n_embd, 1000}});
    return t;
}

TensorType type_of(const QuantMixPlanner& p, const std::vector<QuantTensor>& t, const std::string& name) {
    for (size_t i = 0; i < t.size(); ++i)
        if (t[i].name == name) return p.type_for(i);
    ADD_FAILURE() << name;
    return TensorType::F32;
}

TEST(QuantMix, Q4KMFollowsLlamaCppRules) {
    const auto t = dense_model(16, 512, 1024, false);
    const QuantMixPlanner p(*parse_quant_file_type("Q4_K_M"), t, 0);
    EXPECT_EQ(type_of(p, t, "output.weight"), TensorType::Q6_K);
    EXPECT_EQ(type_of(p, t, "token_embd.weight"), TensorType::Q4_K);
    EXPECT_EQ(type_of(p, t, "blk.0.attn_norm.weight"), TensorType::F32);
    EXPECT_EQ(type_of(p, t, "blk.0.attn_q.weight"), TensorType::Q4_K);
    // use_more_bits(i, 16): i < 2, i >= 14, (i - 2) % 3 == 2  ->  0 1 4 7 10 13 14 15
    for (int il = 0; il < 16; ++il) {
        const bool more = il < 2 || il >= 14 || (il - 2) % 3 == 2;
        const TensorType want = more ? TensorType::Q6_K : TensorType::Q4_K;
        EXPECT_EQ(type_of(p, t, "blk." + std::to_string(il) + ".attn_v.weight"), want) << il;
        EXPECT_EQ(type_of(p, t, "blk." + std::to_string(il) + ".ffn_down.weight"), want) << il;
        EXPECT_EQ(type_of(p, t, "blk." + std::to_string(il) + ".ffn_up.weight"), TensorType::Q4_K) << il;
    }
}

TEST(QuantMix, TiedEmbeddingGetsTheOutputTypeAndRowsFallBack) {
    const auto t = dense_model(4, 256, 160, true);  // ffn 160: not a multiple of 256
    const QuantMixPlanner p(*parse_quant_file_type("q4_k_m"), t, 0);
    EXPECT_EQ(type_of(p, t, "token_embd.weight"), TensorType::Q6_K);
    EXPECT_EQ(type_of(p, t, "blk.1.ffn_down.weight"), TensorType::Q5_0);  // q4_K -> q5_0 (160 % 256)
    EXPECT_EQ(type_of(p, t, "blk.3.ffn_down.weight"), TensorType::Q8_0);  // more bits: q6_K -> q8_0
    const QuantMixPlanner q8(*parse_quant_file_type("q8_0"), t, 0);
    EXPECT_EQ(type_of(q8, t, "token_embd.weight"), TensorType::Q8_0);
    EXPECT_EQ(type_of(q8, t, "blk.0.attn_v.weight"), TensorType::Q8_0);
    const QuantMixPlanner f16(*parse_quant_file_type("f16"), t, 0);
    EXPECT_EQ(type_of(f16, t, "blk.0.attn_v.weight"), TensorType::F16);
    EXPECT_EQ(type_of(f16, t, "blk.0.attn_norm.weight"), TensorType::F32);
    EXPECT_FALSE(parse_quant_file_type("iq4_nl").has_value());
}

// llama.cpp's tensor_type_fallback for rows the chosen type's blocks do not tile (the 0.5b's 896).
TEST(QuantMix, FallbackTypeForRowsTheBlocksDoNotTile) {
    EXPECT_EQ(quant_fallback_type(TensorType::Q4_K, 4864), TensorType::Q4_K);
    EXPECT_EQ(quant_fallback_type(TensorType::Q4_K, 896), TensorType::Q5_0);
    EXPECT_EQ(quant_fallback_type(TensorType::Q5_K, 896), TensorType::Q5_1);
    EXPECT_EQ(quant_fallback_type(TensorType::Q6_K, 896), TensorType::Q8_0);
    EXPECT_EQ(quant_fallback_type(TensorType::Q2_K, 896), TensorType::Q4_0);
    EXPECT_EQ(quant_fallback_type(TensorType::Q3_K, 896), TensorType::Q4_0);
    EXPECT_EQ(quant_fallback_type(TensorType::Q4_K, 40), TensorType::F16);  // not whole q5_0 blocks either
    EXPECT_EQ(quant_fallback_type(TensorType::Q8_0, 40), TensorType::F16);
    EXPECT_EQ(quant_fallback_type(TensorType::F32, 7), TensorType::F32);
}

TEST(QuantMix, MoeRouterStaysF32AndEightExpertsBumpAttention) {
    std::vector<QuantTensor> t = {{"blk.0.ffn_gate_inp.weight", {256, 8}},
                                  {"blk.0.attn_v.weight", {256, 128}},
                                  {"blk.0.attn_k.weight", {256, 128}},
                                  {"blk.0.ffn_up_exps.weight", {256, 512, 8}}};
    const QuantMixPlanner p(*parse_quant_file_type("q4_k_m"), t, 8);
    EXPECT_EQ(p.type_for(0), TensorType::F32);
    EXPECT_EQ(p.type_for(1), TensorType::Q8_0);
    EXPECT_EQ(p.type_for(2), TensorType::Q8_0);
    EXPECT_EQ(p.type_for(3), TensorType::Q4_K);
}

}  // namespace
}  // namespace rf
