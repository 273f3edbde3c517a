#include "backend/gpu/gpu_sampling_host.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/error.h"

namespace rf::gpu {

GpuSampleResult sample_row_host(std::span<const float> logits, const GpuSamplingParams& p,
                                std::span<const GpuTokenCount> penalties, double u) {
    const int64_t n = static_cast<int64_t>(logits.size());
    RF_CHECK(n > 0, "sampling: empty logits row");
    std::vector<float> work(logits.begin(), logits.end());
    for (const GpuTokenCount& tc : penalties) {
        if (tc.token < 0 || tc.token >= n) continue;
        float& l = work[static_cast<size_t>(tc.token)];
        l = l > 0.0f ? l / p.repeat_penalty : l * p.repeat_penalty;
        l -= static_cast<float>(tc.count) * p.frequency_penalty + p.presence_penalty;
    }
    int32_t chosen = 0;
    if (p.temperature <= 0.0f) {
        chosen = static_cast<int32_t>(std::max_element(work.begin(), work.end()) - work.begin());
    } else {
        std::vector<int32_t> cand(static_cast<size_t>(n));
        std::iota(cand.begin(), cand.end(), 0);
        auto by_logit = [&](int32_t a, int32_t b) {
            const float la = work[static_cast<size_t>(a)], lb = work[static_cast<size_t>(b)];
            return la > lb || (la == lb && a < b);
        };
        size_t cnt = cand.size();
        if (p.top_k > 0 && static_cast<size_t>(p.top_k) < cnt) {
            cnt = static_cast<size_t>(p.top_k);
            std::partial_sort(cand.begin(), cand.begin() + static_cast<ptrdiff_t>(cnt), cand.end(), by_logit);
        } else {
            std::sort(cand.begin(), cand.end(), by_logit);
        }
        const float top = work[static_cast<size_t>(cand[0])];
        std::vector<double> probs(cnt);
        double sum = 0.0;
        for (size_t i = 0; i < cnt; ++i) {
            probs[i] = std::exp(static_cast<double>(work[static_cast<size_t>(cand[i])] - top));
            sum += probs[i];
        }
        if (p.top_p < 1.0f) {
            double cum = 0.0;
            for (size_t i = 0; i < cnt; ++i) {
                cum += probs[i] / sum;
                if (cum >= p.top_p) {
                    cnt = i + 1;
                    break;
                }
            }
        }
        if (p.min_p > 0.0f) {
            size_t keep = 1;
            while (keep < cnt && probs[keep] >= p.min_p * probs[0]) ++keep;
            cnt = keep;
        }
        std::vector<double> w(cnt);
        double total = 0.0;
        for (size_t i = 0; i < cnt; ++i) {
            w[i] = std::exp((static_cast<double>(work[static_cast<size_t>(cand[i])]) - top) / p.temperature);
            total += w[i];
        }
        double r = u * total;
        size_t pick = cnt - 1;
        for (size_t i = 0; i < cnt; ++i) {
            if (r < w[i]) {
                pick = i;
                break;
            }
            r -= w[i];
        }
        chosen = cand[pick];
    }
    const float mx = *std::max_element(logits.begin(), logits.end());
    double s = 0.0;
    for (float x : logits) s += std::exp(static_cast<double>(x - mx));
    GpuSampleResult res;
    res.token = chosen;
    res.logprob = static_cast<float>(logits[static_cast<size_t>(chosen)] - mx - std::log(s));
    res.on_device = false;
    return res;
}

}  // namespace rf::gpu
