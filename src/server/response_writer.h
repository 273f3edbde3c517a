// How a route answers, independent of the socket: a whole reply, or a stream of server-sent
// events (chunked transfer). Each write says whether the client is still there.
#pragma once

#include <string>

namespace rf::server {

class ResponseWriter {
public:
    virtual ~ResponseWriter() = default;
    virtual void reply(int status, const std::string& content_type, const std::string& body) = 0;
    // Sends the headers of a chunked text/event-stream response; false when the client is gone.
    virtual bool begin_stream() = 0;
    virtual bool write_chunk(const std::string& data) = 0;
    virtual void end_stream() = 0;
    // True when the peer has closed its side (checked while a response is being generated).
    virtual bool client_gone() = 0;
};

}  // namespace rf::server
