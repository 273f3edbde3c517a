// A progress bar for long operations: drawn on stderr when stderr is a terminal, silent
// otherwise (logs and CI stay clean).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace rf {

class ProgressBar {
public:
    ProgressBar(std::string label, int64_t total);
    ~ProgressBar();
    void advance(int64_t n = 1);
    void finish();

private:
    void draw(bool force);

    std::string label_;
    int64_t total_;
    int64_t done_ = 0;
    bool enabled_;
    bool finished_ = false;
    std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace rf
