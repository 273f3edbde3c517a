#include <gtest/gtest.h>

#include "core/error.h"
#include "formats/tensor_type.h"

namespace rf {
namespace {

TEST(TensorType, SizesMatchGgml) {
    EXPECT_EQ(row_size(TensorType::F32, 10), 40u);
    EXPECT_EQ(row_size(TensorType::BF16, 10), 20u);
    EXPECT_EQ(row_size(TensorType::Q4_0, 64), 36u);
    EXPECT_EQ(row_size(TensorType::Q8_0, 256), 272u);
    EXPECT_EQ(row_size(TensorType::Q4_K, 512), 288u);
    EXPECT_EQ(row_size(TensorType::Q6_K, 256), 210u);
    EXPECT_THROW(row_size(TensorType::Q4_K, 100), Error);
}

TEST(TensorType, ParsesNames) {
    EXPECT_EQ(parse_tensor_type("q4_k"), TensorType::Q4_K);
    EXPECT_EQ(parse_tensor_type("Q8_0"), TensorType::Q8_0);
    EXPECT_EQ(parse_tensor_type("bf16"), TensorType::BF16);
    EXPECT_FALSE(parse_tensor_type("iq4_nl").has_value());
    EXPECT_FALSE(tensor_type_traits(20).has_value());  // IQ4_NL id: not supported
    EXPECT_EQ(tensor_type_traits(12)->type_size, 144u);
}

}  // namespace
}  // namespace rf
