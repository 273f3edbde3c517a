// Cross-process GPU lock: an exclusive flock() on a lock file, taken before any GPU work by the
// CLI, the server and every GPU test. A second process waits up to `timeout_seconds`, then fails
// with a message naming the lock file and the holder's pid. The lock is released when the
// object is destroyed or the process dies (the kernel drops flocks of dead processes).
//
// Path: ROCMFORGE_GPU_LOCK (default /tmp/rocmforge-gpu.lock); timeout:
// ROCMFORGE_GPU_LOCK_TIMEOUT seconds (default 600).
#pragma once

#include <string>

namespace rf {

struct GpuLockOptions {
    std::string path;          // empty: from the environment / default
    double timeout_seconds = -1.0;  // < 0: from the environment / default
};

GpuLockOptions gpu_lock_options_from_env();

class GpuLock {
public:
    explicit GpuLock(const GpuLockOptions& options);
    ~GpuLock();
    GpuLock(const GpuLock&) = delete;
    GpuLock& operator=(const GpuLock&) = delete;

    const std::string& path() const { return path_; }
    double waited_seconds() const { return waited_; }

private:
    std::string path_;
    int fd_ = -1;
    double waited_ = 0.0;
};

}  // namespace rf
