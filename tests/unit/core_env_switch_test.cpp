// Environment switches: known values map to their index, unset and empty give the fallback,
// anything else is an error naming the variable and the value; integers are clamped.
#include <gtest/gtest.h>

#include <cstdlib>

#include "core/env_switch.h"
#include "core/error.h"

namespace rf {
namespace {

constexpr const char* kVar = "RF_TEST_ENV_SWITCH";

TEST(EnvSwitch, ChoiceMapsValuesAndRejectsUnknownOnes) {
    ::unsetenv(kVar);
    EXPECT_EQ(env_choice(kVar, {"off", "long", "all"}, 2), 2);
    ::setenv(kVar, "", 1);
    EXPECT_EQ(env_choice(kVar, {"off", "long", "all"}, 2), 2);
    ::setenv(kVar, "off", 1);
    EXPECT_EQ(env_choice(kVar, {"off", "long", "all"}, 2), 0);
    ::setenv(kVar, "long", 1);
    EXPECT_EQ(env_choice(kVar, {"off", "long", "all"}, 2), 1);
    ::setenv(kVar, "Off", 1);
    try {
        env_choice(kVar, {"off", "long", "all"}, 2);
        ADD_FAILURE() << "an unknown value was accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("RF_TEST_ENV_SWITCH=Off"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("off, long, all"), std::string::npos) << e.what();
    }
    ::unsetenv(kVar);
}

TEST(EnvSwitch, IntegersAreClampedAndCheckedForm) {
    ::unsetenv(kVar);
    EXPECT_EQ(env_int(kVar, 2, 4, 3), 3);
    ::setenv(kVar, "4", 1);
    EXPECT_EQ(env_int(kVar, 2, 4, 3), 4);
    ::setenv(kVar, "100000", 1);
    EXPECT_EQ(env_int(kVar, 2, 4, 3), 4);
    ::setenv(kVar, "-7", 1);
    EXPECT_EQ(env_int(kVar, 2, 4, 3), 2);
    for (const char* bad : {"x", "3x", "9999999999999999999999"}) {
        ::setenv(kVar, bad, 1);
        EXPECT_THROW(env_int(kVar, 2, 4, 3), Error) << bad;
    }
    ::unsetenv(kVar);
}

TEST(EnvSwitch, ListsSplitAtCommasAndDropEmptyItems) {
    ::unsetenv(kVar);
    EXPECT_TRUE(env_list(kVar).empty());
    ::setenv(kVar, "", 1);
    EXPECT_TRUE(env_list(kVar).empty());
    ::setenv(kVar, "attention", 1);
    EXPECT_EQ(env_list(kVar), std::vector<std::string>({"attention"}));
    ::setenv(kVar, ",a,,b_c,", 1);
    EXPECT_EQ(env_list(kVar), std::vector<std::string>({"a", "b_c"}));
    ::unsetenv(kVar);
}

}  // namespace
}  // namespace rf
