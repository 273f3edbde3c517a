#include "server/chat_render.h"

#include "core/error.h"
#include "engine/chat.h"

namespace rf::server {
namespace {

std::string render_or_refuse(const Tokenizer& tokenizer, const json& context) {
    try {
        return render_chat(tokenizer, context);
    } catch (const Error& e) {
        throw ApiError(400, "messages", std::string("messages: the model's chat template failed: ") + e.what());
    }
}

}  // namespace

std::string render_chat_request(const Tokenizer& tokenizer, json context, const json& tools) {
    if (tools.is_null()) return render_or_refuse(tokenizer, context);
    const std::string without = render_or_refuse(tokenizer, context);
    context["tools"] = tools;
    const std::string with = render_or_refuse(tokenizer, context);
    if (with == without)
        throw ApiError(400, "tools", "tools: this model's chat template does not show tools to the model (it renders the same "
                                     "prompt with and without them), so the server cannot offer them");
    return with;
}

}  // namespace rf::server
