// `rocmforge info` end to end: text and JSON for GGUF, safetensors file and model directory, and
// a clear error for a broken file.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fmt/format.h>
#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "../common/gguf_fixtures.h"
#include "formats/gguf/gguf_file.h"
#include "test_paths.h"

namespace rf {
namespace {

struct RunResult {
    int exit_code;
    std::string output;  // stdout + stderr
};

RunResult run_cli(const std::string& args) {
    // fmt rather than operator+: GCC 12 at -O3 reports a false -Wrestrict on "'" + s.
    const std::string cmd = fmt::format("'{}' {} 2>&1", test::cli_exe().string(), args);
    FILE* p = popen(cmd.c_str(), "r");
    EXPECT_NE(p, nullptr);
    std::string out;
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int status = pclose(p);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string quoted(const std::filesystem::path& p) {
    return fmt::format("'{}'", p.string());
}

TEST(CliInfo, GgufTextListing) {
    RF_REQUIRE_SHARED();
    const auto path = test::shared_dir() / "models/llamacpp-gguf/tiny-qwen3-llamacpp-q8_0.gguf";
    const RunResult r = run_cli("info " + quoted(path));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("format: GGUF v3, alignment 32, tensor data at offset 274976"),
              std::string::npos);
    EXPECT_NE(r.output.find("metadata (25 keys):"), std::string::npos);
    EXPECT_NE(r.output.find("array<string>[8192]"), std::string::npos);
    // Arrays abbreviated, chat template shortened.
    EXPECT_NE(r.output.find("... (8184 more)]"), std::string::npos);
    EXPECT_NE(r.output.find("... (199 bytes)"), std::string::npos);
    EXPECT_EQ(r.output.find("<|im_end|>"), std::string::npos);  // token 8191, not shown
    EXPECT_NE(r.output.find("tensors (68):"), std::string::npos);
    EXPECT_NE(r.output.find("token_embd.weight"), std::string::npos);
    EXPECT_NE(r.output.find("256 x 8192"), std::string::npos);
    EXPECT_NE(r.output.find("total: 6.82 M parameters (6819840)"), std::string::npos);
    EXPECT_NE(r.output.find("8.51 bits per weight"), std::string::npos);
}

TEST(CliInfo, GgufJsonMatchesReader) {
    const auto path = test::temp_dir() / "cli-info-every-type.gguf";
    test::every_type_writer(64).write(path.string());
    const RunResult r = run_cli("info --json " + quoted(path));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto j = nlohmann::json::parse(r.output);
    const GgufFile f(path.string());
    EXPECT_EQ(j["format"], "gguf");
    EXPECT_EQ(j["version"], 3);
    EXPECT_EQ(j["alignment"], 64);
    EXPECT_EQ(j["data_offset"], f.data_offset());
    ASSERT_EQ(j["metadata"].size(), f.metadata().size());
    EXPECT_EQ(j["metadata"]["test.u64"].get<uint64_t>(), 9223372036854775813ull);
    EXPECT_EQ(j["metadata"]["test.i64"].get<int64_t>(), -4611686018427387911ll);
    EXPECT_EQ(j["metadata"]["test.f32"].get<double>(), static_cast<double>(3.14159f));
    EXPECT_EQ(j["metadata"]["test.bool_true"], true);
    EXPECT_EQ(j["metadata"]["test.nested.deep"],
              nlohmann::json::parse(R"([[["a"], ["b", "c"]], []])"));
    EXPECT_EQ(j["metadata"]["test.arr.u64"][1].get<uint64_t>(), ~0ull);
    EXPECT_EQ(j["metadata_types"]["test.arr.string"], "array<string>");
    EXPECT_EQ(j["metadata_types"]["general.alignment"], "u32");
    ASSERT_EQ(j["tensors"].size(), f.tensors().size());
    for (size_t i = 0; i < f.tensors().size(); ++i) {
        const auto& t = f.tensors()[i];
        EXPECT_EQ(j["tensors"][i]["name"], t.name);
        EXPECT_EQ(j["tensors"][i]["type"], type_name(t.type));
        EXPECT_EQ(j["tensors"][i]["type_id"], static_cast<uint32_t>(t.type));
        EXPECT_EQ(j["tensors"][i]["shape"].get<std::vector<int64_t>>(), t.ne);
        EXPECT_EQ(j["tensors"][i]["offset"], t.offset);
        EXPECT_EQ(j["tensors"][i]["nbytes"], t.nbytes);
    }
    std::filesystem::remove(path);
}

TEST(CliInfo, SafetensorsFileAndDirectory) {
    RF_REQUIRE_SHARED();
    const auto dir = test::shared_dir() / "models/tiny-qwen3";
    const RunResult text = run_cli("info " + quoted(dir));
    ASSERT_EQ(text.exit_code, 0) << text.output;
    EXPECT_NE(text.output.find("format: safetensors, 1 file"), std::string::npos);
    EXPECT_NE(text.output.find("tensors (68):"), std::string::npos);
    EXPECT_NE(text.output.find("[8192, 256]"), std::string::npos);
    EXPECT_NE(text.output.find("6819840"), std::string::npos);
    EXPECT_NE(text.output.find("16.00 bits per weight"), std::string::npos);
    const RunResult js = run_cli("info --json " + quoted(dir / "model.safetensors"));
    ASSERT_EQ(js.exit_code, 0) << js.output;
    const auto j = nlohmann::json::parse(js.output);
    EXPECT_EQ(j["format"], "safetensors");
    EXPECT_EQ(j["tensors"].size(), 68u);
    EXPECT_EQ(j["tensors"][0]["name"], "model.embed_tokens.weight");
    EXPECT_EQ(j["tensors"][0]["dtype"], "BF16");
    EXPECT_EQ(j["tensors"][0]["shape"], nlohmann::json::parse("[8192, 256]"));
}

TEST(CliInfo, BrokenFileIsAnErrorNotACrash) {
    const auto path = test::temp_dir() / "cli-info-broken.gguf";
    {
        const char bytes[] = {'G', 'G', 'U', 'F', 3,   0,
                              0,   0,   'g', 'a', 'r', 'b'};  // count cut short
        std::ofstream(path, std::ios::binary).write(bytes, sizeof bytes);
    }
    const RunResult r = run_cli("info " + quoted(path));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.output.find(fmt::format("error: gguf {}: tensor count at offset 8 needs 8 bytes",
                                        path.string())),
              std::string::npos)
        << r.output;
    const RunResult missing = run_cli("info " + quoted(test::temp_dir() / "no-such-file.gguf"));
    EXPECT_EQ(missing.exit_code, 1);
    EXPECT_NE(missing.output.find("no such file or directory"), std::string::npos);
    std::filesystem::remove(path);
}

}  // namespace
}  // namespace rf
