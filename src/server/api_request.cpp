#include "server/api_request.h"

#include <cstdio>
#include <limits>
#include <random>

namespace rf::server {

void parse_sampling(const json& body, SamplingParams& s, double max_temperature) {
    s.temperature = static_cast<float>(number_field(body, "temperature", 1.0, 0.0, max_temperature));
    s.top_p = static_cast<float>(number_field(body, "top_p", 1.0, 0.0, 1.0));
    if (s.top_p <= 0.0f) throw ApiError(400, "top_p", "top_p: 0 keeps no token; it must be in (0, 1]");
    // top_k: 0 or -1 (vLLM's "off") turn it off.
    const int64_t top_k = int_field(body, "top_k", 0, -1, std::numeric_limits<int32_t>::max());
    s.top_k = top_k <= 0 ? 0 : static_cast<int>(top_k);
    s.min_p = static_cast<float>(number_field(body, "min_p", 0.0, 0.0, 1.0));
    s.presence_penalty = static_cast<float>(number_field(body, "presence_penalty", 0.0, -2.0, 2.0));
    s.frequency_penalty = static_cast<float>(number_field(body, "frequency_penalty", 0.0, -2.0, 2.0));
    s.repeat_penalty = static_cast<float>(number_field(body, "repetition_penalty", 1.0, 0.01, 10.0));
    // The penalties look at the whole sequence (prompt and generated), as the APIs describe them.
    s.repeat_last_n = -1;
    const json* seed = find_field(body, "seed");
    if (seed != nullptr) {
        if (!seed->is_number_integer()) throw ApiError(400, "seed", "seed: expected an integer, got " + describe_value(*seed));
        // -1 asks for a random seed, as llama.cpp's server and the CLI's --seed -1.
        s.seed = seed->is_number_unsigned() ? seed->get<uint64_t>() : static_cast<uint64_t>(seed->get<int64_t>());
    } else {
        s.seed = kRandomSeed;
    }
    s.n_logprobs = 0;
}

std::string sse(const json& data, const std::string& event) {
    std::string out;
    if (!event.empty()) out += "event: " + event + "\n";
    out += "data: " + dump_json(data) + "\n\n";
    return out;
}

std::string make_response_id(const std::string& prefix) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    char buf[32];
    std::snprintf(buf, sizeof buf, "%016llx%08x", static_cast<unsigned long long>(rng()),
                  static_cast<unsigned>(rng() & 0xFFFFFFFFu));
    return prefix + buf;
}

}  // namespace rf::server
