// Resident f16 copies of quantized weight matrices for the GPU's vendor-GEMM path: the policy
// (what is kept, what is evicted, the byte budget), without any GPU call of its own, so that the
// CPU tests exercise it. The GPU backend (gpu_backend_impl.cpp) owns one and passes in how device
// memory is taken and given back.
//
// Why: above ~96 tokens per step a matmul dequantizes its whole weight to f16 into a scratch and
// runs one cuBLAS GEMM (gemm_dispatch.cpp). A 512-token prefill chunk of a 7b q4_0 model pays
// ~6 ms of its ~22 ms for that, again for every chunk. With a copy kept per matrix, the chunks
// after the first (and later prompts) only run the GEMM.
//
// Entries: one per matrix, keyed by the matrix's device address, type and shape (two matrices
// never share an entry; the backend forgets the entries of a weight it releases or overwrites, so
// an address reused by a later weight cannot hit a stale copy). Bytes: rows * cols * 2.
//
// A step (one flush that has vendor-GEMM matmuls) is bracketed by begin_step() / end_step():
// acquire() per matmul returns the entry's memory and whether this op must write it (the first
// use of a new entry); end_step(true) marks the new entries filled, end_step(false) drops them
// (the step failed before they were written). Entries used in the current step are never evicted.
//
// Eviction: least recently used first, among the entries not used in the current or the previous
// step. A prefill step uses every layer's matrices, so an entry idle for a whole step belongs to
// no model that is running; entries that are in use are kept even when a new matrix does not fit
// (it runs through the scratch as without a cache). Plain LRU would evict, in a cyclic pass over
// more matrices than fit, exactly the matrix needed next: every access a miss.
//
// Budget: ROCMFORGE_GPU_F16_CACHE_GB when set (0 disables), else what is free on the device at the
// first vendor-GEMM step (after weights, KV cache and workspace were allocated at load) minus the
// VRAM reserve (vram_reserve_bytes) minus a margin for buffers that grow later (f16_cache_margin).
// When a later allocation of the model finds the device full, the backend takes memory back from
// the cache (release_for) and lowers the budget to what is left.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace rf {

// ROCMFORGE_GPU_F16_CACHE_GB as bytes; nullopt when unset or empty. Throws on a bad value.
std::optional<uint64_t> f16_cache_budget_from_env();

// Bytes left outside the automatic budget for buffers that grow after the first prefill step
// (scratch, workspace of a longer chunk, graph memory): max(1 GiB, total / 16).
uint64_t f16_cache_margin(uint64_t total_bytes);

// The automatic budget: free - reserve - f16_cache_margin(total), or 0.
uint64_t f16_cache_auto_budget(uint64_t free_bytes, uint64_t total_bytes, uint64_t reserve_bytes);

struct F16CacheKey {
    const void* data = nullptr;  // the matrix in device memory
    int32_t type = 0;            // its TensorType
    int64_t rows = 0;
    int64_t cols = 0;
    bool operator==(const F16CacheKey&) const = default;
};

struct F16CacheCounters {
    int64_t hits = 0;       // acquire() found a filled copy
    int64_t fills = 0;      // acquire() created a copy (this op writes it)
    int64_t bypasses = 0;   // no room within the budget (or on the device): the scratch path
    int64_t evictions = 0;  // copies given back (LRU, budget change, release_for, forget excluded)
};

class F16WeightCache {
public:
    // alloc: device memory of `bytes`, or nullptr when the device has none (not an error).
    // free: gives an entry's memory back; the caller makes sure no queued work still reads it.
    using AllocFn = std::function<void*(size_t bytes)>;
    using FreeFn = std::function<void(void* ptr)>;

    F16WeightCache(AllocFn alloc, FreeFn free);
    ~F16WeightCache();
    F16WeightCache(const F16WeightCache&) = delete;
    F16WeightCache& operator=(const F16WeightCache&) = delete;

    bool has_budget() const { return budget_.has_value(); }
    uint64_t budget() const { return budget_.value_or(0); }
    // Sets the budget, evicting least recently used entries above it (outside a step).
    void set_budget(uint64_t bytes);
    // Back to "no budget yet" (the owner computes one before the next step); entries stay.
    void reset_budget() { budget_.reset(); }

    void begin_step();
    struct Slot {
        void* ptr = nullptr;  // null: not cached, use the scratch
        bool fill = false;    // this op writes the copy (the entry's first use)
    };
    // The copy of `key` (src_bytes: the quantized matrix's byte size in device memory, for
    // forget()), created when `bytes` fit the budget; inside begin_step() / end_step().
    Slot acquire(const F16CacheKey& key, size_t src_bytes, size_t bytes);
    void end_step(bool filled);

    // Drops the entries whose quantized matrix overlaps [p, p + n) (a released or overwritten
    // weight), outside a step. Not counted as evictions.
    void forget(const void* p, size_t n);
    // Device memory wanted elsewhere: evicts least recently used entries (outside a step) until
    // `bytes` are freed or none is left, and lowers the budget to what stays. Returns bytes freed.
    size_t release_for(size_t bytes);
    void clear();

    uint64_t used_bytes() const { return used_; }
    size_t entries() const { return entries_.size(); }
    const F16CacheCounters& counters() const { return counters_; }

private:
    struct Entry {
        F16CacheKey key;
        const uint8_t* src_end = nullptr;  // key.data + src_bytes
        void* ptr = nullptr;
        size_t bytes = 0;
        uint64_t last_use = 0;   // tick of the last acquire (LRU order)
        uint64_t last_step = 0;  // step of the last acquire
        bool filled = false;
    };
    void drop(size_t i);  // frees entry i (swap-remove)
    // Index of the least recently used entry that may go (idle_only: not used in this or the
    // previous step; otherwise any entry not used in a step in progress), or npos.
    size_t lru_victim(bool idle_only) const;

    AllocFn alloc_;
    FreeFn free_;
    std::optional<uint64_t> budget_;
    std::vector<Entry> entries_;  // a few hundred at most: linear search
    uint64_t used_ = 0;
    uint64_t tick_ = 0;
    uint64_t step_ = 0;
    bool in_step_ = false;
    F16CacheCounters counters_;
};

}  // namespace rf
