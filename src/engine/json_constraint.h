// Constrained decoding for structured output: which tokens may come next so that the generated text
// stays a prefix of a JSON document of a schema (json_prefix.h), and, once the document is whole, only
// an end-of-generation token. Used by the Sampler (sampler.h) when SamplingParams::json_schema is set.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "engine/json_prefix.h"

namespace rf {

class Tokenizer;

class JsonTokenConstraint {
public:
    JsonTokenConstraint(std::shared_ptr<const JsonSchema> schema, const Tokenizer& tokenizer);

    // Whether `token` may come next: its text continues the document, or it ends generation and the
    // document could end here. Control tokens that do not end generation never may.
    bool allows(int32_t token) const;
    // Sets every token that may not come next to -inf. logits: [n_vocab]. Throws rf::Error when no
    // token may (the vocabulary cannot continue the document).
    void mask(std::span<float> logits) const;
    // Takes the sampled token (it must be allowed).
    void accept(int32_t token);

private:
    const Tokenizer& tokenizer_;
    JsonPrefix state_;
    mutable JsonPrefix scratch_;  // (allows / mask try tokens in it: no allocation per token)
};

}  // namespace rf
