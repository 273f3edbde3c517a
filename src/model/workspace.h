// Activation buffers of one forward step, in backend memory, grown on demand (never shrunk).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backend/backend.h"

namespace rf {

class Workspace {
public:
    explicit Workspace(Backend& backend) : backend_(backend) {}
    ~Workspace();
    Workspace(const Workspace&) = delete;
    Workspace& operator=(const Workspace&) = delete;

    // Buffer `slot` viewed as [rows, cols]; reallocated when too small. Different slots never
    // alias each other.
    Act get(int slot, int64_t rows, int64_t cols);
    size_t bytes() const;

private:
    struct Buffer {
        float* data = nullptr;
        int64_t capacity = 0;  // floats
    };
    Backend& backend_;
    std::vector<Buffer> buffers_;
};

}  // namespace rf
