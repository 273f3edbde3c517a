#include "tools/perplexity.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>

#include "core/error.h"
#include "engine/session.h"
#include "model/model.h"
#include "tools/kl_base_file.h"

namespace rf {
namespace {

// In-place log-softmax of one row (double accumulation).
void log_softmax(float* row, int32_t n) {
    const float mx = *std::max_element(row, row + n);
    double sum = 0.0;
    for (int32_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(row[i] - mx));
    const double lse = std::log(sum);
    for (int32_t i = 0; i < n; ++i) row[i] = static_cast<float>(row[i] - mx - lse);
}

}  // namespace

PerplexityResult compute_perplexity(Model& model, KvCache& kv, const std::vector<int32_t>& tokens,
                                    const PerplexityOptions& opt,
                                    const std::function<void(const WindowResult&)>& on_window) {
    RF_CHECK(opt.n_ctx >= 2, "perplexity: --ctx must be at least 2 (got {})", opt.n_ctx);
    int32_t n_windows = static_cast<int32_t>(tokens.size() / static_cast<size_t>(opt.n_ctx));
    RF_CHECK(n_windows > 0, "perplexity: {} has {} tokens, fewer than one window of {} (--ctx)", opt.text_name,
             tokens.size(), opt.n_ctx);
    if (opt.max_windows > 0) n_windows = std::min(n_windows, opt.max_windows);
    const int32_t n_vocab = model.n_vocab();
    std::vector<int32_t> used(tokens.begin(), tokens.begin() + static_cast<ptrdiff_t>(n_windows) * opt.n_ctx);
    if (opt.bos_id >= 0)
        for (int32_t w = 0; w < n_windows; ++w) used[static_cast<size_t>(w) * static_cast<size_t>(opt.n_ctx)] = opt.bos_id;

    PerplexityResult res;
    res.n_windows = n_windows;
    std::unique_ptr<KlBaseWriter> kl_writer;
    std::unique_ptr<KlBaseReader> kl_reader;
    KlBaseHeader header{static_cast<uint32_t>(n_vocab), static_cast<uint32_t>(opt.n_ctx),
                        static_cast<uint32_t>(n_windows), hash_tokens(used)};
    if (!opt.kl_base_path.empty()) {
        RF_CHECK(!std::filesystem::is_directory(opt.kl_base_path),
                 "{}: --kl-base names a directory; it takes a KL base file (written when missing)", opt.kl_base_path);
        if (std::filesystem::exists(opt.kl_base_path)) {
            kl_reader = std::make_unique<KlBaseReader>(opt.kl_base_path);
            const auto& h = kl_reader->header();
            RF_CHECK(h.n_vocab == header.n_vocab && h.n_ctx == header.n_ctx && h.n_windows == header.n_windows &&
                         h.tokens_hash == header.tokens_hash,
                     "{}: KL base was made with n_vocab {}, ctx {}, {} windows (tokens hash {:x}); this run has "
                     "n_vocab {}, ctx {}, {} windows (tokens hash {:x})",
                     opt.kl_base_path, h.n_vocab, h.n_ctx, h.n_windows, h.tokens_hash, header.n_vocab,
                     header.n_ctx, header.n_windows, header.tokens_hash);
        } else {
            kl_writer = std::make_unique<KlBaseWriter>(opt.kl_base_path, header);
        }
    }

    const auto t0 = std::chrono::steady_clock::now();
    double kl_sum = 0.0;
    int64_t agree = 0;
    std::vector<float> logits, base(static_cast<size_t>(n_vocab));
    for (int32_t w = 0; w < n_windows; ++w) {
        Session session(model, kv, opt.n_ctx);
        const int32_t* win = used.data() + static_cast<ptrdiff_t>(w) * opt.n_ctx;
        double window_nll = 0.0;
        for (int32_t begin = 0; begin < opt.n_ctx; begin += opt.n_batch) {
            const int32_t n = std::min(opt.n_batch, opt.n_ctx - begin);
            session.feed({win + begin, static_cast<size_t>(n)}, opt.n_batch, nullptr, &logits);
            for (int32_t i = 0; i < n; ++i) {
                const int32_t pos = begin + i;
                if (pos + 1 >= opt.n_ctx) break;  // the last token of the window predicts nothing scored
                float* row = logits.data() + static_cast<size_t>(i) * n_vocab;
                log_softmax(row, n_vocab);
                window_nll -= row[win[pos + 1]];
                if (kl_writer) kl_writer->write_row(row, static_cast<uint32_t>(n_vocab));
                if (kl_reader) {
                    kl_reader->read_row(base.data());
                    double kl = 0.0;
                    for (int32_t v = 0; v < n_vocab; ++v) {
                        const double lp = base[static_cast<size_t>(v)];
                        kl += std::exp(lp) * (lp - row[v]);
                    }
                    kl_sum += kl;
                    agree += std::max_element(base.begin(), base.end()) - base.begin() ==
                             std::max_element(row, row + n_vocab) - row;
                }
            }
        }
        res.nll_sum += window_nll;
        res.n_scored += opt.n_ctx - 1;
        if (on_window) {
            on_window({w, n_windows, std::exp(window_nll / (opt.n_ctx - 1)),
                       std::exp(res.nll_sum / static_cast<double>(res.n_scored))});
        }
    }
    res.perplexity = std::exp(res.nll_sum / static_cast<double>(res.n_scored));
    if (kl_writer) {
        kl_writer->finish();
        res.kl_written = true;
    }
    if (kl_reader) {
        res.mean_kl = kl_sum / static_cast<double>(res.n_scored);
        res.top1_agreement = static_cast<double>(agree) / static_cast<double>(res.n_scored);
    }
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return res;
}

}  // namespace rf
