// The chat-template facade: transformers' defaults, the ChatML fallback, and the pieces of
// the interpreter (float formatting, Python string helpers) that the templates lean on.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "test_paths.h"
#include "tokenizer/jinja/chat_template.h"
#include "tokenizer/jinja/py_string.h"
#include "tokenizer/jinja/value.h"

namespace rf::jinja {
namespace {

using ojson = nlohmann::ordered_json;

TEST(JinjaChatTemplate, TransformersDefaults) {
    // apply_chat_template passes add_generation_prompt=False, tools=None, documents=None.
    const std::string tmpl =
        "{{ add_generation_prompt }}|{{ tools is defined }}|{{ tools is none }}|{{ documents is none }}|{{ bos_token is defined }}";
    EXPECT_EQ(render_chat_template(tmpl, ojson::object()), "False|True|True|True|False");
    EXPECT_EQ(render_chat_template(tmpl, ojson{{"add_generation_prompt", true}, {"tools", ojson::array()}}),
              "True|True|False|True|False");
}

TEST(JinjaChatTemplate, ContextKeyOrderIsKept) {
    // tojson output follows the insertion order of the JSON context, not sorted keys.
    const auto ctx = ojson::parse(R"({"tool": {"zeta": 1, "alpha": {"y": 2, "b": 3}}})");
    EXPECT_EQ(render_chat_template("{{ tool | tojson }}", ctx), R"({"zeta": 1, "alpha": {"y": 2, "b": 3}})");
}

TEST(JinjaChatTemplate, ChatmlFallbackMatchesTheTinyModelsTemplate) {
    RF_REQUIRE_SHARED();
    std::ifstream in(rf::test::shared_dir() / "models" / "tiny-qwen3" / "chat_template.jinja");
    std::stringstream ss;
    ss << in.rdbuf();
    const auto messages = ojson::parse(R"([{"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi ✓"}, {"role": "assistant", "content": ""}, {"role": "user", "content": "again"}])");
    for (bool agp : {false, true}) {
        EXPECT_EQ(chatml_fallback(messages, agp),
                  render_chat_template(ss.str(), ojson{{"messages", messages}, {"add_generation_prompt", agp}}));
    }
}

TEST(JinjaChatTemplate, ChatmlFallbackContentParts) {
    const auto messages = ojson::parse(R"([{"role": "user", "content": [{"type": "text", "text": "a"},
        {"type": "image"}, {"type": "text", "text": "b"}]}, {"role": "assistant", "content": null}])");
    EXPECT_EQ(chatml_fallback(messages, true),
              "<|im_start|>user\nab<|im_end|>\n<|im_start|>assistant\n<|im_end|>\n<|im_start|>assistant\n");
    EXPECT_THROW(chatml_fallback(ojson::object(), false), rf::Error);
}

TEST(JinjaChatTemplate, StrftimeNow) {
    const std::string year = render_chat_template("{{ strftime_now('%Y') }}", ojson::object());
    ASSERT_EQ(year.size(), 4u);
    EXPECT_GE(std::stoi(year), 2024);
    EXPECT_EQ(render_chat_template("{{ strftime_now('%%') }}", ojson::object()), "%");
}

TEST(JinjaValues, FloatReprMatchesPython) {
    // repr(float) in CPython: shortest round-trip digits, fixed for 1e-4 <= |x| < 1e16.
    EXPECT_EQ(float_repr(1.0), "1.0");
    EXPECT_EQ(float_repr(0.1), "0.1");
    EXPECT_EQ(float_repr(0.1 + 0.2), "0.30000000000000004");
    EXPECT_EQ(float_repr(1e16), "1e+16");
    EXPECT_EQ(float_repr(1e15), "1000000000000000.0");
    EXPECT_EQ(float_repr(0.0001), "0.0001");
    EXPECT_EQ(float_repr(0.00001), "1e-05");
    EXPECT_EQ(float_repr(-2.5e-300), "-2.5e-300");
    EXPECT_EQ(float_repr(123456.789), "123456.789");
    EXPECT_EQ(float_repr(-0.0), "-0.0");
    EXPECT_EQ(float_repr(1.0 / 0.0), "inf");
}

TEST(JinjaPyString, SliceIndicesMatchPython) {
    using V = std::vector<int64_t>;
    EXPECT_EQ(py::slice_indices(5, std::nullopt, std::nullopt, -1), (V{4, 3, 2, 1, 0}));
    EXPECT_EQ(py::slice_indices(5, -1, 0, -1), (V{4, 3, 2, 1}));
    EXPECT_EQ(py::slice_indices(5, 10, std::nullopt, -2), (V{4, 2, 0}));
    EXPECT_EQ(py::slice_indices(5, -100, 100, 2), (V{0, 2, 4}));
    EXPECT_EQ(py::slice_indices(0, std::nullopt, std::nullopt, -1), V{});
}

TEST(JinjaPyString, SplitStripRepr) {
    using S = std::vector<std::string>;
    EXPECT_EQ(py::split("  a  b c  ", std::nullopt, -1), (S{"a", "b", "c"}));
    EXPECT_EQ(py::split("  a  b c  ", std::nullopt, 1), (S{"a", "b c  "}));
    EXPECT_EQ(py::rsplit("  a  b c  ", std::nullopt, 1), (S{"  a  b", "c"}));
    EXPECT_EQ(py::split("a</think>b</think>c", std::string("</think>"), -1), (S{"a", "b", "c"}));
    EXPECT_EQ(py::strip("\u3000\u00a0 x \u2028", std::nullopt, true, true), "x");  // Python str.isspace()
    EXPECT_EQ(py::strip("\n\nx\n", std::string("\n"), true, false), "x\n");
    EXPECT_EQ(py::repr("it's"), "\"it's\"");
    EXPECT_EQ(py::repr("a\n\x01\u00a0é"), "'a\\n\\x01\\xa0é'");
    EXPECT_EQ(py::length("héllo✓😀"), 7u);
}

}  // namespace
}  // namespace rf::jinja
