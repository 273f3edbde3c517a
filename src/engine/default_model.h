// The embedded default model (models/tiny-qwen3-q8_0.gguf, linked into the executable), used
// when a command gets no -m.
#pragma once

#include <memory>

namespace rf {

class GgufFile;

// Throws rf::Error when this binary was built without an embedded model.
std::unique_ptr<GgufFile> open_default_model();

}  // namespace rf
