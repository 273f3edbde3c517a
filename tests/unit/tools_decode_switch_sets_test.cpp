// The benchmarks' named decode-switch sets: each name sets its RF_GPU_* variable, a set unsets the
// variables of the names it does not hold, values follow '=', unknown names are errors.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "core/error.h"
#include "tools/decode_switch_sets.h"

namespace rf {
namespace {

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr ? v : "<unset>";
}

TEST(DecodeSwitchSets, NamesSetTheirVariablesAndOthersAreUnset) {
    set_decode_switches("rope-off+attn-chunk=128+skip=attention:combine+wpr=2");
    EXPECT_EQ(env("RF_GPU_ROPE_ATTN"), "off");
    EXPECT_EQ(env("RF_GPU_ATTN_MIN_CHUNK"), "128");
    EXPECT_EQ(env("RF_GPU_PROFILE_SKIP"), "attention,combine");
    EXPECT_EQ(env("RF_GPU_MATVEC_WARPS_PER_ROW"), "2");
    set_decode_switches("copies+xdirect-off+mma-stages=3");
    EXPECT_EQ(env("RF_GPU_ZERO_COPY"), "off");
    EXPECT_EQ(env("RF_GPU_MATVEC1_XDIRECT"), "off");
    EXPECT_EQ(env("RF_GPU_ATTN_MMA_STAGES"), "3");
    EXPECT_EQ(env("RF_GPU_ROPE_ATTN"), "<unset>") << "a set unsets the switches it does not name";
    EXPECT_EQ(env("RF_GPU_PROFILE_SKIP"), "<unset>");
    set_decode_switches("default");
    EXPECT_EQ(env("RF_GPU_ZERO_COPY"), "<unset>");
    EXPECT_EQ(env("RF_GPU_ATTN_MMA_STAGES"), "<unset>");
}

TEST(DecodeSwitchSets, UnknownNamesAndMissingValuesAreErrors) {
    for (const char* bad : {"rope-of", "rope-off+nope", "wpr=", "xdirect-offf", ""}) {
        try {
            set_decode_switches(bad);
            ADD_FAILURE() << "accepted '" << bad << "'";
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("decode switch"), std::string::npos) << e.what();
        }
    }
    set_decode_switches("default");
    EXPECT_NE(decode_switch_names().find("attn-chunk=N"), std::string::npos);
}

}  // namespace
}  // namespace rf
