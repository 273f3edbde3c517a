// GGUF files the tests and the interop tool build with our writer:
//  - every_type_writer(): one key of every metadata value type (u64/i64 beyond 2^53, f64, bool,
//    UTF-8 strings), arrays of every element type, an empty array, nested arrays (mixed element
//    types, three deep) and one tensor of every TensorType (deterministic bytes).
//  - copy_to_writer(): a GgufWriter holding all metadata and tensors of a file we read.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "formats/gguf/gguf_file.h"
#include "formats/gguf/gguf_writer.h"
#include "formats/tensor_type.h"

namespace rf::test {

// Deterministic pseudo-random bytes (xorshift), the same for the same seed.
inline void fill_pattern(uint8_t* dst, size_t n, uint32_t seed) {
    uint32_t x = seed * 2654435761u + 1u;
    for (size_t i = 0; i < n; ++i) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        dst[i] = static_cast<uint8_t>(x >> 24);
    }
}

template <typename T>
GgufValue gguf_array(GgufType elem, std::vector<T> v) {
    auto a = std::make_shared<GgufArray>();
    a->elem_type = elem;
    a->values = std::move(v);
    return GgufValue(GgufType::ARRAY, std::move(a));
}

template <typename T>
GgufArray gguf_inner_array(GgufType elem, std::vector<T> v) {
    GgufArray a;
    a.elem_type = elem;
    a.values = std::move(v);
    return a;
}

// Every type id this build knows, in id order.
inline std::vector<TensorType> all_tensor_types() {
    std::vector<TensorType> out;
    for (uint32_t id = 0; id < 64; ++id)
        if (tensor_type_traits(id)) out.push_back(static_cast<TensorType>(id));
    return out;
}

inline void add_every_type_metadata(GgufWriter& w) {
    using T = GgufType;
    w.set_string("general.architecture", "rftest");
    w.set("test.u8", GgufValue(T::U8, uint8_t{200}));
    w.set("test.i8", GgufValue(T::I8, int8_t{-100}));
    w.set("test.u16", GgufValue(T::U16, uint16_t{60000}));
    w.set("test.i16", GgufValue(T::I16, int16_t{-30000}));
    w.set("test.u32", GgufValue(T::U32, uint32_t{4000000000u}));
    w.set("test.i32", GgufValue(T::I32, int32_t{-2000000000}));
    w.set("test.f32", GgufValue(T::F32, 3.14159f));
    w.set("test.f32_tiny", GgufValue(T::F32, 1e-6f));
    w.set("test.bool_true", GgufValue(T::BOOL, true));
    w.set("test.bool_false", GgufValue(T::BOOL, false));
    w.set("test.string",
          GgufValue(T::STRING, std::string("h\xc3\xa9llo w\xc3\xb6rld \"q\"\n\ttab")));
    w.set("test.string_empty", GgufValue(T::STRING, std::string()));
    w.set("test.u64", GgufValue(T::U64, uint64_t{9223372036854775813ull}));  // 2^63 + 5
    w.set("test.i64", GgufValue(T::I64, int64_t{-4611686018427387911ll}));   // -(2^62) - 7
    w.set("test.f64", GgufValue(T::F64, 2.718281828459045));

    w.set("test.arr.u8", gguf_array(T::U8, std::vector<uint8_t>{0, 1, 255}));
    w.set("test.arr.i8", gguf_array(T::I8, std::vector<int8_t>{-128, 0, 127}));
    w.set("test.arr.u16", gguf_array(T::U16, std::vector<uint16_t>{0, 65535}));
    w.set("test.arr.i16", gguf_array(T::I16, std::vector<int16_t>{-32768, 32767}));
    w.set("test.arr.u32", gguf_array(T::U32, std::vector<uint32_t>{0, 4294967295u}));
    w.set("test.arr.i32",
          gguf_array(T::I32, std::vector<int32_t>{std::numeric_limits<int32_t>::min(), -1, 7}));
    w.set("test.arr.f32", gguf_array(T::F32, std::vector<float>{1.5f, -0.25f, 1e-6f, 3.0e38f}));
    w.set("test.arr.bool", gguf_array(T::BOOL, std::vector<bool>{true, false, true}));
    w.set("test.arr.string",
          gguf_array(T::STRING, std::vector<std::string>{"a", "", "\xc3\xbc", "x y"}));
    w.set("test.arr.u64",
          gguf_array(T::U64, std::vector<uint64_t>{0, std::numeric_limits<uint64_t>::max()}));
    w.set("test.arr.i64",
          gguf_array(T::I64, std::vector<int64_t>{std::numeric_limits<int64_t>::min(),
                                                  std::numeric_limits<int64_t>::max()}));
    w.set("test.arr.f64", gguf_array(T::F64, std::vector<double>{0.1, -1e300, 5e-324}));
    w.set("test.arr.empty", gguf_array(T::I32, std::vector<int32_t>{}));

    // [[1, 2] (u8), ["x"] (string), [] (f64)]: inner arrays of different element types.
    w.set("test.nested.mixed",
          gguf_array(T::ARRAY, std::vector<GgufArray>{
                                   gguf_inner_array(T::U8, std::vector<uint8_t>{1, 2}),
                                   gguf_inner_array(T::STRING, std::vector<std::string>{"x"}),
                                   gguf_inner_array(T::F64, std::vector<double>{})}));
    // [[["a"], ["b", "c"]], []]: three levels.
    GgufArray level2a = gguf_inner_array(
        T::ARRAY,
        std::vector<GgufArray>{gguf_inner_array(T::STRING, std::vector<std::string>{"a"}),
                               gguf_inner_array(T::STRING, std::vector<std::string>{"b", "c"})});
    GgufArray level2b = gguf_inner_array(T::ARRAY, std::vector<GgufArray>{});
    w.set("test.nested.deep",
          gguf_array(T::ARRAY, std::vector<GgufArray>{std::move(level2a), std::move(level2b)}));
    w.set("test.nested.i64",
          gguf_array(T::ARRAY, std::vector<GgufArray>{
                                   gguf_inner_array(T::I64, std::vector<int64_t>{-5, 1ll << 60}),
                                   gguf_inner_array(T::BOOL, std::vector<bool>{false})}));
}

// One tensor per type: block types get ne = {2 blocks, 3}, plain types ne = {5, 3, 2}, plus a
// 4-D f32 tensor.
inline void add_every_type_tensors(GgufWriter& w) {
    uint32_t seed = 1;
    for (TensorType t : all_tensor_types()) {
        const int64_t bs = block_size(t);
        std::vector<int64_t> ne =
            bs > 1 ? std::vector<int64_t>{2 * bs, 3} : std::vector<int64_t>{5, 3, 2};
        const uint32_t s = seed++;
        w.add_tensor(std::string("t.") + type_name(t), t, ne,
                     [s](uint8_t* dst, size_t n) { fill_pattern(dst, n, s); });
    }
    w.add_tensor("t.f32_4d", TensorType::F32, {2, 3, 4, 5},
                 [](uint8_t* dst, size_t n) { fill_pattern(dst, n, 999); });
}

inline GgufWriter every_type_writer(uint64_t alignment) {
    GgufWriter w(alignment);
    add_every_type_metadata(w);
    add_every_type_tensors(w);
    return w;
}

// A writer that reproduces f (metadata in file order, tensors in file order); f must outlive
// the write. alignment 0 keeps f's alignment; another value re-lays the data out (and drops f's
// own general.alignment key, which the writer then sets itself).
inline GgufWriter copy_to_writer(const GgufFile& f, uint64_t alignment = 0) {
    const uint64_t a = alignment == 0 ? f.alignment() : alignment;
    GgufWriter w(a);
    for (const auto& [key, value] : f.metadata()) {
        if (key == "general.alignment" && a != f.alignment()) continue;
        w.set(key, value);
    }
    for (const auto& t : f.tensors()) w.add_tensor(t.name, t.type, t.ne, t.data, t.nbytes);
    return w;
}

}  // namespace rf::test
