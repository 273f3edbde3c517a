#include "model/workspace.h"

namespace rf {

Workspace::~Workspace() {
    for (auto& b : buffers_)
        if (b.data) backend_.release(b.data);
}

Act Workspace::get(int slot, int64_t rows, int64_t cols) {
    if (static_cast<size_t>(slot) >= buffers_.size()) buffers_.resize(static_cast<size_t>(slot) + 1);
    Buffer& b = buffers_[static_cast<size_t>(slot)];
    const int64_t need = rows * cols;
    if (need > b.capacity) {
        if (b.data) backend_.release(b.data);
        b.capacity = need;
        b.data = static_cast<float*>(backend_.alloc(static_cast<size_t>(need) * sizeof(float)));
    }
    return {b.data, rows, cols};
}

size_t Workspace::bytes() const {
    size_t total = 0;
    for (const auto& b : buffers_) total += static_cast<size_t>(b.capacity) * sizeof(float);
    return total;
}

}  // namespace rf
