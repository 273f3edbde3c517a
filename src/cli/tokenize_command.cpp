// rocmforge tokenize: text -> token ids as a JSON array, or (--decode) a JSON array -> text.
// Only the GGUF's vocabulary is read; no weights are loaded.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/escapes.h"
#include "cli/model_options.h"
#include "core/error.h"
#include "engine/chat.h"
#include "engine/default_model.h"
#include "formats/gguf/gguf_file.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab_gguf.h"

namespace rf::cli {

std::unique_ptr<GgufFile> open_model_file(const std::string& path) {
    return path.empty() ? open_default_model() : std::make_unique<GgufFile>(path);
}

void add_tokenize_command(CLI::App& app) {
    struct Options {
        std::string model, text, file;
        bool bos = false, decode = false, no_parse_special = false, escape = true;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = app.add_subcommand("tokenize", "Token ids of a text (JSON array), or --decode ids back to text");
    cmd->add_option("-m,--model", o->model, "GGUF file whose vocabulary to use (default: the embedded model)");
    auto* text_opt = cmd->add_option("--text", o->text, "text (with --decode: a JSON array of ids)");
    cmd->add_option("-f,--file", o->file, "read the input from a file ('-' = stdin)")->excludes(text_opt);
    auto* file_opt = cmd->get_option("--file");
    auto* bos = cmd->add_flag("--bos", o->bos, "add BOS/EOS as the vocabulary asks (default: none)");
    auto* raw = cmd->add_flag("--no-parse-special", o->no_parse_special, "treat special-token text as plain text");
    auto* escape = cmd->add_flag("--escape,!--no-escape", o->escape,
                                 "process escapes (\\n, \\t, \\xHH, ...) in --text, as llama-tokenize (default: on)");
    escape->excludes(file_opt);  // (a file's text is taken as it is: the flag would do nothing there)
    cmd->add_flag("--decode", o->decode, "input is a JSON array of ids; print the text")->excludes(bos)->excludes(raw)->excludes(escape);
    cmd->callback([o, text_opt, file_opt] {
        RF_CHECK(text_opt->count() + file_opt->count() > 0, "tokenize: no input; pass --text TEXT or -f FILE");
        const std::string input = !o->file.empty() ? read_text_file(o->file)  // (a file's text as it is)
                                  : o->escape && !o->decode ? process_escapes(o->text)
                                                            : o->text;
        const auto gguf = open_model_file(o->model);
        const Tokenizer tok(tokenizer_from_gguf(*gguf));
        if (o->decode) {
            nlohmann::json j;
            try {
                j = nlohmann::json::parse(input);
            } catch (const nlohmann::json::exception& e) {
                fail("tokenize --decode: input is not JSON: {}", e.what());
            }
            RF_CHECK(j.is_array(), "tokenize --decode: input must be a JSON array of token ids");
            std::vector<int32_t> ids;
            for (const auto& v : j) {
                RF_CHECK(v.is_number_integer(), "tokenize --decode: '{}' is not a token id", v.dump());
                const bool in_range = v.is_number_unsigned() ? v.get<uint64_t>() < static_cast<uint64_t>(tok.n_vocab())
                                                             : v.get<int64_t>() >= 0 && v.get<int64_t>() < tok.n_vocab();
                RF_CHECK(in_range, "tokenize --decode: token id {} is out of range [0, {})", v.dump(), tok.n_vocab());
                ids.push_back(static_cast<int32_t>(v.get<int64_t>()));
            }
            const std::string out = tok.decode(ids);
            std::fwrite(out.data(), 1, out.size(), stdout);
            return;
        }
        const auto ids = tok.encode(input, o->bos, !o->no_parse_special);
        std::printf("%s\n", nlohmann::json(ids).dump().c_str());
    });
}

void add_template_command(CLI::App& app) {
    struct Options {
        std::string model, context_file, template_file;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = app.add_subcommand("template", "Render the model's chat template with a JSON context");
    cmd->add_option("-m,--model", o->model, "GGUF file whose chat template to use (default: the embedded model)");
    cmd->add_option("-f,--file", o->context_file,
                    "JSON with the template variables: messages, tools, add_generation_prompt, enable_thinking, ...")
        ->required();
    cmd->add_option("--chat-template-file", o->template_file, "a Jinja template to render instead of the model's");
    cmd->callback([o] {
        const std::string text = read_text_file(o->context_file);
        nlohmann::ordered_json ctx;
        try {
            ctx = nlohmann::ordered_json::parse(text);
        } catch (const nlohmann::json::exception& e) {
            fail("{}: not valid JSON: {}", o->context_file, e.what());
        }
        RF_CHECK(ctx.is_object(), "{}: the context must be a JSON object", o->context_file);
        const auto gguf = open_model_file(o->model);
        Vocab vocab = vocab_from_gguf(*gguf);
        if (!o->template_file.empty()) {
            vocab.chat_template = read_text_file(o->template_file);
            RF_CHECK(!vocab.chat_template.empty(), "--chat-template-file {}: the file is empty", o->template_file);
        }
        const Tokenizer tok(std::move(vocab));
        std::string out;
        try {
            out = render_chat(tok, ctx);
        } catch (const Error& e) {
            fail("{}: {}", o->context_file, e.what());  // (the template's errors name its line, not the file)
        }
        std::fwrite(out.data(), 1, out.size(), stdout);
    });
}

}  // namespace rf::cli
