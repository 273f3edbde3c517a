#include "backend/gpu_host/f16_weight_cache.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "core/error.h"

namespace rf {
namespace {
constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
constexpr size_t kNone = std::numeric_limits<size_t>::max();
}  // namespace

std::optional<uint64_t> f16_cache_budget_from_env() {
    const char* env = std::getenv("ROCMFORGE_GPU_F16_CACHE_GB");
    if (env == nullptr || *env == '\0') return std::nullopt;
    char* end = nullptr;
    const double v = std::strtod(env, &end);
    RF_CHECK(end != env && *end == '\0' && std::isfinite(v) && v >= 0.0,
             "ROCMFORGE_GPU_F16_CACHE_GB='{}' is not a number of GiB >= 0 (0 turns the f16 weight cache off)", env);
    return static_cast<uint64_t>(v * kGiB);
}

uint64_t f16_cache_margin(uint64_t total_bytes) { return std::max<uint64_t>(uint64_t{1} << 30, total_bytes / 16); }

uint64_t f16_cache_auto_budget(uint64_t free_bytes, uint64_t total_bytes, uint64_t reserve_bytes) {
    const uint64_t keep = reserve_bytes + f16_cache_margin(total_bytes);
    return free_bytes > keep ? free_bytes - keep : 0;
}

F16WeightCache::F16WeightCache(AllocFn alloc, FreeFn free) : alloc_(std::move(alloc)), free_(std::move(free)) {}

F16WeightCache::~F16WeightCache() {
    try {
        clear();
    } catch (...) {
    }
}

void F16WeightCache::drop(size_t i) {
    Entry e = entries_[i];
    entries_[i] = entries_.back();
    entries_.pop_back();
    used_ -= e.bytes;
    free_(e.ptr);
}

size_t F16WeightCache::lru_victim(bool idle_only) const {
    size_t best = kNone;
    for (size_t i = 0; i < entries_.size(); ++i) {
        const Entry& e = entries_[i];
        if (in_step_ && e.last_step == step_) continue;      // bound to a launch of this step
        if (idle_only && e.last_step + 1 >= step_) continue;  // used in this or the previous step
        if (best == kNone || e.last_use < entries_[best].last_use) best = i;
    }
    return best;
}

void F16WeightCache::set_budget(uint64_t bytes) {
    RF_CHECK(!in_step_, "f16 weight cache: budget changed inside a step");
    budget_ = bytes;
    while (used_ > bytes) {
        const size_t v = lru_victim(false);
        if (v == kNone) break;
        drop(v);
        ++counters_.evictions;
    }
}

void F16WeightCache::begin_step() {
    RF_CHECK(!in_step_, "f16 weight cache: a step began inside a step");
    RF_CHECK(budget_.has_value(), "f16 weight cache: a step began before the budget was set");
    in_step_ = true;
    ++step_;
}

F16WeightCache::Slot F16WeightCache::acquire(const F16CacheKey& key, size_t src_bytes, size_t bytes) {
    RF_CHECK(in_step_, "f16 weight cache: acquire outside a step");
    for (Entry& e : entries_) {
        if (!(e.key == key)) continue;
        e.last_use = ++tick_;
        e.last_step = step_;
        // a new entry used twice in one step: the first op writes it, before this one reads it
        if (e.filled) ++counters_.hits;
        return {e.ptr, false};
    }
    const uint64_t budget = budget_.value_or(0);
    if (bytes == 0 || bytes > budget) {
        ++counters_.bypasses;
        return {};
    }
    while (used_ + bytes > budget) {
        const size_t v = lru_victim(true);
        if (v == kNone) {
            ++counters_.bypasses;
            return {};
        }
        drop(v);
        ++counters_.evictions;
    }
    void* p = alloc_(bytes);
    if (p == nullptr) {  // the device is fuller than the budget assumed: stop growing here
        budget_ = used_;
        ++counters_.bypasses;
        return {};
    }
    Entry e;
    e.key = key;
    e.src_end = static_cast<const uint8_t*>(key.data) + src_bytes;
    e.ptr = p;
    e.bytes = bytes;
    e.last_use = ++tick_;
    e.last_step = step_;
    e.filled = false;
    entries_.push_back(e);
    used_ += bytes;
    ++counters_.fills;
    return {p, true};
}

void F16WeightCache::end_step(bool filled) {
    if (!in_step_) return;
    for (size_t i = entries_.size(); i-- > 0;) {
        Entry& e = entries_[i];
        if (e.filled) continue;
        if (filled) e.filled = true;
        else drop(i);
    }
    in_step_ = false;
}

void F16WeightCache::forget(const void* p, size_t n) {
    RF_CHECK(!in_step_, "f16 weight cache: forget inside a step");
    const auto* a = static_cast<const uint8_t*>(p);
    for (size_t i = entries_.size(); i-- > 0;) {
        const auto* s = static_cast<const uint8_t*>(entries_[i].key.data);
        if (s < a + n && a < entries_[i].src_end) drop(i);
    }
}

size_t F16WeightCache::release_for(size_t bytes) {
    size_t freed = 0;
    while (freed < bytes) {
        const size_t v = lru_victim(false);
        if (v == kNone) break;
        freed += entries_[v].bytes;
        drop(v);
        ++counters_.evictions;
    }
    if (freed > 0) budget_ = used_;
    return freed;
}

void F16WeightCache::clear() {
    while (!entries_.empty()) drop(entries_.size() - 1);
    in_step_ = false;
}

}  // namespace rf
