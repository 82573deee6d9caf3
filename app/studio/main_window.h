// The studio's main window: the source of a kernel, graph or target file in an editor, its structure
// in a tree, and its diagnostics in a problems panel that jumps to the place. The file is parsed and
// checked again shortly after every edit.
#pragma once

#include "ir/diagnostics.h"

#include <QMainWindow>
#include <optional>
#include <vector>

#include "ir/ir.h"
#include <QString>

class QComboBox;
class QTabWidget;
class QLineEdit;
class QPlainTextEdit;
class QSortFilterProxyModel;
class QTableView;
class QTimer;
class QTreeView;
class QLabel;

namespace isamap::views {
class DiagnosticsModel;
class GraphView;
class MappingModel;
class ScheduleEditor;
class SearchPanel;
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
    views::MappingModel* mappingModel() const { return mappingModel_; }
    QComboBox* targetBox() const { return targetBox_; }
    QComboBox* mappingKernelBox() const { return kernelBox_; }
    QLineEdit* mappingFilter() const { return mappingFilter_; }
    QTableView* mappingView() const { return mappingView_; }
    views::SearchPanel* searchPanel() const { return searchPanel_; }
    views::ScheduleEditor* scheduleEditor() const { return scheduleEditor_; }
    views::GraphView* graphView() const { return graphView_; }
    QComboBox* graphBox() const { return graphBox_; }
    QTabWidget* centralTabs() const { return centralTabs_; }

public slots:
    void recheck();
    // Brings a dock forward by name (problems, mappings, search, schedule).
    void raiseDock(const QString& name);
    // Chooses `kernel` in the Mappings panel, brings the Search panel forward and starts a search.
    void startSearch(const QString& kernel);
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
    void createMappingDock();
    void refillMappingKernels();
    void remap();
    void showMappingDetails();
    void showDefaultSchedule(const ir::Kernel& kernel, const std::optional<ir::Target>& target);
    QWidget* createGraphPage();
    void refillGraphs();
    void relayout();
    void markProblems(const std::vector<ir::Diagnostic>& diagnostics);

    QString path_;
    QPlainTextEdit* editor_ = nullptr;
    QTreeView* structure_ = nullptr;
    QTableView* problems_ = nullptr;
    QLabel* status_ = nullptr;
    QTimer* recheckTimer_ = nullptr;
    views::DiagnosticsModel* diagnostics_ = nullptr;
    views::StructureModel* structureModel_ = nullptr;

    // The mapping explorer: candidates of the chosen kernel on the chosen target, computed off the
    // GUI thread; a result that arrives after a newer request is dropped.
    ir::Module module_;
    std::vector<ir::Kernel> mappingKernels_;
    views::MappingModel* mappingModel_ = nullptr;
    QSortFilterProxyModel* mappingProxy_ = nullptr;
    QComboBox* targetBox_ = nullptr;
    QComboBox* kernelBox_ = nullptr;
    QLineEdit* mappingFilter_ = nullptr;
    QTableView* mappingView_ = nullptr;
    QLabel* mappingDetails_ = nullptr;
    int mappingGeneration_ = 0;
    views::SearchPanel* searchPanel_ = nullptr;
    views::ScheduleEditor* scheduleEditor_ = nullptr;

    // The IR graph: the op graphs and kernels of the file, laid out by Graphviz off the GUI thread.
    QTabWidget* centralTabs_ = nullptr;
    views::GraphView* graphView_ = nullptr;
    QComboBox* graphBox_ = nullptr;
    int layoutGeneration_ = 0;
};

} // namespace isamap::studio
