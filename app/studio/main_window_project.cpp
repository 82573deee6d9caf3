// The project half of the main window: opening and saving project files (.isamap), the recent
// projects, the start page, and the one selection that the project table, the mapping table, the
// plots, the schedule editor and the code view all follow.
#include "main_window.h"

#include "frontend/library.h"
#include "frontend/suites.h"
#include "cost/cost.h"
#include "ir/printer.h"
#include "store/project.h"
#include "support/resources.h"
#include "views/code_view.h"
#include "views/diagnostics_model.h"
#include "views/graph_view.h"
#include "views/mapping_model.h"
#include "views/performance_view.h"
#include "views/schedule_editor.h"
#include "views/search_panel.h"
#include "views/selection.h"
#include "views/start_page.h"

#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QDir>
#include <QDockWidget>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QHeaderView>
#include <QLabel>
#include <QMenu>
#include <QMenuBar>
#include <QPlainTextEdit>
#include <QPointer>
#include <QSettings>
#include <QSortFilterProxyModel>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableView>
#include <QThreadPool>
#include <QUndoStack>

namespace isamap::studio {

namespace {
constexpr int kRecentLimit = 8;
const char* kRecentKey = "projects/recent";

QString examplesDir() { return QString::fromStdString(resourcePath("examples").string()); }
} // namespace

void MainWindow::createProjectDock() {
    projectModel_ = new views::ProjectModel(this);
    projectProxy_ = new QSortFilterProxyModel(this);
    projectProxy_->setSourceModel(projectModel_);
    projectProxy_->setSortRole(views::ProjectModel::SortRole);
    projectView_ = new QTableView(this);
    projectView_->setModel(projectProxy_);
    projectView_->setSortingEnabled(true);
    projectView_->sortByColumn(views::ProjectModel::Modeled, Qt::AscendingOrder);
    projectView_->setSelectionBehavior(QAbstractItemView::SelectRows);
    projectView_->setSelectionMode(QAbstractItemView::SingleSelection);
    projectView_->verticalHeader()->hide();
    projectView_->horizontalHeader()->setStretchLastSection(true);
    auto* dock = new QDockWidget(tr("Project"), this);
    dock->setObjectName("projectDock");
    dock->setWidget(projectView_);
    addDockWidget(Qt::RightDockWidgetArea, dock);
    if (auto* structure = findChild<QDockWidget*>("structureDock"))
        tabifyDockWidget(structure, dock);
    if (auto* structure = findChild<QDockWidget*>("structureDock"))
        structure->raise();

    // A stored schedule chosen in the table or a plot becomes the selection.
    auto selectStored = [this](qint64 id) {
        if (const auto* stored = projectModel_->contents().find(id))
            selection_->selectSchedule(id, QString::fromStdString(stored->kernel),
                                       QString::fromStdString(stored->record.candidateKey));
    };
    connect(projectView_->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            [this, selectStored](const QModelIndex& index) {
                if (index.isValid())
                    selectStored(index.data(views::ProjectModel::ScheduleIdRole).toLongLong());
            });
    connect(performance_, &views::PerformanceView::scheduleClicked, this, selectStored);

    startPage_->setExamples(examplesDir());
    startPage_->setRecentProjects(recentProjects());
    connect(startPage_, &views::StartPage::openPath, this, [this](const QString& path) { openFile(path); });
    connect(startPage_, &views::StartPage::openSuiteEntry, this, &MainWindow::openSuiteEntry);
    applyRules();
}

void MainWindow::createProjectActions(QMenu* file) {
    file->addAction(tr("Save &Project As..."), QKeySequence(Qt::CTRL | Qt::ALT | Qt::Key_S), this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Save Project As"), QFileInfo(projectPath_).absolutePath(),
                                                          tr("ISA Mapper projects (*.isamap)"));
        if (!path.isEmpty())
            saveProjectAs(path.endsWith(".isamap") ? path : path + ".isamap");
    });
    file->addAction(tr("&Keep Schedule in Project"), QKeySequence(Qt::CTRL | Qt::Key_K), this, [this] { keepScheduleInProject(); });
    recentMenu_ = file->addMenu(tr("Recent &Projects"));
    refillRecentMenu();
    file->addAction(tr("S&tart Page"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_H), this, &MainWindow::showStartPage);
}

QStringList MainWindow::recentProjects() const { return QSettings().value(kRecentKey).toStringList(); }

void MainWindow::rememberRecent(const QString& path) {
    QStringList recent = recentProjects();
    const QString absolute = QFileInfo(path).absoluteFilePath();
    recent.removeAll(absolute);
    recent.prepend(absolute);
    while (recent.size() > kRecentLimit)
        recent.removeLast();
    QSettings().setValue(kRecentKey, recent);
    refillRecentMenu();
    startPage_->setRecentProjects(recent);
}

void MainWindow::refillRecentMenu() {
    recentMenu_->clear();
    for (const QString& path : recentProjects())
        recentMenu_->addAction(QFileInfo(path).fileName() + "  (" + QFileInfo(path).absolutePath() + ")", this,
                               [this, path] { openFile(path); });
    recentMenu_->setEnabled(!recentMenu_->isEmpty());
}

void MainWindow::showStartPage() {
    startPage_->setRecentProjects(recentProjects());
    centralTabs_->setCurrentWidget(startPage_);
}

bool MainWindow::showView(const QString& name) {
    const QMap<QString, QWidget*> views{{"start", startPage_},
                                        {"source", editor_},
                                        {"graph", graphView_->parentWidget()},
                                        {"performance", performance_},
                                        {"code", codeView_}};
    if (!views.contains(name.toLower())) {
        statusBar()->showMessage(tr("No view '%1': the views are start, source, graph, performance and code").arg(name));
        return false;
    }
    centralTabs_->setCurrentWidget(views.value(name.toLower()));
    return true;
}

void MainWindow::openProject(const QString& requested) {
    QString path = requested;
    // A bundled example opens as a copy, so that what the studio writes never changes the shipped file.
    const QString bundled = QDir(examplesDir()).absolutePath();
    if (QFileInfo(path).absoluteFilePath().startsWith(bundled + "/")) {
        const QString dir = QStandardPaths::writableLocation(QStandardPaths::AppLocalDataLocation) + "/examples";
        QDir().mkpath(dir);
        const QString copy = dir + "/" + QFileInfo(path).fileName();
        for (const QString& suffix : {"", "-wal", "-shm"})
            QFile::remove(copy + suffix);
        if (!QFile::copy(path, copy) || !QFile::setPermissions(copy, QFile::ReadOwner | QFile::WriteOwner)) {
            showProjectError(path, tr("cannot copy the example to %1").arg(dir));
            return;
        }
        path = copy;
    }
    const int generation = ++projectGeneration_;
    statusBar()->showMessage(tr("Reading %1...").arg(QFileInfo(path).fileName()));
    QPointer<MainWindow> self(this);
    QThreadPool::globalInstance()->start([self, path, generation] {
        std::string error;
        auto contents = views::readProject(path.toStdString(), error);
        auto data = contents ? views::performanceData(*contents) : views::PerformanceData{};
        QMetaObject::invokeMethod(qApp, [self, path, generation, contents = std::move(contents), data = std::move(data),
                                         error]() mutable {
            if (!self || generation != self->projectGeneration_)
                return;
            if (!contents) {
                self->showProjectError(path, QString::fromStdString(error));
                return;
            }
            self->performance_->setData(data);
            self->projectLoaded(std::move(*contents));
        });
    });
}

// A project the studio cannot read is listed in the problems panel, like any other file with an error.
void MainWindow::showProjectError(const QString& path, const QString& error) {
    ir::Diagnostic d;
    d.file = QFileInfo(path).fileName().toStdString();
    d.message = error.toStdString();
    d.hint = "a project is an .isamap file written by this program (isamap tune --project, or the studio)";
    diagnostics_->setDiagnostics({d});
    problems_->resizeColumnsToContents();
    if (auto* dock = findChild<QDockWidget*>("problemsDock"))
        dock->raise();
    statusBar()->showMessage(tr("Cannot open %1: %2").arg(QFileInfo(path).fileName(), error));
    emit projectOpened(false);
}

void MainWindow::projectLoaded(views::ProjectContents contents) {
    projectPath_ = QString::fromStdString(contents.path);
    const std::string text = views::projectSourceText(contents);
    projectModel_->setContents(std::move(contents));
    projectView_->resizeColumnsToContents();
    rememberRecent(projectPath_);
    // The editor shows the project's kernels, so that they map, search and draw like a source file.
    path_.clear();
    editor_->setPlainText(QString::fromStdString(text));
    editor_->document()->setModified(false);
    recheck();
    updateTitle();
    if (auto* dock = findChild<QDockWidget*>("projectDock"))
        dock->raise();
    centralTabs_->setCurrentWidget(performance_);
    statusBar()->showMessage(tr("Opened project %1: %2 schedule(s)").arg(QFileInfo(projectPath_).fileName())
                                 .arg(projectModel_->rowCount()), 5000);
    // The fastest stored schedule is selected, unless the editor's schedule was just kept.
    const qint64 wanted = editorScheduleId_ && projectModel_->contents().find(editorScheduleId_) ? editorScheduleId_ : 0;
    if (const auto& all = projectModel_->contents().schedules; !all.empty()) {
        const auto* chosen = wanted ? projectModel_->contents().find(wanted) : &all.front();
        editorScheduleId_ = 0; // so that the editor loads it again from the file
        selection_->selectSchedule(chosen->record.id, QString::fromStdString(chosen->kernel),
                                   QString::fromStdString(chosen->record.candidateKey));
        followSelection();
    }
    emit projectOpened(true);
}

bool MainWindow::saveProjectAs(const QString& path) {
    std::string error;
    const std::string destination = path.toStdString();
    bool written = false;
    if (!projectPath_.isEmpty()) {
        written = views::copyProject(projectPath_.toStdString(), destination, error);
    } else {
        QFile::remove(path);
        written = store::Project::open(destination, error).has_value();
    }
    if (!written) {
        statusBar()->showMessage(tr("Cannot save the project as %1: %2").arg(path, QString::fromStdString(error)));
        return false;
    }
    projectPath_ = path;
    // A schedule edited by hand goes with it.
    if (scheduleEditor_->hasSchedule() && (scheduleEditor_->undoStack()->count() > 0 || projectModel_->rowCount() == 0))
        return keepScheduleInProject();
    openProject(path);
    return true;
}

bool MainWindow::keepScheduleInProject() {
    if (!scheduleEditor_->hasSchedule() || !editorTarget_) {
        statusBar()->showMessage(tr("No schedule in the editor to keep"));
        return false;
    }
    if (projectPath_.isEmpty()) {
        const QString path = QFileDialog::getSaveFileName(this, tr("Keep the schedule in a new project"), QString(),
                                                          tr("ISA Mapper projects (*.isamap)"));
        return !path.isEmpty() && saveProjectAs(path.endsWith(".isamap") ? path : path + ".isamap");
    }
    std::string error;
    std::optional<std::int64_t> id;
    {
        // Closed before the project is read back, so that the reader does not wait for this connection.
        auto project = store::Project::open(projectPath_.toStdString(), error);
        id = project ? addEditorSchedule(*project, error) : std::nullopt;
    }
    if (!id) {
        statusBar()->showMessage(tr("Cannot keep the schedule: %1").arg(QString::fromStdString(error)));
        return false;
    }
    editorScheduleId_ = *id; // selected again once the project is read back
    scheduleEditor_->undoStack()->setClean();
    openProject(projectPath_);
    return true;
}

// The editor's schedule as a schedule made by hand (no run), with its kernel and target.
std::optional<std::int64_t> MainWindow::addEditorSchedule(store::Project& project, std::string& error) {
    return addSchedule(project, editorKernel_, *editorTarget_, *scheduleEditor_->space(), scheduleEditor_->current(), error);
}

std::optional<std::int64_t> MainWindow::addSchedule(store::Project& project, const ir::Kernel& kernel, const ir::Target& target,
                                                    const schedule::Space& space, const schedule::Schedule& s,
                                                    std::string& error) {
    auto kernelId = project.addKernel(kernel.name, ir::print(kernel), error);
    auto targetId = kernelId ? project.addTarget(target.name, ir::print(target), error) : std::nullopt;
    if (!targetId)
        return std::nullopt;
    const auto b = cost::explain(space, s);
    store::ScheduleRecord record;
    record.kernelId = *kernelId;
    record.targetId = *targetId;
    record.candidateKey = space.candidateKey;
    record.text = schedule::printSchedule(space, s);
    record.modeledSeconds = b.seconds;
    record.bound = b.bound;
    return project.addSchedule(record, error);
}

bool MainWindow::openSuiteEntry(const QString& suite, const QString& entry) {
    std::string error;
    auto entries = frontend::loadSuite(suite.toStdString(), error);
    std::optional<std::string> text;
    if (entries)
        for (const auto& e : *entries)
            if (QString::fromStdString(e.name) == entry)
                text = frontend::generateText(e.generator, e.args, error);
    if (!text) {
        statusBar()->showMessage(error.empty() ? tr("No entry '%1' in suite %2").arg(entry, suite)
                                               : tr("Cannot open %1 of %2: %3").arg(entry, suite, QString::fromStdString(error)));
        return false;
    }
    path_.clear();
    editor_->setPlainText(QStringLiteral("# %1, entry %2\n").arg(suite, entry) + QString::fromStdString(*text));
    editor_->document()->setModified(false);
    recheck();
    updateTitle();
    centralTabs_->setCurrentWidget(editor_);
    return true;
}

// ---- the shared selection ----------------------------------------------------------------------

void MainWindow::followSelection() {
    const qint64 id = selection_->scheduleId();
    const QString kernel = selection_->kernel(), candidate = selection_->candidate();
    performance_->select(id);
    const int row = projectModel_->rowOf(id);
    const QModelIndex shown = row >= 0 ? projectProxy_->mapFromSource(projectModel_->index(row, 0)) : QModelIndex();
    if (shown.isValid() && projectView_->currentIndex().row() != shown.row())
        projectView_->setCurrentIndex(shown);
    else if (!shown.isValid())
        projectView_->clearSelection();

    // A stored schedule brings its kernel and target to the mapping table.
    if (const auto* stored = projectModel_->contents().find(id)) {
        const int kernelIndex = kernelBox_->findText("kernel " + kernel);
        if (kernelIndex >= 0 && kernelIndex != kernelBox_->currentIndex())
            kernelBox_->setCurrentIndex(kernelIndex);
        const int targetIndex = targetBox_->findText(QString::fromStdString(stored->target));
        if (targetIndex >= 0 && targetIndex != targetBox_->currentIndex())
            targetBox_->setCurrentIndex(targetIndex);
    }
    if (kernel == QString::fromStdString(mappedKernel_.name))
        selectCandidateRow(candidate);
    if (id != 0 && id != editorScheduleId_)
        showStoredSchedule(id);
    else if (id == 0 && !candidate.isEmpty())
        showCandidateSchedule(candidate);
}

void MainWindow::selectCandidateRow(const QString& key) {
    for (int row = 0; row < mappingModel_->rowCount(); ++row)
        if (const auto* c = mappingModel_->candidate(row); c && QString::fromStdString(c->key) == key) {
            const QModelIndex index = mappingProxy_->mapFromSource(mappingModel_->index(row, 0));
            if (index.isValid() && mappingView_->currentIndex().row() != index.row())
                mappingView_->setCurrentIndex(index);
            return;
        }
}

// A stored schedule is read back off the GUI thread (its kernel is mapped again), then edited.
void MainWindow::showStoredSchedule(qint64 id) {
    const auto* stored = projectModel_->contents().find(id);
    if (!stored)
        return;
    const int generation = ++resolveGeneration_;
    QPointer<MainWindow> self(this);
    QThreadPool::globalInstance()->start([self, contents = projectModel_->contents(), record = stored->record, generation] {
        std::string error;
        auto resolved = views::resolveSchedule(contents, record, error);
        QMetaObject::invokeMethod(qApp, [self, resolved = std::move(resolved), error, generation] {
            if (!self || generation != self->resolveGeneration_)
                return;
            if (!resolved) {
                self->statusBar()->showMessage(QString::fromStdString(error));
                return;
            }
            self->editorKernel_ = resolved->kernel;
            self->editorTarget_ = resolved->target;
            self->editorCandidate_ = resolved->candidate;
            self->editorScheduleId_ = resolved->id;
            self->scheduleEditor_->setSchedule(resolved->space, resolved->schedule);
            emit self->scheduleShown(resolved->id);
        });
    });
}

// A candidate of the mapped kernel: its default schedule, unless the editor already shows one of it.
void MainWindow::showCandidateSchedule(const QString& key) {
    if (!mappedTarget_)
        return;
    const auto& space = scheduleEditor_->space();
    if (space && editorScheduleId_ == 0 && QString::fromStdString(space->candidateKey) == key &&
        space->kernel == mappedKernel_.name && space->target == mappedTarget_->name)
        return;
    for (int row = 0; row < mappingModel_->rowCount(); ++row) {
        const auto* c = mappingModel_->candidate(row);
        if (!c || QString::fromStdString(c->key) != key)
            continue;
        if (!c->valid) {
            statusBar()->showMessage(tr("A rejected candidate has no schedule: %1").arg(QString::fromStdString(c->reason)), 5000);
            return;
        }
        std::string error;
        if (auto made = schedule::makeSpace(mappedKernel_, *mappedTarget_, *c, error)) {
            editorKernel_ = mappedKernel_;
            editorTarget_ = mappedTarget_;
            editorCandidate_ = *c;
            editorScheduleId_ = 0;
            scheduleEditor_->setSchedule(*made, schedule::defaultSchedule(*made));
        } else {
            statusBar()->showMessage(QString::fromStdString(error), 5000);
        }
        return;
    }
}

void MainWindow::editorScheduleChanged() {
    if (const auto& space = scheduleEditor_->space())
        codeView_->setInput({*space, scheduleEditor_->current(), editorKernel_, editorTarget_, editorCandidate_});
}

// ---- pins and forbids ----------------------------------------------------------------------------

void MainWindow::pinCandidate(int sourceRow) {
    const auto* c = mappingModel_->candidate(sourceRow);
    if (!c || !c->valid) {
        statusBar()->showMessage(tr("Only a valid candidate can be pinned"), 5000);
        return;
    }
    rules_.pin(c->key);
    applyRules();
    selection_->selectCandidate(QString::fromStdString(mappedKernel_.name), QString::fromStdString(c->key));
}

void MainWindow::forbidCandidate(int sourceRow) {
    const auto* c = mappingModel_->candidate(sourceRow);
    if (!c)
        return;
    rules_.forbid(c->key);
    applyRules();
    // The editor moves off a forbidden candidate, to the best one still allowed.
    if (const auto& space = scheduleEditor_->space(); space && rules_.forbids(space->candidateKey))
        showDefaultSchedule(mappedKernel_, mappedTarget_);
}

void MainWindow::clearCandidateRules() {
    rules_ = {};
    applyRules();
}

void MainWindow::applyRules() {
    searchPanel_->setRules(rules_);
    scheduleEditor_->setRules(rules_);
    mappingModel_->setRules(rules_.pinned(), rules_.forbidden);
}

void MainWindow::showMappingContextMenu(const QPoint& at) {
    const QModelIndex index = mappingView_->indexAt(at);
    if (!index.isValid())
        return;
    const int row = mappingProxy_->mapToSource(index).row();
    QMenu menu(this);
    menu.addAction(tr("Pin this candidate"), this, [this, row] { pinCandidate(row); });
    menu.addAction(tr("Forbid this candidate"), this, [this, row] { forbidCandidate(row); });
    menu.addSeparator();
    menu.addAction(tr("Clear pins and forbids"), this, &MainWindow::clearCandidateRules)->setEnabled(!rules_.empty());
    menu.exec(mappingView_->viewport()->mapToGlobal(at));
}

} // namespace isamap::studio
