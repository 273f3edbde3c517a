// rocmforge_convert_test_tool: inputs for the converter / quantizer tests and measurements.
//
//   synthetic-model OUT.gguf [TYPE [LAYERS EMBD FF HEADS KV_HEADS VOCAB]]
//       a Qwen2-shaped model with pseudo-random weights (src/tools/quantize_model_synthetic.h);
//       default: f16 with Qwen2.5-0.5B's shapes (24 layers, 896, 4864, 14 / 2 heads, 151936).
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "formats/tensor_type.h"
#include "tools/quantize_model_synthetic.h"

namespace {

int usage() {
    std::fprintf(stderr,
                 "usage: rocmforge_convert_test_tool synthetic-model OUT.gguf [f16|bf16|f32 "
                 "[LAYERS EMBD FF HEADS KV_HEADS VOCAB]]\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    try {
        if (args.size() >= 2 && args[0] == "synthetic-model" &&
            (args.size() <= 3 || args.size() == 9)) {
            rf::SyntheticModelShape shape = rf::qwen2_5_0_5b_shape();
            rf::TensorType type = rf::TensorType::F16;
            if (args.size() >= 3) {
                const auto t = rf::parse_tensor_type(args[2]);
                if (!t) return usage();
                type = *t;
            }
            if (args.size() == 9) {
                shape.n_layer = std::stoll(args[3]);
                shape.n_embd = std::stoll(args[4]);
                shape.n_ff = std::stoll(args[5]);
                shape.n_head = std::stoll(args[6]);
                shape.n_head_kv = std::stoll(args[7]);
                shape.n_vocab = std::stoll(args[8]);
            }
            rf::write_synthetic_model(args[1], shape, type);
            return 0;
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return usage();
}
