#include "views/code_view.h"

#include <QApplication>
#include <QFontDatabase>
#include <QPlainTextEdit>
#include <QPointer>
#include <QRegularExpression>
#include <QSyntaxHighlighter>
#include <QTabWidget>
#include <QThreadPool>
#include <QVBoxLayout>
#include <exception>

namespace isamap::views {

namespace {

// Highlights the loop nest's pseudo-code and the usual shapes of IR and assembly: keywords, calls,
// numbers and comments (`//`, `;` and `#`).
class CodeHighlighter : public QSyntaxHighlighter {
public:
    explicit CodeHighlighter(QTextDocument* document) : QSyntaxHighlighter(document) {
        keyword_.setForeground(QColor(0, 60, 160));
        keyword_.setFontWeight(QFont::Bold);
        call_.setForeground(QColor(140, 40, 140));
        number_.setForeground(QColor(20, 120, 60));
        comment_.setForeground(Qt::darkGray);
        comment_.setFontItalic(true);
    }

protected:
    void highlightBlock(const QString& text) override {
        static const QRegularExpression keywords(
            "\\b(for|in|copy|into|parallel|unroll|define|declare|ret|br|label|call|load|store|phi|getelementptr)\\b");
        static const QRegularExpression calls("\\b([A-Za-z_][A-Za-z0-9_.]*)(?=\\()");
        static const QRegularExpression numbers("\\b[0-9]+(\\.[0-9]+)?\\b");
        static const QRegularExpression comment("(//|;|#).*$");
        apply(text, numbers, number_);
        apply(text, calls, call_);
        apply(text, keywords, keyword_);
        apply(text, comment, comment_);
    }

private:
    void apply(const QString& text, const QRegularExpression& pattern, const QTextCharFormat& format) {
        for (auto it = pattern.globalMatch(text); it.hasNext();) {
            const auto match = it.next();
            setFormat(static_cast<int>(match.capturedStart()), static_cast<int>(match.capturedLength()), format);
        }
    }
    QTextCharFormat keyword_, call_, number_, comment_;
};

} // namespace

CodeView::CodeView(QWidget* parent) : QWidget(parent) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    tabs_ = new QTabWidget(this);
    layout->addWidget(tabs_);
    addGenerator(tr("Loop nest"), [](const schedule::Space& space, const schedule::Schedule& s) {
        return schedule::printLoopNest(space, s);
    });
    clear();
}

void CodeView::addGenerator(const QString& name, CodeGenerator generate) {
    auto* editor = new QPlainTextEdit(tabs_);
    editor->setReadOnly(true);
    editor->setLineWrapMode(QPlainTextEdit::NoWrap);
    editor->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    new CodeHighlighter(editor->document());
    tabs_->addTab(editor, name);
    forms_.push_back({name, std::move(generate), editor});
    if (space_)
        this->generate(forms_.back());
}

void CodeView::clear() {
    ++generation_;
    space_.reset();
    schedule_.reset();
    for (auto& f : forms_)
        f.editor->setPlainText(tr("Select a schedule (in the project, a plot, or the schedule editor) to see its code."));
}

void CodeView::setSchedule(const schedule::Space& space, const schedule::Schedule& s) {
    ++generation_;
    space_ = std::make_shared<const schedule::Space>(space);
    schedule_ = std::make_shared<const schedule::Schedule>(s);
    pending_ = static_cast<int>(forms_.size());
    for (auto& f : forms_)
        generate(f);
}

void CodeView::generate(Form& form) {
    form.editor->setPlainText(tr("Generating %1...").arg(form.name));
    QPointer<CodeView> self(this);
    QPointer<QPlainTextEdit> editor(form.editor);
    const int generation = generation_;
    QThreadPool::globalInstance()->start([self, editor, generation, space = space_, s = schedule_, f = form.generate] {
        std::string text;
        try {
            text = f(*space, *s);
        } catch (const std::exception& e) {
            text = std::string("cannot generate this form: ") + e.what();
        }
        QMetaObject::invokeMethod(qApp, [self, editor, generation, text = QString::fromStdString(text)] {
            if (!self || !editor || generation != self->generation_)
                return; // a newer schedule replaced this one
            editor->setPlainText(text);
            if (--self->pending_ == 0)
                emit self->ready();
        });
    });
}

QString CodeView::text(const QString& name) const {
    for (const auto& f : forms_)
        if (f.name == name)
            return f.editor->toPlainText();
    return {};
}

QStringList CodeView::tabNames() const {
    QStringList names;
    for (const auto& f : forms_)
        names << f.name;
    return names;
}

} // namespace isamap::views
