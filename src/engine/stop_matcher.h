// Stop strings for streamed generation. Text arrives piece by piece; the matcher releases only
// text that cannot be the start of a stop string, so a client never sees part of a stop string,
// and reports when one completes (the stop string itself is not emitted).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rf {

class StopMatcher {
public:
    explicit StopMatcher(std::vector<std::string> stops);

    struct Result {
        std::string emit;     // text safe to show now
        bool stopped = false; // a stop string completed; nothing after it is emitted
        std::string matched;  // that stop string (the earliest in the text; the first listed on a tie)
    };
    Result push(std::string_view piece);
    // Text held back at the end of generation (no stop string completed).
    std::string flush();

private:
    std::vector<std::string> stops_;
    std::string held_;
};

}  // namespace rf
