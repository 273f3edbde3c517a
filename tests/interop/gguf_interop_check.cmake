# cmake -DRF_EXE=... -DTOOL=... -DNODE=... -DNODE_DIR=... -DWORK_DIR=... -DFILES=a.gguf|b.gguf
#       -P gguf_interop_check.cmake
# For each file: `rocmforge info --json` and `node gguf_dump.mjs` (@huggingface/gguf), then
# `rocmforge_format_test_tool compare` on the two. Fails on the first file that differs.
cmake_minimum_required(VERSION 3.25)

foreach(var RF_EXE TOOL NODE NODE_DIR WORK_DIR FILES)
    if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
        message(FATAL_ERROR "gguf_interop_check: -D${var}= is required")
    endif()
endforeach()
if(NOT EXISTS ${NODE_DIR}/node_modules/@huggingface/gguf)
    message(FATAL_ERROR "@huggingface/gguf is not installed: run `npm ci` in ${NODE_DIR}")
endif()

string(REPLACE "|" ";" files "${FILES}")
file(MAKE_DIRECTORY ${WORK_DIR})
foreach(gguf IN LISTS files)
    if(NOT EXISTS ${gguf})
        message(FATAL_ERROR "${gguf}: no such file")
    endif()
    get_filename_component(stem ${gguf} NAME_WE)
    set(ours ${WORK_DIR}/${stem}.rocmforge.json)
    set(theirs ${WORK_DIR}/${stem}.hf-gguf.json)
    execute_process(COMMAND ${RF_EXE} info --json ${gguf}
        OUTPUT_FILE ${ours} ERROR_VARIABLE err RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "rocmforge info --json ${gguf} failed (${rc}): ${err}")
    endif()
    execute_process(COMMAND ${NODE} ${NODE_DIR}/gguf_dump.mjs ${gguf}
        WORKING_DIRECTORY ${NODE_DIR}
        OUTPUT_FILE ${theirs} ERROR_VARIABLE err RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "@huggingface/gguf could not read ${gguf} (${rc}): ${err}")
    endif()
    execute_process(COMMAND ${TOOL} compare ${ours} ${theirs}
        OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "${gguf}: rocmforge and @huggingface/gguf disagree:\n${err}")
    endif()
    string(STRIP "${out}" out)
    message(STATUS "${gguf}: ${out}")
endforeach()
