// `rocmforge quantize`: requantizing our f32 conversions gives exactly the tensors `convert hf`
// writes for the same type (both quantize the checkpoint's values with the same mix), metadata is
// kept with general.quantization_version and general.file_type moved to the end (as
// llama-quantize does), quantized sources are dequantized first, and the CLI reports the speed.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fmt/format.h>

#include <cmath>

#include "core/error.h"
#include "tools/quant_mix.h"
#include "tools/quantize_model.h"
#include "tools/quantize_model_synthetic.h"
#include "tools_convert_test_util.h"

namespace rf {
namespace {

namespace fs = std::filesystem;

QuantizeResult quantize(const fs::path& in, const fs::path& out, const std::string& type) {
    QuantizeOptions o;
    o.in_path = in.string();
    o.out_path = out.string();
    o.type = type;
    o.n_threads = 2;
    return quantize_model(o);
}

void expect_same_tensors(const GgufFile& a, const GgufFile& b) {
    ASSERT_EQ(a.tensors().size(), b.tensors().size());
    for (size_t i = 0; i < a.tensors().size(); ++i) {
        const auto& x = a.tensors()[i];
        const auto& y = b.tensors()[i];
        EXPECT_EQ(x.name, y.name);
        EXPECT_EQ(x.ne, y.ne) << x.name;
        EXPECT_EQ(x.type, y.type) << x.name;
        if (x.nbytes == y.nbytes) {
            EXPECT_EQ(std::memcmp(x.data, y.data, x.nbytes), 0) << x.name;
        }
    }
}

TEST(ToolsQuantize, F32ConversionRequantizesToTheConvertedFile) {
    RF_REQUIRE_SHARED();
    for (const auto& [model, type] :
         std::vector<std::pair<std::string, std::string>>{{"tiny-qwen3", "q8_0"},
                                                          {"tiny-qwen3", "q4_k_m"},
                                                          {"tiny-qwen35moe", "q4_k_m"},
                                                          {"tiny-qwen3moe", "q5_k_m"},
                                                          {"tiny-qwen35moe", "q4_0"}}) {
        SCOPED_TRACE(model + " " + type);
        const fs::path src = test::converted(model, "f32");
        const fs::path out = test::convert_dir() / (model + "-f32-to-" + type + ".gguf");
        const QuantizeResult r = quantize(src, out, type);
        EXPECT_EQ(r.n_dequantized, 0u);
        const GgufFile q(out.string());
        const GgufFile c(test::converted(model, type).string());
        expect_same_tensors(q, c);
        // Metadata: the f32 file's, with the two keys re-set at the end.
        const GgufFile f(src.string());
        std::vector<std::string> want, got;
        for (const auto& [k, v] : f.metadata())
            if (k != "general.file_type" && k != "general.quantization_version") want.push_back(k);
        want.push_back("general.quantization_version");
        want.push_back("general.file_type");
        for (const auto& [k, v] : q.metadata()) got.push_back(k);
        EXPECT_EQ(got, want);
        EXPECT_EQ(q.require_int("general.file_type"), parse_quant_file_type(type)->gguf_file_type);
        EXPECT_EQ(q.require_string("tokenizer.chat_template"),
                  f.require_string("tokenizer.chat_template"));
    }
}

TEST(ToolsQuantize, QuantizedSourceIsDequantizedFirst) {
    RF_REQUIRE_SHARED();
    const fs::path src = test::llamacpp_file("tiny-qwen3moe-llamacpp-q8_0.gguf");
    const fs::path out = test::convert_dir() / "tiny-qwen3moe-q8_0-to-q4_0.gguf";
    const QuantizeResult r = quantize(src, out, "q4_0");
    EXPECT_GT(r.n_dequantized, 0u);
    EXPECT_EQ(r.n_dequantized, r.n_converted);
    const GgufFile in(src.string()), q(out.string());
    ASSERT_EQ(in.tensors().size(), q.tensors().size());
    for (size_t i = 0; i < in.tensors().size(); ++i) {
        const auto& a = in.tensors()[i];
        const auto& b = q.tensors()[i];
        if (a.type == TensorType::F32) {  // norms, router: untouched
            EXPECT_EQ(b.type, TensorType::F32) << a.name;
            EXPECT_EQ(std::memcmp(a.data, b.data, a.nbytes), 0) << a.name;
            continue;
        }
        const auto x = test::tensor_f32(a), y = test::tensor_f32(b);
        double err = 0, ref = 0;
        for (size_t k = 0; k < x.size(); ++k) {
            err += (double(x[k]) - y[k]) * (double(x[k]) - y[k]);
            ref += double(x[k]) * x[k];
        }
        EXPECT_LT(std::sqrt(err / ref), 0.2) << a.name;
    }
}

TEST(ToolsQuantize, SyntheticModelAndFloatTargets) {
    SyntheticModelShape s;
    s.n_layer = 3;
    s.n_embd = 256;
    s.n_ff = 320;
    s.n_head = 4;
    s.n_head_kv = 2;
    s.n_vocab = 1000;
    const fs::path src = test::convert_dir() / "synthetic-small-f16.gguf";
    write_synthetic_model(src.string(), s, TensorType::F16);
    const GgufFile in(src.string());
    EXPECT_EQ(in.tensors().size(), 2u + 12u * 3u);
    // bf16: every quantizable tensor converted, 1-D ones kept.
    const fs::path out = test::convert_dir() / "synthetic-small-bf16.gguf";
    const QuantizeResult r = quantize(src, out, "bf16");
    const GgufFile q(out.string());
    for (const auto& t : q.tensors())
        EXPECT_EQ(t.type, t.ne.size() == 1 ? TensorType::F32 : TensorType::BF16) << t.name;
    EXPECT_EQ(r.n_converted, 1u + 7u * 3u);
    // q4_k_m of rows of 320 falls back (320 % 256): ffn_down q5_0, or q8_0 where q6_K.
    quantize(src, test::convert_dir() / "synthetic-small-q4_k_m.gguf", "q4_k_m");
    const GgufFile k((test::convert_dir() / "synthetic-small-q4_k_m.gguf").string());
    EXPECT_EQ(k.require_tensor("blk.1.ffn_down.weight").type, TensorType::Q5_0);
    EXPECT_EQ(k.require_tensor("blk.2.ffn_down.weight").type, TensorType::Q8_0);  // more bits
    EXPECT_EQ(k.require_tensor("token_embd.weight").type, TensorType::Q6_K);      // tied
    EXPECT_EQ(k.require_tensor("blk.2.attn_q.weight").type, TensorType::Q4_K);
    EXPECT_EQ(k.require_tensor("blk.0.attn_v.weight").type, TensorType::Q4_K);
    EXPECT_EQ(k.require_tensor("blk.2.attn_v.weight").type, TensorType::Q6_K);
    EXPECT_EQ(k.require_tensor("blk.2.attn_v.bias").type, TensorType::F32);
}

TEST(ToolsQuantize, ErrorsAndCli) {
    RF_REQUIRE_SHARED();
    const fs::path src = test::converted("tiny-qwen3", "f16");
    const fs::path out = test::convert_dir() / "quantize-cli.gguf";
    try {
        quantize(src, out, "q3_k_l");
        ADD_FAILURE() << "accepted q3_k_l";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("unknown type 'q3_k_l'"), std::string::npos)
            << e.what();
    }
    EXPECT_THROW(quantize(test::convert_dir() / "none.gguf", out, "q8_0"), Error);
    const std::string cmd = fmt::format("'{}' quantize '{}' '{}' q4_k_m -t 2 2>&1",
                                        test::cli_exe().string(), src.string(), out.string());
    FILE* p = popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string output;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) output.append(buf, n);
    const int status = pclose(p);
    EXPECT_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0) << output;
    EXPECT_NE(output.find("M weights/s per thread"), std::string::npos) << output;
    EXPECT_EQ(GgufFile(out.string()).require_int("general.file_type"), 15);
}

}  // namespace
}  // namespace rf
