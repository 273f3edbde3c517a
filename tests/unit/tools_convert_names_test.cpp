// general.name / basename / size label heuristics, ported from gguf-py (metadata.py,
// utility.py); expected values follow that Python code.
#include <gtest/gtest.h>

#include "tools/hf_model_name.h"

namespace rf {
namespace {

TEST(ToolsConvertNames, IdToTitle) {
    EXPECT_EQ(hf_id_to_title("tiny-qwen35moe"), "Tiny Qwen35Moe");
    EXPECT_EQ(hf_id_to_title("tiny-qwen3"), "Tiny Qwen3");
    EXPECT_EQ(hf_id_to_title("Qwen2.5-0.5B-Instruct"), "Qwen2.5 0.5B Instruct");
    EXPECT_EQ(hf_id_to_title("mistral-7b-instruct-v0.2"), "Mistral 7b Instruct v0.2");
}

TEST(ToolsConvertNames, ModelIdParts) {
    const HfModelIdParts q = hf_model_id_parts("Qwen/Qwen2.5-0.5B-Instruct", 494'032'768);
    EXPECT_EQ(q.organization, "Qwen");
    EXPECT_EQ(q.full_name, "Qwen2.5-0.5B-Instruct");
    EXPECT_EQ(q.basename, "Qwen2.5");
    EXPECT_EQ(q.size_label, "0.5B");
    EXPECT_EQ(q.finetune, "Instruct");
    EXPECT_EQ(q.version, std::nullopt);

    // Nothing but words: too ambiguous for a basename.
    const HfModelIdParts t = hf_model_id_parts("tiny-qwen35moe", 7'102'040);
    EXPECT_EQ(t.full_name, "tiny-qwen35moe");
    EXPECT_EQ(t.basename, std::nullopt);
    EXPECT_EQ(t.size_label, std::nullopt);

    const HfModelIdParts m =
        hf_model_id_parts("mistralai/Mixtral-8x7B-Instruct-v0.1", 46'702'792'704);
    EXPECT_EQ(m.basename, "Mixtral");
    EXPECT_EQ(m.size_label, "8x7B");
    EXPECT_EQ(m.finetune, "Instruct");
    EXPECT_EQ(m.version, "v0.1");

    // A size far from the parameter count is a context length; a leading version joins the
    // basename.
    const HfModelIdParts l = hf_model_id_parts("Llama-3-8B-32k", 8'030'261'248);
    EXPECT_EQ(l.basename, "Llama-3");
    EXPECT_EQ(l.size_label, "8B");
    EXPECT_EQ(l.finetune, "32k");
    EXPECT_EQ(l.version, std::nullopt);

    // Quantization types are upper-cased and dropped; bloom's "7b1" is 7.1B.
    const HfModelIdParts b = hf_model_id_parts("bloom-7b1-q4_k_m", 7'069'016'064);
    EXPECT_EQ(b.size_label, "7.1B");
    EXPECT_EQ(b.basename, "bloom");
    // A sentence is a name and nothing else.
    EXPECT_EQ(hf_model_id_parts("My Model", 0).full_name, "My Model");
    EXPECT_EQ(hf_model_id_parts("./x-1B", 0).organization, std::nullopt);
}

TEST(ToolsConvertNames, SizeLabel) {
    EXPECT_EQ(gguf_size_label(6'817'280, 6'817'280, 0, 0), "6.8M");
    EXPECT_EQ(gguf_size_label(494'032'768, 494'032'768, 0, 0), "494M");
    EXPECT_EQ(gguf_size_label(1'543'714'304, 0, 0, 0), "1.5B");
    EXPECT_EQ(gguf_size_label(999'999, 0, 0, 0), "1000K");
    EXPECT_EQ(gguf_size_label(7'102'040, 4'291'040, 40'000, 8), "8x4.3M");
    EXPECT_EQ(gguf_size_label(500, 0, 0, 0), "0.50K");
}

TEST(ToolsConvertNames, ParamCounts) {
    const ParamCounts c = count_params({{"token_embd.weight", {256, 8192}},
                                        {"blk.0.ffn_up_exps.weight", {256, 128, 8}},
                                        {"blk.0.ffn_up_shexp.weight", {256, 256}},
                                        {"blk.0.attn_norm.weight", {256}}});
    EXPECT_EQ(c.total, 256 * 8192 + 256 * 128 * 8 + 256 * 256 + 256);
    EXPECT_EQ(c.expert, 256 * 128);
    EXPECT_EQ(c.shared, 256 * 8192 + 256 * 256 + 256);
    EXPECT_EQ(c.expert_count, 8);
}

}  // namespace
}  // namespace rf
