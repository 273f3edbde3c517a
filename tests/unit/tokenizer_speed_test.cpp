// Throughput of the real Qwen3 tokenizer on the held-out English text, on one core (thread CPU
// time; information only: tests never fail on speed). A fresh Tokenizer gives the cold-cache
// figure (every word is new to the piece cache), repeated encodes the warm one; decode is timed
// too. The ids are checked against the reference fingerprint, so the figures are for correct
// output.
//
//   ROCMFORGE_SHARED_DIR=/work/shared build/tests/rocmforge_tests --gtest_filter='TokenizerSpeed.*'
#include <algorithm>

#include "tokenizer_test_util.h"

namespace rf {
namespace {

double seconds_since(double start) {
    return test::thread_cpu_seconds() - start;
}

TEST(TokenizerSpeed, Qwen3HeldoutThroughput) {
    RF_REQUIRE_SHARED();
    const auto fixture = test::read_tokenizer_fixture("qwen3_reference.json");
    const std::string text = test::read_text_file(test::shared_dir() / "text" / "heldout.txt");
    const Tokenizer tokenizer(test::qwen3_tokenizer()->vocab());  // fresh: empty piece cache
    const double mb = static_cast<double>(text.size()) / 1e6;

    double start = test::thread_cpu_seconds();
    const std::vector<int32_t> ids = tokenizer.encode(text, false, true);
    const double cold = seconds_since(start);
    EXPECT_EQ(test::ids_fingerprint(ids), fixture["heldout"]["fnv1a64"].get<std::string>());

    double warm = 1e9;
    for (int i = 0; i < 5; ++i) {
        start = test::thread_cpu_seconds();
        const std::vector<int32_t> again = tokenizer.encode(text, false, true);
        warm = std::min(warm, seconds_since(start));
        EXPECT_EQ(again.size(), ids.size());
    }
    double decode = 1e9;
    for (int i = 0; i < 5; ++i) {
        start = test::thread_cpu_seconds();
        const std::string back = tokenizer.decode(ids);
        decode = std::min(decode, seconds_since(start));
        EXPECT_EQ(back.size(), text.size());
    }
    std::printf(
        "[ info ] Qwen3 tokenizer, held-out text %.3f MB, %zu tokens: encode %.1f MB/s (cold "
        "cache), "
        "%.1f MB/s (warm cache); decode %.0f MB/s\n",
        mb, ids.size(), mb / cold, mb / warm, mb / decode);
}

}  // namespace
}  // namespace rf
