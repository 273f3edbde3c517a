// Helpers for the Jinja interpreter tests: render a template string with a JSON context, and
// check tables of (template, expected output, context) cases.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "tokenizer/jinja/template.h"

namespace rf::jinja::test {

inline std::string render(const std::string& tmpl, const std::string& context_json = "{}") {
    return Template(tmpl, "test template").render(nlohmann::ordered_json::parse(context_json));
}

// Expected outputs were produced by Python Jinja2 3.1 configured as transformers configures it
// (trim_blocks, lstrip_blocks, tojson = json.dumps), unless a comment says otherwise.
struct Case {
    std::string tmpl;
    std::string expected;
    std::string context = "{}";
};

inline void check_cases(const std::vector<Case>& cases) {
    for (const Case& c : cases) {
        SCOPED_TRACE("template: " + c.tmpl);
        try {
            EXPECT_EQ(render(c.tmpl, c.context), c.expected);
        } catch (const std::exception& e) {
            ADD_FAILURE() << "threw: " << e.what();
        }
    }
}

}  // namespace rf::jinja::test
