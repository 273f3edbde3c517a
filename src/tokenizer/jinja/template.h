// A parsed Jinja template. Parse once, render many times (rendering does not change it).
//
//   rf::jinja::Template t(source, "chat template");
//   std::string text = t.render(context);  // context: a JSON object of top-level variables
//
// Errors (syntax, unknown filter/test, runtime type errors, raise_exception) are rf::Error
// with the template name, line and column: "chat template line 3, column 17: unknown filter 'foo'".
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <string_view>

#include "tokenizer/jinja/ast.h"

namespace rf::jinja {

class Template {
public:
    Template(std::string_view source, std::string name = "template");

    std::string render(const nlohmann::ordered_json& context) const;
    std::string render(const Dict& context) const;

    const std::string& name() const { return name_; }

private:
    std::string name_;
    std::shared_ptr<const Body> body_;
};

}  // namespace rf::jinja
