#include "ir/lexer.h"

#include <cctype>

namespace isamap::ir {

namespace {
bool isIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool isIdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool isDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

class Lexer {
public:
    Lexer(std::string_view text, bool keepComments) : text_(text), keepComments_(keepComments) {}

    std::vector<Token> run() {
        std::vector<Token> out;
        while (true) {
            skipSpace();
            if (pos_ >= text_.size())
                break;
            Token t = next();
            if (t.kind == Token::Kind::Comment && !keepComments_)
                continue;
            out.push_back(std::move(t));
        }
        Token end;
        end.kind = Token::Kind::End;
        end.line = line_;
        end.column = column_;
        out.push_back(end);
        return out;
    }

private:
    char peek(std::size_t ahead = 0) const {
        return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
    }

    void advance() {
        if (text_[pos_] == '\n') {
            ++line_;
            column_ = 1;
        } else {
            ++column_;
        }
        ++pos_;
    }

    void skipSpace() {
        while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_])))
            advance();
    }

    Token start(Token::Kind kind) const {
        Token t;
        t.kind = kind;
        t.line = line_;
        t.column = column_;
        return t;
    }

    Token next() {
        const std::size_t begin = pos_;
        char c = peek();
        Token t = start(Token::Kind::Punct);
        if (c == '#') {
            t.kind = Token::Kind::Comment;
            while (pos_ < text_.size() && peek() != '\n')
                advance();
        } else if (isIdentStart(c)) {
            t.kind = Token::Kind::Identifier;
            while (isIdentChar(peek()))
                advance();
            // `max=` is one token: the max-reduction update.
            if (text_.substr(begin, pos_ - begin) == "max" && peek() == '=' && peek(1) != '=') {
                advance();
                t.kind = Token::Kind::Punct;
            }
        } else if (isDigit(c) || (c == '.' && isDigit(peek(1)))) {
            lexNumber(t);
        } else if (c == '"') {
            return lexString(t);
        } else if (c == '+' && peek(1) == '=') {
            advance();
            advance();
        } else if (std::string_view("{}()[],:=<+-*/@.").find(c) != std::string_view::npos) {
            advance();
        } else {
            t.kind = Token::Kind::Invalid;
            advance();
        }
        t.text = std::string(text_.substr(begin, pos_ - begin));
        t.length = static_cast<int>(pos_ - begin);
        return t;
    }

    void lexNumber(Token& t) {
        t.kind = Token::Kind::Integer;
        while (isDigit(peek()))
            advance();
        if (peek() == '.' && isDigit(peek(1))) {
            t.kind = Token::Kind::Number;
            advance();
            while (isDigit(peek()))
                advance();
        }
        if ((peek() == 'e' || peek() == 'E') &&
            (isDigit(peek(1)) || ((peek(1) == '+' || peek(1) == '-') && isDigit(peek(2))))) {
            t.kind = Token::Kind::Number;
            advance();
            if (peek() == '+' || peek() == '-')
                advance();
            while (isDigit(peek()))
                advance();
        }
    }

    Token lexString(Token& t) {
        const std::size_t begin = pos_;
        t.kind = Token::Kind::String;
        advance(); // opening quote
        while (pos_ < text_.size() && peek() != '"' && peek() != '\n') {
            t.text += peek();
            advance();
        }
        if (peek() == '"') {
            advance();
        } else {
            // Unterminated: keep the opening quote so that the parser can say what it is.
            t.kind = Token::Kind::Invalid;
            t.text = "\"" + t.text;
        }
        t.length = static_cast<int>(pos_ - begin);
        return t;
    }

    std::string_view text_;
    bool keepComments_;
    std::size_t pos_ = 0;
    int line_ = 1;
    int column_ = 1;
};
} // namespace

std::vector<Token> tokenize(std::string_view text, bool keepComments) { return Lexer(text, keepComments).run(); }

} // namespace isamap::ir
