#include <fmt/format.h>

#include <algorithm>
#include <memory>

#include "cli/commands.h"
#include "cli/option_checks.h"
#include "tools/quantize_model.h"

namespace rf::cli {

void add_quantize_command(CLI::App& app) {
    auto opts = std::make_shared<QuantizeOptions>();
    auto* cmd = app.add_subcommand(
        "quantize",
        "Requantize a GGUF model with llama.cpp's per-tensor mix (from f32/f16/bf16; other "
        "types are dequantized first)");
    cmd->add_option("in", opts->in_path, "Input GGUF file")->required();
    cmd->add_option("out", opts->out_path, "Output GGUF file")->required();
    cmd->add_option("type", opts->type,
                    "f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_k, q3_k, q4_k, q5_k, q6_k, "
                    "q4_k_m, q5_k_m")
        ->required();
    cmd->add_option("-t,--threads", opts->n_threads, "Threads (default: every core)")->check(kNonNegative);
    cmd->callback([opts] {
        const QuantizeResult r = quantize_model(*opts);
        const double mw = static_cast<double>(r.n_weights_converted) / 1e6;
        const double rate = r.seconds > 0 ? mw / r.seconds : 0.0;
        const double convert_rate = r.convert_seconds > 0 ? mw / r.convert_seconds : 0.0;
        fmt::print(stderr,
                   "quantize: wrote {} ({}): {} tensors, {} converted ({:.1f} M weights), tensor "
                   "data {:.1f} -> {:.1f} MiB\n"
                   "quantize: {:.2f} s = {:.1f} M weights/s on {} threads; converting alone "
                   "{:.2f} s = {:.1f} M weights/s ({:.1f} M weights/s per thread)\n",
                   opts->out_path, opts->type, r.n_tensors, r.n_converted, mw,
                   static_cast<double>(r.bytes_in) / (1024.0 * 1024.0),
                   static_cast<double>(r.bytes_out) / (1024.0 * 1024.0), r.seconds, rate,
                   r.n_threads, r.convert_seconds, convert_rate,
                   convert_rate / std::max(1, r.n_threads));
    });
}

}  // namespace rf::cli
