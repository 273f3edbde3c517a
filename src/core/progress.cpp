#include "core/progress.h"

#include <unistd.h>

#include <cstdio>

namespace rf {

ProgressBar::ProgressBar(std::string label, int64_t total)
    : label_(std::move(label)), total_(total > 0 ? total : 1), enabled_(::isatty(STDERR_FILENO) != 0) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::advance(int64_t n) {
    done_ += n;
    draw(false);
}

void ProgressBar::finish() {
    if (finished_) return;
    finished_ = true;
    if (!enabled_) return;
    done_ = total_;
    draw(true);
    std::fputc('\n', stderr);
}

void ProgressBar::draw(bool force) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    constexpr int kWidth = 40;
    const double frac = static_cast<double>(done_) / static_cast<double>(total_);
    const int filled = static_cast<int>(frac * kWidth);
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(kWidth, '.');
    std::fprintf(stderr, "\r%s [%s] %3d%% (%lld/%lld)", label_.c_str(), bar.c_str(),
                 static_cast<int>(frac * 100.0), static_cast<long long>(done_),
                 static_cast<long long>(total_));
    std::fflush(stderr);
}

}  // namespace rf
