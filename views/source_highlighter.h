// Syntax highlighting of the text format, from the same lexer the parser uses.
#pragma once

#include <QSyntaxHighlighter>
#include <QTextCharFormat>

namespace isamap::views {

class SourceHighlighter : public QSyntaxHighlighter {
    Q_OBJECT
public:
    explicit SourceHighlighter(QTextDocument* document);

protected:
    void highlightBlock(const QString& text) override;

private:
    QTextCharFormat keyword_, type_, number_, comment_, string_, invalid_;
};

} // namespace isamap::views
