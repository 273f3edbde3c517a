#include "engine/stop_matcher.h"

#include <algorithm>

namespace rf {

StopMatcher::StopMatcher(std::vector<std::string> stops) {
    for (auto& s : stops)
        if (!s.empty()) stops_.push_back(std::move(s));
}

StopMatcher::Result StopMatcher::push(std::string_view piece) {
    Result r;
    held_.append(piece);
    // Earliest complete stop string.
    size_t first = std::string::npos;
    const std::string* matched = nullptr;
    for (const auto& s : stops_) {
        const size_t at = held_.find(s);
        if (at < first) {
            first = at;
            matched = &s;
        }
    }
    if (matched != nullptr) {
        r.emit = held_.substr(0, first);
        r.stopped = true;
        r.matched = *matched;
        held_.clear();
        return r;
    }
    // Keep the longest suffix of held_ that is a proper prefix of some stop string.
    size_t keep = 0;
    for (const auto& s : stops_) {
        const size_t max_len = std::min(s.size() - 1, held_.size());
        for (size_t len = max_len; len > keep; --len) {
            if (held_.compare(held_.size() - len, len, s, 0, len) == 0) {
                keep = len;
                break;
            }
        }
    }
    r.emit = held_.substr(0, held_.size() - keep);
    held_.erase(0, held_.size() - keep);
    return r;
}

std::string StopMatcher::flush() {
    std::string out;
    out.swap(held_);
    return out;
}

}  // namespace rf
