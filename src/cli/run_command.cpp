// rocmforge run: generate text from a prompt, or chat (--chat) keeping the conversation.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/escapes.h"
#include "cli/model_options.h"
#include "cli/option_checks.h"
#include "cli/sampling_options.h"
#include "core/error.h"
#include "engine/chat.h"
#include "engine/generator.h"
#include "engine/loaded_model.h"
#include "engine/sampler.h"
#include "engine/session.h"

namespace rf::cli {
namespace {

struct RunOptions {
    ModelOptions model;
    GenerateOptions gen;
    uint64_t seed = 0;
    bool seed_set = false;
    std::string prompt;
    std::string prompt_file;  // -f: the prompt read from this file
    bool escape = true;       // -p, --system and --stop: \n etc. processed (cli/escapes.h)
    bool chat = false;
    std::string system;
};

bool print_piece(std::string_view text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    return true;
}

void print_stats(const GenerateResult& r) {
    const auto rate = [](double n, double s) { return s > 0 ? n / s : 0.0; };
    std::fprintf(stderr, "\nprompt: %d tokens in %.3f s (%.1f tokens/s); generation: %zu tokens in %.3f s (%.1f tokens/s); finish: %s\n",
                 r.n_prompt, r.prompt_seconds, rate(r.n_prompt, r.prompt_seconds), r.tokens.size(), r.generate_seconds,
                 rate(static_cast<double>(r.tokens.size()), r.generate_seconds), finish_reason_name(r.finish));
    if (r.drafted > 0 || r.accepted > 0)
        std::fprintf(stderr, "speculative (prompt lookup): %d of %d drafted tokens kept (%.0f %%), %.2f tokens per forward pass\n",
                     r.accepted, r.drafted, r.drafted > 0 ? 100.0 * r.accepted / r.drafted : 0.0,
                     r.decode_steps > 0 ? static_cast<double>(r.tokens.size()) / r.decode_steps : 0.0);
}

void run_completion(LoadedModel& lm, const RunOptions& o) {
    RF_CHECK(!o.prompt.empty(), "run: no prompt; pass -p TEXT or -f FILE (or --chat)");
    const auto ids = lm.tokenizer().encode(o.prompt, /*add_special=*/true, /*parse_special=*/true);
    Session session(lm.model(), lm.kv(), lm.n_ctx());
    const GenerateResult r = generate(session, lm.tokenizer(), ids, o.gen, print_piece);
    print_stats(r);
}

// Feeds only what the new prompt adds to the session (the shared prefix stays in the KV cache).
std::vector<int32_t> suffix_after_common_prefix(Session& session, const std::vector<int32_t>& prompt) {
    const auto& have = session.tokens();
    size_t common = 0;
    while (common < have.size() && common < prompt.size() && have[common] == prompt[common]) ++common;
    if (common == prompt.size() && common > 0) --common;  // always feed at least one token
    session.truncate(static_cast<int32_t>(common));
    return {prompt.begin() + static_cast<ptrdiff_t>(common), prompt.end()};
}

void run_chat(LoadedModel& lm, const RunOptions& o) {
    const bool interactive = ::isatty(STDIN_FILENO) != 0;
    nlohmann::ordered_json messages = nlohmann::ordered_json::array();
    if (!o.system.empty()) messages.push_back({{"role", "system"}, {"content", o.system}});
    Session session(lm.model(), lm.kv(), lm.n_ctx());
    std::string user = o.prompt;
    bool have_user = !user.empty();
    for (;;) {
        if (!have_user) {
            if (interactive) std::fprintf(stderr, "\n> ");
            if (!std::getline(std::cin, user)) break;
            if (user.empty()) continue;
        }
        have_user = false;
        messages.push_back({{"role", "user"}, {"content", user}});
        nlohmann::ordered_json ctx = {{"messages", messages}, {"add_generation_prompt", true}};
        const std::string prompt = render_chat(lm.tokenizer(), ctx);
        const auto ids = lm.tokenizer().encode(prompt, /*add_special=*/false, /*parse_special=*/true);
        // A turn that does not fit the context is refused on its own; the conversation goes on.
        if (static_cast<int64_t>(ids.size()) > lm.n_ctx()) {
            std::fprintf(stderr, "error: the conversation with this turn needs %zu tokens, the context size is %d "
                         "(--ctx-size); the turn is dropped\n", ids.size(), lm.n_ctx());
            messages.erase(messages.size() - 1);
            continue;
        }
        const auto fresh = suffix_after_common_prefix(session, ids);
        const GenerateResult r = generate(session, lm.tokenizer(), fresh, o.gen, print_piece);
        std::fputc('\n', stdout);
        print_stats(r);
        messages.push_back({{"role", "assistant"}, {"content", r.text}});
    }
}

}  // namespace

void add_run_command(CLI::App& app) {
    auto opts = std::make_shared<RunOptions>();
    opts->gen.max_tokens = 256;
    auto* cmd = app.add_subcommand("run", "Generate text (streams to stdout; speed to stderr)");
    add_model_options(cmd, opts->model);
    add_chat_template_option(cmd, opts->model);
    add_sampling_options(cmd, opts->gen, opts->seed, opts->seed_set);
    auto* prompt = cmd->add_option("-p,--prompt", opts->prompt, "prompt (in chat mode: the first user message)");
    cmd->add_option("-f,--file", opts->prompt_file, "read the prompt from a file ('-' = stdin; not with --chat)")
        ->excludes(prompt);
    cmd->add_flag("-e,--escape,!--no-escape", opts->escape,
                  "process escapes (\\n, \\t, \\xHH, ...) in -p, --system and --stop, as llama.cpp (default: on)");
    cmd->add_flag("--chat", opts->chat, "apply the chat template and keep a conversation (user turns from stdin)");
    cmd->add_option("--system", opts->system, "system message (chat mode)");
    auto* draft = cmd->add_option("--draft,--draft-max", opts->gen.draft,
                    "speculative decoding: up to N tokens drafted per step by prompt lookup (the tokens after an earlier "
                    "occurrence of the last --draft-ngram tokens), verified in one pass; greedy (--temp 0) only (default 0: off)")
        ->check(kNonNegative);
    cmd->add_option("--draft-ngram", opts->gen.draft_ngram, "longest n-gram prompt lookup matches (default 3)")
        ->check(kPositive)
        ->needs(draft);
    cmd->callback([opts] {
        RunOptions& o = *opts;
        if (o.seed_set) o.gen.sampling.seed = o.seed;
        RF_CHECK(o.chat || o.system.empty(), "run: --system sets the chat's system message; it needs --chat");
        RF_CHECK(!o.chat || o.prompt_file.empty(), "run: --chat reads its turns from stdin; -f is for a completion's prompt");
        RF_CHECK(o.chat || o.model.chat_template_file.empty(),
                 "run: --chat-template-file renders the chat of --chat; a completion's prompt is used as it is");
        if (o.escape) {
            o.prompt = process_escapes(o.prompt);
            o.system = process_escapes(o.system);
            for (std::string& stop : o.gen.stop) stop = process_escapes(stop);
        }
        if (!o.prompt_file.empty()) o.prompt = read_text_file(o.prompt_file);  // (a file's text as it is)
        check_sampling_params(o.gen.sampling);  // before the model is loaded
        RF_CHECK(o.gen.draft == 0 || o.gen.sampling.temperature <= 0.0f,
                 "run: --draft {} verifies drafts greedily; it needs --temp 0 (got --temp {})", o.gen.draft,
                 o.gen.sampling.temperature);
        RF_CHECK(o.gen.draft == 0 || !o.gen.sampling.json_schema,
                 "run: --draft and --json-schema do not go together (drafted tokens thrown away would have moved the JSON constraint)");
        LoadOptions lo = to_load_options(o.model);
        lo.n_batch = o.gen.n_batch;
        LoadedModel lm(lo);
        std::fprintf(stderr, "model: %s on %s, context %d\n", lm.description().c_str(), lm.backend().name().c_str(),
                     lm.n_ctx());
        if (o.chat) run_chat(lm, o);
        else run_completion(lm, o);
    });
}

}  // namespace rf::cli
