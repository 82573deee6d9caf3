// The studio's main window: the source of a kernel, graph or target file in an editor, its structure
// in a tree, and its diagnostics in a problems panel that jumps to the place (the file is parsed and
// checked again shortly after every edit); a project file (.isamap) with its stored schedules; the
// mapping explorer, search, schedule editor, performance plots and code, all following one selection.
#pragma once

#include "ir/diagnostics.h"

#include <QMainWindow>
#include <optional>
#include <vector>

#include "ir/ir.h"
#include "mapping/mapping.h"
#include "views/candidate_rules.h"
#include "views/project_model.h"
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
class QMenu;
class QAction;

namespace isamap::views {
class DiagnosticsModel;
class GraphView;
class CodeView;
class MappingModel;
class MeasurePanel;
struct MeasureRequest;
class PerformanceView;
class ProjectModel;
class ScheduleEditor;
class SearchPanel;
class Selection;
class StartPage;
class StructureModel;
} // namespace isamap::views

namespace isamap::measure {
struct Result;
}

namespace isamap::studio {

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    MainWindow();
    // Opens a source file (.isa) or, by its extension or content, a project (.isamap).
    bool openFile(const QString& path);
    // Reads a project off the GUI thread; `projectOpened` tells how it went (a refused file is listed
    // in the problems panel with the reason).
    void openProject(const QString& path);
    // Copies the open project (or a new, empty one) to `path` and opens the copy.
    bool saveProjectAs(const QString& path);
    // Adds the schedule in the editor to the open project as a schedule made by hand, then reloads it.
    bool keepScheduleInProject();
    // Opens a reference suite's entry as an untitled source file.
    bool openSuiteEntry(const QString& suite, const QString& entry);
    void showStartPage();
    // Brings a central tab forward by name: start, source, graph, performance or code.
    bool showView(const QString& name);
    QString projectPath() const { return projectPath_; }
    QStringList recentProjects() const;
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
    views::Selection* selection() const { return selection_; }
    views::ProjectModel* projectModel() const { return projectModel_; }
    QTableView* projectView() const { return projectView_; }
    views::PerformanceView* performanceView() const { return performance_; }
    views::CodeView* codeView() const { return codeView_; }
    views::StartPage* startPage() const { return startPage_; }
    views::MeasurePanel* measurePanel() const { return measurePanel_; }
    QAction* measureAction() const { return measureAction_; }
    // The command-line tool that runs measurements (`isamap worker`): the one given here, else the one
    // next to the studio (installed) or in the build tree; empty when there is none.
    QString workerExecutable() const;
    void setWorkerExecutable(const QString& path) { workerExecutable_ = path; }
    const views::CandidateRules& rules() const { return rules_; }
    // Pins or forbids the candidate of the mapping table's row (as the context menu does).
    void pinCandidate(int sourceRow);
    void forbidCandidate(int sourceRow);
    void clearCandidateRules();

signals:
    void projectOpened(bool ok);
    // The schedule editor shows the selected stored schedule.
    void scheduleShown(qint64 id);

public slots:
    void recheck();
    // Brings a dock forward by name (problems, mappings, search, schedule).
    void raiseDock(const QString& name);
    // Measures the schedule in the editor on this CPU in the background (host targets only); the
    // result shows in the Schedule panel and, with a project open, is kept beside the schedule.
    void measureSchedule();
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
    // The project half (main_window_project.cpp).
    void createProjectDock();
    void createProjectActions(QMenu* file);
    void showProjectError(const QString& path, const QString& error);
    void projectLoaded(views::ProjectContents contents);
    void rememberRecent(const QString& path);
    void refillRecentMenu();
    void followSelection();
    void selectCandidateRow(const QString& key);
    void showStoredSchedule(qint64 id);
    void showCandidateSchedule(const QString& key);
    void editorScheduleChanged();
    void applyRules();
    void showMappingContextMenu(const QPoint& at);
    std::optional<std::int64_t> addEditorSchedule(store::Project& project, std::string& error);
    // A schedule made by hand (no run), with its kernel and target.
    static std::optional<std::int64_t> addSchedule(store::Project& project, const ir::Kernel& kernel, const ir::Target& target,
                                                   const schedule::Space& space, const schedule::Schedule& s,
                                                   std::string& error);
    // The measuring half (main_window_measure.cpp).
    QWidget* createScheduleDockWidget();
    void createMeasureActions(QMenu* run);
    std::optional<mapping::Candidate> mappedCandidate(const std::string& key) const;
    std::optional<std::int64_t> storedIdOf(const views::MeasureRequest& request) const;
    void keepMeasurement(const views::MeasureRequest& request, const measure::Result& result);

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

    // The shared selection, the open project and the views that follow them.
    views::Selection* selection_ = nullptr;
    views::CandidateRules rules_;
    QString projectPath_;
    views::ProjectModel* projectModel_ = nullptr;
    QTableView* projectView_ = nullptr;
    QSortFilterProxyModel* projectProxy_ = nullptr;
    views::PerformanceView* performance_ = nullptr;
    views::CodeView* codeView_ = nullptr;
    views::StartPage* startPage_ = nullptr;
    QMenu* recentMenu_ = nullptr;
    int projectGeneration_ = 0;
    int resolveGeneration_ = 0;
    // What the mapping table shows, and the kernel and target of the editor's schedule.
    ir::Kernel mappedKernel_;
    std::optional<ir::Target> mappedTarget_;
    ir::Kernel editorKernel_;
    std::optional<ir::Target> editorTarget_;
    qint64 editorScheduleId_ = 0;
    std::optional<mapping::Candidate> editorCandidate_;
    views::MeasurePanel* measurePanel_ = nullptr;
    QAction* measureAction_ = nullptr;
    QString workerExecutable_;
};

} // namespace isamap::studio
