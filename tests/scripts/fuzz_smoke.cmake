# Short libFuzzer runs of the fuzz targets from their seed corpora (fuzz/corpus/<target>):
# registered only in a fuzz build (-DROCMFORGE_FUZZ=ON with clang; scripts/dev.sh test makes one
# in build-fuzz). New inputs go to a scratch corpus in the build tree, never into the source tree.
if(NOT ROCMFORGE_FUZZ)
    return()
endif()
set(ROCMFORGE_FUZZ_SMOKE_RUNS 50000 CACHE STRING "libFuzzer -runs for the fuzz smoke tests")
foreach(_target gguf_reader safetensors_header)
    set(_scratch ${CMAKE_BINARY_DIR}/fuzz_smoke_corpus/${_target})
    file(MAKE_DIRECTORY ${_scratch})
    if(_target STREQUAL "gguf_reader")
        set(_dict ${CMAKE_SOURCE_DIR}/fuzz/gguf.dict)
    else()
        set(_dict ${CMAKE_SOURCE_DIR}/fuzz/safetensors.dict)
    endif()
    add_test(NAME fuzz_smoke_${_target}
        COMMAND fuzz_${_target} -runs=${ROCMFORGE_FUZZ_SMOKE_RUNS} -max_total_time=60 -seed=1
                -dict=${_dict} -print_final_stats=1 ${_scratch} ${CMAKE_SOURCE_DIR}/fuzz/corpus/${_target})
    set_tests_properties(fuzz_smoke_${_target} PROPERTIES TIMEOUT 180 LABELS "fuzz")
endforeach()
