#include "engine/prompt_lookup.h"

#include <algorithm>

namespace rf {

std::vector<int32_t> prompt_lookup_draft(std::span<const int32_t> context, int32_t max_ngram, int32_t min_ngram,
                                         int32_t max_draft) {
    const int64_t len = static_cast<int64_t>(context.size());
    if (max_draft <= 0) return {};
    for (int64_t n = std::min<int64_t>(max_ngram, len - 1); n >= std::max<int64_t>(min_ngram, 1); --n) {
        const auto pattern = context.subspan(static_cast<size_t>(len - n));
        // latest start p with context[p, p + n) == pattern and p + n < len (followed by a token)
        for (int64_t p = len - n - 1; p >= 0; --p) {
            if (!std::equal(pattern.begin(), pattern.end(), context.begin() + p)) continue;
            const int64_t from = p + n, to = std::min(len, from + max_draft);
            return {context.begin() + from, context.begin() + to};
        }
    }
    return {};
}

}  // namespace rf
