// Hugging Face tensor names -> GGUF tensors, with the conversion-time transforms, in one table
// (hf_tensor_map.cpp). The output order is llama.cpp's: the checkpoint's own order (shard by
// shard, each in file order), with each layer's stacked expert tensors (down, gate, up) placed
// where that layer's last expert tensor was read.
//
// Every tensor is checked against config.json: an unknown name, a tensor in a layer of the
// wrong kind, a wrong shape, an unsupported dtype or a missing tensor is an rf::Error naming the
// file, the tensor and the values.
#pragma once

#include <vector>

#include "tools/convert_tensor.h"

namespace rf {

class SafetensorsModel;
struct HfArchitecture;
struct HfHparams;

// The GGUF tensors of the model (types not yet decided: ConvertTensor::type is F32).
std::vector<ConvertTensor> map_hf_tensors(const SafetensorsModel& model, const HfArchitecture& arch,
                                          const HfHparams& hp);

}  // namespace rf
