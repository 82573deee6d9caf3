// Tokens of the text format. Also used by the studio's syntax highlighter.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace isamap::ir {

struct Token {
    enum class Kind { Identifier, Integer, Number, String, Punct, Comment, Invalid, End };
    Kind kind = Kind::End;
    std::string text; // for String: the contents without quotes
    int line = 1;
    int column = 1;
    int length = 0;   // in source characters
};

// Splits `text` into tokens. Comments (`#` to end of line) are returned only when keepComments is
// set; a character that starts no token becomes an Invalid token, which the parser reports.
std::vector<Token> tokenize(std::string_view text, bool keepComments = false);

} // namespace isamap::ir
