// rocmforge serve: an OpenAI- and Anthropic-compatible HTTP server over one model, with
// continuous batching (src/server). Stops on SIGINT / SIGTERM.
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <thread>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "cli/option_checks.h"
#include "core/error.h"
#include "server/api_routes.h"
#include "server/http_server.h"
#include "server/model_host.h"

namespace rf::cli {
namespace {

struct ServeOptions {
    ModelOptions model;
    server::HttpOptions http;
    server::SchedulerOptions scheduler;
    std::string alias;
    std::string api_key;
    std::string models_dir;
    std::string pooling;
};

// SIGINT / SIGTERM may land on any thread (OpenBLAS starts its own before main), so the handler
// only writes the signal's number to a pipe; a watcher thread reads it and stops the server.
int g_signal_pipe[2] = {-1, -1};

extern "C" void on_stop_signal(int sig) {
    const unsigned char b = static_cast<unsigned char>(sig);
    [[maybe_unused]] const ssize_t n = ::write(g_signal_pipe[1], &b, 1);
}

void serve(const ServeOptions& o) {
    RF_CHECK(::pipe(g_signal_pipe) == 0, "serve: cannot create the signal pipe");
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);  // a client gone mid-write is an error code, not a signal

    server::ModelHostOptions ho;
    ho.load = to_load_options(o.model);
    ho.load.n_seq_max = o.scheduler.n_parallel;
    ho.load.n_batch = o.scheduler.n_batch;
    ho.scheduler = o.scheduler;
    ho.name = o.alias;
    ho.models_dir = o.models_dir;
    server::ModelHost host(ho);
    server::ApiRoutes routes(host, {o.api_key, o.pooling});
    server::HttpServer http(routes, o.http);
    {
        const auto m = host.current();
        std::fprintf(stderr, "model: %s (\"%s\") on %s, context %d, %d parallel requests\n", m->model.description().c_str(),
                     m->name.c_str(), m->model.backend().name().c_str(), m->model.n_ctx(), o.scheduler.n_parallel);
    }
    if (!o.models_dir.empty()) std::fprintf(stderr, "models directory: %s (POST /models/load, /models/unload)\n", o.models_dir.c_str());
    std::fprintf(stderr, "listening on http://%s:%u (POST /v1/completions, /v1/chat/completions, /v1/messages)\n",
                 o.http.host.c_str(), static_cast<unsigned>(http.port()));
    std::thread([&http] {
        unsigned char sig = 0;
        while (::read(g_signal_pipe[0], &sig, 1) < 0 && errno == EINTR) {
        }
        std::fprintf(stderr, "signal %d: stopping\n", static_cast<int>(sig));
        http.stop();
    }).detach();
    http.run();
    std::fprintf(stderr, "stopped\n");
}

}  // namespace

void add_serve_command(CLI::App& app) {
    auto o = std::make_shared<ServeOptions>();
    auto* cmd = app.add_subcommand("serve", "OpenAI / Anthropic-compatible HTTP server (continuous batching)");
    add_model_options(cmd, o->model);
    add_chat_template_option(cmd, o->model);
    cmd->add_option("--host", o->http.host, "address to listen on (default 127.0.0.1)");
    cmd->add_option("--port", o->http.port, "port (default 8080; 0: any free port)");
    cmd->add_option("--parallel,--np", o->scheduler.n_parallel, "requests generated at once (default 4); the KV cache holds this many full contexts")
        ->check(kPositive);
    cmd->add_option("-b,--batch-size", o->scheduler.n_batch, "tokens per step: decode tokens plus prompt chunks (default 512)")
        ->check(kPositive);
    cmd->add_option("--prefix-cache", o->scheduler.prefix_cache_entries,
                    "finished requests kept for their KV prefixes, reused by later prompts that start the same way "
                    "(default 16; 0: off; models with linear-attention layers reuse whole kept sequences only, "
                    "at most --parallel of them)")
        ->check(kNonNegative);
    cmd->add_option("--alias", o->alias, "model name in the API (default: the file name without .gguf)");
    cmd->add_option("--models-dir", o->models_dir,
                    "directory of GGUF files that POST /models/load {\"model\": NAME} may load in place of the served model "
                    "(NAME: a file name; GET /models lists them)")
        ->check(CLI::ExistingDirectory);
    cmd->add_option("--pooling", o->pooling,
                    "POST /v1/embeddings' pooling of the final hidden states: mean, cls or last (default: the model's "
                    "pooling_type, else last)")
        ->check(CLI::IsMember({"mean", "cls", "last"}));
    cmd->add_option("--api-key", o->api_key, "require this key (Authorization: Bearer KEY or x-api-key: KEY)");
    cmd->add_option("--max-connections", o->http.max_connections, "open connections at most (default 64)")
        ->check(kPositive);
    cmd->add_option("--timeout", o->http.idle_timeout_s, "seconds an idle connection stays open (default 120)")
        ->check(kPositive);
    cmd->callback([o] { serve(*o); });
}

}  // namespace rf::cli
