// Chat-template rendering as transformers' apply_chat_template(tokenize=False) does it.
//
// context holds `messages` (OpenAI-style: role, content, optional tool_calls,
// reasoning_content, ...) and whatever the template reads: `tools`, `add_generation_prompt`,
// `enable_thinking`, `bos_token`, `eos_token`, ... As in transformers, `add_generation_prompt`
// defaults to false and `tools` / `documents` to none when the context does not set them.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace rf::jinja {

// Throws rf::Error("chat template line L, column C: ...") on a template error.
std::string render_chat_template(const std::string& tmpl, const nlohmann::ordered_json& context);

// ChatML for models that ship no template (GGUFs without tokenizer.chat_template):
// "<|im_start|>{role}\n{content}<|im_end|>\n" per message, then "<|im_start|>assistant\n" when
// add_generation_prompt. Content may be a string, a list of {type: "text", text} parts, or null.
std::string chatml_fallback(const nlohmann::ordered_json& messages, bool add_generation_prompt);

}  // namespace rf::jinja
