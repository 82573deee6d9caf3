// The code of the selected schedule, one tab per form: the pseudo-code loop nest
// (schedule::printLoopNest) from the start; other forms (LLVM IR, assembly) join by handing over one
// function each. Each form is produced off the GUI thread, so a slow code generator never freezes the
// window, and a result that arrives after a newer schedule was chosen is dropped.
//
//   views::CodeView code;
//   code.addGenerator(tr("LLVM IR"), [](const schedule::Space& space, const schedule::Schedule& s) {
//       return codegen::llvmIr(space, s);   // any std::string(const Space&, const Schedule&)
//   });
//   code.setSchedule(space, schedule);
#pragma once

#include "schedule/schedule.h"

#include <QWidget>
#include <functional>
#include <memory>
#include <string>
#include <vector>

class QPlainTextEdit;
class QTabWidget;

namespace isamap::views {

using CodeGenerator = std::function<std::string(const schedule::Space&, const schedule::Schedule&)>;

class CodeView : public QWidget {
    Q_OBJECT
public:
    explicit CodeView(QWidget* parent = nullptr);

    // Adds a tab that shows what `generate` returns for the current schedule. A generator that throws
    // shows its message instead.
    void addGenerator(const QString& name, CodeGenerator generate);
    void setSchedule(const schedule::Space& space, const schedule::Schedule& s);
    void clear();

    // The text of the tab named `name` (empty when there is none), and the tab names in order.
    QString text(const QString& name) const;
    QStringList tabNames() const;
    QTabWidget* tabs() const { return tabs_; }

signals:
    // Every tab shows the current schedule's code.
    void ready();

private:
    struct Form {
        QString name;
        CodeGenerator generate;
        QPlainTextEdit* editor = nullptr;
    };
    void generate(Form& form);

    QTabWidget* tabs_ = nullptr;
    std::vector<Form> forms_;
    std::shared_ptr<const schedule::Space> space_;
    std::shared_ptr<const schedule::Schedule> schedule_;
    int generation_ = 0;
    int pending_ = 0;
};

} // namespace isamap::views
