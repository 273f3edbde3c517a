// What the scheduler tests share.
#pragma once

#include <atomic>
#include <future>
#include <thread>

#include "server/scheduler.h"

namespace rf::server {

// Runs `queue` (which submits requests) while the scheduler's thread is held between two steps, so
// that everything it submits is admitted together and shares the same steps: a batch composition
// that does not depend on timing.
template <typename Queue>
void queue_while_held(Scheduler& sched, Queue&& queue) {
    std::atomic<bool> held{false};
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::thread holder([&] { sched.call([&] { held = true; released.wait(); }); });
    while (!held) std::this_thread::yield();
    try {
        queue();
    } catch (...) {
        release.set_value();
        holder.join();
        throw;
    }
    release.set_value();
    holder.join();
}

}  // namespace rf::server
