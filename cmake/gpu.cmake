# GPU backend: the same .cu sources compiled by nvcc (ROCMFORGE_CUDA) or by hipcc
# (ROCMFORGE_HIP). Kernels are written once with CUDA names; src/backend/gpu/vendor.cuh maps
# them to HIP. The GPU sources are added to rocmforge_lib itself (no library cycle).
file(GLOB_RECURSE ROCMFORGE_GPU_SOURCES CONFIGURE_DEPENDS
    ${CMAKE_SOURCE_DIR}/src/backend/gpu/*.cu
    ${CMAKE_SOURCE_DIR}/src/backend/gpu/*.cpp)

if(ROCMFORGE_CUDA)
    if(NOT CMAKE_CUDA_ARCHITECTURES)
        set(CMAKE_CUDA_ARCHITECTURES ${ROCMFORGE_CUDA_ARCHS})
    endif()
    if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
        set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
    endif()
    enable_language(CUDA)
    find_package(CUDAToolkit REQUIRED)
    # CMake 3.25 does not know the flag of nvcc's C++20 dialect; tell it.
    if(CMAKE_VERSION VERSION_LESS 3.27 AND NOT CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
        set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
        set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
    endif()
    set(CMAKE_CUDA_STANDARD 20)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    target_sources(rocmforge_lib PRIVATE ${ROCMFORGE_GPU_SOURCES})
    set_target_properties(rocmforge_lib PROPERTIES CUDA_ARCHITECTURES "${ROCMFORGE_CUDA_ARCHS}")
    target_compile_options(rocmforge_lib PRIVATE
        $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr -lineinfo -Xcompiler=-Wall>)
    target_compile_definitions(rocmforge_lib PUBLIC ROCMFORGE_WITH_GPU ROCMFORGE_WITH_CUDA)
    if(ROCMFORGE_GPU_STEP_TRACE)
        target_compile_definitions(rocmforge_lib PUBLIC ROCMFORGE_GPU_STEP_TRACE)
        message(STATUS "rocmforge: step trace stamps compiled into the decode kernels (profiling build)")
    endif()
    target_link_libraries(rocmforge_lib PUBLIC CUDA::cudart CUDA::cublas)
    message(STATUS "rocmforge: GPU backend CUDA, architectures ${ROCMFORGE_CUDA_ARCHS}")
    set(ROCMFORGE_GPU_ON ON)
elseif(ROCMFORGE_HIP)
    # CMake's HIP language cannot find Debian's ROCm layout, so .cu files are compiled as HIP by
    # the C++ compiler, which must be hipcc (configure with CXX=hipcc).
    get_filename_component(_cxx_name ${CMAKE_CXX_COMPILER} NAME)
    if(NOT _cxx_name MATCHES "hipcc")
        message(FATAL_ERROR "ROCMFORGE_HIP needs CMAKE_CXX_COMPILER=hipcc (got ${CMAKE_CXX_COMPILER})")
    endif()
    set(_offload "")
    foreach(arch ${ROCMFORGE_HIP_ARCHS})
        list(APPEND _offload "--offload-arch=${arch}")
    endforeach()
    # hipcc is clang: GCC-only warning options of cmake/warnings.cmake (-Wshadow=local) are
    # unknown to it; with -Werror that would fail every file.
    # hipcc compiles every .cpp as HIP (device code for each architecture) unless told
    # otherwise: host files are plain C++ (-xc++); .cu files switch to HIP below (-x hip).
    target_compile_options(rocmforge_lib PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Wno-unknown-warning-option -xc++>)
    add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-Wno-unknown-warning-option> $<$<COMPILE_LANGUAGE:CXX>:-xc++>)
    set_source_files_properties(${ROCMFORGE_GPU_SOURCES} PROPERTIES LANGUAGE CXX)
    foreach(src ${ROCMFORGE_GPU_SOURCES})
        if(src MATCHES "\\.cu$")
            set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "-x;hip;${_offload}")
        endif()
    endforeach()
    target_sources(rocmforge_lib PRIVATE ${ROCMFORGE_GPU_SOURCES})
    # Host files (.cpp) that include the HIP runtime are compiled as plain C++: name the platform.
    target_compile_definitions(rocmforge_lib PUBLIC ROCMFORGE_WITH_GPU ROCMFORGE_WITH_HIP __HIP_PLATFORM_AMD__)
    target_link_libraries(rocmforge_lib PUBLIC amdhip64)

    # Device code for architectures that cannot be fully built here (e.g. gfx1100 with
    # Debian's device libraries): compiled to ISA assembly only, to prove the code compiles.
    set(ROCMFORGE_HIP_DEVICE_ONLY_ARCHS "" CACHE STRING "HIP architectures compiled device-only (-S)")
    set(_asm_outputs "")
    foreach(arch ${ROCMFORGE_HIP_DEVICE_ONLY_ARCHS})
        foreach(src ${ROCMFORGE_GPU_SOURCES})
            if(src MATCHES "\\.cu$")
                get_filename_component(_name ${src} NAME_WE)
                set(_out ${CMAKE_BINARY_DIR}/device_only/${arch}/${_name}.s)
                add_custom_command(OUTPUT ${_out}
                    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/device_only/${arch}
                    COMMAND ${CMAKE_CXX_COMPILER} -x hip --offload-arch=${arch} --cuda-device-only -nogpulib -Wno-unused-command-line-argument
                            -O3 -std=c++20 -DROCMFORGE_WITH_GPU -DROCMFORGE_WITH_HIP
                            -I${CMAKE_SOURCE_DIR}/src -S ${src} -o ${_out}
                    DEPENDS ${src}
                    COMMENT "HIP device code ${_name}.cu for ${arch}")
                list(APPEND _asm_outputs ${_out})
            endif()
        endforeach()
    endforeach()
    if(_asm_outputs)
        add_custom_target(rocmforge_hip_device_only ALL DEPENDS ${_asm_outputs})
    endif()
    message(STATUS "rocmforge: GPU backend HIP, architectures ${ROCMFORGE_HIP_ARCHS}, device-only ${ROCMFORGE_HIP_DEVICE_ONLY_ARCHS}")
    set(ROCMFORGE_GPU_ON ON)
endif()

# The GPU op harness (tests/gpu, every GPU op against the CPU op) and the GPU micro-benchmark
# program; built only in GPU builds.
if(ROCMFORGE_GPU_ON)
    if(ROCMFORGE_TESTS)
        include(${CMAKE_SOURCE_DIR}/tests/gpu/gpu_tests.cmake)
    endif()
    add_executable(rocmforge_gpu_bench ${CMAKE_SOURCE_DIR}/benchmarks/gpu_bench.cpp ${CMAKE_SOURCE_DIR}/benchmarks/gpu_bench_matvecn.cpp)
    target_link_libraries(rocmforge_gpu_bench PRIVATE rocmforge_lib)
    rocmforge_set_warnings(rocmforge_gpu_bench)
    add_executable(rocmforge_gpu_prefill_bench ${CMAKE_SOURCE_DIR}/benchmarks/gpu_prefill_bench.cpp)
    target_link_libraries(rocmforge_gpu_prefill_bench PRIVATE rocmforge_lib)
    rocmforge_set_warnings(rocmforge_gpu_prefill_bench)
endif()

# Standalone probes of the H100 memory system (benchmarks/probes, CUDA sm_90 only: PDL, bulk
# copies); each prints its own table. docs/gpu_notes.md (fourteenth pass) gives their results.
if(ROCMFORGE_CUDA AND "90" IN_LIST ROCMFORGE_CUDA_ARCHS)
    foreach(_probe read_size pdl_chain ring_barrier layer_ring flag_chain row_pattern l2_persist l2_alternate graph_boundary ffn_dataflow attn_block)
        add_executable(rocmforge_probe_${_probe} ${CMAKE_SOURCE_DIR}/benchmarks/probes/${_probe}_probe.cu)
        set_target_properties(rocmforge_probe_${_probe} PROPERTIES CUDA_ARCHITECTURES 90)
        target_compile_options(rocmforge_probe_${_probe} PRIVATE --expt-relaxed-constexpr)
        target_link_libraries(rocmforge_probe_${_probe} PRIVATE CUDA::cudart)
    endforeach()
endif()
