// Real chat templates (Qwen3, Qwen2.5, Llama 3.3, Mistral Nemo, Gemma 2, DeepSeek-R1, a
// Qwen3.5/3.6-family template, ChatML) rendered for many conversations must equal the output
// of @huggingface/jinja byte for byte. The fixtures are written by
// tests/node/jinja_reference.mjs (tests/fixtures/jinja/*.json); every context in them also
// renders identically with Python Jinja2 configured as transformers configures it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "core/error.h"
#include "test_paths.h"
#include "tokenizer/jinja/chat_template.h"

namespace rf::jinja {
namespace {

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in) << "cannot open " << path;
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::filesystem::path fixture_dir() { return rf::test::source_dir() / "tests" / "fixtures" / "jinja"; }

// Renders every case of one fixture file; returns the number of cases.
size_t check_fixture(const std::filesystem::path& file) {
    const auto fixture = nlohmann::ordered_json::parse(read_file(file));
    const std::string tmpl = read_file(fixture_dir() / fixture.at("template").get<std::string>());
    size_t n = 0;
    for (const auto& c : fixture.at("cases")) {
        ++n;
        SCOPED_TRACE(file.filename().string() + ": " + c.at("name").get<std::string>());
        if (c.contains("expected")) {
            try {
                EXPECT_EQ(render_chat_template(tmpl, c.at("context")), c.at("expected").get<std::string>());
            } catch (const rf::Error& e) {
                ADD_FAILURE() << "threw: " << e.what();
            }
        } else {
            // The reference raised (raise_exception in the template): so must we, with its message.
            const std::string message = c.at("error").get<std::string>();
            try {
                render_chat_template(tmpl, c.at("context"));
                ADD_FAILURE() << "expected an error containing: " << message;
            } catch (const rf::Error& e) {
                EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
            }
        }
    }
    return n;
}

TEST(JinjaReference, RealTemplatesMatchHuggingFaceJinja) {
    std::map<std::string, size_t> counts;
    for (const auto& entry : std::filesystem::directory_iterator(fixture_dir()))
        if (entry.path().extension() == ".json") counts[entry.path().stem().string()] = check_fixture(entry.path());
    EXPECT_GE(counts.size(), 8u);
    EXPECT_GE(counts["qwen3"], 30u);  // the real Qwen3 template over at least 30 conversations
    size_t total = 0;
    for (const auto& [name, n] : counts) total += n;
    EXPECT_GE(total, 60u);
}

TEST(JinjaReference, SharedQwen3TemplateIsTheFixture) {
    // The fixture copy must be the template the real Qwen3 tokenizer ships.
    RF_REQUIRE_SHARED();
    const auto config = nlohmann::json::parse(read_file(rf::test::shared_dir() / "tokenizers" / "qwen3" / "tokenizer_config.json"));
    EXPECT_EQ(config.at("chat_template").get<std::string>(), read_file(fixture_dir() / "templates" / "qwen3.jinja"));
}

}  // namespace
}  // namespace rf::jinja
