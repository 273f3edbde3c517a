#include "tools/decode_switch_sets.h"

#include <algorithm>
#include <cstdlib>

#include "core/error.h"

namespace rf {
namespace {

struct DecodeSwitchName {
    const char* name;
    const char* env;
    const char* value;  // null: the value follows the name ("attn-chunk=128")
};

constexpr DecodeSwitchName kNames[] = {
    {"norm-off", "RF_GPU_NORM_PROLOGUE", "off"},
    {"norm-late-off", "RF_GPU_NORM_LATE_SCALE", "off"},
    {"no-matvec1", "RF_GPU_MATVEC1", "0"},
    {"matvec1-all", "RF_GPU_MATVEC1", "all"},
    {"q8epi-off", "RF_GPU_MATVEC1_Q8_EPILOGUE", "off"},
    {"q8epi-on", "RF_GPU_MATVEC1_Q8_EPILOGUE", "on"},
    {"rope-off", "RF_GPU_ROPE_ATTN", "off"},
    {"early-off", "RF_GPU_EARLY_LOADS", "off"},
    {"early-one", "RF_GPU_EARLY_LOADS", "one"},
    {"whole-off", "RF_GPU_MATVEC_WHOLE_ROW", "off"},
    {"whole-on", "RF_GPU_MATVEC_WHOLE_ROW", "on"},
    {"one-tile-off", "RF_GPU_ATTN_ONE_TILE", "off"},
    {"one-tile-on", "RF_GPU_ATTN_ONE_TILE", "on"},
    {"chunk-softmax-on", "RF_GPU_ATTN_CHUNK_SOFTMAX", "on"},
    {"chunk-softmax-off", "RF_GPU_ATTN_CHUNK_SOFTMAX", "off"},
    {"combine-wide-off", "RF_GPU_ATTN_COMBINE_WIDE", "off"},
    {"combine-wide-on", "RF_GPU_ATTN_COMBINE_WIDE", "on"},
    {"proj-off", "RF_GPU_ATTN_PROJ", "off"},
    {"proj-on", "RF_GPU_ATTN_PROJ", "on"},
    {"wide-all", "RF_GPU_MATVEC1_WIDE", "all"},
    {"early1-off", "RF_GPU_MATVEC1_EARLY", "off"},
    {"early1-one", "RF_GPU_MATVEC1_EARLY", "one"},
    {"early1-on", "RF_GPU_MATVEC1_EARLY", "on"},
    {"wide-off", "RF_GPU_MATVEC1_WIDE", "off"},
    {"wide-shape", "RF_GPU_MATVEC1_WIDE", "shape"},
    {"wide-tall", "RF_GPU_MATVEC1_WIDE", "tall"},
    {"fit=", "RF_GPU_MATVEC1_FIT", nullptr},
    {"xhoist-off", "RF_GPU_MATVEC_XHOIST", "off"},
    {"triple-off", "RF_GPU_MATVEC_TRIPLE", "off"},
    {"triple-all", "RF_GPU_MATVEC_TRIPLE", "on"},
    {"wpr=", "RF_GPU_MATVEC_WARPS_PER_ROW", nullptr},
    {"lanes=", "RF_GPU_MATVEC1_LANES", nullptr},
    {"replay-off", "RF_GPU_FAST_REPLAY", "off"},
    {"norm-slices-off", "RF_GPU_NORM_SLICES", "off"},
    {"persist-off", "RF_GPU_MATVEC1_PERSIST", "off"},
    {"xdirect", "RF_GPU_MATVEC1_XDIRECT", "on"},
    {"xdirect-off", "RF_GPU_MATVEC1_XDIRECT", "off"},
    {"prefetch-off", "RF_GPU_ATTN_PREFETCH", "off"},
    {"attn-per-sm=", "RF_GPU_ATTN_BLOCKS_PER_SM", nullptr},
    {"attn-chunk=", "RF_GPU_ATTN_MIN_CHUNK", nullptr},
    {"early-kv-off", "RF_GPU_ATTN_EARLY_KV", "off"},
    {"mma-off", "RF_GPU_ATTN_MMA", "off"},
    {"mma-long", "RF_GPU_ATTN_MMA", "long"},
    {"mma-stages=", "RF_GPU_ATTN_MMA_STAGES", nullptr},
    {"copies", "RF_GPU_ZERO_COPY", "off"},
    {"sample-fast-off", "RF_GPU_SAMPLE_FAST", "off"},
    {"sample-upload-off", "RF_GPU_SAMPLE_UPLOAD", "off"},
    {"sample-in-graph-off", "RF_GPU_SAMPLE_IN_GRAPH", "off"},
    {"gather-norm-off", "RF_GPU_GATHER_NORM", "off"},
    {"pdl-between-off", "RF_GPU_PDL_BETWEEN_STEPS", "off"},
    {"skip=", "RF_GPU_PROFILE_SKIP", nullptr},  // profiling knock-out (kernel-name substrings; results wrong)
};

void set_one(const std::string& sw) {
    for (const DecodeSwitchName& d : kNames) {
        const std::string n = d.name;
        if (d.value != nullptr ? sw != n : sw.rfind(n, 0) != 0) continue;
        std::string value = d.value != nullptr ? d.value : sw.substr(n.size());
        if (d.value == nullptr && value.empty()) fail("decode switch {}: no value after '='", sw);
        if (n == "skip=") std::replace(value.begin(), value.end(), ':', ',');
        ::setenv(d.env, value.c_str(), 1);
        return;
    }
    fail("unknown decode switch '{}' (default, or '+'-joined: {})", sw, decode_switch_names());
}

}  // namespace

std::string decode_switch_names() {
    std::string names;
    for (const DecodeSwitchName& d : kNames) names += (names.empty() ? "" : ", ") + std::string(d.name) + (d.value ? "" : "N");
    return names;
}

void set_decode_switches(const std::string& set) {
    for (const DecodeSwitchName& d : kNames) ::unsetenv(d.env);
    if (set == "default") return;
    size_t p = 0;
    while (true) {
        const size_t q = set.find('+', p);
        set_one(set.substr(p, q == std::string::npos ? std::string::npos : q - p));
        if (q == std::string::npos) break;
        p = q + 1;
    }
}

}  // namespace rf
