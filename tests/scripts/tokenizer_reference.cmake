# The committed tokenizer fixtures (tests/fixtures/tokenizer/*.json) must be what the reference,
# @huggingface/tokenizers, gives today for the corpus in tests/node/tokenize_reference.mjs.
# Skipped (exit 77) without node_modules (cd tests/node && npm ci) or ../shared.
find_program(ROCMFORGE_NODE node)
if(ROCMFORGE_NODE)
    add_test(NAME tokenizer_reference_fixtures_up_to_date
             COMMAND ${ROCMFORGE_NODE} ${CMAKE_SOURCE_DIR}/tests/node/tokenize_reference.mjs --check
             WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}/tests/node)
    set_tests_properties(tokenizer_reference_fixtures_up_to_date PROPERTIES SKIP_RETURN_CODE 77)
endif()
