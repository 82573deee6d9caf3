#include "views/source_highlighter.h"

#include "ir/lexer.h"
#include "ir/types.h"

#include <QSet>

namespace isamap::views {

namespace {
const QSet<QString>& keywords() {
    static const QSet<QString> words = {"kernel", "graph", "target", "dim", "reduce", "in", "out", "inout", "tmp",
                                        "node", "memory", "unit", "instruction", "move", "on", "lower", "features",
                                        "row_major", "col_major", "transposed", "strides", "padded", "unit_stride",
                                        "align", "max_stride"};
    return words;
}
} // namespace

SourceHighlighter::SourceHighlighter(QTextDocument* document) : QSyntaxHighlighter(document) {
    keyword_.setForeground(QColor(0, 60, 160));
    keyword_.setFontWeight(QFont::Bold);
    type_.setForeground(QColor(0, 120, 120));
    number_.setForeground(QColor(150, 60, 0));
    comment_.setForeground(QColor(110, 110, 110));
    comment_.setFontItalic(true);
    string_.setForeground(QColor(20, 130, 20));
    invalid_.setUnderlineStyle(QTextCharFormat::WaveUnderline);
    invalid_.setUnderlineColor(Qt::red);
}

void SourceHighlighter::highlightBlock(const QString& text) {
    // Lex line by line: no token of the format spans lines. Columns are in UTF-8 bytes; the text
    // format is ASCII, so they match QString positions on any file that parses.
    const std::string line = text.toStdString();
    for (const auto& t : ir::tokenize(line, true)) {
        const int start = t.column - 1;
        switch (t.kind) {
        case ir::Token::Kind::Identifier:
            if (keywords().contains(QString::fromStdString(t.text)))
                setFormat(start, t.length, keyword_);
            else if (ir::typeFromName(t.text))
                setFormat(start, t.length, type_);
            break;
        case ir::Token::Kind::Integer:
        case ir::Token::Kind::Number: setFormat(start, t.length, number_); break;
        case ir::Token::Kind::Comment: setFormat(start, t.length, comment_); break;
        case ir::Token::Kind::String: setFormat(start, t.length, string_); break;
        case ir::Token::Kind::Invalid: setFormat(start, t.length, invalid_); break;
        default: break;
        }
    }
}

} // namespace isamap::views
