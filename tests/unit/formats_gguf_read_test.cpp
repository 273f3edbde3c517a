// Reading the GGUF files llama.cpp's converter wrote for the tiny models (../shared).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "../common/gguf_fixtures.h"
#include "core/error.h"
#include "core/half.h"
#include "formats/gguf/gguf_file.h"
#include "test_paths.h"

namespace rf {
namespace {

std::string llamacpp_gguf(const std::string& name) {
    return (test::shared_dir() / "models" / "llamacpp-gguf" / name).string();
}

std::vector<uint8_t> read_all(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(GgufRead, LlamacppQwen3F16) {
    RF_REQUIRE_SHARED();
    const GgufFile f(llamacpp_gguf("tiny-qwen3-llamacpp-f16.gguf"));
    EXPECT_EQ(f.version(), 3u);
    EXPECT_EQ(f.alignment(), 32u);
    EXPECT_EQ(f.data_offset(), 274976u);
    EXPECT_EQ(f.metadata().size(), 25u);
    EXPECT_EQ(f.metadata().front().first, "general.architecture");
    EXPECT_EQ(f.require_string("general.architecture"), "qwen3");
    EXPECT_EQ(f.require_string("general.name"), "Tiny Qwen3");
    EXPECT_EQ(f.require_int("qwen3.block_count"), 6);
    EXPECT_EQ(f.require_int("qwen3.embedding_length"), 256);
    EXPECT_EQ(f.require_int("qwen3.feed_forward_length"), 768);
    EXPECT_EQ(f.require_int("qwen3.attention.head_count"), 4);
    EXPECT_EQ(f.require_int("qwen3.attention.head_count_kv"), 2);
    EXPECT_EQ(f.require_int("qwen3.context_length"), 4096);
    EXPECT_EQ(f.require_float("qwen3.rope.freq_base"), 1e6);
    EXPECT_EQ(f.require_float("qwen3.attention.layer_norm_rms_epsilon"),
              static_cast<double>(1e-6f));
    EXPECT_EQ(f.find("qwen3.rope.freq_base")->type(), GgufType::F32);
    EXPECT_EQ(f.require_int("general.file_type"), 1);
    EXPECT_EQ(f.require_string("tokenizer.ggml.model"), "gpt2");
    EXPECT_EQ(f.require_string("tokenizer.ggml.pre"), "qwen2");
    EXPECT_EQ(f.require_int("tokenizer.ggml.eos_token_id"), 8189);

    const auto* tokens = f.get_string_array("tokenizer.ggml.tokens");
    ASSERT_NE(tokens, nullptr);
    ASSERT_EQ(tokens->size(), 8192u);
    EXPECT_EQ((*tokens)[0], "!");
    EXPECT_EQ((*tokens)[8189], "<|endoftext|>");
    EXPECT_EQ((*tokens)[8191], "<|im_end|>");
    const auto types = f.get_int_array("tokenizer.ggml.token_type");
    ASSERT_TRUE(types.has_value());
    EXPECT_EQ(types->size(), 8192u);
    EXPECT_EQ((*types)[0], 1);
    EXPECT_EQ((*types)[8190], 3);
    EXPECT_EQ(f.get_array("tokenizer.ggml.token_type")->elem_type, GgufType::I32);
    const auto* merges = f.get_string_array("tokenizer.ggml.merges");
    ASSERT_NE(merges, nullptr);
    EXPECT_EQ(merges->size(), 7933u);
    EXPECT_EQ((*merges)[0], "\xc4\xa0 \xc4\xa0");  // "Ġ Ġ"
    const auto tmpl = f.get_string("tokenizer.chat_template");
    ASSERT_TRUE(tmpl.has_value());
    EXPECT_EQ(tmpl->rfind("{% for message in messages %}", 0), 0u);

    ASSERT_EQ(f.tensors().size(), 68u);
    const GgufTensorInfo& emb = f.require_tensor("token_embd.weight");
    EXPECT_EQ(emb.type, TensorType::F16);
    EXPECT_EQ(emb.ne, (std::vector<int64_t>{256, 8192}));
    EXPECT_EQ(emb.n_elements(), 256 * 8192);
    EXPECT_EQ(emb.n_rows(), 8192);
    EXPECT_EQ(emb.offset, 0u);
    EXPECT_EQ(emb.nbytes, 256u * 8192u * 2u);
    EXPECT_EQ(emb.data, f.bytes().data() + f.data_offset());
    const GgufTensorInfo& norm = f.require_tensor("blk.0.attn_norm.weight");
    EXPECT_EQ(norm.type, TensorType::F32);
    EXPECT_EQ(norm.ne, (std::vector<int64_t>{256}));
    EXPECT_EQ(norm.offset, 4194304u);
    EXPECT_EQ(f.require_tensor("blk.0.ffn_down.weight").ne, (std::vector<int64_t>{768, 256}));
    EXPECT_EQ(f.require_tensor("blk.5.attn_k.weight").ne, (std::vector<int64_t>{256, 128}));
    EXPECT_EQ(f.find_tensor("output.weight"), nullptr);  // tied embeddings
    EXPECT_EQ(f.n_parameters(), 6819840);
    // The f16 file stores f16: every tensor byte count follows from its shape.
    for (const auto& t : f.tensors())
        EXPECT_EQ(t.nbytes, static_cast<size_t>(t.n_rows()) * row_size(t.type, t.ne[0])) << t.name;
    // A norm weight of a trained model: finite values, not all equal.
    float w0 = 0;
    float w1 = 0;
    std::memcpy(&w0, norm.data, 4);
    std::memcpy(&w1, norm.data + 4, 4);
    EXPECT_TRUE(std::isfinite(w0));
    EXPECT_NE(w0, w1);
}

TEST(GgufRead, LlamacppQwen3Q8_0) {
    RF_REQUIRE_SHARED();
    const GgufFile f(llamacpp_gguf("tiny-qwen3-llamacpp-q8_0.gguf"));
    EXPECT_EQ(f.tensors().size(), 68u);
    EXPECT_EQ(f.require_int("general.file_type"), 7);
    const GgufTensorInfo& emb = f.require_tensor("token_embd.weight");
    EXPECT_EQ(emb.type, TensorType::Q8_0);
    EXPECT_EQ(emb.ne, (std::vector<int64_t>{256, 8192}));
    EXPECT_EQ(emb.nbytes, 8192u * (256u / 32u) * 34u);
    EXPECT_EQ(f.require_tensor("blk.0.attn_q_norm.weight").type, TensorType::F32);
    EXPECT_EQ(f.require_tensor("output_norm.weight").offset, 7257088u);
    EXPECT_EQ(f.file_size(), 7533088u);
}

TEST(GgufRead, LlamacppQwen3Moe) {
    RF_REQUIRE_SHARED();
    const GgufFile f(llamacpp_gguf("tiny-qwen3moe-llamacpp-q8_0.gguf"));
    EXPECT_EQ(f.require_string("general.architecture"), "qwen3moe");
    EXPECT_EQ(f.metadata().size(), 28u);
    EXPECT_EQ(f.tensors().size(), 50u);
    EXPECT_EQ(f.require_int("qwen3moe.expert_count"), 8);
    EXPECT_EQ(f.require_int("qwen3moe.expert_used_count"), 2);
    EXPECT_EQ(f.require_int("qwen3moe.expert_feed_forward_length"), 160);
    const GgufTensorInfo& down = f.require_tensor("blk.0.ffn_down_exps.weight");
    EXPECT_EQ(down.type, TensorType::Q8_0);
    EXPECT_EQ(down.ne, (std::vector<int64_t>{160, 256, 8}));
    EXPECT_EQ(down.n_rows(), 256 * 8);
    EXPECT_EQ(f.require_tensor("blk.3.ffn_gate_inp.weight").ne, (std::vector<int64_t>{256, 8}));
    EXPECT_EQ(f.require_tensor("blk.3.ffn_gate_inp.weight").type, TensorType::F32);
}

TEST(GgufRead, LlamacppQwen35Moe) {
    RF_REQUIRE_SHARED();
    const GgufFile f(llamacpp_gguf("tiny-qwen35moe-llamacpp-q8_0.gguf"));
    EXPECT_EQ(f.require_string("general.architecture"), "qwen35moe");
    EXPECT_EQ(f.metadata().size(), 36u);
    EXPECT_EQ(f.tensors().size(), 75u);
    EXPECT_EQ(f.require_int("qwen35moe.full_attention_interval"), 4);
    EXPECT_EQ(f.require_int("qwen35moe.ssm.conv_kernel"), 4);
    EXPECT_EQ(f.get_int_array("qwen35moe.rope.dimension_sections"),
              (std::vector<int64_t>{11, 11, 10, 0}));
    EXPECT_EQ(f.require_tensor("blk.0.ssm_conv1d.weight").ne, (std::vector<int64_t>{4, 512}));
    EXPECT_EQ(f.require_tensor("blk.0.ssm_a").ne, (std::vector<int64_t>{4}));
    EXPECT_EQ(f.require_tensor("blk.0.ffn_gate_inp_shexp.weight").ne,
              (std::vector<int64_t>{256, 1}));
    EXPECT_EQ(f.require_tensor("blk.0.ffn_up_exps.weight").ne, (std::vector<int64_t>{256, 128, 8}));
    EXPECT_EQ(f.n_parameters(), 7102040);
}

TEST(GgufRead, TypedGettersNameKeyAndType) {
    RF_REQUIRE_SHARED();
    const GgufFile f(llamacpp_gguf("tiny-qwen3-llamacpp-q8_0.gguf"));
    EXPECT_FALSE(f.get_int("no.such.key").has_value());
    EXPECT_EQ(f.get_string_array("no.such.key"), nullptr);
    try {
        f.require_int("no.such.key");
        FAIL() << "expected rf::Error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("key 'no.such.key' is missing"), std::string::npos)
            << e.what();
    }
    try {
        f.require_int("general.name");
        FAIL() << "expected rf::Error";
    } catch (const Error& e) {
        EXPECT_NE(
            std::string(e.what()).find("key 'general.name' has type string, expected an integer"),
            std::string::npos)
            << e.what();
    }
    EXPECT_THROW(f.get_string_array("tokenizer.ggml.token_type"), Error);
    EXPECT_THROW(f.get_bool("qwen3.block_count"), Error);
    EXPECT_THROW(f.require_tensor("blk.99.attn_q.weight"), Error);
    // Floats accept integers; ints do not accept floats.
    EXPECT_EQ(f.get_float("qwen3.block_count"), 6.0);
    EXPECT_THROW(f.get_int("qwen3.rope.freq_base"), Error);
}

// Our writer reproduces llama.cpp's files byte for byte: same header encoding, same tensor
// offsets and padding.
TEST(GgufRead, RewriteOfLlamacppFilesIsByteIdentical) {
    RF_REQUIRE_SHARED();
    for (const char* name :
         {"tiny-qwen3-llamacpp-f16.gguf", "tiny-qwen3-llamacpp-q8_0.gguf",
          "tiny-qwen3moe-llamacpp-q8_0.gguf", "tiny-qwen35moe-llamacpp-q8_0.gguf"}) {
        const std::string in = llamacpp_gguf(name);
        const GgufFile f(in);
        const std::string out = (test::temp_dir() / (std::string("rewrite-") + name)).string();
        test::copy_to_writer(f).write(out);
        EXPECT_TRUE(read_all(in) == read_all(out)) << name;
        std::filesystem::remove(out);
    }
}

}  // namespace
}  // namespace rf
