// Perplexity over non-overlapping windows of n_ctx tokens: every position after the first of
// each window is scored (its log-probability of the next token). Optionally saves or compares
// the full log-probability rows (KL-divergence base file) to measure how far another
// configuration (a quantization, a KV codec) moves the distribution.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace rf {

class Model;
class KvCache;

struct PerplexityOptions {
    int32_t n_ctx = 512;
    int32_t n_batch = 512;
    int32_t max_windows = 0;         // 0: all windows
    std::string kl_base_path;        // empty: no KL; missing file: write it; existing: compare
    int32_t bos_id = -1;             // >= 0: the first token of every window is replaced by it
                                     // (models that expect BOS, as llama.cpp's perplexity does)
    std::string text_name = "the text";  // how errors name the scored text (the CLI: its file)
};

struct WindowResult {
    int32_t index = 0;
    int32_t n_windows = 0;
    double window_ppl = 0.0;
    double running_ppl = 0.0;
};

struct PerplexityResult {
    double perplexity = 0.0;
    double nll_sum = 0.0;
    int64_t n_scored = 0;
    int32_t n_windows = 0;
    bool kl_written = false;            // the KL base file was created by this run
    std::optional<double> mean_kl;      // vs the base file
    std::optional<double> top1_agreement;  // fraction of positions with the same argmax
    double seconds = 0.0;
};

PerplexityResult compute_perplexity(Model& model, KvCache& kv, const std::vector<int32_t>& tokens,
                                    const PerplexityOptions& options,
                                    const std::function<void(const WindowResult&)>& on_window);

}  // namespace rf
