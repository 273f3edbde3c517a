// Matrix-vector dispatch, the float weight types, and the launch heuristics.
#include "backend/gpu/matvec1_kernel.cuh"
#include "backend/gpu/matvec_kernel.cuh"

#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace rf::gpu {

int matvec1_resident_blocks(const void* kernel, int threads, size_t smem) {
    static std::mutex mu;
    static std::map<std::tuple<const void*, int, size_t>, int> cache;
    const std::lock_guard<std::mutex> lock(mu);
    const auto key = std::make_tuple(kernel, threads, smem);
    const auto it = cache.find(key);
    if (it != cache.end()) return it->second;
    int per_sm = 0, dev = 0, n_sm = 0;
    RF_GPU_CALL(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, threads, smem));
    RF_GPU_CALL(cudaGetDevice(&dev));
    RF_GPU_CALL(cudaDeviceGetAttribute(&n_sm, cudaDevAttrMultiProcessorCount, dev));
    const int blocks = std::max(1, per_sm) * std::max(1, n_sm);
    cache.emplace(key, blocks);
    return blocks;
}

bool launch_matvec_q_legacy(Launcher& l, TensorType type, const MatvecArgs& a, const MatvecConfig& c);
bool launch_matvec_q_k(Launcher& l, TensorType type, const MatvecArgs& a, const MatvecConfig& c);
bool launch_matvec1_q_legacy(Launcher& l, TensorType type, const MatvecArgs& a);
bool launch_matvec1_q_k(Launcher& l, TensorType type, const MatvecArgs& a);

bool is_quantized_matvec_type(TensorType t) {
    switch (t) {
        case TensorType::Q4_0: case TensorType::Q4_1: case TensorType::Q5_0: case TensorType::Q5_1:
        case TensorType::Q8_0: case TensorType::Q2_K: case TensorType::Q3_K: case TensorType::Q4_K:
        case TensorType::Q5_K: case TensorType::Q6_K: return true;
        default: return false;
    }
}

bool is_float_matvec_type(TensorType t) {
    return t == TensorType::F32 || t == TensorType::F16 || t == TensorType::BF16;
}

MatvecConfig choose_matvec_config(TensorType type, int64_t rows, int64_t cols, int n_sm) {
    // Measured on H100 and H200 (docs/gpu_notes.md): one warp per row is the best or within noise
    // for every decode shape except few rows over long rows, where two or four warps share a row
    // to keep enough loads in flight.
    MatvecConfig c;
    type = device_type(type);
    const BlockFormat f = block_format(type);
    const int64_t units = is_quantized_matvec_type(type) ? cols / f.qk * units_per_block(type) : cols / 8;
    c.warps_per_row = 1;
    const int64_t target_warps = static_cast<int64_t>(n_sm) * 16;
    while (c.warps_per_row < 4 && rows * c.warps_per_row < target_warps && units >= int64_t{c.warps_per_row} * 2 * 32 * 4)
        c.warps_per_row *= 2;
    return c;
}

bool matvec1_supports(TensorType type, int64_t cols, int64_t n_tok) {
    switch (device_type(type)) {
        case TensorType::Q4_0: case TensorType::Q4_1: case TensorType::Q5_0: case TensorType::Q5_1:
        case TensorType::Q8_0: case TensorType::Q4_K: case TensorType::Q6_K: break;
        default: return false;
    }
    // One token: x in static-limit shared memory (48 KiB: up to ~39K columns); 32-bit unit indices.
    // A few tokens: each token's x, 64 KiB in all (what an RDNA workgroup can have).
    if (n_tok < 1 || n_tok > kMatvec1MaxTokens || cols <= 0 || cols % 32 != 0) return false;
    return n_tok == 1 ? matvec1_smem_bytes(cols) <= 48 * 1024 : static_cast<size_t>(n_tok) * matvec1_token_smem_bytes(cols) <= 64 * 1024;
}

Matvec1Config choose_matvec1_config(TensorType type, int64_t rows, int64_t cols, int n_sm, const Matvec1Shape& shape) {
    // From every configuration timed on H100 (rocmforge_gpu_bench matvec, docs/gpu_notes.md): a
    // whole warp per row is best or within 3% everywhere except many short rows (the 0.5b output
    // matrix, 28 units: 16 lanes; the 7b gate/up and output, 112 units, were on 16 lanes too until
    // whole 7b steps measured 32 faster: q4_0 1921 -> 1904 us, q8_0 3026 -> 3007, q4_K 2077 ->
    // 2067); 512 threads for rows of 512+ units (-8%); 4 lanes per row lost up to 2.8x on long
    // rows. The q8_1 epilogue needs 32 rows per block: 16 lanes x 512 threads.
    (void)n_sm;
    type = device_type(type);
    const BlockFormat f = block_format(type);
    const int64_t units = cols / f.qk * units_per_block(type);
    Matvec1Config c;
    c.lanes_per_row = 32;
    c.block_threads = 256;
    if (units >= 512) c.block_threads = 512;
    else if (units <= 64 && rows >= 8192) c.lanes_per_row = 16;
    // Q6_K output matrices (152064 x 3584, 56 units per row): 128-thread blocks, 172.8 -> 164.6 us
    // isolated on H100 (the persistent grid holds more, smaller blocks per SM)
    if (type == TensorType::Q6_K && rows >= 65536 && units <= 64) c.block_threads = 128;
    // (Q6_K long rows, the q4_k_m down projections 3584 x 18944, keep 256: with 8-row groups 448 over 264
    // persistent blocks leave 52 SMs 4 groups and 80 SMs 3, but 128-thread blocks, 6 or 7 groups per SM,
    // measured 451.6 / 451.9 vs 451.0 / 451.0 tok/s on the engine: the spread, not the limit;
    // docs/gpu_notes.md twentieth pass)
    if (shape.q8_epilogue) {
        c.lanes_per_row = 16;
        c.block_threads = 512;
    }
    // Persistent grid (H100, isolated launches): 4864x896 q4_0 6.19 -> 5.52 us, 18944x3584
    // 19.0 -> 18.5, Q6_K 4-12% faster on every shape; the 64K+-row output matrices of the
    // 4-5-bit types 2.6-4% slower (152064x3584 q4_0 105.9 -> 108.7 us), so those keep one block
    // per row group.
    // Rows of at most 32 units stay persistent at any height (the 0.5b tied output, 151936 x 896
    // q4_0: 42.8 -> 31.6 us; q8_0 equal), so many blocks of little work each are not launched.
    c.persistent = !(rows >= 65536 && type != TensorType::Q6_K && units > 32);
    // x read from global memory (through L1) rather than staged per block: 4-12% faster on the
    // 0.5b shapes and on 3584x18944 (q4_0 19.2 -> 18.9 us), slower on the tall ones
    // (18944x3584 18.6 -> 19.0, 152064x3584 105.6 -> 113.7 persistent); whole 0.5b step -1.4%.
    c.x_direct = rows <= cols || rows * cols <= (int64_t{8} << 20);
    return c;
}

void launch_matvec1_q(Launcher& l, TensorType type, const MatvecArgs& a) {
    type = device_type(type);
    if (launch_matvec1_q_legacy(l, type, a) || launch_matvec1_q_k(l, type, a)) return;
    fail_message(std::string("gpu matvec: no one-token kernel for weight type ") + type_name(type));
}

void launch_matvec_q(Launcher& l, TensorType type, const MatvecArgs& a, const MatvecConfig& c) {
    type = device_type(type);
    if (c.mma && matvec_mma_supports(type, a.n_tok, a.m[0].cols)) return launch_matvec_mma(l, type, a);
    if (launch_matvec_q_legacy(l, type, a, c) || launch_matvec_q_k(l, type, a, c)) return;
    fail_message(std::string("gpu matvec: no quantized kernel for weight type ") + type_name(type));
}

void launch_matvec_f(Launcher& l, TensorType type, const MatvecArgs& a, const MatvecConfig& c) {
    // The 8-wide path needs 16-byte aligned rows of both the weight and x.
    const int64_t cols = a.m[0].cols;
    const size_t elt = type == TensorType::F32 ? 4 : 2;
    bool vec = cols % 8 == 0 && a.x_stride % 4 == 0 && reinterpret_cast<uintptr_t>(a.x) % 16 == 0;
    for (int i = 0; i < a.n_mats; ++i)
        vec = vec && reinterpret_cast<uintptr_t>(a.m[i].plane[0]) % 16 == 0 && (cols * elt) % 16 == 0;
    switch (type) {
        case TensorType::F32:
            if (vec) launch_matvec_policy<FloatPolicy<TensorType::F32, true>>(l, a, c);
            else launch_matvec_policy<FloatPolicy<TensorType::F32, false>>(l, a, c);
            return;
        case TensorType::F16:
            if (vec) launch_matvec_policy<FloatPolicy<TensorType::F16, true>>(l, a, c);
            else launch_matvec_policy<FloatPolicy<TensorType::F16, false>>(l, a, c);
            return;
        case TensorType::BF16:
            if (vec) launch_matvec_policy<FloatPolicy<TensorType::BF16, true>>(l, a, c);
            else launch_matvec_policy<FloatPolicy<TensorType::BF16, false>>(l, a, c);
            return;
        default: fail_message(std::string("gpu matvec: no float kernel for weight type ") + type_name(type));
    }
}

}  // namespace rf::gpu
