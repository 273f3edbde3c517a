// The run / logits / perplexity / tokenize / template commands end to end on the embedded
// default model (CPU), including their errors for bad input.
#include <gtest/gtest.h>

#include <sstream>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_test_util.h"
#include "engine/default_model.h"
#include "formats/gguf/gguf_file.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab_gguf.h"

namespace rf {
namespace {

const Tokenizer& default_tokenizer() {
    static const Tokenizer tok(vocab_from_gguf(*open_default_model()));
    return tok;
}

TEST(CliTokenize, PrintsIdsAndDecodesThemBack) {
    const std::string text = "Hello world <|im_start|>user\n";
    const auto r = test::run_cli("tokenize --text " + fmt::format("'{}'", text));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto ids = nlohmann::json::parse(r.out).get<std::vector<int32_t>>();
    EXPECT_EQ(ids, default_tokenizer().encode(text, false, true));
    EXPECT_NE(std::find(ids.begin(), ids.end(), 8190), ids.end());  // <|im_start|> parsed as special
    const auto back = test::run_cli("tokenize --decode -f -", r.out);
    ASSERT_EQ(back.exit_code, 0) << back.err;
    EXPECT_EQ(back.out, text);
    const auto bad = test::run_cli("tokenize --decode --text '[1, \"x\"]'");
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_NE(bad.err.find("is not a token id"), std::string::npos) << bad.err;
}

// Escapes in command-line text (\n, \t, \xHH, ...), as llama.cpp's tools: on by default, --no-escape
// takes the text as written; a file's text is never changed.
TEST(CliTokenize, ProcessesEscapesInTextUnlessNoEscape) {
    const auto r = test::run_cli("tokenize --text 'a\\nb\\x41\\q'");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out).get<std::vector<int32_t>>(), default_tokenizer().encode("a\nbA\\q", false, true));
    const auto raw = test::run_cli("tokenize --no-escape --text 'a\\nb'");
    ASSERT_EQ(raw.exit_code, 0) << raw.err;
    EXPECT_EQ(nlohmann::json::parse(raw.out).get<std::vector<int32_t>>(), default_tokenizer().encode("a\\nb", false, true));
    const auto file = test::temp_dir() / "cli_tokenize_escape.txt";
    std::ofstream(file) << "a\\nb";
    const auto from_file = test::run_cli("tokenize -f " + test::quote(file));
    ASSERT_EQ(from_file.exit_code, 0) << from_file.err;
    EXPECT_EQ(from_file.out, raw.out);
    const auto both = test::run_cli("tokenize --no-escape -f " + test::quote(file));
    EXPECT_NE(both.exit_code, 0);  // the flag would do nothing on a file: refused
    EXPECT_NE(both.err.find("excludes"), std::string::npos) << both.err;
}

TEST(CliRun, StopStringEscapes) {
    // the default model's greedy text has a line break within 64 tokens: "\n" as a stop string ends there
    const std::string run = "run --device cpu -p 'The Python interpreter' -n 64 --temp 0 --stop '\\n' ";
    const auto escaped = test::run_cli(run);
    ASSERT_EQ(escaped.exit_code, 0) << escaped.err;
    EXPECT_EQ(escaped.out.find('\n'), std::string::npos) << escaped.out;
    EXPECT_NE(escaped.err.find("finish: stop"), std::string::npos) << escaped.err;
    const auto literal = test::run_cli(run + "--no-escape");
    ASSERT_EQ(literal.exit_code, 0) << literal.err;
    EXPECT_NE(literal.out.find('\n'), std::string::npos) << literal.out;
}

TEST(CliTemplate, RendersTheModelTemplateAndRejectsBadJson) {
    const auto ctx = test::temp_dir() / "cli_template_ctx.json";
    std::ofstream(ctx) << R"({"messages":[{"role":"user","content":"Hi"}],"add_generation_prompt":true})";
    const auto r = test::run_cli("template -f " + test::quote(ctx));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    std::ofstream(ctx) << R"({"messages": [)";
    const auto bad = test::run_cli("template -f " + test::quote(ctx));
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_NE(bad.err.find("not valid JSON"), std::string::npos) << bad.err;
    // valid JSON the template cannot use: the error names the file as well as the template's line
    std::ofstream(ctx) << R"({"messages": "x"})";
    const auto unusable = test::run_cli("template -f " + test::quote(ctx));
    EXPECT_EQ(unusable.exit_code, 1);
    EXPECT_NE(unusable.err.find(ctx.string() + ": chat template"), std::string::npos) << unusable.err;
}

TEST(CliRun, StreamsOnlyTheGeneratedTextAndReportsSpeedOnStderr) {
    const auto r = test::run_cli("run --device cpu -p 'The Python interpreter' -n 12 --temp 0");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.rfind(" is compiled to work with the compiled Python", 0), 0u) << r.out;
    EXPECT_EQ(r.out.find("The Python interpreter"), std::string::npos);  // the prompt is not echoed
    EXPECT_NE(r.err.find("tokens/s"), std::string::npos) << r.err;
    const auto missing = test::run_cli("run --device cpu -m /nonexistent/model.gguf -p hi");
    EXPECT_EQ(missing.exit_code, 1);
    EXPECT_NE(missing.err.find("/nonexistent/model.gguf: cannot open"), std::string::npos) << missing.err;
    const auto too_long = test::run_cli("run --device cpu -c 8 -p 'one two three four five six seven eight nine ten'");
    EXPECT_EQ(too_long.exit_code, 1);
    EXPECT_NE(too_long.err.find("more than the context size 8"), std::string::npos) << too_long.err;
}

// --draft: prompt-lookup speculative decoding, the stats line on stderr.
TEST(CliRun, DraftReportsTheKeptDraftTokens) {
    const std::string code = "def add(a, b):\\n    return a + b\\n\\ndef sub(a, b):\\n    return a - b\\n\\ndef add(a, b):\\n    return a + b\\n\\ndef sub(a, b):\\n";
    const auto r = test::run_cli("run --device cpu -n 32 --temp 0 --draft 6 -p " + test::quote(code));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("speculative (prompt lookup): "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("tokens per forward pass"), std::string::npos) << r.err;
}

// --logit-bias: banning the greedy first token (" is", id 305) changes the text.
TEST(CliRun, LogitBiasBansAToken) {
    const auto plain = test::run_cli("run --device cpu -p 'The Python interpreter' -n 4 --temp 0");
    const auto banned = test::run_cli("run --device cpu -p 'The Python interpreter' -n 4 --temp 0 --logit-bias 305-inf");
    ASSERT_EQ(plain.exit_code, 0) << plain.err;
    ASSERT_EQ(banned.exit_code, 0) << banned.err;
    EXPECT_EQ(plain.out.rfind(" is", 0), 0u) << plain.out;
    EXPECT_NE(banned.out.rfind(" is", 0), 0u) << banned.out;
}

// -j / --json-schema-file: the output is a document of the schema, and generation ends with it.
TEST(CliRun, JsonSchemaMakesTheOutputADocument) {
    const std::string schema = R"({"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}, "required": ["name", "age"]})";
    const auto inline_schema = test::run_cli("run --device cpu -p 'A person: ' -n 200 --temp 0 -j " + test::quote(schema));
    ASSERT_EQ(inline_schema.exit_code, 0) << inline_schema.err;
    EXPECT_NE(inline_schema.err.find("finish: eos"), std::string::npos) << inline_schema.err;
    nlohmann::json v;
    ASSERT_NO_THROW(v = nlohmann::json::parse(inline_schema.out)) << inline_schema.out;
    EXPECT_TRUE(v["name"].is_string() && v["age"].is_number_integer()) << inline_schema.out;
    const auto file = test::temp_dir() / "cli_run_schema.json";
    std::ofstream(file) << schema;
    const auto from_file = test::run_cli("run --device cpu -p 'A person: ' -n 200 --temp 0 --json-schema-file " + test::quote(file));
    ASSERT_EQ(from_file.exit_code, 0) << from_file.err;
    EXPECT_EQ(from_file.out, inline_schema.out);
}

// rocmforge embed: one normalised vector per input, the same from -p and -f and in --json's body.
TEST(CliEmbed, OneVectorPerInput) {
    auto vectors = [](const std::string& out) {
        std::vector<std::vector<double>> v;
        std::istringstream lines(out);
        for (std::string line; std::getline(lines, line);) {
            std::istringstream nums(line);
            v.emplace_back();
            for (double x; nums >> x;) v.back().push_back(x);
        }
        return v;
    };
    auto norm = [](const std::vector<double>& v) {
        double s = 0.0;
        for (double x : v) s += x * x;
        return std::sqrt(s);
    };
    const auto two = test::run_cli("embed --device cpu -p 'The Python interpreter' -p 'Hello there'");
    ASSERT_EQ(two.exit_code, 0) << two.err;
    const auto v = vectors(two.out);
    ASSERT_EQ(v.size(), 2u);
    EXPECT_GT(v[0].size(), 8u);
    EXPECT_EQ(v[0].size(), v[1].size());
    EXPECT_NEAR(norm(v[0]), 1.0, 1e-6);
    EXPECT_NE(v[0], v[1]);
    const auto file = test::temp_dir() / "cli_embed_inputs.txt";
    std::ofstream(file) << "The Python interpreter\n\nHello there\n";
    const auto from_file = test::run_cli("embed --device cpu -f " + test::quote(file));
    ASSERT_EQ(from_file.exit_code, 0) << from_file.err;
    EXPECT_EQ(from_file.out, two.out);
    const auto js = test::run_cli("embed --device cpu -p 'The Python interpreter' --json");
    ASSERT_EQ(js.exit_code, 0) << js.err;
    const auto body = nlohmann::json::parse(js.out);
    const auto e = body["data"][0]["embedding"].get<std::vector<double>>();
    ASSERT_EQ(e.size(), v[0].size());
    for (size_t i = 0; i < e.size(); ++i) ASSERT_NEAR(e[i], v[0][i], 1e-7);
    const auto raw = test::run_cli("embed --device cpu -p 'The Python interpreter' --no-normalize --pooling mean");
    ASSERT_EQ(raw.exit_code, 0) << raw.err;
    EXPECT_GT(std::abs(norm(vectors(raw.out)[0]) - 1.0), 1e-3);
    const auto none = test::run_cli("embed --device cpu");
    EXPECT_NE(none.exit_code, 0);
    EXPECT_NE(none.err.find("embed: no input"), std::string::npos) << none.err;
}

TEST(CliRun, PromptFromAFileAndTokensUntilTheContextIsFull) {
    const auto prompt = test::temp_dir() / "cli_run_prompt.txt";
    std::ofstream(prompt) << "The Python interpreter";
    const auto from_file = test::run_cli("run --device cpu -f " + test::quote(prompt) + " -n 12 --temp 0");
    ASSERT_EQ(from_file.exit_code, 0) << from_file.err;
    EXPECT_EQ(from_file.out.rfind(" is compiled to work with the compiled Python", 0), 0u) << from_file.out;
    // -n -1 (as llama.cpp): until end of generation or a full context; with --ignore-eos the context
    // of 40 tokens fills: 4 prompt tokens (with BOS: the stats line says how many) + the rest generated
    const auto unlimited = test::run_cli("run --device cpu -c 40 -f " + test::quote(prompt) + " -n -1 --temp 0 --ignore-eos");
    ASSERT_EQ(unlimited.exit_code, 0) << unlimited.err;
    EXPECT_NE(unlimited.err.find("finish: context_full"), std::string::npos) << unlimited.err;
    const int n_prompt = std::stoi(unlimited.err.substr(unlimited.err.find("prompt: ") + 8));
    EXPECT_NE(unlimited.err.find("generation: " + std::to_string(40 - n_prompt + 1) + " tokens"), std::string::npos)
        << unlimited.err;
    const auto both = test::run_cli("run --device cpu -p hi -f " + test::quote(prompt));
    EXPECT_NE(both.exit_code, 0);
    EXPECT_NE(both.err.find("excludes"), std::string::npos) << both.err;
    const auto below = test::run_cli("run --device cpu -p hi -n -2");
    EXPECT_NE(below.exit_code, 0);
    EXPECT_NE(below.err.find("--n-predict"), std::string::npos) << below.err;
}

// --chat-template-file: the chat rendered by another template (run --chat and template), refused where no
// chat is rendered, and a template that cannot render a user turn fails at load naming the file.
TEST(CliRun, ChatTemplateFileReplacesTheModelsTemplate) {
    const std::string qwen3 = test::quote(test::source_dir() / "tests" / "fixtures" / "jinja" / "templates" / "qwen3.jinja");
    const auto ctx = test::temp_dir() / "cli_template_ctx.json";
    std::ofstream(ctx) << R"({"messages": [{"role": "user", "content": "Hi"}], "add_generation_prompt": true, "enable_thinking": false})";
    const auto own = test::run_cli("template -f " + test::quote(ctx));
    const auto other = test::run_cli("template -f " + test::quote(ctx) + " --chat-template-file " + qwen3);
    ASSERT_EQ(other.exit_code, 0) << other.err;
    EXPECT_NE(other.out, own.out);
    EXPECT_NE(other.out.find("<think>\n\n</think>"), std::string::npos) << other.out;  // (Qwen3's, with thinking off)
    const auto chat = test::run_cli("run --device cpu --chat -n 4 --temp 0 --chat-template-file " + qwen3, "Hello\n");
    EXPECT_EQ(chat.exit_code, 0) << chat.err;
    const auto no_chat = test::run_cli("run --device cpu -p hi -n 4 --chat-template-file " + qwen3);
    EXPECT_NE(no_chat.exit_code, 0);
    EXPECT_NE(no_chat.err.find("--chat-template-file renders the chat of --chat"), std::string::npos) << no_chat.err;
    const auto broken_file = test::temp_dir() / "cli_broken.jinja";
    std::ofstream(broken_file) << "{% for m in messages %}{{ m.content ";
    const auto broken = test::run_cli("run --device cpu --chat -n 4 --chat-template-file " + test::quote(broken_file), "Hello\n");
    EXPECT_NE(broken.exit_code, 0);
    EXPECT_NE(broken.err.find("--chat-template-file " + broken_file.string()), std::string::npos) << broken.err;
}

TEST(CliRun, ChatKeepsTheConversation) {
    const auto r = test::run_cli("run --device cpu --chat --system 'Be brief.' -n 6 --temp 0", "What is a list?\nAnd a dict?\n");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // Two turns, two stats lines; the second turn feeds only the new tokens.
    size_t first = r.err.find("prompt: "), second = r.err.find("prompt: ", first + 1);
    ASSERT_NE(second, std::string::npos) << r.err;
    const int fed_first = std::stoi(r.err.substr(first + 8)), fed_second = std::stoi(r.err.substr(second + 8));
    EXPECT_GT(fed_first, 10);
    EXPECT_LT(fed_second, fed_first + 12);  // history is reused, not fed again
}

// A model with a recurrent state (Qwen3.5 hybrid): the second chat turn reuses the history by feeding the
// kept tokens again (Session::truncate), and the conversation goes on as with a KV-only model.
TEST(CliRun, ChatWithAHybridModelKeepsTheConversation) {
    RF_REQUIRE_SHARED();
    const auto model = test::shared_dir() / "models" / "llamacpp-gguf" / "tiny-qwen35moe-llamacpp-q8_0.gguf";
    const auto r = test::run_cli("run --device cpu -m " + test::quote(model) + " --chat -n 6 --temp 0",
                                 "What is a list?\nAnd a dict?\n");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const size_t first = r.err.find("prompt: "), second = r.err.find("prompt: ", first + 1);
    ASSERT_NE(second, std::string::npos) << r.err;
    EXPECT_NE(r.err.find("(qwen35moe"), std::string::npos) << r.err;
}

TEST(CliLogits, WritesEveryPositionsRow) {
    const auto out = test::temp_dir() / "cli_logits.f32";
    const auto r = test::run_cli("logits --device cpu --text 'Hello, world' --out " + test::quote(out));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const size_t n_tokens = default_tokenizer().encode("Hello, world", true, true).size();
    EXPECT_EQ(std::filesystem::file_size(out), n_tokens * 8192 * sizeof(float));
    std::ifstream f(out, std::ios::binary);
    std::vector<float> row(8192);
    f.read(reinterpret_cast<char*>(row.data()), static_cast<std::streamsize>(row.size() * 4));
    for (float x : row) ASSERT_TRUE(std::isfinite(x));
}

TEST(CliPerplexity, PrintsWindowsAndComparesAKlBase) {
    const auto text = test::temp_dir() / "cli_ppl.txt";
    {
        std::ofstream f(text);
        for (int i = 0; i < 40; ++i) f << "The quick brown fox jumps over the lazy dog while the Python interpreter runs. ";
    }
    const auto base = test::temp_dir() / "cli_ppl.klbase";
    std::filesystem::remove(base);
    const std::string args = "perplexity --device cpu -f " + test::quote(text) + " --ctx 64 --chunks 3 --kl-base " + test::quote(base);
    const auto first = test::run_cli(args);
    ASSERT_EQ(first.exit_code, 0) << first.err;
    EXPECT_NE(first.out.find("[3/3] window ppl"), std::string::npos) << first.out;
    EXPECT_NE(first.out.find("wrote KL base"), std::string::npos) << first.out;
    const auto pos = first.out.find("perplexity: ");
    ASSERT_NE(pos, std::string::npos);
    EXPECT_GT(std::stod(first.out.substr(pos + 12)), 1.0);
    // The same configuration again: KL 0, same top token everywhere.
    const auto second = test::run_cli(args);
    ASSERT_EQ(second.exit_code, 0) << second.err;
    EXPECT_NE(second.out.find("mean KL divergence"), std::string::npos) << second.out;
    EXPECT_NE(second.out.find("same top token: 100.00 %"), std::string::npos) << second.out;
    // A base made for another window size is refused with the numbers.
    const auto other = test::run_cli("perplexity --device cpu -f " + test::quote(text) + " --ctx 32 --chunks 3 --kl-base " + test::quote(base));
    EXPECT_EQ(other.exit_code, 1);
    EXPECT_NE(other.err.find("ctx 64"), std::string::npos) << other.err;
}

}  // namespace
}  // namespace rf
