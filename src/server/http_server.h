// The HTTP/1.1 front of the server (Boost.Beast, blocking sockets): an accept loop and one
// thread per connection (keep-alive; at most max_connections at once, the next ones get a 503),
// each request handed to ApiRoutes; streamed responses go out as chunked server-sent events.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "server/api_routes.h"

namespace rf::server {

struct HttpOptions {
    std::string host = "127.0.0.1";
    uint16_t port = 8080;          // 0: any free port (port() tells which)
    int max_connections = 64;
    int idle_timeout_s = 120;      // a connection that sends nothing for this long is closed
    size_t max_body_bytes = 64u << 20;
};

class HttpServer {
public:
    // Binds and listens; throws rf::Error naming the address when it cannot.
    HttpServer(ApiRoutes& routes, const HttpOptions& options);
    ~HttpServer();  // stop()
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    uint16_t port() const { return port_; }
    // Accepts connections until stop() (from another thread or a signal handler's thread).
    void run();
    // Stops accepting, closes every open connection and waits for their threads.
    void stop();

private:
    struct Impl;
    void serve(int fd);

    ApiRoutes& routes_;
    HttpOptions options_;
    std::unique_ptr<Impl> impl_;
    uint16_t port_ = 0;
    std::atomic<bool> stopping_{false};
    std::mutex mutex_;
    std::condition_variable idle_;
    std::set<int> open_;  // connection sockets (guarded by mutex_)
};

}  // namespace rf::server
