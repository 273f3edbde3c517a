// `convert hf` on broken input: every error names the file, the field or tensor and the value,
// and no partial OUT.gguf is left behind (an existing one stays as it was).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fmt/format.h>

#include "tools_convert_test_util.h"

namespace rf {
namespace {

namespace fs = std::filesystem;
using test::convert_error;
using test::SyntheticHf;

// Converts `dir`, expects failure, checks each of `parts` is in the message, and that OUT was
// neither created nor replaced.
void expect_failure(const fs::path& dir, const std::vector<std::string>& parts,
                    const std::string& type = "f16") {
    const fs::path out = test::convert_dir() / "errors-out.gguf";
    { std::ofstream(out) << "previous contents"; }
    ConvertHfOptions o;
    o.model_dir = dir.string();
    o.out_path = out.string();
    o.type = type;
    const std::string message = convert_error(o);
    ASSERT_FALSE(message.empty()) << dir << ": the conversion succeeded";
    for (const std::string& p : parts) EXPECT_NE(message.find(p), std::string::npos) << message;
    std::ifstream in(out);
    std::string kept((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ(kept, "previous contents");
    EXPECT_FALSE(fs::exists(out.string() + ".tmp"));
}

TEST(ToolsConvertErrors, SyntheticModelsConvert) {
    RF_REQUIRE_SHARED();  // the tokenizer comes from ../shared
    for (const char* cls : {"Qwen2ForCausalLM", "Qwen3ForCausalLM", "Qwen3MoeForCausalLM",
                            "Qwen3_5ForCausalLM", "Qwen3_5MoeForCausalLM"}) {
        const fs::path dir = SyntheticHf(cls).write(std::string("ok-") + cls);
        ConvertHfOptions o;
        o.model_dir = dir.string();
        o.out_path = (test::convert_dir() / (std::string("ok-") + cls + ".gguf")).string();
        o.type = "q8_0";
        EXPECT_EQ(convert_error(o), "") << cls;
    }
}

TEST(ToolsConvertErrors, MissingConfig) {
    RF_REQUIRE_SHARED();
    const fs::path dir = SyntheticHf("Qwen3ForCausalLM").write("no-config");
    fs::remove(dir / "config.json");
    expect_failure(dir, {(dir / "config.json").string(), "not found"});
}

TEST(ToolsConvertErrors, UnknownArchitecture) {
    RF_REQUIRE_SHARED();
    SyntheticHf m("Qwen3ForCausalLM");
    m.config["architectures"] = {"LlamaForCausalLM"};
    const fs::path dir = m.write("llama");
    expect_failure(dir, {"config.json", "architectures[0] = 'LlamaForCausalLM' is not supported",
                         "Qwen3_5MoeForCausalLM"});
    m.config.erase("architectures");
    expect_failure(m.write("no-arch"), {"config.json", "field 'architectures' is missing"});
}

TEST(ToolsConvertErrors, BadConfigFields) {
    RF_REQUIRE_SHARED();
    SyntheticHf m("Qwen3ForCausalLM");
    m.config["hidden_size"] = "64";
    expect_failure(m.write("bad-hidden"),
                   {"config.json", "field 'hidden_size' is \"64\", expected an integer"});
    m.config["hidden_size"] = 64;
    m.config.erase("num_hidden_layers");
    expect_failure(m.write("no-layers"), {"field 'num_hidden_layers' is missing"});
    m.config["num_hidden_layers"] = 2;
    m.config["num_key_value_heads"] = 3;
    expect_failure(m.write("bad-kv"), {"num_key_value_heads", "is 3", "num_attention_heads 2"});
    // sizes no model has (an allocation for them would exhaust memory), values that do not fit the
    // GGUF's u32 fields, and a rope block that is not an object: refused, never truncated or ignored
    m.config["num_key_value_heads"] = 1;
    m.config["num_hidden_layers"] = 1000000000000LL;
    expect_failure(m.write("huge-layers"), {"field 'num_hidden_layers' is 1000000000000", "above the largest accepted"});
    m.config["num_hidden_layers"] = 2;
    m.config["max_position_embeddings"] = (1LL << 32) + 5;
    expect_failure(m.write("huge-context"), {"4294967301", "context_length", "does not fit 32 bits"});
    m.config["max_position_embeddings"] = 4096;
    m.config["rope_parameters"] = "x";
    expect_failure(m.write("rope-string"), {"field 'rope_parameters' is \"x\", expected an object"});
    m.config.erase("rope_parameters");
    std::ofstream(m.write("broken-json") / "config.json") << "{\"hidden_size\": ";
    expect_failure(test::convert_dir() / "synthetic" / "broken-json",
                   {"config.json", "invalid JSON"});
}

TEST(ToolsConvertErrors, WrongShape) {
    RF_REQUIRE_SHARED();
    SyntheticHf m("Qwen3ForCausalLM");
    m.find("model.layers.1.self_attn.q_proj.weight")->shape = {64, 32};
    expect_failure(m.write("wrong-shape"),
                   {"model.safetensors", "tensor 'model.layers.1.self_attn.q_proj.weight'",
                    "has shape [64, 32], expected [64, 64]"});
    // A config that disagrees with the weights is the same error.
    SyntheticHf c("Qwen3ForCausalLM");
    c.config["intermediate_size"] = 128;
    expect_failure(c.write("wrong-ffn"), {"model.layers.0.mlp.down_proj.weight",
                                          "has shape [64, 96], expected [64, 128]"});
}

TEST(ToolsConvertErrors, MissingTensor) {
    RF_REQUIRE_SHARED();
    SyntheticHf m("Qwen3ForCausalLM");
    m.erase("model.layers.1.self_attn.v_proj.weight");
    expect_failure(
        m.write("missing"),
        {"tensor 'model.layers.1.self_attn.v_proj.weight' is missing", "blk.1.attn_v.weight"});
    SyntheticHf u("Qwen2ForCausalLM");
    u.erase("lm_head.weight");  // untied
    expect_failure(u.write("missing-head"),
                   {"tensor 'lm_head.weight' is missing", "output.weight"});
    SyntheticHf e("Qwen3MoeForCausalLM");
    e.erase("model.layers.0.mlp.experts.2.up_proj.weight");
    expect_failure(
        e.write("missing-expert"),
        {"tensor 'model.layers.0.mlp.experts.2.up_proj.weight' is missing", "4 experts"});
}

TEST(ToolsConvertErrors, UnknownOrMisplacedTensor) {
    RF_REQUIRE_SHARED();
    SyntheticHf m("Qwen3ForCausalLM");
    m.tensors.push_back({"model.layers.0.self_attn.rotary.weight", {4}, "BF16"});
    expect_failure(m.write("unknown"), {"tensor 'model.layers.0.self_attn.rotary.weight'",
                                        "has no GGUF equivalent in architecture qwen3"});
    SyntheticHf l("Qwen3ForCausalLM");
    l.tensors.push_back({"model.layers.2.input_layernorm.weight", {64}, "BF16"});
    expect_failure(l.write("layer-range"), {"is in layer 2", "num_hidden_layers is 2"});
    // Layer 1 of the hybrid model is full attention (interval 2): no Gated DeltaNet weights.
    SyntheticHf h("Qwen3_5ForCausalLM");
    h.tensors.push_back({"model.layers.1.linear_attn.A_log", {2}, "BF16"});
    expect_failure(h.write("misplaced"),
                   {"model.layers.1.linear_attn.A_log", "belongs to a Gated DeltaNet layer",
                    "layer 1 a full-attention layer"});
    SyntheticHf x("Qwen3MoeForCausalLM");
    x.tensors.push_back({"model.layers.0.mlp.experts.4.up_proj.weight", {64, 64}, "BF16"});
    expect_failure(x.write("expert-range"), {"is expert 4", "4 experts"});
}

TEST(ToolsConvertErrors, UnsupportedDtype) {
    RF_REQUIRE_SHARED();
    SyntheticHf m("Qwen3ForCausalLM");
    m.find("model.norm.weight")->dtype = "F64";
    expect_failure(m.write("f64"), {"model.norm.weight", "dtype F64", "F32, F16 and BF16"});
}

TEST(ToolsConvertErrors, TruncatedSafetensors) {
    RF_REQUIRE_SHARED();
    const fs::path dir = SyntheticHf("Qwen3ForCausalLM").write("truncated");
    const fs::path st = dir / "model.safetensors";
    fs::resize_file(st, fs::file_size(st) - 100);
    expect_failure(dir, {st.string(), "model.norm.weight", "past the data section"});
}

TEST(ToolsConvertErrors, UnknownTypeAndMissingFolder) {
    RF_REQUIRE_SHARED();
    expect_failure(SyntheticHf("Qwen3ForCausalLM").write("type"),
                   {"unknown --type 'q7_k'", "q4_k_m"}, "q7_k");
    expect_failure(test::convert_dir() / "no-such-folder",
                   {"no-such-folder", "is not a directory"});
}

TEST(ToolsConvertErrors, CliReportsTheErrorAndFails) {
    RF_REQUIRE_SHARED();
    SyntheticHf m("Qwen3ForCausalLM");
    m.erase("model.norm.weight");
    const fs::path dir = m.write("cli");
    const fs::path out = test::convert_dir() / "cli-out.gguf";
    fs::remove(out);
    const std::string cmd = fmt::format("'{}' convert hf '{}' '{}' --type q8_0 2>&1",
                                        test::cli_exe().string(), dir.string(), out.string());
    FILE* p = popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string output;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) output.append(buf, n);
    const int status = pclose(p);
    EXPECT_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 1);
    EXPECT_NE(output.find("error: convert: "), std::string::npos) << output;
    EXPECT_NE(output.find("tensor 'model.norm.weight' is missing"), std::string::npos) << output;
    EXPECT_FALSE(fs::exists(out));
}

}  // namespace
}  // namespace rf
