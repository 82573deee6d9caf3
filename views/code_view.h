// The code of the selected schedule, one tab per form: the pseudo-code loop nest
// (schedule::printLoopNest) from the start; other forms (LLVM IR, assembly) join by handing over one
// function each, or one function for several tabs when one piece of work gives them all (one
// compilation gives both the LLVM IR and its assembly). Each form is produced off the GUI thread from
// a copy of its input, so a slow code generator never freezes the window and an edit never races with
// it; a result that arrives after a newer schedule was chosen is dropped.
//
//   views::CodeView code;
//   code.addGenerator(tr("Levels"), [](const views::CodeInput& in) {
//       return std::to_string(in.schedule.levels.size());   // any std::string(const CodeInput&)
//   });
//   code.setInput({space, schedule, kernel, target, candidate});
#pragma once

#include "ir/ir.h"
#include "mapping/mapping.h"
#include "schedule/schedule.h"

#include <optional>

#include <QWidget>
#include <functional>
#include <memory>
#include <string>
#include <vector>

class QPlainTextEdit;
class QTabWidget;

namespace isamap::views {

// What a form is generated from: the schedule, and what code generation also needs (absent when the
// studio only knows the schedule, e.g. a stored one whose kernel no longer maps).
struct CodeInput {
    schedule::Space space;
    schedule::Schedule schedule;
    std::optional<ir::Kernel> kernel;
    std::optional<ir::Target> target;
    std::optional<mapping::Candidate> candidate;
};

using CodeGenerator = std::function<std::string(const CodeInput&)>;
// One text per tab, in the order of the tabs' names.
using CodeFormsGenerator = std::function<std::vector<std::string>(const CodeInput&)>;

class CodeView : public QWidget {
    Q_OBJECT
public:
    explicit CodeView(QWidget* parent = nullptr);

    // Adds a tab that shows what `generate` returns for the current schedule. A generator that throws
    // shows its message instead.
    void addGenerator(const QString& name, CodeGenerator generate);
    // Adds one tab per name, all filled by one call of `generate`.
    void addGenerators(const QStringList& names, CodeFormsGenerator generate);
    void setInput(const CodeInput& input);
    void setSchedule(const schedule::Space& space, const schedule::Schedule& s) { setInput({space, s, {}, {}, {}}); }
    void clear();

    // The text of the tab named `name` (empty when there is none), and the tab names in order.
    QString text(const QString& name) const;
    QStringList tabNames() const;
    // Centres the tab named `name` on the first line that contains `text` (the heart of a long
    // listing, e.g. the first FMA); false when there is none.
    bool reveal(const QString& name, const QString& text);
    QTabWidget* tabs() const { return tabs_; }

signals:
    // Every tab shows the current schedule's code.
    void ready();

private:
    // One generator and the tabs it fills.
    struct Form {
        QStringList names;
        CodeFormsGenerator generate;
        std::vector<QPlainTextEdit*> editors;
    };
    void generate(Form& form);
    QPlainTextEdit* editorOf(const QString& name) const;

    QTabWidget* tabs_ = nullptr;
    std::vector<Form> forms_;
    std::shared_ptr<const CodeInput> input_;
    int generation_ = 0;
    int pending_ = 0;
};

} // namespace isamap::views
