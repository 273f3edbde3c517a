# rocmforge_gpu_tests: the GPU op harness (test-backend-ops style). Every GPU op runs against the
# CPU op on random inputs and is compared by normalised MSE. Built only in GPU builds (CI has no
# GPU); the binary takes the cross-process GPU lock itself. Run: ctest -L gpu, or the binary.
find_package(GTest REQUIRED)
enable_testing()
file(GLOB ROCMFORGE_GPU_TEST_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/gpu/*.cpp)
add_executable(rocmforge_gpu_tests ${ROCMFORGE_GPU_TEST_SOURCES})
target_link_libraries(rocmforge_gpu_tests PRIVATE rocmforge_lib GTest::gtest)
target_include_directories(rocmforge_gpu_tests PRIVATE ${CMAKE_SOURCE_DIR}/tests)
rocmforge_set_warnings(rocmforge_gpu_tests)
add_test(NAME gpu_ops COMMAND rocmforge_gpu_tests)
set_tests_properties(gpu_ops PROPERTIES TIMEOUT 900 LABELS gpu)
# the reference fixtures (tests/fixtures/reference) and the helpers of tests/unit/model_test_util.h
target_compile_definitions(rocmforge_gpu_tests PRIVATE
    ROCMFORGE_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
    ROCMFORGE_BINARY_DIR="${CMAKE_BINARY_DIR}"
    ROCMFORGE_EXE="$<TARGET_FILE:rocmforge>")
