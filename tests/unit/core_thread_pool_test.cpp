#include <gtest/gtest.h>

#include <atomic>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"

namespace rf {
namespace {

TEST(ThreadPool, RunsEveryThreadOnce) {
    ThreadPool pool(4);
    for (int round = 0; round < 200; ++round) {
        std::vector<std::atomic<int>> hits(4);
        pool.run([&](int ith, int nth) {
            EXPECT_EQ(nth, 4);
            hits[static_cast<size_t>(ith)].fetch_add(1);
        });
        for (auto& h : hits) EXPECT_EQ(h.load(), 1);
    }
}

TEST(ThreadPool, ParallelForCoversRangeExactlyOnce) {
    ThreadPool pool(3);
    for (int64_t n : {1, 2, 3, 7, 1000, 1001}) {
        std::vector<std::atomic<int>> seen(static_cast<size_t>(n));
        pool.parallel_for(n, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) seen[static_cast<size_t>(i)].fetch_add(1);
        });
        for (auto& s : seen) EXPECT_EQ(s.load(), 1);
    }
}

TEST(ThreadPool, PropagatesExceptions) {
    ThreadPool pool(2);
    EXPECT_THROW(pool.run([](int ith, int) {
        if (ith == 1) fail("boom from thread {}", ith);
    }),
                 Error);
    // The pool still works afterwards.
    std::atomic<int> sum{0};
    pool.run([&](int ith, int) { sum += ith + 1; });
    EXPECT_EQ(sum.load(), 3);
}

TEST(ThreadPool, ChunksRunExactlyOnceUnderOversubscription) {
    // 24 threads on a 2-core machine: workers are often descheduled mid-job; chunk jobs must
    // still run every chunk exactly once, interleaved with run() jobs and across epochs.
    ThreadPool pool(24);
    for (int round = 0; round < 300; ++round) {
        const int64_t n = 1 + round % 37;
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        pool.for_each_chunk(n, [&](int64_t i) { hits[static_cast<size_t>(i)].fetch_add(1); });
        for (auto& h : hits) ASSERT_EQ(h.load(), 1) << "round " << round;
        if (round % 10 == 0) {
            std::atomic<int> ran{0};
            pool.run([&](int, int) { ran.fetch_add(1); });
            ASSERT_EQ(ran.load(), 24);
        }
    }
}

TEST(ThreadPool, ChunkExceptionsReachTheCaller) {
    ThreadPool pool(3);
    std::atomic<int> done{0};
    EXPECT_THROW(pool.for_each_chunk(50, [&](int64_t i) {
        done.fetch_add(1);
        if (i == 17) fail("chunk {}", i);
    }),
                 Error);
    EXPECT_EQ(done.load(), 50);  // the other chunks still ran
    std::atomic<int64_t> sum{0};
    pool.parallel_for(1000, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) sum += i;
    });
    EXPECT_EQ(sum.load(), 999 * 1000 / 2);
}


TEST(ThreadPool, RefusesMoreThreadsThanItsBoundNamingTheOption) {
    try {
        ThreadPool pool(ThreadPool::kMaxThreads + 1);
        ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("513 CPU threads requested (-t/--threads); at most 512"), std::string::npos)
            << e.what();
    }
}

}  // namespace
}  // namespace rf
