#include "engine/embedding.h"

#include <cmath>

#include "core/error.h"
#include "engine/session.h"
#include "model/model.h"

namespace rf {

Pooling parse_pooling(const std::string& name) {
    if (name == "mean") return Pooling::Mean;
    if (name == "cls") return Pooling::Cls;
    if (name == "last") return Pooling::Last;
    throw Error(fmt::format("pooling \"{}\": expected mean, cls or last", name));
}

const char* pooling_name(Pooling p) {
    switch (p) {
        case Pooling::Mean: return "mean";
        case Pooling::Cls: return "cls";
        case Pooling::Last: return "last";
    }
    return "?";
}

Pooling default_pooling(const ModelConfig& c) {
    switch (c.pooling_type) {
        case -1: return Pooling::Last;
        case 1: return Pooling::Mean;
        case 2: return Pooling::Cls;
        case 3: return Pooling::Last;
        default:
            throw Error(fmt::format("model {}: pooling_type {} ({}) is not supported for embeddings (mean, cls, last)",
                                    c.name.empty() ? c.arch : c.name, c.pooling_type,
                                    c.pooling_type == 0 ? "none: per-token vectors" : c.pooling_type == 4 ? "rank" : "unknown"));
    }
}

std::vector<float> embed_tokens(Model& model, KvCache& kv, std::span<const int32_t> tokens, int32_t n_ctx,
                                const EmbedOptions& options) {
    RF_CHECK(!tokens.empty(), "embedding: empty input (no tokens)");
    const size_t n_embd = static_cast<size_t>(model.config().n_embd);
    Session session(model, kv, n_ctx);
    std::vector<float> rows;
    if (options.pooling == Pooling::Last) {
        session.feed_hidden(tokens, options.n_batch, /*all_rows=*/false, rows);
    } else if (options.pooling == Pooling::Cls) {
        // (a causal model's first state sees the first token only, whatever follows)
        session.feed_hidden(tokens.first(1), options.n_batch, /*all_rows=*/false, rows);
    } else {
        std::vector<float> all;
        session.feed_hidden(tokens, options.n_batch, /*all_rows=*/true, all);
        rows.assign(n_embd, 0.0f);
        for (size_t t = 0; t < tokens.size(); ++t)
            for (size_t i = 0; i < n_embd; ++i) rows[i] += all[t * n_embd + i];
        for (float& v : rows) v /= static_cast<float>(tokens.size());
    }
    if (options.normalize) {
        double sum = 0.0;
        for (float v : rows) sum += static_cast<double>(v) * v;
        const double norm = std::sqrt(sum);
        if (norm > 0.0)
            for (float& v : rows) v = static_cast<float>(v / norm);
    }
    return rows;
}

}  // namespace rf
