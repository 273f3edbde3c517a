// Memory bandwidth of this machine as the bench sees it: a multi-threaded read (and copy) of a
// buffer far beyond the caches, on the same threads the CPU backend uses. The figure the
// generation throughput is compared against.
#pragma once

#include <cstddef>
#include <string>

#include "backend/backend.h"

namespace rf {

class ThreadPool;

struct Bandwidth {
    double read_gbs = 0;  // GB/s (1e9 bytes) read by all threads together, best pass
    double copy_gbs = 0;  // GB/s of memcpy (bytes read + bytes written), best pass
    size_t buffer_bytes = 0;
    int threads = 0;
    std::string describe() const;  // one line for the report
};

// Repeated measurements on buffers allocated (and faulted in) once. CPU backends: each pool
// thread reads / copies its contiguous slice of the buffer. Other backends: device-to-device
// copies; read_gbs = copy_gbs (bytes read + written per second: what the device moves).
class BandwidthMeter {
  public:
    BandwidthMeter(Backend& backend, size_t bytes = size_t{1} << 30);
    ~BandwidthMeter();
    BandwidthMeter(const BandwidthMeter&) = delete;
    BandwidthMeter& operator=(const BandwidthMeter&) = delete;

    // Best of `passes`.
    Bandwidth measure(int passes = 5);

  private:
    Backend& backend_;
    ThreadPool* pool_ = nullptr;  // CPU backends
    size_t bytes_;
    void* a_ = nullptr;
    void* b_ = nullptr;
};

}  // namespace rf
