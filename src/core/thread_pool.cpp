#include "core/thread_pool.h"

#include <algorithm>
#include <utility>

namespace rf {
namespace {
constexpr int kSpinIterations = 1 << 14;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}
}  // namespace

int default_thread_count() { return std::max(1u, std::thread::hardware_concurrency()); }

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads > 0 ? n_threads : default_thread_count()) {
    workers_.reserve(static_cast<size_t>(n_threads_ - 1));
    for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lock(wake_mutex_);
        stop_.store(true, std::memory_order_release);
        generation_.fetch_add(1, std::memory_order_acq_rel);
    }
    wake_cv_.notify_all();
    for (auto& t : workers_) t.join();
}

void ThreadPool::execute(int index) noexcept {
    try {
        (*job_)(index, n_threads_);
    } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex_);
        if (!error_) error_ = std::current_exception();
    }
}

void ThreadPool::worker_loop(int index) {
    uint32_t seen = 0;  // generation_ starts at 0 and nothing was dispatched before the workers existed
    for (;;) {
        uint32_t now = generation_.load(std::memory_order_acquire);
        for (int spin = 0; now == seen && spin < kSpinIterations; ++spin) {
            cpu_relax();
            now = generation_.load(std::memory_order_acquire);
        }
        if (now == seen) {
            std::unique_lock<std::mutex> lock(wake_mutex_);
            wake_cv_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
            continue;
        }
        seen = now;
        if (stop_.load(std::memory_order_acquire)) return;
        execute(index);
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
    job_ = &fn;
    error_ = nullptr;
    remaining_.store(n_threads_ - 1, std::memory_order_release);
    {
        std::lock_guard<std::mutex> lock(wake_mutex_);
        generation_.fetch_add(1, std::memory_order_acq_rel);
    }
    wake_cv_.notify_all();
    execute(0);
    int left = remaining_.load(std::memory_order_acquire);
    for (int spin = 0; left != 0 && spin < kSpinIterations; ++spin) {
        cpu_relax();
        left = remaining_.load(std::memory_order_acquire);
    }
    if (left != 0) {
        std::unique_lock<std::mutex> lock(done_mutex_);
        done_cv_.wait(lock, [&] { return remaining_.load(std::memory_order_acquire) == 0; });
    }
    job_ = nullptr;
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn,
                              int64_t min_chunk) {
    if (n <= 0) return;
    min_chunk = std::max<int64_t>(1, min_chunk);
    const int64_t max_parts = (n + min_chunk - 1) / min_chunk;
    if (n_threads_ == 1 || max_parts == 1) {
        fn(0, n);
        return;
    }
    run([&](int ith, int nth) {
        const int64_t parts = std::min<int64_t>(nth, max_parts);
        if (ith >= parts) return;
        const int64_t per = (n + parts - 1) / parts;
        const int64_t begin = ith * per;
        const int64_t end = std::min(n, begin + per);
        if (begin < end) fn(begin, end);
    });
}

}  // namespace rf
