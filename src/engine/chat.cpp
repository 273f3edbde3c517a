#include "engine/chat.h"

#include "tokenizer/jinja/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace rf {

std::string render_chat(const Tokenizer& tokenizer, nlohmann::ordered_json context) {
    const Vocab& v = tokenizer.vocab();
    auto token_text = [&](int32_t id) { return id >= 0 ? tokenizer.token_to_piece(id, true) : std::string(); };
    if (!context.contains("bos_token")) context["bos_token"] = token_text(v.bos_token_id);
    if (!context.contains("eos_token")) context["eos_token"] = token_text(v.eos_token_id);
    if (v.chat_template.empty()) {
        const bool gen = context.value("add_generation_prompt", false);
        return jinja::chatml_fallback(context.value("messages", nlohmann::ordered_json::array()), gen);
    }
    return jinja::render_chat_template(v.chat_template, context);
}

}  // namespace rf
