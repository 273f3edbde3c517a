#include <fmt/format.h>

#include <memory>

#include "cli/commands.h"
#include "cli/option_checks.h"
#include "tools/convert_hf.h"

namespace rf::cli {

void add_convert_command(CLI::App& app) {
    auto* convert = app.add_subcommand("convert", "Convert a model from another format to GGUF");
    convert->require_subcommand(1);
    auto opts = std::make_shared<ConvertHfOptions>();
    auto* hf = convert->add_subcommand(
        "hf",
        "Hugging Face checkpoint folder (config.json, *.safetensors, tokenizer.json) -> GGUF, "
        "as llama.cpp's convert_hf_to_gguf.py writes it. Architectures: Qwen2ForCausalLM, "
        "Qwen3ForCausalLM, Qwen3MoeForCausalLM, Qwen3_5ForCausalLM, Qwen3_5MoeForCausalLM");
    hf->add_option("model_dir", opts->model_dir, "Hugging Face model folder")->required();
    hf->add_option("out", opts->out_path, "Output GGUF file")->required();
    hf->add_option("--type", opts->type,
                   "Tensor type: f32, f16, bf16, q8_0 (as convert_hf_to_gguf.py --outtype) or a "
                   "llama-quantize mix: q4_0, q4_1, q5_0, q5_1, q2_k, q3_k, q4_k, q5_k, q6_k, "
                   "q4_k_m, q5_k_m")
        ->default_val("f16");
    auto* vocab_only = hf->add_flag("--vocab-only", opts->vocab_only,
                                    "Write only the tokenizer (needs tokenizer.json; config.json is optional)");
    // (no tensors are converted with --vocab-only: a thread count is refused there)
    hf->add_option("-t,--threads", opts->n_threads, "Threads (default: every core)")
        ->check(kNonNegative)
        ->excludes(vocab_only);
    hf->callback([opts] {
        const ConvertHfResult r = convert_hf_to_gguf(*opts);
        if (opts->vocab_only) {
            fmt::print(stderr, "convert: wrote {} ({}, vocabulary only)\n", opts->out_path,
                       r.architecture);
        } else {
            fmt::print(stderr,
                       "convert: wrote {} ({}, {}): {} tensors, {:.2f} M parameters, {:.1f} MiB\n",
                       opts->out_path, r.architecture, opts->type, r.n_tensors,
                       static_cast<double>(r.n_params) / 1e6,
                       static_cast<double>(r.tensor_bytes) / (1024.0 * 1024.0));
        }
    });
}

}  // namespace rf::cli
