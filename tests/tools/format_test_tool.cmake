# rocmforge_format_test_tool (tests/tools/format_test_tool.cpp): writes and compares test files
# for the format tests. Include from any tests/scripts/*.cmake; defined once.
include_guard(GLOBAL)
add_executable(rocmforge_format_test_tool ${CMAKE_SOURCE_DIR}/tests/tools/format_test_tool.cpp)
target_link_libraries(rocmforge_format_test_tool PRIVATE rocmforge_lib)
rocmforge_set_warnings(rocmforge_format_test_tool)
