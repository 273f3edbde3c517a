// A fixed pool of worker threads for data-parallel loops with low dispatch latency
// (workers spin briefly before sleeping, so back-to-back ops in a forward pass do not pay a
// futex round trip each). The calling thread takes part as thread 0.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace rf {

class ThreadPool {
public:
    // n_threads: total threads including the caller; <= 0 means hardware_concurrency().
    explicit ThreadPool(int n_threads = 0);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return n_threads_; }

    // Runs fn(thread_index, n_threads) once on every thread; returns when all have finished.
    // The first exception thrown by any thread is rethrown here. Not re-entrant.
    void run(const std::function<void(int, int)>& fn);

    // Splits [0, n) into contiguous ranges of at least min_chunk and calls fn(begin, end) on them.
    void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn,
                      int64_t min_chunk = 1);

private:
    void worker_loop(int index);
    void execute(int index) noexcept;

    int n_threads_;
    std::vector<std::thread> workers_;
    const std::function<void(int, int)>* job_ = nullptr;
    std::atomic<uint32_t> generation_{0};
    std::atomic<int> remaining_{0};
    std::atomic<bool> stop_{false};
    // Sleeping is done on condition variables (not std::atomic::wait, which loses wake-ups in
    // GCC 12's libstdc++).
    std::mutex wake_mutex_;
    std::condition_variable wake_cv_;
    std::mutex done_mutex_;
    std::condition_variable done_cv_;
    std::mutex error_mutex_;
    std::exception_ptr error_;
};

// Number of threads to use by default: hardware_concurrency(), at least 1.
int default_thread_count();

}  // namespace rf
