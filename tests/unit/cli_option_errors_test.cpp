// Options that cannot be honoured are refused with a message naming the option and the value,
// never accepted and ignored (run, bench, tokenize, convert, logits, perplexity; CPU, the
// embedded default model).
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "cli_test_util.h"

namespace rf {
namespace {

struct Refusal {
    std::string args;
    std::string message;  // a part of stderr
};

void expect_refused(const std::vector<Refusal>& cases) {
    for (const Refusal& c : cases) {
        const auto r = test::run_cli(c.args);
        EXPECT_NE(r.exit_code, 0) << c.args << " was accepted:\n" << r.err;
        EXPECT_NE(r.err.find(c.message), std::string::npos) << c.args << "\n" << r.err;
        EXPECT_TRUE(r.out.empty()) << c.args << ": work was done before the refusal:\n" << r.out;
    }
}

TEST(CliOptionErrors, SamplingValuesOutOfRange) {
    const std::string run = "run --device cpu -p hi -n 4 ";
    const auto any_schema = test::temp_dir() / "cli_any_schema.json";
    std::ofstream(any_schema) << "{}";
    expect_refused({
        {run + "--temp nan", "--temp: must be a finite number >= 0 (got nan)"},
        {run + "--temp -1", "--temp: must be a finite number >= 0 (got -1)"},
        {run + "--frequency-penalty -inf", "--frequency-penalty: must be a finite number"},
        {run + "--presence-penalty nan", "--presence-penalty: must be a finite number"},
        {run + "--top-k -5", "--top-k: must be a finite number >= 0 (got -5)"},
        {run + "--repeat-last-n -7", "--repeat-last-n"},
        {run + "--stop ''", "--stop: an empty string is not a valid value"},
        {run + "--top-p nan", "sampling: top_p must be > 0 (got nan)"},
        {run + "--seed abc", "--seed: must be -1 (random) or an integer in [0, 2^64) (got abc)"},
        {run + "--seed -2", "(got -2)"},
        {run + "-j '{\"type\": \"object\", \"not\": {}}'", "--json-schema: json schema #: keyword \"not\" is not supported"},
        {run + "-j '{\"type\": '", "--json-schema: the schema is not JSON"},
        {run + "--json-schema-file /nonexistent.json", "/nonexistent.json"},
        {run + "-j '{}' --json-schema-file " + test::quote(any_schema), "excludes"},
        {run + "--temp 0 --draft 2 -j '{}'", "--draft and --json-schema do not go together"},
    });
}

TEST(CliOptionErrors, OptionsThatWouldBeIgnored) {
    expect_refused({
        {"run --device cpu -p hi -n 4 --system 'Be brief.'", "--system sets the chat's system message; it needs --chat"},
        {"run --device cpu -p hi -n 4 --draft 4 --temp 0.7", "--draft 4 verifies drafts greedily; it needs --temp 0 (got --temp 0.7)"},
        {"run --device cpu -p hi -n 4 --temp 0 --draft-ngram 2", "--draft-ngram requires --draft"},
        {"run --device cpu -p hi -n 4 --logit-bias 12x", "--logit-bias \"12x\": expected TOKEN_ID+BIAS or TOKEN_ID-BIAS"},
        {"run --device cpu -p hi -n 4 --logit-bias 12+big", "--logit-bias \"12+big\": the bias \"+big\" is not a finite number"},
        {"run --device gpu -p hi -n 4 -t 4", "-t/--threads 4 sets CPU compute threads; the GPU backend"},
        {"bench --synthetic tiny:q8_0 --device cpu -p 0 -n 0", "bench: nothing to run (-p 0 and -n 0)"},
        {"bench --synthetic tiny:q8_0 --device cpu -n 2 -o csv --profile", "--profile's per-op tables have no CSV form"},
        {"tokenize --decode --bos --text '[1]'", "--bos excludes --decode"},
        {"tokenize --decode --no-parse-special --text '[1]'", "--no-parse-special excludes --decode"},
        {"tokenize", "tokenize: no input; pass --text TEXT or -f FILE"},
        {"convert hf /nonexistent out.gguf --vocab-only -t 2", "--vocab-only excludes --threads"},
    });
}

TEST(CliOptionErrors, SizesBeyondWhatCanWork) {
    expect_refused({
        {"run --device cpu -p hi -n 4 -t 1000", "1000 CPU threads requested (-t/--threads); at most 512"},
        {"run --device cpu -p hi -n 4 -c 2147483647", "context size 2147483647 (--ctx-size) is above the largest supported"},
        {"bench --synthetic tiny:q8_0 --device cpu -d 2147483640 -n 4", "bench: -d 2147483640 + max(-p 512, -n 4) tokens of context"},
        {"bench --synthetic tiny:q8_0 --device cpu -d 0,-5 -n 4", "--depth: must be a finite number >= 0 (got -5)"},
        {"tokenize --decode --text '[4294967296]'", "token id 4294967296 is out of range [0, 8192)"},
        {"tokenize --decode --text '[-1]'", "token id -1 is out of range"},
        {"quantize /nonexistent.gguf out.gguf q4_0 -t -3", "--threads: must be a finite number >= 0 (got -3)"},
    });
}

TEST(CliOptionErrors, ContextWhoseKvCacheOutgrowsTheMachineIsRefusedBeforeItIsAllocated) {
    // the largest context, 2^24 tokens, needs a ~47 GiB KV cache for the default model
    const uint64_t ram = static_cast<uint64_t>(::sysconf(_SC_PHYS_PAGES)) * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    if (ram > (40ull << 30)) GTEST_SKIP() << "this machine has the memory for it";
    expect_refused({{"run --device cpu -p hi -n 4 -c 16777216", "context size 16777216 (--ctx-size) needs a"}});
}

TEST(CliOptionErrors, InputFilesThatAreNotText) {
    const auto dir = test::temp_dir();
    expect_refused({
        {"tokenize -f " + test::quote(dir), "is a directory, not a text file"},
        {"perplexity --device cpu -f " + test::quote(dir), "is a directory, not a text file"},
    });
    const auto text = dir / "cli_kl_dir.txt";
    {
        std::ofstream f(text);
        for (int i = 0; i < 20; ++i) f << "The quick brown fox jumps over the lazy dog. ";
    }
    const auto r = test::run_cli("perplexity --device cpu -f " + test::quote(text) + " --ctx 32 --kl-base " + test::quote(dir));
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("--kl-base names a directory"), std::string::npos) << r.err;
}

TEST(CliOptionErrors, PerplexityTextShorterThanOneWindowNamesTheFile) {
    const auto text = test::temp_dir() / "cli_ppl_short.txt";
    std::ofstream(text) << "Too short.";
    const auto r = test::run_cli("perplexity --device cpu -f " + test::quote(text) + " -c 64");  // (-c as llama-perplexity's)
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("perplexity: " + text.string() + " has "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("fewer than one window of 64 (--ctx)"), std::string::npos) << r.err;
}

TEST(CliOptionErrors, ServeSettingsThatCannotWork) {
    expect_refused({
        {"serve --device cpu --host nonsense --port 0", "--host \"nonsense\" is not an IP address"},
        {"serve --device cpu --port 0 --parallel 8 -b 4", "batch size 4 must hold one token of each of the 8 parallel requests"},
        {"serve --device cpu --port 0 --parallel 0", "--parallel: must be a finite number > 0 (got 0)"},
        {"serve --device cpu --port 0 --api-key", "--api-key"},
        {"serve --device cpu --port 0 --models-dir /nonexistent-models", "--models-dir: Directory does not exist: /nonexistent-models"},
    });
}

TEST(CliOptionErrors, LogitsOutputIsCheckedBeforeTheModelRunsAndNotLeftBehindOnFailure) {
    const auto r = test::run_cli("logits --device cpu --text hi --out /nonexistent-dir/x.f32");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("/nonexistent-dir/x.f32: cannot create"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("model:"), std::string::npos);
    const auto out = test::temp_dir() / "cli_logits_too_long.f32";
    std::filesystem::remove(out);
    const auto too_long = test::run_cli("logits --device cpu -c 4 --text 'one two three four five six' --out " + test::quote(out));
    EXPECT_EQ(too_long.exit_code, 1);
    EXPECT_NE(too_long.err.find("more than the context size 4"), std::string::npos) << too_long.err;
    EXPECT_FALSE(std::filesystem::exists(out));  // created first, removed when the run failed
}

TEST(CliOptionErrors, ChatTurnLongerThanTheContextIsDroppedAndTheConversationGoesOn) {
    std::string long_turn;
    for (int i = 0; i < 100; ++i) long_turn += "word ";
    const auto r = test::run_cli("run --device cpu --chat -c 64 -n 4 --temp 0", "hi\n" + long_turn + "\nhello\n");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("(--ctx-size); the turn is dropped"), std::string::npos) << r.err;
    size_t stats = 0;
    for (size_t p = r.err.find("prompt: "); p != std::string::npos; p = r.err.find("prompt: ", p + 1)) ++stats;
    EXPECT_EQ(stats, 2u) << r.err;  // the first and the third turn ran
}

TEST(CliOptionErrors, SeedMinusOneAsksForARandomSeed) {
    // -1 is llama.cpp's "random seed"; a fixed seed repeats its text
    const std::string args = "run --device cpu -p 'The Python interpreter' -n 16 --temp 1.5 --top-k 0 --top-p 1 --min-p 0 --seed ";
    const auto a = test::run_cli(args + "7"), b = test::run_cli(args + "7");
    ASSERT_EQ(a.exit_code, 0) << a.err;
    EXPECT_EQ(a.out, b.out);
    // -1 draws a new seed each run: three runs at temperature 1.5 over 16 tokens do not all repeat
    const auto r1 = test::run_cli(args + "-1"), r2 = test::run_cli(args + "-1"), r3 = test::run_cli(args + "-1");
    ASSERT_EQ(r1.exit_code, 0) << r1.err;
    EXPECT_FALSE(r1.out == r2.out && r2.out == r3.out) << r1.out;
    const auto help = test::run_cli("run --help");
    EXPECT_NE(help.out.find("-1: a random seed"), std::string::npos) << help.out;
}

}  // namespace
}  // namespace rf
