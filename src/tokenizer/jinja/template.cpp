#include "tokenizer/jinja/template.h"

#include "core/error.h"
#include "tokenizer/jinja/interpreter.h"
#include "tokenizer/jinja/json_value.h"
#include "tokenizer/jinja/parser.h"

namespace rf::jinja {

namespace {

[[noreturn]] void rethrow(const std::string& name, const TemplateError& e) {
    if (e.located()) rf::fail("{} line {}, column {}: {}", name, e.where().line, e.where().column, e.message());
    rf::fail("{}: {}", name, e.message());
}

}  // namespace

Template::Template(std::string_view source, std::string name) : name_(std::move(name)) {
    try {
        body_ = std::make_shared<const Body>(parse_template(source));
    } catch (const TemplateError& e) {
        rethrow(name_, e);
    }
}

std::string Template::render(const Dict& context) const {
    try {
        return render_body(*body_, context);
    } catch (const TemplateError& e) {
        rethrow(name_, e);
    }
}

std::string Template::render(const nlohmann::ordered_json& context) const {
    if (!context.is_object()) rf::fail("{}: the render context must be a JSON object, got {}", name_, context.type_name());
    Value root;
    try {
        root = from_json(context);
    } catch (const TemplateError& e) {
        rethrow(name_, e);
    }
    return render(root.as_dict());
}

}  // namespace rf::jinja
