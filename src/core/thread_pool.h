// A fixed pool of worker threads for data-parallel loops with low dispatch latency (workers spin
// briefly before sleeping, so back-to-back ops of a forward pass do not pay a futex round trip
// each). The calling thread takes part as thread 0.
//
// Two kinds of job:
//   run(fn)             fn(i, n) once on every thread; waits for all of them.
//   for_each_chunk(...) fn(chunk) once per chunk on whichever threads are running: chunks are
//                       claimed from a shared counter, and the caller waits only for chunks that
//                       were claimed, never for a worker that has not started (on a busy machine a
//                       descheduled worker would otherwise stall every op). parallel_for uses it.
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
    // The most threads a pool takes (as ggml's GGML_MAX_N_THREADS).
    static constexpr int kMaxThreads = 512;

    // n_threads: total threads including the caller; <= 0 means hardware_concurrency(). Throws
    // rf::Error above kMaxThreads or when the system cannot start a thread (the started ones joined).
    explicit ThreadPool(int n_threads = 0);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return n_threads_; }

    // Runs fn(thread_index, n_threads) once on every thread; returns when all have finished.
    // The first exception thrown by any thread is rethrown here. Not re-entrant.
    void run(const std::function<void(int, int)>& fn);

    // Calls fn(i) for every i in [0, n_chunks) exactly once; returns when all calls finished.
    // The first exception is rethrown here (the other chunks still run). n_chunks < 2^32.
    void for_each_chunk(int64_t n_chunks, const std::function<void(int64_t)>& fn);

    // Splits [0, n) into contiguous ranges of at least min_chunk (about 4 per thread) and calls
    // fn(begin, end) on them, through for_each_chunk.
    void parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn,
                      int64_t min_chunk = 1);

private:
    void publish(bool chunk_job);
    void stop_workers() noexcept;
    void worker_loop(int index);
    void execute_run(int index, const std::function<void(int, int)>* fn) noexcept;
    // Claims and runs chunks of the chunk job with this epoch while it is live.
    void work_chunks(uint32_t epoch) noexcept;
    void record_error() noexcept;

    int n_threads_;
    std::vector<std::thread> workers_;

    // Job publication: generation_ = (job counter << 1) | (1 for a chunk job), stored last with
    // release; a worker acts on the word it loaded, so the kind is never torn from its job. A
    // run job's run_fn_ stays valid until every worker ran it. The mutex and condition variable
    // only serve sleeping workers (std::atomic::wait loses wake-ups in GCC 12's libstdc++).
    std::mutex wake_mutex_;
    std::condition_variable wake_cv_;
    std::atomic<uint64_t> generation_{0};
    const std::function<void(int, int)>* run_fn_ = nullptr;
    std::atomic<bool> stop_{false};

    // run(): workers still to finish.
    std::atomic<int> remaining_{0};
    std::mutex done_mutex_;
    std::condition_variable done_cv_;

    // for_each_chunk(): (epoch << 32) | next unclaimed chunk. A claim is a CAS on this word, so
    // it succeeds only while that epoch's job is live; the job then stays live until the claimed
    // chunk is done, which makes reading chunk_fn_ / chunk_count_ after the claim safe.
    std::atomic<uint64_t> chunk_state_{0};
    std::atomic<int64_t> chunk_count_{0};
    std::atomic<int64_t> chunk_done_{0};
    std::atomic<const std::function<void(int64_t)>*> chunk_fn_{nullptr};
    uint32_t chunk_epoch_ = 0;  // caller side

    std::mutex error_mutex_;
    std::exception_ptr error_;
};

// Number of threads to use by default: hardware_concurrency(), at least 1.
int default_thread_count();

}  // namespace rf
