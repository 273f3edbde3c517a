// Escape sequences in command-line text, as llama.cpp's --escape (on by default there): \n \r \t
// \' \" \\ \a \b \f \v \? and \xHH become the characters they name; any other backslash stays as
// written. Used for -p, --system and --stop (text from files is taken as it is).
#pragma once

#include <string>

namespace rf::cli {

std::string process_escapes(const std::string& text);

}  // namespace rf::cli
