#include "server/embeddings_api.h"

#include <cstring>

#include <fmt/format.h>

#include "tokenizer/tokenizer.h"

namespace rf::server {
namespace {

constexpr size_t kMaxInputs = 2048;  // (OpenAI's limit)

std::string base64_of(const void* data, size_t n) {
    static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const auto* p = static_cast<const uint8_t*>(data);
    std::string out;
    out.reserve((n + 2) / 3 * 4);
    for (size_t i = 0; i < n; i += 3) {
        const uint32_t b = (uint32_t{p[i]} << 16) | (i + 1 < n ? uint32_t{p[i + 1]} << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        out += kAlphabet[(b >> 18) & 63];
        out += kAlphabet[(b >> 12) & 63];
        out += i + 1 < n ? kAlphabet[(b >> 6) & 63] : '=';
        out += i + 2 < n ? kAlphabet[b & 63] : '=';
    }
    return out;
}

}  // namespace

EmbeddingsRequest parse_embeddings_request(const json& body, const Tokenizer& tokenizer, int32_t n_ctx, int32_t n_embd) {
    EmbeddingsRequest r;
    const json& input = required_field(body, "input");
    auto ids_of = [&](const json& arr, const std::string& where) {
        std::vector<int32_t> ids;
        for (size_t i = 0; i < arr.size(); ++i) {
            if (!arr[i].is_number_integer() || arr[i].get<int64_t>() < 0 || arr[i].get<int64_t>() >= tokenizer.n_vocab())
                throw ApiError(400, "input", fmt::format("{}[{}]: {} is not a token id in [0, {})", where, i,
                                                         describe_value(arr[i]), tokenizer.n_vocab()));
            ids.push_back(arr[i].get<int32_t>());
        }
        return ids;
    };
    auto add = [&](const json& item, const std::string& where) {
        std::vector<int32_t> ids;
        if (item.is_string()) {
            if (item.get<std::string>().empty()) throw ApiError(400, "input", where + ": an empty string has no embedding");
            ids = tokenizer.encode(item.get<std::string>(), /*add_special=*/true, /*parse_special=*/true);
        } else if (item.is_array() && !item.empty()) {
            ids = ids_of(item, where);
        } else {
            throw ApiError(400, "input", where + ": expected a string or a non-empty array of token ids, got " + describe_value(item));
        }
        if (static_cast<int64_t>(ids.size()) > n_ctx)
            throw ApiError(400, "input", fmt::format("{}: {} tokens, more than the context size {}", where, ids.size(), n_ctx));
        r.inputs.push_back(std::move(ids));
    };
    if (input.is_array() && !input.empty() && (input[0].is_string() || input[0].is_array())) {
        if (input.size() > kMaxInputs)
            throw ApiError(400, "input", fmt::format("input: {} inputs (at most {})", input.size(), kMaxInputs));
        for (size_t i = 0; i < input.size(); ++i) add(input[i], fmt::format("input[{}]", i));
    } else {
        add(input, "input");
    }
    const std::string format = string_field(body, "encoding_format", "float");
    if (format != "float" && format != "base64")
        throw ApiError(400, "encoding_format", "encoding_format: \"" + format + "\" (float or base64)");
    r.base64 = format == "base64";
    if (const json* d = find_field(body, "dimensions"); d != nullptr && !(d->is_number_integer() && d->get<int64_t>() == n_embd))
        throw ApiError(400, "dimensions",
                       fmt::format("dimensions: {} (this model's embeddings have {}; no truncation)", describe_value(*d), n_embd));
    return r;
}

json embeddings_response(const std::vector<std::vector<float>>& vectors, const EmbeddingsRequest& request,
                         const std::string& model) {
    json data = json::array();
    int64_t tokens = 0;
    for (size_t i = 0; i < vectors.size(); ++i) {
        json e = {{"object", "embedding"}, {"index", i}};
        if (request.base64) e["embedding"] = base64_of(vectors[i].data(), vectors[i].size() * sizeof(float));
        else e["embedding"] = vectors[i];
        data.push_back(std::move(e));
        tokens += static_cast<int64_t>(request.inputs[i].size());
    }
    return json{{"object", "list"}, {"data", data}, {"model", model}, {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}};
}

}  // namespace rf::server
