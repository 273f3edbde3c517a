#include "engine/default_model.h"

#include <cstdint>
#include <vector>

#include "core/error.h"
#include "formats/gguf/gguf_file.h"

#if defined(ROCMFORGE_DEFAULT_MODEL_NAME)
// Defined by the generated assembly file (cmake/default_model.cmake): the bytes of the file.
extern "C" const uint8_t rf_default_model_data[];
extern "C" const uint8_t rf_default_model_end[];
#endif

namespace rf {

std::unique_ptr<GgufFile> open_default_model() {
#if defined(ROCMFORGE_DEFAULT_MODEL_NAME)
    std::vector<uint8_t> bytes(rf_default_model_data, rf_default_model_end);
    return std::make_unique<GgufFile>(std::move(bytes), "<embedded " ROCMFORGE_DEFAULT_MODEL_NAME ">");
#else
    fail("this rocmforge was built without an embedded default model (models/*.gguf missing at build time); "
         "pass a model with -m FILE.gguf");
#endif
}

}  // namespace rf
