#include "tools/kl_base_file.h"

#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "core/half.h"

namespace rf {
namespace {
constexpr char kMagic[8] = {'R', 'F', 'K', 'L', 'B', 'A', 'S', 'E'};
constexpr uint32_t kVersion = 1;
}  // namespace

uint64_t hash_tokens(const std::vector<int32_t>& tokens) {
    uint64_t h = 1469598103934665603ull;
    for (int32_t t : tokens) {
        for (int i = 0; i < 4; ++i) {
            h ^= static_cast<uint8_t>(static_cast<uint32_t>(t) >> (8 * i));
            h *= 1099511628211ull;
        }
    }
    return h;
}

KlBaseWriter::KlBaseWriter(const std::string& path, const KlBaseHeader& header)
    : path_(path), tmp_path_(path + ".tmp") {
    f_ = std::fopen(tmp_path_.c_str(), "wb");
    if (!f_) fail("{}: cannot create: {}", tmp_path_, std::strerror(errno));
    const uint32_t fields[4] = {kVersion, header.n_vocab, header.n_ctx, header.n_windows};
    if (std::fwrite(kMagic, 1, 8, f_) != 8 || std::fwrite(fields, 4, 4, f_) != 4 ||
        std::fwrite(&header.tokens_hash, 8, 1, f_) != 1)
        fail("{}: write failed: {}", tmp_path_, std::strerror(errno));
}

KlBaseWriter::~KlBaseWriter() {
    if (f_) {
        std::fclose(f_);
        std::remove(tmp_path_.c_str());
    }
}

void KlBaseWriter::write_row(const float* logprobs, uint32_t n_vocab) {
    buf_.resize(n_vocab);
    for (uint32_t i = 0; i < n_vocab; ++i) buf_[i] = f32_to_f16(logprobs[i] < -65000.0f ? -65000.0f : logprobs[i]);
    if (std::fwrite(buf_.data(), 2, n_vocab, f_) != n_vocab) fail("{}: write failed: {}", tmp_path_, std::strerror(errno));
}

void KlBaseWriter::finish() {
    if (std::fclose(f_) != 0) {
        f_ = nullptr;
        fail("{}: close failed: {}", tmp_path_, std::strerror(errno));
    }
    f_ = nullptr;
    if (std::rename(tmp_path_.c_str(), path_.c_str()) != 0)
        fail("{}: cannot rename to {}: {}", tmp_path_, path_, std::strerror(errno));
}

KlBaseReader::KlBaseReader(const std::string& path) : path_(path) {
    f_ = std::fopen(path.c_str(), "rb");
    if (!f_) fail("{}: cannot open: {}", path, std::strerror(errno));
    char magic[8];
    uint32_t fields[4];
    if (std::fread(magic, 1, 8, f_) != 8 || std::memcmp(magic, kMagic, 8) != 0)
        fail("{}: not a rocmforge KL base file (bad magic)", path);
    if (std::fread(fields, 4, 4, f_) != 4 || std::fread(&header_.tokens_hash, 8, 1, f_) != 1)
        fail("{}: truncated header", path);
    RF_CHECK(fields[0] == kVersion, "{}: version {} is not supported (expected {})", path, fields[0], kVersion);
    header_.n_vocab = fields[1];
    header_.n_ctx = fields[2];
    header_.n_windows = fields[3];
}

KlBaseReader::~KlBaseReader() {
    if (f_) std::fclose(f_);
}

void KlBaseReader::read_row(float* logprobs) {
    buf_.resize(header_.n_vocab);
    if (std::fread(buf_.data(), 2, header_.n_vocab, f_) != header_.n_vocab)
        fail("{}: truncated (fewer rows than the header says)", path_);
    for (uint32_t i = 0; i < header_.n_vocab; ++i) logprobs[i] = f16_to_f32(buf_[i]);
}

}  // namespace rf
