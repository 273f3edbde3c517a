#include "backend/gpu/gpu_blas.h"

#include "backend/gpu/gpu_check.h"
#include "core/error.h"

#if !defined(ROCMFORGE_WITH_HIP)
#include <cublas_v2.h>
#endif

namespace rf::gpu {

#if defined(ROCMFORGE_WITH_HIP)

std::unique_ptr<GpuBlas> make_gpu_blas() { return nullptr; }

#else

namespace {

#define RF_CUBLAS_CHECK(call)                                                                 \
    do {                                                                                      \
        const cublasStatus_t rf_st_ = (call);                                                 \
        if (rf_st_ != CUBLAS_STATUS_SUCCESS)                                                  \
            ::rf::fail("gpu: {} failed: {} at {}:{}", #call, cublasGetStatusName(rf_st_), __FILE__, __LINE__); \
    } while (0)

class CublasGemm final : public GpuBlas {
public:
    CublasGemm() {
        RF_CUBLAS_CHECK(cublasCreate(&handle_));
        // A fixed workspace keeps cuBLAS from allocating inside stream capture.
        RF_GPU_CHECK(cudaMalloc(&workspace_, kWorkspaceBytes));
        RF_CUBLAS_CHECK(cublasSetWorkspace(handle_, workspace_, kWorkspaceBytes));
        RF_CUBLAS_CHECK(cublasSetMathMode(handle_, CUBLAS_DEFAULT_MATH));  // no TF32: f32 stays f32
    }
    ~CublasGemm() override {
        if (handle_) cublasDestroy(handle_);
        if (workspace_) (void)cudaFree(workspace_);
    }

    void gemm(const GemmDesc& d, cudaStream_t stream) override {
        RF_CUBLAS_CHECK(cublasSetStream(handle_, stream));
        const float alpha = 1.0f, beta = d.accumulate ? 1.0f : 0.0f;
        const cudaDataType_t t = d.type == GemmType::F32 ? CUDA_R_32F : d.type == GemmType::F16 ? CUDA_R_16F : CUDA_R_16BF;
        // Column-major view: y^T [rows, n_tok] = W^T^T ... i.e. C = op(A) * B with A = w seen as
        // [k, rows] (transposed), B = x seen as [k, n_tok].
        RF_CUBLAS_CHECK(cublasGemmEx(handle_, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(d.rows), static_cast<int>(d.n_tok),
                                     static_cast<int>(d.k), &alpha, d.w, t, static_cast<int>(d.k), d.x, t,
                                     static_cast<int>(d.k), &beta, d.y, CUDA_R_32F, static_cast<int>(d.ldy),
                                     CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    }

private:
    static constexpr size_t kWorkspaceBytes = 32u << 20;
    cublasHandle_t handle_ = nullptr;
    void* workspace_ = nullptr;
};

}  // namespace

std::unique_ptr<GpuBlas> make_gpu_blas() { return std::make_unique<CublasGemm>(); }

#endif

}  // namespace rf::gpu
