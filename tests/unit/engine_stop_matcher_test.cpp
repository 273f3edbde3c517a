#include <gtest/gtest.h>

#include "engine/stop_matcher.h"

namespace rf {
namespace {

TEST(StopMatcher, HoldsBackPossiblePrefixesAndStops) {
    StopMatcher m({"</end>", "STOP"});
    auto r = m.push("hello </e");
    EXPECT_EQ(r.emit, "hello ");
    EXPECT_FALSE(r.stopped);
    r = m.push("x> more ST");
    EXPECT_EQ(r.emit, "</ex> more ");
    r = m.push("OP tail");
    EXPECT_TRUE(r.stopped);
    EXPECT_EQ(r.emit, "");
}

TEST(StopMatcher, EarliestStopWinsAndFlushReturnsTheRest) {
    StopMatcher m({"bb", "a"});
    auto r = m.push("xxbbya");
    EXPECT_TRUE(r.stopped);
    EXPECT_EQ(r.emit, "xx");
    EXPECT_EQ(r.matched, "bb");  // the earliest in the text, not the first listed
    StopMatcher tie({"ab", "a"});
    EXPECT_EQ(tie.push("xab").matched, "ab");  // same start: the first listed
    StopMatcher n({"zzz"});
    EXPECT_EQ(n.push("abz").emit, "ab");
    EXPECT_EQ(n.flush(), "z");
    StopMatcher none({});
    EXPECT_EQ(none.push("anything").emit, "anything");
}

}  // namespace
}  // namespace rf
