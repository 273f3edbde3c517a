# The Jinja fixtures (tests/fixtures/jinja/*.json) must still be what @huggingface/jinja renders:
# re-render them and compare. Skipped (exit 77) when tests/node has no node_modules.
find_program(ROCMFORGE_NODE node)
if(ROCMFORGE_NODE)
    add_test(NAME jinja_reference_fixtures
             COMMAND ${ROCMFORGE_NODE} ${CMAKE_SOURCE_DIR}/tests/node/jinja_reference.mjs --check)
    set_tests_properties(jinja_reference_fixtures PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
endif()
