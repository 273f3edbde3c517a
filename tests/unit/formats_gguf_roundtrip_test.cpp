// GgufWriter -> GgufFile round trips: every metadata type, nested arrays, alignments, every
// tensor type; and the writer's own checks (temp file + rename, bad input).
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "../common/gguf_fixtures.h"
#include "core/error.h"
#include "formats/gguf/gguf_file.h"
#include "formats/gguf/gguf_writer.h"
#include "test_paths.h"

namespace rf {
namespace {

namespace fs = std::filesystem;

std::vector<uint8_t> read_all(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The writer's metadata as a reader sees it: a file with only metadata.
std::vector<std::pair<std::string, GgufValue>> expected_metadata(uint64_t alignment) {
    GgufWriter w(alignment);
    test::add_every_type_metadata(w);
    const fs::path p = test::temp_dir() / "meta-only.gguf";
    w.write(p.string());
    return GgufFile(p.string()).metadata();
}

class GgufRoundTrip : public ::testing::TestWithParam<uint64_t> {};

TEST_P(GgufRoundTrip, EveryValueTypeAndTensorType) {
    const uint64_t alignment = GetParam();
    const fs::path path = test::temp_dir() / fmt::format("every-type-{}.gguf", alignment);
    test::every_type_writer(alignment).write(path.string());
    EXPECT_FALSE(fs::exists(path.string() + ".tmp"));

    const GgufFile f(path.string());
    EXPECT_EQ(f.version(), 3u);
    EXPECT_EQ(f.alignment(), alignment);
    EXPECT_EQ(f.data_offset() % alignment, 0u);
    EXPECT_EQ(f.file_size() % alignment, 0u);  // every tensor, the last too, is padded

    // Metadata: values, types and order.
    EXPECT_EQ(f.require_string("general.architecture"), "rftest");
    EXPECT_EQ(f.find("test.u8")->type(), GgufType::U8);
    EXPECT_EQ(f.require_int("test.u8"), 200);
    EXPECT_EQ(f.require_int("test.i8"), -100);
    EXPECT_EQ(f.require_int("test.u16"), 60000);
    EXPECT_EQ(f.require_int("test.i16"), -30000);
    EXPECT_EQ(f.require_int("test.u32"), 4000000000);
    EXPECT_EQ(f.require_int("test.i32"), -2000000000);
    EXPECT_EQ(f.require_float("test.f32"), static_cast<double>(3.14159f));
    EXPECT_EQ(f.get_bool("test.bool_true"), true);
    EXPECT_EQ(f.get_bool("test.bool_false"), false);
    EXPECT_EQ(f.require_string("test.string"), "h\xc3\xa9llo w\xc3\xb6rld \"q\"\n\ttab");
    EXPECT_EQ(f.require_string("test.string_empty"), "");
    EXPECT_EQ(f.find("test.u64")->as_uint(), 9223372036854775813ull);
    EXPECT_THROW(f.require_int("test.u64"), Error);  // does not fit in int64
    EXPECT_EQ(f.require_int("test.i64"), -4611686018427387911ll);
    EXPECT_EQ(f.require_float("test.f64"), 2.718281828459045);
    EXPECT_EQ(f.get_int_array("test.arr.i8"), (std::vector<int64_t>{-128, 0, 127}));
    EXPECT_EQ(f.get_int_array("test.arr.u32"), (std::vector<int64_t>{0, 4294967295ll}));
    EXPECT_EQ(f.get_float_array("test.arr.f32"),
              (std::vector<float>{1.5f, -0.25f, 1e-6f, 3.0e38f}));
    EXPECT_EQ(*f.get_string_array("test.arr.string"),
              (std::vector<std::string>{"a", "", "\xc3\xbc", "x y"}));
    EXPECT_EQ(f.get_array("test.arr.empty")->size(), 0u);
    EXPECT_EQ(f.get_array("test.arr.empty")->elem_type, GgufType::I32);
    EXPECT_THROW(f.get_int_array("test.arr.u64"), Error);  // 2^64-1 does not fit in int64

    const GgufArray* mixed = f.get_array("test.nested.mixed");
    ASSERT_NE(mixed, nullptr);
    ASSERT_EQ(mixed->elem_type, GgufType::ARRAY);
    const auto& inner = std::get<std::vector<GgufArray>>(mixed->values);
    ASSERT_EQ(inner.size(), 3u);
    EXPECT_EQ(std::get<std::vector<uint8_t>>(inner[0].values), (std::vector<uint8_t>{1, 2}));
    EXPECT_EQ(std::get<std::vector<std::string>>(inner[1].values), (std::vector<std::string>{"x"}));
    EXPECT_EQ(inner[2].elem_type, GgufType::F64);
    EXPECT_EQ(inner[2].size(), 0u);
    const auto& deep = std::get<std::vector<GgufArray>>(f.get_array("test.nested.deep")->values);
    ASSERT_EQ(deep.size(), 2u);
    const auto& deep0 = std::get<std::vector<GgufArray>>(deep[0].values);
    EXPECT_EQ(std::get<std::vector<std::string>>(deep0[1].values),
              (std::vector<std::string>{"b", "c"}));
    EXPECT_EQ(f.find("test.nested.deep")->to_display_string(), "[[[\"a\"], [\"b\", \"c\"]], []]");

    // Every value equals what was written, in the same order (general.alignment comes first
    // when it is not the default).
    const auto expected = expected_metadata(alignment);
    ASSERT_EQ(f.metadata().size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ(f.metadata()[i].first, expected[i].first);
        EXPECT_TRUE(f.metadata()[i].second == expected[i].second) << expected[i].first;
    }
    if (alignment != 32) {
        EXPECT_EQ(f.metadata()[0].first, "general.alignment");
        EXPECT_EQ(f.find("general.alignment")->type(), GgufType::U32);
    } else {
        EXPECT_FALSE(f.has("general.alignment"));
    }

    // Tensors: one per type, shapes, offsets aligned, bytes identical to what the filler wrote.
    const auto types = test::all_tensor_types();
    ASSERT_EQ(f.tensors().size(), types.size() + 1);
    uint32_t seed = 1;
    for (size_t i = 0; i < types.size(); ++i) {
        const GgufTensorInfo& t = f.tensors()[i];
        EXPECT_EQ(t.name, std::string("t.") + type_name(types[i]));
        EXPECT_EQ(t.type, types[i]);
        const int64_t bs = block_size(types[i]);
        const std::vector<int64_t> want_ne =
            bs > 1 ? std::vector<int64_t>{2 * bs, 3} : std::vector<int64_t>{5, 3, 2};
        EXPECT_EQ(t.ne, want_ne);
        EXPECT_EQ(t.offset % alignment, 0u);
        EXPECT_EQ(t.nbytes, static_cast<size_t>(t.n_rows()) * row_size(t.type, t.ne[0]));
        std::vector<uint8_t> want(t.nbytes);
        test::fill_pattern(want.data(), want.size(), seed++);
        EXPECT_EQ(std::memcmp(t.data, want.data(), want.size()), 0) << t.name;
    }
    EXPECT_EQ(f.tensors().back().ne, (std::vector<int64_t>{2, 3, 4, 5}));

    // Reading and writing again gives the same bytes.
    const fs::path again = test::temp_dir() / fmt::format("every-type-{}-again.gguf", alignment);
    test::copy_to_writer(f).write(again.string());
    EXPECT_TRUE(read_all(path) == read_all(again));
    // Padding is zeros: between the header and the data, and after each tensor.
    const auto bytes = read_all(path);
    for (size_t i = 0; i + 1 < f.tensors().size(); ++i) {
        const auto& t = f.tensors()[i];
        const size_t end = f.data_offset() + t.offset + t.nbytes;
        const size_t next = f.data_offset() + f.tensors()[i + 1].offset;
        for (size_t b = end; b < next; ++b) ASSERT_EQ(bytes[b], 0) << "padding after " << t.name;
    }
    fs::remove(path);
    fs::remove(again);
}

INSTANTIATE_TEST_SUITE_P(Alignments, GgufRoundTrip, ::testing::Values(32, 64, 4096));

TEST(GgufWriter, RejectsBadInput) {
    EXPECT_THROW(GgufWriter(0), Error);
    EXPECT_THROW(GgufWriter(48), Error);
    GgufWriter w;
    // A value whose C++ type disagrees with its declared type (int32_t stored, U32 declared).
    EXPECT_THROW(w.set("k", GgufValue(GgufType::U32, 5)), Error);
    auto bad_array = std::make_shared<GgufArray>();
    bad_array->elem_type = GgufType::STRING;
    bad_array->values = std::vector<int32_t>{1};
    EXPECT_THROW(w.set("k", GgufValue(GgufType::ARRAY, bad_array)), Error);
    EXPECT_THROW(w.set_u32("general.alignment", 64), Error);  // disagrees with the writer's 32
    w.set_u32("general.alignment", 32);

    const std::vector<uint8_t> data(1024, 0);
    EXPECT_THROW(w.add_tensor("a", TensorType::Q8_0, {33}, data.data(), 34),
                 Error);  // not whole blocks
    EXPECT_THROW(w.add_tensor("a", TensorType::F32, {4}, data.data(), 15), Error);  // size mismatch
    EXPECT_THROW(w.add_tensor("a", TensorType::F32, {}, data.data(), 4), Error);    // no dims
    EXPECT_THROW(w.add_tensor("a", TensorType::F32, {1, 1, 1, 1, 1}, data.data(), 4), Error);
    EXPECT_THROW(w.add_tensor("a", TensorType::F32, {4, 0}, data.data(), 0), Error);
    EXPECT_THROW(w.add_tensor("a", static_cast<TensorType>(20), {32}, data.data(), 32), Error);
    w.add_tensor("a", TensorType::F32, {4}, data.data(), 16);
    EXPECT_THROW(w.add_tensor("a", TensorType::F32, {4}, data.data(), 16), Error);  // duplicate
    EXPECT_EQ(w.n_tensors(), 1u);

    GgufWriter w64(64);
    EXPECT_THROW(w64.remove("general.alignment"), Error);
}

TEST(GgufWriter, FailedWriteLeavesNoFile) {
    const fs::path path = test::temp_dir() / "failed-write.gguf";
    fs::remove(path);
    // An existing file at the destination survives a failed write untouched.
    { std::ofstream(path) << "previous contents"; }
    GgufWriter w;
    w.set_string("general.architecture", "x");
    w.add_tensor("ok", TensorType::F32, {8}, [](uint8_t* d, size_t n) { std::memset(d, 1, n); });
    w.add_tensor("bad", TensorType::F32, {8}, [](uint8_t*, size_t) { fail("quantizer exploded"); });
    size_t progress_calls = 0;
    try {
        w.write(path.string(), [&](size_t, size_t) { ++progress_calls; });
        FAIL() << "expected rf::Error";
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "quantizer exploded");
    }
    EXPECT_EQ(progress_calls, 1u);
    EXPECT_FALSE(fs::exists(path.string() + ".tmp"));
    std::ifstream in(path);
    std::string s;
    std::getline(in, s);
    EXPECT_EQ(s, "previous contents");

    // A destination in a directory that does not exist: a clear error, nothing left behind.
    try {
        GgufWriter().write((test::temp_dir() / "no-such-dir" / "x.gguf").string());
        FAIL() << "expected rf::Error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("cannot create"), std::string::npos) << e.what();
    }
    fs::remove(path);
}

TEST(GgufWriter, SetReplacesInPlaceAndRemove) {
    GgufWriter w;
    w.set_u32("a", 1);
    w.set_string("b", "x");
    w.set_u32("a", 2);
    w.set_i32_array("c", {1, -2});
    w.set_u32_array("d", {3});
    w.set_f32_array("e", {0.5f});
    w.set_string_array("f", {"s"});
    w.set_u64("g", 1);
    w.set_f32("h", 1.f);
    w.set_bool("i", true);
    w.set_i32("j", -1);
    w.remove("b");
    const fs::path path = test::temp_dir() / "set-replace.gguf";
    w.write(path.string());
    const GgufFile f(path.string());
    ASSERT_EQ(f.metadata().size(), 9u);
    EXPECT_EQ(f.metadata()[0].first, "a");
    EXPECT_EQ(f.require_int("a"), 2);
    EXPECT_FALSE(f.has("b"));
    EXPECT_EQ(f.get_int_array("c"), (std::vector<int64_t>{1, -2}));
    EXPECT_EQ(f.find("d")->type_string(), "array<u32>");
    EXPECT_EQ(f.find("g")->type(), GgufType::U64);
    EXPECT_EQ(f.tensors().size(), 0u);
    fs::remove(path);
}

TEST(GgufValue, DisplayStrings) {
    EXPECT_EQ(GgufValue(GgufType::U8, uint8_t{7}).to_display_string(), "7");
    EXPECT_EQ(GgufValue(GgufType::I8, int8_t{-7}).to_display_string(), "-7");
    EXPECT_EQ(GgufValue(GgufType::BOOL, true).to_display_string(), "true");
    EXPECT_EQ(GgufValue(GgufType::F32, 0.5f).to_display_string(), "0.5");
    EXPECT_EQ(GgufValue(GgufType::STRING, std::string("a\"b\n")).to_display_string(),
              "\"a\\\"b\\n\"");
    // Long strings are cut at a character boundary and say how long they were.
    const std::string long_utf8 = "\xc3\xa9\xc3\xa9\xc3\xa9";  // 3 x 2 bytes
    EXPECT_EQ(GgufValue(GgufType::STRING, long_utf8).to_display_string(8, 3),
              "\"\xc3\xa9\"... (6 bytes)");
    const GgufValue arr = test::gguf_array(GgufType::I32, std::vector<int32_t>{1, 2, 3, 4, 5});
    EXPECT_EQ(arr.to_display_string(3), "[1, 2, 3, ... (2 more)]");
    EXPECT_EQ(arr.type_string(), "array<i32>");
    EXPECT_TRUE(arr.is_consistent());
    EXPECT_FALSE(GgufValue(GgufType::U32, 5).is_consistent());
}

}  // namespace
}  // namespace rf
