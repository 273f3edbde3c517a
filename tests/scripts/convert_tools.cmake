# rocmforge_convert_test_tool (tests/tools/convert_test_tool.cpp): writes the synthetic f16 model
# the quantization speed is measured on, e.g.
#   build/tests/rocmforge_convert_test_tool synthetic-model /tmp/qwen2.5-0.5b-shapes-f16.gguf
#   build/rocmforge quantize /tmp/qwen2.5-0.5b-shapes-f16.gguf /tmp/q4_k_m.gguf q4_k_m
include_guard(GLOBAL)
add_executable(rocmforge_convert_test_tool ${CMAKE_SOURCE_DIR}/tests/tools/convert_test_tool.cpp)
target_link_libraries(rocmforge_convert_test_tool PRIVATE rocmforge_lib)
rocmforge_set_warnings(rocmforge_convert_test_tool)
