// Evaluator: runs a parsed template against a context and appends the output to a string.
//
// Scoping follows Jinja2: a for-loop iteration and a macro call each get a fresh child scope
// (so `set` inside a loop does not survive the iteration; use namespace() for state), while
// if-blocks share the enclosing scope. Variables resolve through the chain to the globals.
// Undefined follows Jinja's default Undefined where templates rely on it (prints as "",
// is falsy, iterates as empty, `is defined` is false), and an attribute of undefined is
// undefined (as @huggingface/jinja; Python Jinja would raise there).
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "tokenizer/jinja/ast.h"

namespace rf::jinja {

struct Scope {
    std::unordered_map<std::string, Value> vars;
    std::shared_ptr<Scope> parent;

    const Value* lookup(const std::string& name) const;
};
using ScopePtr = std::shared_ptr<Scope>;

// Renders body with the given top-level variables (the context); globals (range, namespace,
// raise_exception, ...) sit below them. Throws TemplateError, located at the innermost node.
std::string render_body(const Body& body, const Dict& context);

}  // namespace rf::jinja
