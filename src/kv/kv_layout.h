// Layout of one layer's paged KV storage, shared by every backend and the KV manager.
//
// K and V each live in a pool of n_blocks blocks of block_size tokens:
//   element (block b, kv head h, slot i, dim d) is at row ((b * n_kv_head + h) * block_size + i)
//   of a [n_blocks * n_kv_head * block_size, head_dim] matrix stored with the layer's codec.
// One block id means the same token positions in every layer (blocks are allocated per
// sequence, not per layer).
#pragma once

#include <cstddef>
#include <cstdint>

namespace rf {

enum class KvCodec : uint32_t {
    F32 = 0,
    F16 = 1,
};

// Bytes of one (token, head) row of head_dim elements.
inline size_t kv_row_bytes(KvCodec codec, int head_dim) {
    switch (codec) {
        case KvCodec::F32: return static_cast<size_t>(head_dim) * 4;
        case KvCodec::F16: return static_cast<size_t>(head_dim) * 2;
    }
    return 0;
}

inline const char* kv_codec_name(KvCodec codec) {
    switch (codec) {
        case KvCodec::F32: return "f32";
        case KvCodec::F16: return "f16";
    }
    return "?";
}

struct KvLayerView {
    void* k = nullptr;  // backend memory
    void* v = nullptr;
    KvCodec codec = KvCodec::F16;
    int32_t block_size = 16;
    int32_t n_kv_head = 0;
    int32_t head_dim = 0;

    size_t row_bytes() const { return kv_row_bytes(codec, head_dim); }
    // Row index of (block, head, slot) in the layer's [rows, head_dim] matrix.
    int64_t row_index(int64_t block, int64_t head, int64_t slot) const {
        return (block * n_kv_head + head) * block_size + slot;
    }
};

}  // namespace rf
