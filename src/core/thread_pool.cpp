#include "core/thread_pool.h"

#include <algorithm>
#include <system_error>
#include <utility>

#include "core/error.h"

namespace rf {
namespace {
constexpr int kSpinIterations = 1 << 14;
constexpr uint64_t kIndexMask = 0xffffffffull;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}
}  // namespace

int default_thread_count() { return std::max(1u, std::thread::hardware_concurrency()); }

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads > 0 ? n_threads : default_thread_count()) {
    RF_CHECK(n_threads_ <= kMaxThreads, "{} CPU threads requested (-t/--threads); at most {}", n_threads_, kMaxThreads);
    workers_.reserve(static_cast<size_t>(n_threads_ - 1));
    try {
        for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
    } catch (const std::system_error& e) {
        const size_t started = workers_.size();
        stop_workers();  // (the destructor does not run for a constructor that throws)
        fail("could not start CPU thread {} of {} (-t/--threads): {}", started + 1, n_threads_, e.what());
    }
}

ThreadPool::~ThreadPool() { stop_workers(); }

void ThreadPool::stop_workers() noexcept {
    stop_.store(true, std::memory_order_release);
    publish(false);
    for (auto& t : workers_) t.join();
    workers_.clear();
}

void ThreadPool::publish(bool chunk_job) {
    {
        std::lock_guard<std::mutex> lock(wake_mutex_);
        const uint64_t next = ((generation_.load(std::memory_order_relaxed) >> 1) + 1) << 1;
        generation_.store(next | (chunk_job ? 1u : 0u), std::memory_order_release);
    }
    wake_cv_.notify_all();
}

void ThreadPool::record_error() noexcept {
    std::lock_guard<std::mutex> lock(error_mutex_);
    if (!error_) error_ = std::current_exception();
}

void ThreadPool::execute_run(int index, const std::function<void(int, int)>* fn) noexcept {
    try {
        (*fn)(index, n_threads_);
    } catch (...) {
        record_error();
    }
}

void ThreadPool::work_chunks(uint32_t epoch) noexcept {
    for (;;) {
        uint64_t v = chunk_state_.load(std::memory_order_acquire);
        for (;;) {
            if ((v >> 32) != epoch) return;
            if (static_cast<int64_t>(v & kIndexMask) >= chunk_count_.load(std::memory_order_acquire)) return;
            if (chunk_state_.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel, std::memory_order_acquire))
                break;
        }
        const auto* fn = chunk_fn_.load(std::memory_order_acquire);
        try {
            (*fn)(static_cast<int64_t>(v & kIndexMask));
        } catch (...) {
            record_error();
        }
        chunk_done_.fetch_add(1, std::memory_order_acq_rel);
    }
}

void ThreadPool::worker_loop(int index) {
    uint64_t seen = 0;  // generation_ starts at 0 and nothing was dispatched before the workers existed
    for (;;) {
        uint64_t now = generation_.load(std::memory_order_acquire);
        for (int spin = 0; now == seen && spin < kSpinIterations; ++spin) {
            cpu_relax();
            now = generation_.load(std::memory_order_acquire);
        }
        if (now == seen) {
            std::unique_lock<std::mutex> lock(wake_mutex_);
            wake_cv_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
            now = generation_.load(std::memory_order_acquire);
        }
        seen = now;
        if (stop_.load(std::memory_order_acquire)) return;
        if (now & 1u) {
            work_chunks(static_cast<uint32_t>(chunk_state_.load(std::memory_order_acquire) >> 32));
            continue;
        }
        execute_run(index, run_fn_);
        if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            std::lock_guard<std::mutex> lock(done_mutex_);
            done_cv_.notify_one();
        }
    }
}

void ThreadPool::run(const std::function<void(int, int)>& fn) {
    if (n_threads_ == 1) {
        fn(0, 1);
        return;
    }
    error_ = nullptr;
    remaining_.store(n_threads_ - 1, std::memory_order_release);
    run_fn_ = &fn;
    publish(false);
    execute_run(0, &fn);
    int left = remaining_.load(std::memory_order_acquire);
    for (int spin = 0; left != 0 && spin < kSpinIterations; ++spin) {
        cpu_relax();
        left = remaining_.load(std::memory_order_acquire);
    }
    if (left != 0) {
        std::unique_lock<std::mutex> lock(done_mutex_);
        done_cv_.wait(lock, [&] { return remaining_.load(std::memory_order_acquire) == 0; });
    }
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

void ThreadPool::for_each_chunk(int64_t n_chunks, const std::function<void(int64_t)>& fn) {
    if (n_chunks <= 0) return;
    if (n_threads_ == 1 || n_chunks == 1) {
        for (int64_t i = 0; i < n_chunks; ++i) fn(i);
        return;
    }
    error_ = nullptr;
    const uint32_t epoch = ++chunk_epoch_;
    // First close the previous epoch: a late worker still holding its state word fails its CAS
    // from here on, so it can never pair an old index with the new job's function or count.
    chunk_state_.store((static_cast<uint64_t>(epoch) << 32) | kIndexMask, std::memory_order_release);
    chunk_fn_.store(&fn, std::memory_order_release);
    chunk_count_.store(n_chunks, std::memory_order_release);
    chunk_done_.store(0, std::memory_order_release);
    chunk_state_.store(static_cast<uint64_t>(epoch) << 32, std::memory_order_release);
    publish(true);
    work_chunks(epoch);
    // Every chunk is claimed now; wait for the ones other threads are still running.
    for (int spin = 0; chunk_done_.load(std::memory_order_acquire) != n_chunks; ++spin) {
        if (spin < kSpinIterations) cpu_relax();
        else std::this_thread::yield();
    }
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn,
                              int64_t min_chunk) {
    if (n <= 0) return;
    min_chunk = std::max<int64_t>(1, min_chunk);
    const int64_t max_parts = (n + min_chunk - 1) / min_chunk;
    const int64_t parts = std::min<int64_t>(max_parts, 4 * static_cast<int64_t>(n_threads_));
    if (n_threads_ == 1 || parts == 1) {
        fn(0, n);
        return;
    }
    const int64_t per = (n + parts - 1) / parts;
    for_each_chunk((n + per - 1) / per, [&](int64_t c) { fn(c * per, std::min(n, (c + 1) * per)); });
}

}  // namespace rf
