// One GGUF tensor of a conversion, described as a recipe over the memory-mapped source tensors
// and produced row by row at write time, so a conversion holds one chunk of rows in memory, not
// the model.
//
// The output is a row-major matrix of ne[0] columns and n_rows() = ne[1] * ne[2] * ... rows.
// Output row r is source row row_order.map(r) of the concatenated slices (expert stacking
// concatenates one slice per expert); within a row, output column c is source column
// col_order.map(c); then `op` is applied elementwise in f32, and the row is converted or
// quantized to `type`. A 1-D tensor is one row.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "formats/tensor_type.h"

namespace rf {

struct SafetensorsTensor;
class ThreadPool;

// Rows [row_begin, row_begin + n_rows) of a source tensor seen as a matrix whose rows are its
// innermost dimension (shape[-1] elements each).
struct ConvertSlice {
    const SafetensorsTensor* tensor = nullptr;
    int64_t row_begin = 0;
    int64_t n_rows = 0;
};

// llama.cpp's Gated DeltaNet value-head reordering (_LinearAttentionVReorderBase): the
// Hugging Face weights group the value heads by key head, [K0: v0 v1 .. v(r-1), K1: ...]; GGUF
// tiles them, [v0 of K0, v0 of K1, ..., v1 of K0, v1 of K1, ...], so a value head h uses key
// head h % n_k_heads (ggml_repeat) instead of h / r. Indices [offset, offset + n_v_heads *
// head_dim) are permuted in blocks of head_dim; indices outside that range map to themselves.
struct HeadReorder {
    int64_t n_k_heads = 0;  // 0: identity
    int64_t n_v_per_k = 1;  // r = n_v_heads / n_k_heads
    int64_t head_dim = 1;   // elements per head along the reordered axis
    int64_t offset = 0;     // first reordered index (after the q and k rows of a fused qkv)

    bool active() const { return n_k_heads > 0 && n_v_per_k > 1; }
    // Source index of output index i.
    int64_t map(int64_t i) const {
        if (!active()) return i;
        const int64_t local = i - offset;
        const int64_t span = n_k_heads * n_v_per_k * head_dim;
        if (local < 0 || local >= span) return i;
        const int64_t head = local / head_dim;  // tiled: head = j * n_k_heads + k
        const int64_t src_head = (head % n_k_heads) * n_v_per_k + head / n_k_heads;
        return offset + src_head * head_dim + local % head_dim;
    }
};

enum class ConvertOp {
    none,
    add_one,  // 1 + w: RMSNorm weights stored zero-centred (Qwen3.5)
    neg_exp,  // -exp(A_log): the Gated DeltaNet decay rate ssm_a
};

struct ConvertTensor {
    std::string name;                  // GGUF name
    std::vector<int64_t> ne;           // GGUF shape, ne[0] innermost
    std::vector<ConvertSlice> slices;  // together n_rows() rows of ne[0] elements
    HeadReorder row_order;
    HeadReorder col_order;
    ConvertOp op = ConvertOp::none;
    TensorType type = TensorType::F32;  // decided after mapping (convert_hf.cpp)
    std::string source;                 // Hugging Face name(s), for messages

    int64_t n_rows() const;
    int64_t n_elements() const { return ne[0] * n_rows(); }
};

// Output rows [r0, r0 + n) as f32, n * ne[0] floats into out.
void produce_rows(const ConvertTensor& t, int64_t r0, int64_t n, float* out);

// Writes the whole tensor in t.type into dst (row_size(t.type, ne[0]) * n_rows() bytes),
// chunk by chunk, converting and quantizing on `pool` when given.
void produce_tensor(const ConvertTensor& t, uint8_t* dst, ThreadPool* pool);

}  // namespace rf
