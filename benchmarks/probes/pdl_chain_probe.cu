// PDL chain probe: what a kernel boundary costs a stream of weight reads on this GPU.
// K kernels each read S bytes (grid-stride, U loads per thread per iteration, the first U loaded before
// griddepcontrol.wait in the "preload" mode), read one word the previous kernel wrote (a dependent L2
// round trip), and write one. H100 (2026-11-26): with programmatic dependent launch every boundary costs
// ~2.0-2.2 us over 3.09 TB/s (4 x 38 MB: 57.5 us for 49.2 us of bytes), plain launches ~2.9 us; loads
// before the wait do not shorten it (2.2-2.5 us).
#include "probe_common.cuh"

int main() {
    int nsm = 0;
    PROBE_CHECK(cudaDeviceGetAttribute(&nsm, cudaDevAttrMultiProcessorCount, 0));
    const size_t total = 4096ull << 20;
    uint8_t* big = nullptr;
    PROBE_CHECK(cudaMalloc(&big, total));
    PROBE_CHECK(cudaMemset(big, 1, total));
    int* xs = nullptr;  // 64 slots of 4096 words: link j reads slot j % 64, writes slot (j + 1) % 64
    PROBE_CHECK(cudaMalloc(&xs, 64 * 4096 * 4));
    PROBE_CHECK(cudaMemset(xs, 0, 64 * 4096 * 4));
    cudaStream_t s;
    PROBE_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    struct Cfg {
        int k;
        double mb;
    };
    const Cfg cfgs[] = {{1, 152}, {2, 76}, {4, 38}, {8, 19}, {16, 9.5}, {32, 4.75}, {1, 608}, {4, 152}, {16, 38}, {64, 9.5}};
    const char* names[] = {"plain", "pdl", "pdl+preload"};
    for (int bps : {4, 8})
        for (int mode = 0; mode < 3; ++mode)
            for (const Cfg& c : cfgs) {
                const bool pdl = mode != 0, pre = mode == 2;
                const size_t bytes = static_cast<size_t>(c.mb * 1e6) / 16 * 16, n = bytes / 16, chain_bytes = bytes * c.k;
                const int slots = static_cast<int>(std::max<size_t>(1, total / chain_bytes));
                const double us = probe_time_us(s, probe_reps(c.k, c.mb), [&](int rep) {
                    const uint8_t* base = big + static_cast<size_t>(rep % slots) * chain_bytes;
                    for (int j = 0; j < c.k; ++j) {
                        const auto* w = reinterpret_cast<const int4*>(base + j * bytes);
                        const int* xin = xs + (j % 64) * 4096;
                        int* xout = xs + ((j + 1) % 64) * 4096;
                        if (pre) probe_launch(s, pdl, dim3(nsm * bps), dim3(256), 0, stream_chain_kernel<4, true>, w, n, xin, xout);
                        else probe_launch(s, pdl, dim3(nsm * bps), dim3(256), 0, stream_chain_kernel<4, false>, w, n, xin, xout);
                    }
                });
                char what[64];
                std::snprintf(what, sizeof(what), "%d blk/SM %s", bps, names[mode]);
                probe_report(what, c.k, c.mb, chain_bytes, us);
            }
    return 0;
}
