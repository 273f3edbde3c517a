#include "server/model_host.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include "core/error.h"

namespace rf::server {
namespace fs = std::filesystem;

namespace {

int64_t unix_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

LoadOptions with_path(LoadOptions o, const std::string& path) {
    o.model_path = path;
    return o;
}

}  // namespace

std::string model_name_of(const std::string& path) {
    if (path.empty()) return "tiny-qwen3-q8_0";
    std::string name = fs::path(path).filename().string();
    if (name.size() > 5 && name.ends_with(".gguf")) name.resize(name.size() - 5);
    return name;
}

ServedModel::ServedModel(const LoadOptions& load, const SchedulerOptions& scheduling, std::string name_)
    : name(std::move(name_)), path(load.model_path), loaded_at(unix_seconds()), model(load), scheduler(model, scheduling) {}

ModelHost::ModelHost(ModelHostOptions options) : options_(std::move(options)) {
    const std::string name = options_.name.empty() ? model_name_of(options_.load.model_path) : options_.name;
    current_ = std::make_shared<ServedModel>(options_.load, options_.scheduler, name);
}

ModelHost::~ModelHost() {
    std::lock_guard<std::mutex> swap(swap_);
    std::shared_ptr<ServedModel> m;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        m = std::move(current_);
    }
    if (m) m->scheduler.stop("server: shutting down");
}

std::shared_ptr<ServedModel> ModelHost::current() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return current_;
}

std::string ModelHost::resolve(const std::string& name) const {
    RF_CHECK(!options_.models_dir.empty(), "model \"{}\": loading models is off (start the server with --models-dir DIR)", name);
    RF_CHECK(!name.empty() && name.find('/') == std::string::npos && name.find('\\') == std::string::npos && name != "." &&
                 name != "..",
             "model \"{}\": not a file name of the models directory", name);
    const std::string file = name.ends_with(".gguf") ? name : name + ".gguf";
    const fs::path p = fs::path(options_.models_dir) / file;
    std::error_code ec;
    RF_CHECK(fs::is_regular_file(p, ec), "model \"{}\": no file {} in the models directory {}", name, file, options_.models_dir);
    return p.string();
}

std::vector<ModelFile> ModelHost::files() const {
    std::vector<ModelFile> out;
    if (options_.models_dir.empty()) return out;
    const std::shared_ptr<ServedModel> m = current();
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(options_.models_dir, ec)) {
        if (!e.is_regular_file(ec) || e.path().extension() != ".gguf") continue;
        ModelFile f;
        f.path = e.path().string();
        f.name = model_name_of(f.path);
        f.loaded = m && fs::equivalent(fs::path(m->path), e.path(), ec);
        out.push_back(std::move(f));
    }
    std::sort(out.begin(), out.end(), [](const ModelFile& a, const ModelFile& b) { return a.name < b.name; });
    return out;
}

void ModelHost::unload_locked(std::shared_ptr<ServedModel>& m) {
    const std::string name = m->name;
    m->scheduler.stop("model \"" + name + "\" was unloaded");
    std::weak_ptr<ServedModel> gone = m;
    m.reset();
    // The handlers of its requests have their Failed events; wait until they have let go.
    const auto deadline = std::chrono::steady_clock::now() + options_.unload_wait;
    while (!gone.expired() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (!gone.expired())
        spdlog::warn("server: model \"{}\" unloaded, but a request still holds it after {} ms; it is freed when that ends",
                     name, options_.unload_wait.count());
    else
        spdlog::info("server: model \"{}\" unloaded", name);
}

std::shared_ptr<ServedModel> ModelHost::load(const std::string& name) {
    const std::string path = resolve(name);
    std::lock_guard<std::mutex> swap(swap_);
    std::shared_ptr<ServedModel> old;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        old = std::move(current_);
    }
    if (old) unload_locked(old);
    auto m = std::make_shared<ServedModel>(with_path(options_.load, path), options_.scheduler, model_name_of(path));
    spdlog::info("server: model \"{}\" loaded ({})", m->name, m->model.description());
    std::lock_guard<std::mutex> lock(mutex_);
    current_ = m;
    return m;
}

bool ModelHost::unload(const std::string& name) {
    std::lock_guard<std::mutex> swap(swap_);
    std::shared_ptr<ServedModel> m;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        // (the name as load() takes it: with or without the file's .gguf)
        const bool named = current_ && (current_->name == name || current_->name + ".gguf" == name);
        if (!named) return false;
        m = std::move(current_);
    }
    unload_locked(m);
    return true;
}

}  // namespace rf::server
