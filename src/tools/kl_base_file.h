// The KL-divergence base file of `rocmforge perplexity --kl-base`: the full log-probability rows
// of one configuration, so that another configuration can be compared position by position.
//
// Layout (little-endian):
//   char magic[8] = "RFKLBASE" | u32 version = 1 | u32 n_vocab | u32 n_ctx | u32 n_windows
//   u64 tokens_hash (FNV-1a of the scored token ids, to refuse comparing different texts)
//   then n_windows * (n_ctx - 1) rows of n_vocab f16 log-probabilities.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace rf {

struct KlBaseHeader {
    uint32_t n_vocab = 0;
    uint32_t n_ctx = 0;
    uint32_t n_windows = 0;
    uint64_t tokens_hash = 0;
};

uint64_t hash_tokens(const std::vector<int32_t>& tokens);

class KlBaseWriter {
public:
    KlBaseWriter(const std::string& path, const KlBaseHeader& header);
    ~KlBaseWriter();
    void write_row(const float* logprobs, uint32_t n_vocab);
    void finish();  // renames the temporary file into place

private:
    std::string path_, tmp_path_;
    std::FILE* f_ = nullptr;
    std::vector<uint16_t> buf_;
};

class KlBaseReader {
public:
    explicit KlBaseReader(const std::string& path);
    ~KlBaseReader();
    const KlBaseHeader& header() const { return header_; }
    void read_row(float* logprobs);

private:
    std::string path_;
    std::FILE* f_ = nullptr;
    KlBaseHeader header_;
    std::vector<uint16_t> buf_;
};

}  // namespace rf
