#include "tokenizer/jinja/chat_template.h"

#include "core/error.h"
#include "tokenizer/jinja/template.h"

namespace rf::jinja {

namespace {

// Same output as the common ChatML template for string contents; also accepts content parts.
constexpr const char* kChatmlTemplate =
    "{%- for message in messages -%}\n"
    "{{- '<|im_start|>' + message.role + '\\n' -}}\n"
    "{%- if message.content is string -%}\n"
    "{{- message.content -}}\n"
    "{%- elif message.content is iterable and message.content is not mapping -%}\n"
    "{%- for part in message.content if part.type == 'text' -%}{{- part.text -}}{%- endfor -%}\n"
    "{%- endif -%}\n"
    "{{- '<|im_end|>\\n' -}}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}\n";

}  // namespace

std::string render_chat_template(const std::string& tmpl, const nlohmann::ordered_json& context) {
    if (!context.is_object()) rf::fail("chat template: the context must be a JSON object, got {}", context.type_name());
    nlohmann::ordered_json full = context;
    if (!full.contains("add_generation_prompt")) full["add_generation_prompt"] = false;
    if (!full.contains("tools")) full["tools"] = nullptr;
    if (!full.contains("documents")) full["documents"] = nullptr;
    return Template(tmpl, "chat template").render(full);
}

std::string chatml_fallback(const nlohmann::ordered_json& messages, bool add_generation_prompt) {
    static const Template chatml(kChatmlTemplate, "ChatML fallback template");
    if (!messages.is_array()) rf::fail("ChatML fallback: messages must be a JSON array, got {}", messages.type_name());
    nlohmann::ordered_json context = {{"messages", messages}, {"add_generation_prompt", add_generation_prompt}};
    return chatml.render(context);
}

}  // namespace rf::jinja
