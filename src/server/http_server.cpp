#include "server/http_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include "core/error.h"

namespace rf::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

struct HttpServer::Impl {
    net::io_context io;
    tcp::acceptor acceptor{io};
    tcp protocol = tcp::v4();
};

namespace {

// ResponseWriter over a connected socket.
class SocketWriter : public ResponseWriter {
public:
    SocketWriter(tcp::socket& socket, unsigned version, bool keep_alive)
        : socket_(socket), version_(version), keep_alive_(keep_alive) {}

    void reply(int status, const std::string& content_type, const std::string& body) override {
        http::response<http::string_body> res{static_cast<http::status>(status), version_};
        res.set(http::field::server, "rocmforge");
        res.set(http::field::content_type, content_type);
        res.keep_alive(keep_alive_);
        res.body() = body;
        res.prepare_payload();
        beast::error_code ec;
        http::write(socket_, res, ec);
        ok_ = !ec;
    }
    bool begin_stream() override {
        http::response<http::empty_body> res{http::status::ok, version_};
        res.set(http::field::server, "rocmforge");
        res.set(http::field::content_type, "text/event-stream");
        res.set(http::field::cache_control, "no-cache");
        res.keep_alive(keep_alive_);
        res.chunked(true);
        http::response_serializer<http::empty_body> sr{res};
        beast::error_code ec;
        http::write_header(socket_, sr, ec);
        ok_ = !ec;
        return ok_;
    }
    bool write_chunk(const std::string& data) override {
        if (!ok_) return false;
        if (data.empty()) return true;
        beast::error_code ec;
        net::write(socket_, http::make_chunk(net::const_buffer(data.data(), data.size())), ec);
        ok_ = !ec;
        return ok_;
    }
    void end_stream() override {
        if (!ok_) return;
        beast::error_code ec;
        net::write(socket_, http::make_chunk_last(), ec);
        ok_ = !ec;
    }
    bool client_gone() override {
        pollfd p{socket_.native_handle(), POLLRDHUP, 0};
        return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
    }
    bool ok() const { return ok_; }

private:
    tcp::socket& socket_;
    unsigned version_;
    bool keep_alive_;
    bool ok_ = true;
};

}  // namespace

HttpServer::HttpServer(ApiRoutes& routes, const HttpOptions& options)
    : routes_(routes), options_(options), impl_(std::make_unique<Impl>()) {
    beast::error_code ec;
    const auto address = net::ip::make_address(options_.host, ec);
    RF_CHECK(!ec, "server: --host \"{}\" is not an IP address ({})", options_.host, ec.message());
    const tcp::endpoint endpoint{address, options_.port};
    impl_->acceptor.open(endpoint.protocol(), ec);
    if (!ec) impl_->acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) impl_->acceptor.bind(endpoint, ec);
    if (!ec) impl_->acceptor.listen(net::socket_base::max_listen_connections, ec);
    RF_CHECK(!ec, "server: cannot listen on {}:{}: {}", options_.host, options_.port, ec.message());
    port_ = impl_->acceptor.local_endpoint().port();
    impl_->protocol = endpoint.protocol();
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::run() {
    while (!stopping_.load()) {
        tcp::socket socket{impl_->io};
        beast::error_code ec;
        impl_->acceptor.accept(socket, ec);
        if (stopping_.load()) break;
        if (ec) {
            spdlog::warn("server: accept failed: {}", ec.message());
            continue;
        }
        const int fd = socket.release(ec);
        if (ec) continue;
        bool full = false;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (stopping_.load()) {  // (stop() has shut down the open ones already)
                ::close(fd);
                break;
            }
            full = static_cast<int>(open_.size()) >= options_.max_connections;
            if (!full) open_.insert(fd);
        }
        if (full) {
            // Answer on this thread and close: the client hears why.
            tcp::socket s{impl_->io, impl_->protocol, fd};
            SocketWriter w(s, 11, false);
            w.reply(503, "application/json",
                    R"({"error":{"message":"too many open connections","type":"server_overloaded","param":null,"code":503}})");
            s.close(ec);
            continue;
        }
        std::thread([this, fd] { serve(fd); }).detach();
    }
}

void HttpServer::serve(int fd) {
    {
        net::io_context io;
        beast::error_code ec;
        tcp::socket socket{io};
        socket.assign(impl_->protocol, fd, ec);
        timeval tv{options_.idle_timeout_s, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        beast::flat_buffer buffer;
        while (!ec && !stopping_.load()) {
            http::request_parser<http::string_body> parser;
            parser.body_limit(options_.max_body_bytes);
            http::read(socket, buffer, parser, ec);
            if (ec == http::error::body_limit) {
                SocketWriter w(socket, 11, false);
                w.reply(413, "application/json",
                        R"({"error":{"message":"request body too large","type":"invalid_request_error","param":null,"code":413}})");
                break;
            }
            if (ec) break;  // closed, timed out, or not HTTP
            const auto& msg = parser.get();
            HttpRequestView req;
            req.method = std::string(msg.method_string());
            req.target = std::string(msg.target());
            req.body = msg.body();
            req.authorization = std::string(msg[http::field::authorization]);
            req.api_key = std::string(msg["x-api-key"]);
            SocketWriter w(socket, msg.version(), msg.keep_alive());
            routes_.handle(req, w);
            if (!w.ok() || !msg.keep_alive()) break;
        }
        socket.shutdown(tcp::socket::shutdown_both, ec);
        std::lock_guard<std::mutex> lock(mutex_);
        open_.erase(fd);  // (before the close: stop() must not shut down a reused descriptor)
        socket.close(ec);
        idle_.notify_all();  // (under the lock: once stop() sees no connection, nothing here touches *this)
    }
}

void HttpServer::stop() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (stopping_.exchange(true)) return;
    // Wake the accept loop, then every connection blocked in a read or a write.
    ::shutdown(impl_->acceptor.native_handle(), SHUT_RDWR);
    for (int fd : open_) ::shutdown(fd, SHUT_RDWR);
    idle_.wait(lock, [this] { return open_.empty(); });
    // (The acceptor closes with the server, after run() has returned.)
}

}  // namespace rf::server
