#include "backend/gpu_host/gpu_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "core/error.h"

namespace rf {

GpuLockOptions gpu_lock_options_from_env() {
    GpuLockOptions o;
    const char* path = std::getenv("ROCMFORGE_GPU_LOCK");
    o.path = path && *path ? path : "/tmp/rocmforge-gpu.lock";
    const char* timeout = std::getenv("ROCMFORGE_GPU_LOCK_TIMEOUT");
    o.timeout_seconds = 600.0;
    if (timeout && *timeout) {
        char* end = nullptr;
        const double v = std::strtod(timeout, &end);
        RF_CHECK(end != timeout && *end == '\0' && v >= 0.0,
                 "ROCMFORGE_GPU_LOCK_TIMEOUT='{}' is not a number of seconds >= 0", timeout);
        o.timeout_seconds = v;
    }
    return o;
}

namespace {

std::string read_holder(int fd) {
    char buf[64] = {};
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return "unknown";
    std::string s(buf, static_cast<size_t>(n));
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s.empty() ? "unknown" : s;
}

}  // namespace

GpuLock::GpuLock(const GpuLockOptions& options) {
    const GpuLockOptions env = gpu_lock_options_from_env();
    path_ = options.path.empty() ? env.path : options.path;
    const double timeout = options.timeout_seconds < 0.0 ? env.timeout_seconds : options.timeout_seconds;
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd_ < 0) fail("gpu lock {}: cannot open: {}", path_, std::strerror(errno));
    const auto start = std::chrono::steady_clock::now();
    for (;;) {
        if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) break;
        if (errno != EWOULDBLOCK && errno != EINTR) {
            const int err = errno;
            ::close(fd_);
            fail("gpu lock {}: flock failed: {}", path_, std::strerror(err));
        }
        waited_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (waited_ >= timeout) {
            const std::string holder = read_holder(fd_);
            ::close(fd_);
            fd_ = -1;
            fail("gpu lock {}: held by another process (pid {}); gave up after {:.1f} s "
                 "(ROCMFORGE_GPU_LOCK_TIMEOUT)",
                 path_, holder, waited_);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    // Record the holder for the message other processes print.
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd_, 0) == 0) {
        [[maybe_unused]] const ssize_t w = ::pwrite(fd_, pid.data(), pid.size(), 0);
    }
}

GpuLock::~GpuLock() {
    if (fd_ >= 0) {
        ::flock(fd_, LOCK_UN);
        ::close(fd_);
    }
}

}  // namespace rf
