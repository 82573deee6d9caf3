// The studio's main window: the source of a kernel, graph or target file in an editor, its structure
// in a tree, and its diagnostics in a problems panel that jumps to the place. The file is parsed and
// checked again shortly after every edit.
#pragma once

#include "ir/diagnostics.h"

#include <QMainWindow>
#include <vector>
#include <QString>

class QPlainTextEdit;
class QTableView;
class QTimer;
class QTreeView;
class QLabel;

namespace isamap::views {
class DiagnosticsModel;
class StructureModel;
} // namespace isamap::views

namespace isamap::studio {

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    MainWindow();
    bool openFile(const QString& path);
    // The number of errors the last check found (for tests and the status bar).
    int errorCount() const;
    QPlainTextEdit* editor() const { return editor_; }
    QTableView* problemsView() const { return problems_; }
    QTreeView* structureView() const { return structure_; }

public slots:
    void recheck();
    void goToProblem(int row);

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    void createActions();
    void createDocks();
    bool save();
    bool saveAs();
    bool maybeSave();
    void updateTitle();
    void markProblems(const std::vector<ir::Diagnostic>& diagnostics);

    QString path_;
    QPlainTextEdit* editor_ = nullptr;
    QTreeView* structure_ = nullptr;
    QTableView* problems_ = nullptr;
    QLabel* status_ = nullptr;
    QTimer* recheckTimer_ = nullptr;
    views::DiagnosticsModel* diagnostics_ = nullptr;
    views::StructureModel* structureModel_ = nullptr;
};

} // namespace isamap::studio
