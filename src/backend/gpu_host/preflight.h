// Staged GPU preflight, run once before the first real GPU work. Stages, in order:
//   1. device present      (the driver reports at least one device)
//   2. runtime sees it     (the runtime selects it and reads its properties)
//   3. memory round trip   (a known pattern uploaded, copied on the device, read back intact)
//   4. trivial kernel      (a kernel computes a known result that is checked on the host)
// The first stage that fails stops the preflight with its name; nothing else runs on the GPU.
// The stages are behind an interface so that the sequencing is tested without a GPU.
#pragma once

#include <string>
#include <vector>

namespace rf {

class PreflightDevice {
public:
    virtual ~PreflightDevice() = default;
    // Each returns an empty string on success, else what went wrong.
    virtual std::string device_present() = 0;
    virtual std::string runtime_sees_device() = 0;
    virtual std::string memory_round_trip() = 0;
    virtual std::string trivial_kernel() = 0;
};

struct PreflightReport {
    std::vector<std::string> passed;  // stage names, in order
};

// Runs the stages; throws rf::Error "gpu preflight failed at stage 'memory round trip': ..."
PreflightReport run_preflight(PreflightDevice& device);

}  // namespace rf
