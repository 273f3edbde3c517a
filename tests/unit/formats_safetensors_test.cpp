// safetensors: the tiny models' bf16 checkpoints (checked against llama.cpp's f16 GGUF of the
// same weights), a sharded copy written here, and malformed headers.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/half.h"
#include "formats/gguf/gguf_file.h"
#include "formats/safetensors/safetensors_file.h"
#include "test_paths.h"

namespace rf {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

fs::path tiny_model(const char* name) {
    return test::shared_dir() / "models" / name;
}

// Builds a safetensors file from a header object and the data section.
std::vector<uint8_t> build_file(const std::string& header, const std::vector<uint8_t>& data) {
    // One allocation + memcpy (vector::insert here trips a false GCC 12 array-bounds warning).
    std::vector<uint8_t> out(8 + header.size() + data.size());
    const uint64_t n = header.size();
    std::memcpy(out.data(), &n, 8);
    if (!header.empty()) std::memcpy(out.data() + 8, header.data(), header.size());
    if (!data.empty()) std::memcpy(out.data() + 8 + header.size(), data.data(), data.size());
    return out;
}

void write_file(const fs::path& p, const std::vector<uint8_t>& bytes) {
    std::ofstream out(p, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
}

TEST(Safetensors, TinyQwen3Bf16) {
    RF_REQUIRE_SHARED();
    const SafetensorsModel m(tiny_model("tiny-qwen3").string());
    EXPECT_EQ(m.tensors().size(), 68u);
    EXPECT_EQ(m.files().size(), 1u);
    EXPECT_EQ(m.metadata().at("format"), "pt");
    const SafetensorsTensor& emb = m.require("model.embed_tokens.weight");
    EXPECT_EQ(emb.dtype, SafetensorsDType::BF16);
    EXPECT_EQ(emb.shape, (std::vector<int64_t>{8192, 256}));
    EXPECT_EQ(emb.nbytes, 8192u * 256u * 2u);
    EXPECT_EQ(emb.offset, 0u);
    EXPECT_EQ(m.require("model.layers.0.mlp.down_proj.weight").shape,
              (std::vector<int64_t>{256, 768}));
    EXPECT_EQ(m.require("model.layers.5.self_attn.k_proj.weight").shape,
              (std::vector<int64_t>{128, 256}));
    EXPECT_EQ(m.find("lm_head.weight"), nullptr);  // tied
    EXPECT_THROW(m.require("model.layers.6.self_attn.q_proj.weight"), Error);
    // In data order.
    for (size_t i = 1; i < m.tensors().size(); ++i)
        EXPECT_LE(m.tensors()[i - 1].offset + m.tensors()[i - 1].nbytes, m.tensors()[i].offset);
    int64_t params = 0;
    for (const auto& t : m.tensors()) params += t.n_elements();
    EXPECT_EQ(params, 6819840);  // the same count llama.cpp's GGUF holds
    // The file path: a .safetensors file directly.
    const SafetensorsModel direct((tiny_model("tiny-qwen3") / "model.safetensors").string());
    EXPECT_EQ(direct.tensors().size(), 68u);
}

// llama.cpp converted the same bf16 weights to f16 (bf16 -> f32 -> f16, round to nearest even)
// and kept norms in f32: our bf16 -> f32 (-> f16) must give the same bits.
TEST(Safetensors, MatchesLlamacppF16Gguf) {
    RF_REQUIRE_SHARED();
    const SafetensorsModel m(tiny_model("tiny-qwen3").string());
    const GgufFile g(
        (test::shared_dir() / "models/llamacpp-gguf/tiny-qwen3-llamacpp-f16.gguf").string());
    const std::pair<const char*, const char*> pairs[] = {
        {"model.layers.0.self_attn.q_proj.weight", "blk.0.attn_q.weight"},
        {"model.layers.3.self_attn.v_proj.weight", "blk.3.attn_v.weight"},
        {"model.layers.5.mlp.down_proj.weight", "blk.5.ffn_down.weight"},
        {"model.embed_tokens.weight", "token_embd.weight"},
    };
    for (const auto& [hf, gg] : pairs) {
        const SafetensorsTensor& st = m.require(hf);
        const GgufTensorInfo& gt = g.require_tensor(gg);
        ASSERT_EQ(gt.type, TensorType::F16);
        // PyTorch [out, in] is ggml ne {in, out}.
        ASSERT_EQ(gt.ne, (std::vector<int64_t>{st.shape[1], st.shape[0]})) << hf;
        const std::vector<float> f = st.to_f32();
        ASSERT_EQ(f.size(), static_cast<size_t>(gt.n_elements()));
        size_t mismatches = 0;
        for (size_t i = 0; i < f.size(); ++i) {
            uint16_t h;
            std::memcpy(&h, gt.data + 2 * i, 2);
            if (h != f32_to_f16(f[i])) ++mismatches;
        }
        EXPECT_EQ(mismatches, 0u) << hf;
    }
    // Norm weights stay f32 in the GGUF: exactly the bf16 values.
    const auto norm = m.require("model.layers.2.input_layernorm.weight").to_f32();
    const GgufTensorInfo& gnorm = g.require_tensor("blk.2.attn_norm.weight");
    ASSERT_EQ(gnorm.type, TensorType::F32);
    ASSERT_EQ(gnorm.nbytes, norm.size() * 4);
    EXPECT_EQ(std::memcmp(gnorm.data, norm.data(), gnorm.nbytes), 0);
}

// Splits the tiny model into two shards + index and reads it back.
TEST(Safetensors, ShardedCheckpointReadsIdentically) {
    RF_REQUIRE_SHARED();
    const SafetensorsModel single(tiny_model("tiny-qwen3").string());
    const fs::path dir = test::temp_dir() / "sharded-tiny-qwen3";
    fs::remove_all(dir);
    fs::create_directories(dir);
    json index;
    index["metadata"]["total_size"] = 0;
    const size_t half = single.tensors().size() / 2;
    for (int shard = 0; shard < 2; ++shard) {
        const std::string fname = fmt::format("model-{:05d}-of-00002.safetensors", shard + 1);
        json header;
        header["__metadata__"]["format"] = "pt";
        std::vector<uint8_t> data;
        const size_t begin = shard == 0 ? 0 : half;
        const size_t end = shard == 0 ? half : single.tensors().size();
        // Reverse order within the shard, to show that order does not matter.
        for (size_t i = end; i-- > begin;) {
            const SafetensorsTensor& t = single.tensors()[i];
            header[t.name] = {{"dtype", "BF16"},
                              {"shape", t.shape},
                              {"data_offsets", {data.size(), data.size() + t.nbytes}}};
            data.insert(data.end(), t.data, t.data + t.nbytes);
            index["weight_map"][t.name] = fname;
        }
        write_file(dir / fname, build_file(header.dump(), data));
    }
    { std::ofstream(dir / "model.safetensors.index.json") << index.dump(2); }

    const SafetensorsModel sharded(dir.string());
    EXPECT_EQ(sharded.files().size(), 2u);
    ASSERT_EQ(sharded.tensors().size(), single.tensors().size());
    for (const SafetensorsTensor& t : single.tensors()) {
        const SafetensorsTensor& s = sharded.require(t.name);
        EXPECT_EQ(s.shape, t.shape);
        EXPECT_EQ(s.dtype, t.dtype);
        ASSERT_EQ(s.nbytes, t.nbytes);
        EXPECT_EQ(std::memcmp(s.data, t.data, t.nbytes), 0) << t.name;
        EXPECT_EQ(s.to_f32(), t.to_f32());
    }

    // The index names a tensor its shard lacks.
    json bad = index;
    bad["weight_map"]["model.extra.weight"] = "model-00001-of-00002.safetensors";
    { std::ofstream(dir / "model.safetensors.index.json") << bad.dump(); }
    try {
        SafetensorsModel m(dir.string());
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(
                      "tensor 'model.extra.weight' is listed in shard "
                      "'model-00001-of-00002.safetensors', but that shard has no such tensor"),
                  std::string::npos)
            << e.what();
    }
    // A shard holds a tensor the index does not list.
    bad = index;
    bad["weight_map"].erase(single.tensors()[0].name);
    { std::ofstream(dir / "model.safetensors.index.json") << bad.dump(); }
    EXPECT_THROW(SafetensorsModel m(dir.string()), Error);
    // The index points a tensor at the other shard.
    bad = index;
    bad["weight_map"][single.tensors()[0].name] = "model-00002-of-00002.safetensors";
    { std::ofstream(dir / "model.safetensors.index.json") << bad.dump(); }
    EXPECT_THROW(SafetensorsModel m(dir.string()), Error);
    // Shard names must be plain file names in the model directory.
    bad = index;
    bad["weight_map"][single.tensors()[0].name] = "../model-00001-of-00002.safetensors";
    { std::ofstream(dir / "model.safetensors.index.json") << bad.dump(); }
    EXPECT_THROW(SafetensorsModel m(dir.string()), Error);
    // A missing shard.
    bad = index;
    bad["weight_map"][single.tensors()[0].name] = "model-00003-of-00002.safetensors";
    { std::ofstream(dir / "model.safetensors.index.json") << bad.dump(); }
    EXPECT_THROW(SafetensorsModel m(dir.string()), Error);
    // Not JSON / no weight_map.
    { std::ofstream(dir / "model.safetensors.index.json") << "{\"weight_map\": "; }
    EXPECT_THROW(SafetensorsModel m(dir.string()), Error);
    { std::ofstream(dir / "model.safetensors.index.json") << "{\"metadata\": {}}"; }
    EXPECT_THROW(SafetensorsModel m(dir.string()), Error);
    fs::remove_all(dir);
    // A directory without weights.
    fs::create_directories(dir);
    EXPECT_THROW(SafetensorsModel m(dir.string()), Error);
    fs::remove_all(dir);
}

TEST(Safetensors, ToF32OfEachFloatDType) {
    const float values[] = {1.0f, -2.5f, 0.15625f};
    std::vector<uint8_t> data;
    auto put16 = [&](uint16_t h) {
        data.push_back(h & 0xff);
        data.push_back(h >> 8);
    };
    for (float v : values) put16(f32_to_f16(v));
    for (float v : values) put16(f32_to_bf16(v));
    for (float v : values) {
        uint8_t b[4];
        std::memcpy(b, &v, 4);
        data.insert(data.end(), b, b + 4);
    }
    data.insert(data.end(), {1, 0, 0, 0});
    const json header = {
        {"h", {{"dtype", "F16"}, {"shape", {3}}, {"data_offsets", {0, 6}}}},
        {"b", {{"dtype", "BF16"}, {"shape", {1, 3}}, {"data_offsets", {6, 12}}}},
        {"f", {{"dtype", "F32"}, {"shape", {3, 1}}, {"data_offsets", {12, 24}}}},
        {"i", {{"dtype", "I32"}, {"shape", {1}}, {"data_offsets", {24, 28}}}},
    };
    // An odd header length puts the data section at an odd address: to_f32 must not care.
    const std::string text = header.dump() + " ";
    const auto file = build_file(text, data);
    const auto tensors = parse_safetensors(file.data(), file.size(), "mem");
    ASSERT_EQ(tensors.size(), 4u);
    EXPECT_EQ(tensors[0].name, "h");  // data order
    const std::vector<float> want(std::begin(values), std::end(values));
    EXPECT_EQ(tensors[0].to_f32(), want);
    EXPECT_EQ(tensors[1].to_f32(), want);
    EXPECT_EQ(tensors[2].to_f32(), want);
    EXPECT_EQ(tensors[3].dtype, SafetensorsDType::I32);
    EXPECT_THROW(tensors[3].to_f32(), Error);
    EXPECT_STREQ(safetensors_dtype_name(SafetensorsDType::F8_E4M3), "F8_E4M3");
    EXPECT_EQ(safetensors_dtype_size(SafetensorsDType::U64), 8u);
}

struct BadHeader {
    const char* name;
    std::string header;
    size_t data_size;
    const char* expected;
};

TEST(Safetensors, MalformedHeadersGiveClearErrors) {
    const std::vector<BadHeader> cases = {
        {"not json", "{\"a\": ", 0, "header JSON does not parse"},
        {"json array", "[1, 2]", 0, "header is [1,2], expected a JSON object"},
        {"entry not object", R"({"a": 5})", 0, "tensor 'a': entry is 5, expected an object"},
        {"missing dtype", R"({"a": {"shape": [1], "data_offsets": [0, 4]}})", 4,
         "tensor 'a': entry needs \"dtype\""},
        {"unknown dtype", R"({"a": {"dtype": "F4", "shape": [1], "data_offsets": [0, 1]}})", 1,
         "tensor 'a': dtype 'F4' is not a safetensors dtype this build knows"},
        {"dtype not string", R"({"a": {"dtype": 1, "shape": [1], "data_offsets": [0, 1]}})", 1,
         "dtype 1 is not a string"},
        {"shape not array", R"({"a": {"dtype": "F32", "shape": 4, "data_offsets": [0, 16]}})", 16,
         "shape 4 is not an array"},
        {"negative dim", R"({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", 4,
         "shape [-1] has an entry that is not a non-negative integer"},
        {"float dim", R"({"a": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}})", 4,
         "not a non-negative integer"},
        {"shape overflow",
         R"({"a": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 4]}})", 4,
         "has more elements than fit in int64"},
        {"byte overflow",
         R"({"a": {"dtype": "F64", "shape": [4611686018427387904], "data_offsets": [0, 4]}})", 4,
         "overflows the byte count"},
        {"offsets wrong length", R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0]}})", 4,
         "data_offsets [0] is not [begin, end]"},
        {"negative offset", R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]}})", 4,
         "is not [begin, end]"},
        {"begin > end", R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}})", 8,
         "begin > end"},
        {"end past data", R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})", 3,
         "tensor 'a': data_offsets [0, 4] end past the data section (3 bytes)"},
        {"huge end",
         R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [18446744073709551612, 18446744073709551615]}})",
         4, "end past the data section"},
        {"size mismatch", R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}})", 8,
         "data_offsets [0, 4] span 4 bytes, but shape [2] of F32 needs 8"},
        {"overlap",
         R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
         8, "tensor 'a' (bytes 0..8) overlaps tensor 'b' (from 4)"},
        {"duplicate name",
         R"({"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}, "a": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]}})",
         2, "tensor name 'a' appears twice"},
        {"metadata not object", R"({"__metadata__": [1]})", 0,
         "__metadata__ is [1], expected an object of strings"},
        {"metadata value not string", R"({"__metadata__": {"format": 1}})", 0,
         "__metadata__ 'format' is 1, expected a string"},
        {"invalid utf-8", "{\"\xff\": 1}", 0, "header JSON does not parse"},
    };
    for (const auto& c : cases) {
        const auto file = build_file(c.header, std::vector<uint8_t>(c.data_size, 0));
        try {
            parse_safetensors(file.data(), file.size(), "bad.safetensors");
            ADD_FAILURE() << c.name << ": parsed";
        } catch (const Error& e) {
            const std::string msg = e.what();
            EXPECT_EQ(msg.rfind("safetensors bad.safetensors: ", 0), 0u) << c.name << ": " << msg;
            EXPECT_NE(msg.find(c.expected), std::string::npos)
                << c.name << ": expected '" << c.expected << "' in: " << msg;
        }
    }
}

TEST(Safetensors, BadHeaderLengths) {
    const uint8_t small[4] = {1, 2, 3, 4};
    EXPECT_THROW(parse_safetensors(small, sizeof small, "x"), Error);
    std::vector<uint8_t> file(16, ' ');
    uint64_t n = 9;  // one byte more than the file has
    std::memcpy(file.data(), &n, 8);
    try {
        parse_safetensors(file.data(), file.size(), "x");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(
            std::string(e.what()).find("header length 9 is past the end of the file (size 16)"),
            std::string::npos);
    }
    n = ~0ull;
    std::memcpy(file.data(), &n, 8);
    EXPECT_THROW(parse_safetensors(file.data(), file.size(), "x"), Error);
    // Empty header object: valid, no tensors.
    const auto empty = build_file("{}", {});
    EXPECT_TRUE(parse_safetensors(empty.data(), empty.size(), "x").empty());
    // Empty shape: a scalar of one element.
    const auto scalar = build_file(
        R"({"s": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]}})", {0, 0, 128, 63});
    const auto t = parse_safetensors(scalar.data(), scalar.size(), "x");
    ASSERT_EQ(t.size(), 1u);
    EXPECT_EQ(t[0].n_elements(), 1);
    EXPECT_EQ(t[0].to_f32(), std::vector<float>{1.0f});
}

}  // namespace
}  // namespace rf
