// The model the server serves, and loading / unloading it while the server runs (llama.cpp's
// router endpoints POST /models/load and /models/unload, one model at a time).
//
// A ServedModel is a loaded model with its own scheduler. Request handlers take a shared_ptr to
// the current one for the whole request, so a model is freed only after its last request has
// ended. Unloading stops its scheduler first (queued and running requests end with a Failed event
// that names the unload), then waits until the handlers have let go, so that its memory (the
// GPU's VRAM) is free when unload() returns. load() unloads the current model first: two models
// are never resident at once. Models are named by their file in the models directory (--models-dir),
// never by a path the client gives.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/loaded_model.h"
#include "server/scheduler.h"

namespace rf::server {

struct ServedModel {
    ServedModel(const LoadOptions& load, const SchedulerOptions& scheduling, std::string name);
    std::string name;      // the id clients send and responses carry
    std::string path;      // the GGUF file ("" : the embedded default model)
    int64_t loaded_at;     // unix seconds
    LoadedModel model;
    Scheduler scheduler;   // (declared after the model it runs: stopped and destroyed first)
};

struct ModelHostOptions {
    LoadOptions load;             // the startup model's (model_path) and every loaded model's settings
    SchedulerOptions scheduler;
    std::string name;             // the startup model's name in the API ("" : its file name)
    std::string models_dir;       // where POST /models/load finds its files ("" : loading is off)
    std::chrono::milliseconds unload_wait{30000};  // how long an unload waits for requests to let go
};

// A model file of the models directory.
struct ModelFile {
    std::string name;  // the file name without .gguf
    std::string path;
    bool loaded = false;
};

class ModelHost {
public:
    // Loads the startup model (options.load.model_path; "" : the embedded default model).
    explicit ModelHost(ModelHostOptions options);
    ~ModelHost();
    ModelHost(const ModelHost&) = delete;
    ModelHost& operator=(const ModelHost&) = delete;

    // The model served now, or null after an unload (or a load that failed).
    std::shared_ptr<ServedModel> current() const;
    // Loads models_dir/NAME.gguf (NAME: a file name, with or without .gguf) in place of the current
    // model. Throws rf::Error naming the model when loading is off, the name is not a file of the
    // directory, or the file cannot be loaded (the server then serves no model).
    std::shared_ptr<ServedModel> load(const std::string& name);
    // Unloads the model called `name` (or `name` + ".gguf", as load() takes it; its requests end with an
    // error). False when it is not loaded.
    bool unload(const std::string& name);
    // The .gguf files of the models directory, sorted by name (empty when loading is off).
    std::vector<ModelFile> files() const;
    const ModelHostOptions& options() const { return options_; }
    // The file load(name) would load; throws rf::Error naming the model when there is none (loading
    // off, not a plain file name, no such file).
    std::string resolve(const std::string& name) const;

private:
    void unload_locked(std::shared_ptr<ServedModel>& m);  // (swap_ held)

    ModelHostOptions options_;
    mutable std::mutex mutex_;  // guards current_
    std::shared_ptr<ServedModel> current_;
    std::mutex swap_;           // one load / unload at a time
};

// The API name of a model file: its file name without .gguf ("" : the embedded default model's).
std::string model_name_of(const std::string& path);

}  // namespace rf::server
