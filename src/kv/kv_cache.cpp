#include "kv/kv_cache.h"

#include "backend/backend.h"
#include "core/error.h"

namespace rf {

size_t KvCache::bytes_per_block(const KvCacheConfig& config,
                                const std::vector<KvLayerShape>& layers) {
    size_t total = 0;
    for (const auto& l : layers) {
        total += 2 * static_cast<size_t>(l.n_kv_head) * static_cast<size_t>(config.block_size) *
                 kv_row_bytes(config.codec, l.head_dim);
    }
    return total;
}

KvCache::KvCache(Backend& backend, const KvCacheConfig& config,
                 const std::vector<KvLayerShape>& layers)
    : backend_(backend), config_(config), pool_(config.n_blocks) {
    RF_CHECK(config.block_size > 0, "kv: block size must be positive (got {})", config.block_size);
    layers_.reserve(layers.size());
    for (const auto& shape : layers) {
        KvLayerView view;
        view.codec = config.codec;
        view.block_size = config.block_size;
        view.n_kv_head = shape.n_kv_head;
        view.head_dim = shape.head_dim;
        if (shape.n_kv_head > 0) {
            const size_t bytes = static_cast<size_t>(config.n_blocks) *
                                 static_cast<size_t>(shape.n_kv_head) *
                                 static_cast<size_t>(config.block_size) * view.row_bytes();
            view.k = backend_.alloc(bytes);
            view.v = backend_.alloc(bytes);
            backend_.fill_zero(view.k, bytes);
            backend_.fill_zero(view.v, bytes);
        }
        layers_.push_back(view);
    }
}

KvCache::~KvCache() {
    for (auto& s : seqs_)
        if (s)
            for (auto& [il, st] : s->states) backend_.release(st.data);
    for (auto& l : layers_) {
        if (l.k) backend_.release(l.k);
        if (l.v) backend_.release(l.v);
    }
}

KvCache::Sequence& KvCache::seq_ref(int32_t seq) {
    RF_CHECK(seq >= 0 && static_cast<size_t>(seq) < seqs_.size() && seqs_[static_cast<size_t>(seq)],
             "kv: unknown sequence {}", seq);
    return *seqs_[static_cast<size_t>(seq)];
}

const KvCache::Sequence& KvCache::seq_ref(int32_t seq) const {
    RF_CHECK(seq >= 0 && static_cast<size_t>(seq) < seqs_.size() && seqs_[static_cast<size_t>(seq)],
             "kv: unknown sequence {}", seq);
    return *seqs_[static_cast<size_t>(seq)];
}

int32_t KvCache::create_sequence() {
    for (size_t i = 0; i < seqs_.size(); ++i) {
        if (!seqs_[i]) {
            seqs_[i].emplace();
            return static_cast<int32_t>(i);
        }
    }
    seqs_.emplace_back(Sequence{});
    return static_cast<int32_t>(seqs_.size() - 1);
}

int32_t KvCache::fork_sequence(int32_t seq) {
    Sequence copy = seq_ref(seq);
    std::vector<void*> fresh;  // the fork's own states, released again if one cannot be allocated
    try {
        for (auto& [il, st] : copy.states) {
            fresh.push_back(backend_.alloc(st.n_floats * sizeof(float)));
            backend_.copy(fresh.back(), st.data, st.n_floats * sizeof(float));
            st.data = fresh.back();
        }
    } catch (...) {
        for (void* p : fresh) backend_.release(p);
        throw;
    }
    for (int32_t b : copy.blocks) pool_.incref(b);
    const int32_t id = create_sequence();
    *seqs_[static_cast<size_t>(id)] = std::move(copy);
    return id;
}

void KvCache::free_sequence(int32_t seq) {
    Sequence& s = seq_ref(seq);
    for (int32_t b : s.blocks) pool_.decref(b);
    for (auto& [il, st] : s.states) backend_.release(st.data);
    seqs_[static_cast<size_t>(seq)].reset();
}

float* KvCache::recurrent_state(int32_t seq, int il, size_t n_floats) {
    Sequence& s = seq_ref(seq);
    RF_CHECK(n_floats > 0, "kv: recurrent state of 0 floats for layer {}", il);
    auto it = s.states.find(il);
    if (it == s.states.end()) {
        State st{backend_.alloc(n_floats * sizeof(float)), n_floats};
        backend_.fill_zero(st.data, n_floats * sizeof(float));
        it = s.states.emplace(il, st).first;
    }
    RF_CHECK(it->second.n_floats == n_floats, "kv: recurrent state of layer {} is {} floats, asked for {}", il,
             it->second.n_floats, n_floats);
    return static_cast<float*>(it->second.data);
}

int32_t KvCache::seq_length(int32_t seq) const { return seq_ref(seq).length; }

const std::vector<int32_t>& KvCache::block_table(int32_t seq) const { return seq_ref(seq).blocks; }

void KvCache::copy_block(int32_t dst, int32_t src) {
    for (const auto& l : layers_) {
        if (l.n_kv_head == 0) continue;
        const size_t block_bytes =
            static_cast<size_t>(l.n_kv_head) * static_cast<size_t>(l.block_size) * l.row_bytes();
        for (void* base : {l.k, l.v}) {
            auto* p = static_cast<uint8_t*>(base);
            backend_.copy(p + static_cast<size_t>(dst) * block_bytes,
                          p + static_cast<size_t>(src) * block_bytes, block_bytes);
        }
    }
}

bool KvCache::reserve(int32_t seq, int32_t n) {
    RF_CHECK(n >= 0, "kv: reserve of {} tokens", n);
    Sequence& s = seq_ref(seq);
    const int32_t bs = config_.block_size;
    const int32_t need_blocks = (s.length + n + bs - 1) / bs;
    const int32_t extra = need_blocks - static_cast<int32_t>(s.blocks.size());
    // The block holding position `length` gets written if it is partially filled.
    const bool cow = n > 0 && s.length % bs != 0 &&
                     pool_.ref_count(s.blocks[static_cast<size_t>(s.length / bs)]) > 1;
    const int32_t wanted = (extra > 0 ? extra : 0) + (cow ? 1 : 0);
    if (wanted > pool_.n_free()) return false;
    if (cow) {
        const size_t idx = static_cast<size_t>(s.length / bs);
        const int32_t fresh = pool_.allocate();
        copy_block(fresh, s.blocks[idx]);
        pool_.decref(s.blocks[idx]);
        s.blocks[idx] = fresh;
    }
    for (int32_t i = 0; i < extra; ++i) s.blocks.push_back(pool_.allocate());
    return true;
}

void KvCache::append_slots(int32_t seq, int32_t n, std::vector<int32_t>& out) const {
    const Sequence& s = seq_ref(seq);
    const int32_t bs = config_.block_size;
    RF_CHECK(static_cast<int64_t>(s.blocks.size()) * bs >= s.length + n,
             "kv: sequence {} has room for {} tokens, {} needed (call reserve first)", seq,
             s.blocks.size() * static_cast<size_t>(bs), s.length + n);
    for (int32_t p = s.length; p < s.length + n; ++p)
        out.push_back(s.blocks[static_cast<size_t>(p / bs)] * bs + p % bs);
}

void KvCache::commit(int32_t seq, int32_t n) {
    Sequence& s = seq_ref(seq);
    RF_CHECK(static_cast<int64_t>(s.blocks.size()) * config_.block_size >= s.length + n,
             "kv: commit of {} tokens past the reserved blocks of sequence {}", n, seq);
    s.length += n;
}

void KvCache::truncate(int32_t seq, int32_t new_length) {
    Sequence& s = seq_ref(seq);
    RF_CHECK(new_length >= 0 && new_length <= s.length,
             "kv: truncate sequence {} to {} tokens (length {})", seq, new_length, s.length);
    if (!s.states.empty() && new_length < s.length) {
        RF_CHECK(new_length == 0, "kv: sequence {} has a recurrent state, which cannot drop tokens ({} -> {}); "
                 "truncate to 0 and feed the kept tokens again", seq, s.length, new_length);
        for (auto& [il, st] : s.states) backend_.fill_zero(st.data, st.n_floats * sizeof(float));
    }
    s.length = new_length;
    const size_t keep = static_cast<size_t>((new_length + config_.block_size - 1) / config_.block_size);
    while (s.blocks.size() > keep) {
        pool_.decref(s.blocks.back());
        s.blocks.pop_back();
    }
}

}  // namespace rf
