// Chat prompts: the model's chat template (tokenizer.chat_template, or ChatML when the GGUF has
// none) rendered with the conversation, as the OpenAI-style APIs and `run --chat` need it.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace rf {

class Tokenizer;

// Renders `context` (messages, optional tools, add_generation_prompt, enable_thinking, ...) with
// the vocab's template; bos_token / eos_token are filled in from the vocab unless given.
std::string render_chat(const Tokenizer& tokenizer, nlohmann::ordered_json context);

}  // namespace rf
