#include "views/code_view.h"

#include <QApplication>
#include <QFontDatabase>
#include <QPlainTextEdit>
#include <QPointer>
#include <QRegularExpression>
#include <QSyntaxHighlighter>
#include <QTabWidget>
#include <QTextCursor>
#include <QTextDocument>
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
    addGenerator(tr("Loop nest"), [](const CodeInput& in) { return schedule::printLoopNest(in.space, in.schedule); });
    clear();
}

void CodeView::addGenerator(const QString& name, CodeGenerator generate) {
    addGenerators({name}, [generate = std::move(generate)](const CodeInput& in) { return std::vector<std::string>{generate(in)}; });
}

void CodeView::addGenerators(const QStringList& names, CodeFormsGenerator generate) {
    Form form{names, std::move(generate), {}};
    for (const QString& name : names) {
        auto* editor = new QPlainTextEdit(tabs_);
        editor->setReadOnly(true);
        editor->setLineWrapMode(QPlainTextEdit::NoWrap);
        editor->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
        new CodeHighlighter(editor->document());
        tabs_->addTab(editor, name);
        form.editors.push_back(editor);
    }
    forms_.push_back(std::move(form));
    if (input_) {
        ++pending_;
        this->generate(forms_.back());
    }
}

void CodeView::clear() {
    ++generation_;
    input_.reset();
    for (auto& f : forms_)
        for (auto* editor : f.editors)
            editor->setPlainText(tr("Select a schedule (in the project, a plot, or the schedule editor) to see its code."));
}

void CodeView::setInput(const CodeInput& input) {
    ++generation_;
    input_ = std::make_shared<const CodeInput>(input);
    pending_ = static_cast<int>(forms_.size());
    for (auto& f : forms_)
        generate(f);
}

void CodeView::generate(Form& form) {
    for (int i = 0; i < form.names.size(); ++i)
        form.editors[static_cast<std::size_t>(i)]->setPlainText(tr("Generating %1...").arg(form.names[i]));
    QPointer<CodeView> self(this);
    std::vector<QPointer<QPlainTextEdit>> editors(form.editors.begin(), form.editors.end());
    const int generation = generation_;
    QThreadPool::globalInstance()->start([self, editors, generation, input = input_, f = form.generate] {
        std::vector<std::string> texts;
        try {
            texts = f(*input);
        } catch (const std::exception& e) {
            texts.assign(editors.size(), std::string("cannot generate this form: ") + e.what());
        }
        texts.resize(editors.size());
        QMetaObject::invokeMethod(qApp, [self, editors, generation, texts = std::move(texts)] {
            if (!self || generation != self->generation_)
                return; // a newer schedule replaced this one
            for (std::size_t i = 0; i < editors.size(); ++i)
                if (editors[i])
                    editors[i]->setPlainText(QString::fromStdString(texts[i]));
            if (--self->pending_ == 0)
                emit self->ready();
        });
    });
}

QPlainTextEdit* CodeView::editorOf(const QString& name) const {
    for (const auto& f : forms_)
        for (int i = 0; i < f.names.size(); ++i)
            if (f.names[i] == name)
                return f.editors[static_cast<std::size_t>(i)];
    return nullptr;
}

QString CodeView::text(const QString& name) const {
    const auto* editor = editorOf(name);
    return editor ? editor->toPlainText() : QString();
}

bool CodeView::reveal(const QString& name, const QString& text) {
    auto* editor = editorOf(name);
    if (!editor)
        return false;
    const QTextCursor found = editor->document()->find(text);
    if (found.isNull())
        return false;
    editor->setTextCursor(found);
    editor->centerCursor();
    return true;
}

QStringList CodeView::tabNames() const {
    QStringList names;
    for (const auto& f : forms_)
        names << f.names;
    return names;
}

} // namespace isamap::views
