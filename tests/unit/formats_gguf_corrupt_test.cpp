// Corrupted GGUF files: each is a valid file with one targeted change, and each must give an
// rf::Error whose message names the file and the field, never a crash or another exception.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <random>

#include "core/error.h"
#include "formats/gguf/gguf_file.h"
#include "formats/gguf/gguf_value.h"
#include "test_paths.h"

namespace rf {
namespace {

// ---- a GGUF builder that can write invalid files ----

struct Bytes {
    std::vector<uint8_t> b;
    template <typename T>
    Bytes& pod(T v) {
        const auto* p = reinterpret_cast<const uint8_t*>(&v);
        b.insert(b.end(), p, p + sizeof(T));
        return *this;
    }
    Bytes& str(const std::string& s) {
        pod<uint64_t>(s.size());
        b.insert(b.end(), s.begin(), s.end());
        return *this;
    }
    Bytes& append(const std::vector<uint8_t>& o) {
        b.insert(b.end(), o.begin(), o.end());
        return *this;
    }
};

std::vector<uint8_t> kv(const std::string& key, uint32_t type,
                        const std::vector<uint8_t>& payload) {
    return Bytes().str(key).pod(type).append(payload).b;
}
std::vector<uint8_t> kv_u32(const std::string& key, uint32_t v) {
    return kv(key, 4, Bytes().pod(v).b);
}
std::vector<uint8_t> kv_string(const std::string& key, const std::string& v) {
    return kv(key, 8, Bytes().str(v).b);
}

struct RawTensor {
    std::string name;
    std::vector<uint64_t> ne;
    uint32_t type;
    uint64_t offset;
    std::optional<uint32_t> n_dims;  // overrides ne.size()
};

struct RawGguf {
    uint32_t magic = 0x46554747;
    uint32_t version = 3;
    std::optional<uint64_t> n_tensors;  // override the real count
    std::optional<uint64_t> n_kv;
    std::vector<std::vector<uint8_t>> kvs;
    std::vector<RawTensor> tensors;
    uint64_t alignment = 32;  // where the data section starts
    uint64_t data_size = 0;

    std::vector<uint8_t> build() const {
        Bytes out;
        out.pod(magic).pod(version);
        out.pod<uint64_t>(n_tensors.value_or(tensors.size()));
        out.pod<uint64_t>(n_kv.value_or(kvs.size()));
        for (const auto& e : kvs) out.append(e);
        for (const auto& t : tensors) {
            out.str(t.name).pod<uint32_t>(t.n_dims.value_or(static_cast<uint32_t>(t.ne.size())));
            for (uint64_t d : t.ne) out.pod(d);
            out.pod(t.type).pod(t.offset);
        }
        const size_t data_start = (out.b.size() + alignment - 1) / alignment * alignment;
        out.b.resize(data_start, 0);
        // Recognisable tensor bytes.
        for (uint64_t i = 0; i < data_size; ++i)
            out.b.push_back(static_cast<uint8_t>(0xA0 + i % 16));
        return out.b;
    }
};

// A valid file: 4 key/values, 3 tensors (f32 [8, 2] at 0, q8_0 [32] at 64, f16 [4] at 128).
RawGguf base_file() {
    RawGguf g;
    g.kvs.push_back(kv_string("general.architecture", "test"));
    g.kvs.push_back(kv_u32("test.u32", 7));
    g.kvs.push_back(kv("test.arr", 9,
                       Bytes()
                           .pod<uint32_t>(5)
                           .pod<uint64_t>(3)
                           .pod<int32_t>(1)
                           .pod<int32_t>(2)
                           .pod<int32_t>(3)
                           .b));
    g.kvs.push_back(
        kv("test.strs", 9, Bytes().pod<uint32_t>(8).pod<uint64_t>(2).str("x").str("yy").b));
    g.tensors.push_back({"w0", {8, 2}, 0, 0, std::nullopt});
    g.tensors.push_back({"w1", {32}, 8, 64, std::nullopt});
    g.tensors.push_back({"w2", {4}, 1, 128, std::nullopt});
    g.data_size = 136;
    return g;
}

GgufFile parse(std::vector<uint8_t> bytes) {
    return GgufFile(std::move(bytes), "corrupt.gguf");
}

// The message of the rf::Error that parsing throws ("" when it parses, "<other>" when it throws
// something else).
std::string parse_error(std::vector<uint8_t> bytes) {
    try {
        parse(std::move(bytes));
    } catch (const Error& e) {
        return e.what();
    } catch (...) {
        return "<not an rf::Error>";
    }
    return "";
}

TEST(GgufCorrupt, BaseFileIsValid) {
    const GgufFile f = parse(base_file().build());
    EXPECT_EQ(f.metadata().size(), 4u);
    ASSERT_EQ(f.tensors().size(), 3u);
    EXPECT_EQ(f.require_tensor("w1").nbytes, 34u);
    EXPECT_EQ(f.require_tensor("w2").data[0], 0xA0 + 128 % 16);
    // GGUF v2 has the same layout (64-bit counts); both read.
    RawGguf v2 = base_file();
    v2.version = 2;
    EXPECT_EQ(parse(v2.build()).version(), 2u);
    // general.alignment of any unsigned integer type that holds a power of two.
    RawGguf a64 = base_file();
    a64.kvs.push_back(kv("general.alignment", 10, Bytes().pod<uint64_t>(64).b));
    a64.alignment = 64;
    a64.tensors[1].offset = 64;
    a64.tensors[2].offset = 128;
    const GgufFile f64 = parse(a64.build());
    EXPECT_EQ(f64.alignment(), 64u);
    EXPECT_EQ(f64.data_offset() % 64, 0u);
}

struct Case {
    const char* name;
    std::function<void(RawGguf&)> change;
    const char* expected;  // substring of the message
};

std::vector<uint8_t> nested_array(int depth) {
    // depth levels of array<array<...<i32>>>, each with one element; the innermost is empty.
    Bytes b;
    for (int i = 0; i < depth; ++i) b.pod<uint32_t>(9).pod<uint64_t>(1);
    b.pod<uint32_t>(5).pod<uint64_t>(0);
    return b.b;
}

const std::vector<Case>& cases() {
    static const std::vector<Case> k = {
        {"wrong magic", [](RawGguf& g) { g.magic = 0x46554746; },
         "magic is 0x46554746 ('FGUF'), expected 'GGUF'"},
        {"version 1", [](RawGguf& g) { g.version = 1; }, "version 1 is not supported"},
        {"version 99", [](RawGguf& g) { g.version = 99; }, "version 99 is not supported"},
        {"big-endian", [](RawGguf& g) { g.version = 0x03000000; }, "big-endian"},
        {"huge tensor count", [](RawGguf& g) { g.n_tensors = 1ull << 60; },
         "tensor count 1152921504606846976 cannot fit"},
        {"huge kv count", [](RawGguf& g) { g.n_kv = 1ull << 60; },
         "metadata key/value count 1152921504606846976 cannot fit"},
        {"max kv count", [](RawGguf& g) { g.n_kv = ~0ull; },
         "key/value count 18446744073709551615 cannot fit"},
        {"one tensor too many", [](RawGguf& g) { g.n_tensors = 4; }, "tensor"},
        {"one kv too many", [](RawGguf& g) { g.n_kv = 5; }, "corrupt.gguf"},
        {"huge key length", [](RawGguf& g) { g.kvs[1] = Bytes().pod<uint64_t>(1ull << 40).b; },
         "key/value #1: key has length 1099511627776"},
        {"huge string value length",
         [](RawGguf& g) {
             g.kvs[0] = kv("general.architecture", 8, Bytes().pod<uint64_t>(~0ull).b);
         },
         "key 'general.architecture': string value has length 18446744073709551615"},
        {"huge array length",
         [](RawGguf& g) {
             g.kvs[2] = kv("test.arr", 9, Bytes().pod<uint32_t>(5).pod<uint64_t>(1ull << 62).b);
         },
         "key 'test.arr': array of 4611686018427387904 i32 elements"},
        {"huge string array length",
         [](RawGguf& g) {
             g.kvs[3] = kv("test.strs", 9, Bytes().pod<uint32_t>(8).pod<uint64_t>(1ull << 58).b);
         },
         "key 'test.strs': array of 288230376151711744 string elements"},
        {"huge string in array",
         [](RawGguf& g) {
             g.kvs[3] = kv("test.strs", 9,
                           Bytes().pod<uint32_t>(8).pod<uint64_t>(1).pod<uint64_t>(1ull << 50).b);
         },
         "key 'test.strs': string array element has length 1125899906842624"},
        {"unknown value type",
         [](RawGguf& g) { g.kvs[1] = kv("test.u32", 13, Bytes().pod<uint32_t>(7).b); },
         "key 'test.u32': value type 13 is not a GGUF value type"},
        {"unknown array element type",
         [](RawGguf& g) {
             g.kvs[2] = kv("test.arr", 9, Bytes().pod<uint32_t>(99).pod<uint64_t>(0).b);
         },
         "key 'test.arr': array element type 99 is not a GGUF value type"},
        {"bool value 2", [](RawGguf& g) { g.kvs[1] = kv("test.u32", 7, {2}); },
         "key 'test.u32': bool value at offset"},
        {"arrays nested too deep",
         [](RawGguf& g) { g.kvs[2] = kv("test.arr", 9, nested_array(20)); },
         "key 'test.arr': arrays are nested more than 16 deep"},
        {"duplicate key", [](RawGguf& g) { g.kvs[3] = kv_u32("test.u32", 8); },
         "key 'test.u32': duplicate key (entries #1 and #3)"},
        {"alignment 48", [](RawGguf& g) { g.kvs.push_back(kv_u32("general.alignment", 48)); },
         "key 'general.alignment': value 48 is not a non-zero power of two"},
        {"alignment 0", [](RawGguf& g) { g.kvs.push_back(kv_u32("general.alignment", 0)); },
         "key 'general.alignment': value 0 is not a non-zero power of two"},
        {"alignment string",
         [](RawGguf& g) { g.kvs.push_back(kv_string("general.alignment", "32")); },
         "key 'general.alignment': has type string, expected an unsigned integer"},
        {"alignment negative",
         [](RawGguf& g) {
             g.kvs.push_back(kv("general.alignment", 5, Bytes().pod<int32_t>(-32).b));
         },
         "key 'general.alignment': value -32 is not a non-zero power of two"},
        {"n_dims 0",
         [](RawGguf& g) {
             g.tensors[0].n_dims = 0;
             g.tensors[0].ne.clear();
         },
         "tensor 'w0': n_dims 0 is out of range (1..4)"},
        {"n_dims 5",
         [](RawGguf& g) {
             g.tensors[1].ne = {32, 1, 1, 1, 1};
         },
         "tensor 'w1': n_dims 5 is out of range (1..4)"},
        {"n_dims 2^31", [](RawGguf& g) { g.tensors[1].n_dims = 0x80000000u; },
         "tensor 'w1': n_dims 2147483648 is out of range"},
        {"dim 0",
         [](RawGguf& g) {
             g.tensors[0].ne = {8, 0};
         },
         "tensor 'w0': dimension ne[1] is 0"},
        {"dim beyond int64",
         [](RawGguf& g) {
             g.tensors[0].ne = {8, 1ull << 63};
         },
         "tensor 'w0': dimension ne[1] = 9223372036854775808 does not fit"},
        {"element count overflow",
         [](RawGguf& g) {
             g.tensors[0].ne = {1ull << 32, 1ull << 32};
         },
         "tensor 'w0': element count of shape [4294967296, 4294967296] overflows int64 (at ne[1])"},
        {"byte size overflow",
         [](RawGguf& g) {
             g.tensors[0].ne = {1ull << 62, 1};
         },
         "tensor 'w0': byte size overflows"},
        {"tensor larger than file", [](RawGguf& g) { g.tensors[0].ne = {1ull << 30}; },
         "tensor 'w0': size 4294967296 bytes"},
        {"unknown tensor type 20", [](RawGguf& g) { g.tensors[2].type = 20; },
         "tensor 'w2': type 20 is not a tensor type this build knows"},
        {"unknown tensor type 2^32-1", [](RawGguf& g) { g.tensors[2].type = 0xffffffffu; },
         "tensor 'w2': type 4294967295"},
        {"row not whole blocks", [](RawGguf& g) { g.tensors[1].ne = {33}; },
         "tensor 'w1': ne[0] = 33 is not a multiple of the q8_0 block size 32"},
        {"unaligned offset", [](RawGguf& g) { g.tensors[1].offset = 65; },
         "tensor 'w1': offset 65 is not a multiple of the alignment 32"},
        {"offset past the end", [](RawGguf& g) { g.tensors[2].offset = 1024; },
         "tensor 'w2' offset 1024 + size 8 is past the end of the file"},
        {"offset near 2^64", [](RawGguf& g) { g.tensors[2].offset = ~0ull - 31; },
         "tensor 'w2' offset 18446744073709551584 + size 8 is past the end of the file"},
        {"data cut short", [](RawGguf& g) { g.data_size = 135; },
         "tensor 'w2' offset 128 + size 8 is past the end of the file"},
        {"overlapping tensors", [](RawGguf& g) { g.tensors[1].offset = 32; },
         "tensor 'w0' (offset 0, size 64) overlaps tensor 'w1' (offset 32)"},
        {"same offset", [](RawGguf& g) { g.tensors[2].offset = 64; }, "overlaps"},
        {"duplicate tensor name", [](RawGguf& g) { g.tensors[2].name = "w0"; },
         "tensor 'w0': duplicate tensor name (tensors #0 and #2)"},
    };
    return k;
}

TEST(GgufCorrupt, EachChangeGivesANamedError) {
    for (const Case& c : cases()) {
        RawGguf g = base_file();
        c.change(g);
        const std::string msg = parse_error(g.build());
        EXPECT_NE(msg.find("gguf corrupt.gguf: "), std::string::npos) << c.name << ": " << msg;
        EXPECT_NE(msg.find(c.expected), std::string::npos)
            << c.name << ": expected '" << c.expected << "' in: " << msg;
    }
}

TEST(GgufCorrupt, TooSmall) {
    EXPECT_NE(parse_error({}).find("too small"), std::string::npos);
    EXPECT_NE(parse_error({'G', 'G'}).find("too small"), std::string::npos);
    EXPECT_NE(parse_error({'G', 'G', 'U', 'F'}).find("version at offset 4 needs 4 bytes"),
              std::string::npos);
}

// Walks a valid GGUF file independently of the reader and returns the region boundaries: end of
// the header, of each key/value, of each tensor info, and the data offset.
std::vector<size_t> region_boundaries(const std::vector<uint8_t>& b, uint64_t alignment) {
    size_t p = 24;
    auto u32 = [&] {
        uint32_t v;
        std::memcpy(&v, &b[p], 4);
        p += 4;
        return v;
    };
    auto u64 = [&] {
        uint64_t v;
        std::memcpy(&v, &b[p], 8);
        p += 8;
        return v;
    };
    std::function<void(uint32_t)> skip = [&](uint32_t type) {
        static const size_t kSize[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
        if (type == 8) {
            p += u64();
        } else if (type == 9) {
            const uint32_t et = u32();
            const uint64_t n = u64();
            for (uint64_t i = 0; i < n; ++i) skip(et);
        } else {
            p += kSize[type];
        }
    };
    uint64_t n_tensors, n_kv;
    std::memcpy(&n_tensors, &b[8], 8);
    std::memcpy(&n_kv, &b[16], 8);
    std::vector<size_t> out{4, 8, 16, 24};
    for (uint64_t i = 0; i < n_kv; ++i) {
        p += u64();
        out.push_back(p);  // after the key
        skip(u32());
        out.push_back(p);
    }
    for (uint64_t i = 0; i < n_tensors; ++i) {
        p += u64();
        const uint32_t nd = u32();
        p += 8 * nd + 4 + 8;
        out.push_back(p);
    }
    out.push_back((p + alignment - 1) / alignment * alignment);
    return out;
}

// Truncating the file at every byte: an error until all tensor data is present; the message
// names what was cut.
TEST(GgufCorrupt, TruncatedAtEveryByte) {
    const std::vector<uint8_t> full = base_file().build();
    const GgufFile f = parse(full);
    const size_t needed = f.data_offset() + 128 + 8;
    ASSERT_EQ(needed, full.size());
    const size_t header_end = region_boundaries(full, 32).end()[-2];  // end of the tensor infos
    for (size_t len = 0; len < full.size(); ++len) {
        const std::string msg = parse_error(std::vector<uint8_t>(full.begin(), full.begin() + len));
        ASSERT_FALSE(msg.empty()) << "truncated to " << len << " bytes parsed";
        ASSERT_EQ(msg.rfind("gguf corrupt.gguf: ", 0), 0u) << msg;
        if (len >= 24 && len < header_end) {  // inside metadata or tensor infos
            ASSERT_TRUE(msg.find("needs") != std::string::npos ||
                        msg.find("cannot fit") != std::string::npos ||
                        msg.find("left in the file") != std::string::npos)
                << len << ": " << msg;
        }
    }
}

TEST(GgufCorrupt, LlamacppFileTruncatedAtEveryRegionBoundary) {
    RF_REQUIRE_SHARED();
    const auto path =
        test::shared_dir() / "models" / "llamacpp-gguf" / "tiny-qwen3-llamacpp-q8_0.gguf";
    std::ifstream in(path, std::ios::binary);
    const std::vector<uint8_t> full{std::istreambuf_iterator<char>(in),
                                    std::istreambuf_iterator<char>()};
    const GgufFile f = parse(full);
    std::vector<size_t> cuts = region_boundaries(full, f.alignment());
    EXPECT_EQ(cuts.back(), f.data_offset());
    EXPECT_EQ(cuts.size(), 4 + 2 * 25 + 68 + 1u);
    for (const auto& t : f.tensors()) cuts.push_back(f.data_offset() + t.offset + t.nbytes);
    for (size_t cut : cuts) {
        for (size_t len : {cut - 1, cut, cut + 1}) {
            if (len >= full.size()) continue;
            const std::string msg =
                parse_error(std::vector<uint8_t>(full.begin(), full.begin() + len));
            EXPECT_EQ(msg.rfind("gguf corrupt.gguf: ", 0), 0u)
                << "cut at " << len << ": '" << msg << "'";
        }
    }
    // Cut in the tensor data: the message names the first tensor that does not fit.
    const auto& last = f.tensors().back();
    const size_t len = f.data_offset() + last.offset + 10;
    EXPECT_NE(
        parse_error(std::vector<uint8_t>(full.begin(), full.begin() + len))
            .find("tensor '" + last.name + "' offset " + std::to_string(last.offset) + " + size"),
        std::string::npos);
}

// Random single-field damage: every result is a parse or an rf::Error (no other exception, no
// crash; the fuzz targets run the same under sanitizers).
TEST(GgufCorrupt, RandomMutationsNeverEscapeAsOtherErrors) {
    const std::vector<uint8_t> full = base_file().build();
    std::mt19937_64 rng(12345);
    int parsed = 0;
    for (int iter = 0; iter < 4000; ++iter) {
        std::vector<uint8_t> b = full;
        const size_t pos = rng() % b.size();
        switch (iter % 3) {
            case 0:
                b[pos] = static_cast<uint8_t>(rng());
                break;
            case 1:
                b[pos] ^= static_cast<uint8_t>(1u << (rng() % 8));
                break;
            default: {  // an 8-byte field set to a random or extreme value
                const uint64_t values[] = {0, 1, ~0ull, 1ull << 63, rng()};
                const uint64_t v = values[rng() % 5];
                std::memcpy(&b[pos], &v, std::min<size_t>(8, b.size() - pos));
            }
        }
        const std::string msg = parse_error(std::move(b));
        ASSERT_NE(msg, "<not an rf::Error>") << "iteration " << iter;
        if (msg.empty()) ++parsed;
    }
    EXPECT_GT(parsed, 0);  // damage inside tensor data still parses
}

}  // namespace
}  // namespace rf
