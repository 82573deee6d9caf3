#include "main_window.h"

#include "frontend/library.h"
#include "mapping/mapping.h"
#include "schedule/schedule.h"
#include "targets/catalog.h"
#include "views/code_view.h"
#include "views/diagnostics_model.h"
#include "views/graph_layout.h"
#include "views/graph_view.h"
#include "views/mapping_model.h"
#include "views/measure_panel.h"
#include "views/native_code.h"
#include "views/performance_view.h"
#include "views/project_model.h"
#include "views/schedule_editor.h"
#include "views/search_panel.h"
#include "views/selection.h"
#include "views/source_highlighter.h"
#include "views/start_page.h"
#include "views/structure_model.h"

#include <QAction>
#include <cstring>
#include <optional>
#include <QApplication>
#include <QCloseEvent>
#include <QComboBox>
#include <QLineEdit>
#include <QPointer>
#include <QSortFilterProxyModel>
#include <QTabWidget>
#include <QToolButton>
#include <QUndoStack>
#include <QThreadPool>
#include <QVBoxLayout>
#include <QDockWidget>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QFontDatabase>
#include <QHeaderView>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QSaveFile>
#include <QSettings>
#include <QStatusBar>
#include <QTableView>
#include <QTextBlock>
#include <QTimer>
#include <QTreeView>

namespace isamap::studio {

namespace {
// How the target box names a target written in the open file.
constexpr const char* kFileTargetPrefix = "this file: ";
} // namespace

MainWindow::MainWindow() {
    editor_ = new QPlainTextEdit(this);
    editor_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    editor_->setLineWrapMode(QPlainTextEdit::NoWrap);
    new views::SourceHighlighter(editor_->document());
    selection_ = new views::Selection(this);
    startPage_ = new views::StartPage(this);
    performance_ = new views::PerformanceView(this);
    codeView_ = new views::CodeView(this);
    codeView_->addGenerators(views::nativeCodeTabs(), views::nativeCodeForms);
    centralTabs_ = new QTabWidget(this);
    centralTabs_->addTab(startPage_, tr("Start"));
    centralTabs_->addTab(editor_, tr("Source"));
    centralTabs_->addTab(createGraphPage(), tr("IR graph"));
    centralTabs_->addTab(performance_, tr("Performance"));
    centralTabs_->addTab(codeView_, tr("Code"));
    centralTabs_->setCurrentWidget(editor_);
    setCentralWidget(centralTabs_);

    diagnostics_ = new views::DiagnosticsModel(this);
    structureModel_ = new views::StructureModel(this);
    createDocks();
    createMappingDock();
    createProjectDock();
    createActions();
    connect(selection_, &views::Selection::changed, this, &MainWindow::followSelection);

    status_ = new QLabel(this);
    statusBar()->addWidget(status_, 1);

    // Parsing takes well under a millisecond for files of this size, so it can run on the GUI thread;
    // the timer only keeps it from running on every keystroke.
    recheckTimer_ = new QTimer(this);
    recheckTimer_->setSingleShot(true);
    recheckTimer_->setInterval(250);
    connect(recheckTimer_, &QTimer::timeout, this, &MainWindow::recheck);
    connect(editor_, &QPlainTextEdit::textChanged, recheckTimer_, qOverload<>(&QTimer::start));
    connect(editor_->document(), &QTextDocument::modificationChanged, this, &MainWindow::updateTitle);

    QSettings settings;
    if (!restoreGeometry(settings.value("window/geometry").toByteArray()))
        resize(1400, 900);
    restoreState(settings.value("window/state").toByteArray());
    updateTitle();
}

void MainWindow::createDocks() {
    structure_ = new QTreeView(this);
    structure_->setModel(structureModel_);
    structure_->header()->setSectionResizeMode(QHeaderView::Interactive);
    structure_->header()->resizeSection(0, 200);
    auto* structureDock = new QDockWidget(tr("Structure"), this);
    structureDock->setObjectName("structureDock");
    structureDock->setWidget(structure_);
    addDockWidget(Qt::RightDockWidgetArea, structureDock);
    connect(structure_, &QTreeView::activated, this, [this](const QModelIndex& index) {
        int line = index.data(views::StructureModel::LineRole).toInt();
        if (line > 0) {
            QTextCursor cursor(editor_->document()->findBlockByNumber(line - 1));
            editor_->setTextCursor(cursor);
            editor_->setFocus();
        }
    });

    problems_ = new QTableView(this);
    problems_->setModel(diagnostics_);
    problems_->setSelectionBehavior(QAbstractItemView::SelectRows);
    problems_->horizontalHeader()->setStretchLastSection(true);
    problems_->verticalHeader()->hide();
    auto* problemsDock = new QDockWidget(tr("Problems"), this);
    problemsDock->setObjectName("problemsDock");
    problemsDock->setWidget(problems_);
    addDockWidget(Qt::BottomDockWidgetArea, problemsDock);
    connect(problems_, &QTableView::activated, this, [this](const QModelIndex& index) { goToProblem(index.row()); });
    connect(problems_, &QTableView::clicked, this, [this](const QModelIndex& index) { goToProblem(index.row()); });
    resizeDocks({structureDock}, {520}, Qt::Horizontal);
    resizeDocks({problemsDock}, {340}, Qt::Vertical);
}

void MainWindow::createMappingDock() {
    auto* panel = new QWidget(this);
    auto* layout = new QVBoxLayout(panel);
    auto* controls = new QHBoxLayout;
    kernelBox_ = new QComboBox(panel);
    targetBox_ = new QComboBox(panel);
    for (const auto& t : targets::bundledTargets())
        targetBox_->addItem(QString::fromStdString(t.name));
    targetBox_->addItem("host");
    targetBox_->setCurrentText("nnp-like");
    mappingFilter_ = new QLineEdit(panel);
    mappingFilter_->setPlaceholderText(tr("Filter: instruction, binding, reason..."));
    mappingFilter_->setClearButtonEnabled(true);
    controls->addWidget(new QLabel(tr("Kernel"), panel));
    controls->addWidget(kernelBox_, 1);
    controls->addWidget(new QLabel(tr("Target"), panel));
    controls->addWidget(targetBox_);
    controls->addWidget(mappingFilter_, 1);
    layout->addLayout(controls);

    mappingModel_ = new views::MappingModel(this);
    mappingProxy_ = new QSortFilterProxyModel(this);
    mappingProxy_->setSourceModel(mappingModel_);
    mappingProxy_->setSortRole(views::MappingModel::SortRole);
    mappingProxy_->setFilterKeyColumn(-1);
    mappingProxy_->setFilterCaseSensitivity(Qt::CaseInsensitive);
    mappingView_ = new QTableView(panel);
    mappingView_->setModel(mappingProxy_);
    mappingView_->setSortingEnabled(true);
    mappingView_->sortByColumn(views::MappingModel::Id, Qt::AscendingOrder);
    mappingView_->setSelectionBehavior(QAbstractItemView::SelectRows);
    mappingView_->setSelectionMode(QAbstractItemView::SingleSelection);
    mappingView_->verticalHeader()->hide();
    mappingView_->horizontalHeader()->setStretchLastSection(true);
    layout->addWidget(mappingView_, 1);
    mappingDetails_ = new QLabel(panel);
    mappingDetails_->setWordWrap(true);
    mappingDetails_->setTextFormat(Qt::RichText);
    mappingDetails_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(mappingDetails_);

    auto* dock = new QDockWidget(tr("Mappings"), this);
    dock->setObjectName("mappingsDock");
    dock->setWidget(panel);
    addDockWidget(Qt::BottomDockWidgetArea, dock);
    tabifyDockWidget(findChild<QDockWidget*>("problemsDock"), dock);
    dock->raise();

    searchPanel_ = new views::SearchPanel(this);
    auto* searchDock = new QDockWidget(tr("Search"), this);
    searchDock->setObjectName("searchDock");
    searchDock->setWidget(searchPanel_);
    addDockWidget(Qt::BottomDockWidgetArea, searchDock);
    tabifyDockWidget(dock, searchDock);
    scheduleEditor_ = new views::ScheduleEditor(this);
    auto* editorDock = new QDockWidget(tr("Schedule"), this);
    editorDock->setObjectName("scheduleDock");
    editorDock->setWidget(createScheduleDockWidget());
    addDockWidget(Qt::BottomDockWidgetArea, editorDock);
    tabifyDockWidget(searchDock, editorDock);
    dock->raise();

    connect(kernelBox_, &QComboBox::currentIndexChanged, this, &MainWindow::remap);
    connect(targetBox_, &QComboBox::currentIndexChanged, this, &MainWindow::remap);
    connect(mappingFilter_, &QLineEdit::textChanged, mappingProxy_, &QSortFilterProxyModel::setFilterFixedString);
    connect(mappingView_->selectionModel(), &QItemSelectionModel::currentRowChanged, this, &MainWindow::showMappingDetails);
    // Choosing a candidate in the table selects it everywhere.
    connect(mappingView_->selectionModel(), &QItemSelectionModel::currentRowChanged, this, [this](const QModelIndex& index) {
        const auto* c = mappingModel_->candidate(mappingProxy_->mapToSource(index).row());
        if (c)
            selection_->selectCandidate(QString::fromStdString(mappedKernel_.name), QString::fromStdString(c->key));
    });
    mappingView_->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(mappingView_, &QWidget::customContextMenuRequested, this, &MainWindow::showMappingContextMenu);
    // The search's improvements draw its convergence; its best schedule goes to the editor and the code view.
    connect(searchPanel_, &views::SearchPanel::started, performance_, &views::PerformanceView::clearConvergence);
    connect(searchPanel_, &views::SearchPanel::improved, performance_, &views::PerformanceView::addImprovement);
    connect(searchPanel_, &views::SearchPanel::evaluated, performance_, &views::PerformanceView::endConvergence);
    // A search's best schedule comes to the editor, to be steered by hand from there; what it schedules
    // is set first, since the editor's change regenerates the code.
    connect(searchPanel_, &views::SearchPanel::bestSchedule, this,
            [this](const schedule::Space& space, const schedule::Schedule& s) {
                editorKernel_ = mappedKernel_;
                editorTarget_ = mappedTarget_;
                editorCandidate_ = mappedCandidate(space.candidateKey);
                editorScheduleId_ = 0;
                scheduleEditor_->setSchedule(space, s);
            });
    connect(scheduleEditor_, &views::ScheduleEditor::scheduleChanged, this, &MainWindow::editorScheduleChanged);
}

// The kernels of the file, and each distinct kernel instance of its graphs' nodes; the targets of the
// file join the bundled ones.
void MainWindow::refillMappingKernels() {
    {
        const QString current = targetBox_->currentText();
        const QSignalBlocker blockTargets(targetBox_);
        for (int i = targetBox_->count() - 1; i >= 0; --i)
            if (targetBox_->itemText(i).startsWith(kFileTargetPrefix))
                targetBox_->removeItem(i);
        for (const auto& t : module_.targets)
            targetBox_->addItem(QString::fromStdString(kFileTargetPrefix + t.name));
        const int again = targetBox_->findText(current);
        targetBox_->setCurrentIndex(again >= 0 ? again : targetBox_->findText("nnp-like"));
    }
    const QString previous = kernelBox_->currentText();
    mappingKernels_.clear();
    QStringList labels;
    for (const auto& k : module_.kernels) {
        mappingKernels_.push_back(k);
        labels << QString::fromStdString("kernel " + k.name);
    }
    for (const auto& g : module_.graphs)
        for (const auto& n : g.nodes) {
            auto instance = ir::nodeKernel(module_, g, n);
            if (!instance)
                continue;
            labels << QString::fromStdString(g.name + "." + n.name + " (" + instance->name + ")");
            mappingKernels_.push_back(std::move(*instance));
        }
    const QSignalBlocker block(kernelBox_);
    kernelBox_->clear();
    kernelBox_->addItems(labels);
    const int again = kernelBox_->findText(previous);
    kernelBox_->setCurrentIndex(again >= 0 ? again : 0);
    remap();
}

void MainWindow::remap() {
    const int index = kernelBox_->currentIndex();
    const int generation = ++mappingGeneration_;
    if (index < 0 || index >= static_cast<int>(mappingKernels_.size())) {
        mappingModel_->clear();
        return;
    }
    const ir::Kernel kernel = mappingKernels_[static_cast<std::size_t>(index)];
    const std::string targetName = targetBox_->currentText().toStdString();
    // A target written in the open file maps as it is being edited; the others come from the bundle.
    std::optional<ir::Target> fileTarget;
    if (targetName.rfind(kFileTargetPrefix, 0) == 0)
        if (const ir::Target* t = module_.findTarget(targetName.substr(std::strlen(kFileTargetPrefix))))
            fileTarget = *t;
    searchPanel_->setProblem(kernel, targetBox_->currentText(), fileTarget);
    QPointer<MainWindow> self(this);
    QThreadPool::globalInstance()->start([self, kernel, targetName, fileTarget, generation] {
        std::string error;
        auto target = fileTarget ? std::optional<targets::LoadedTarget>(targets::LoadedTarget{*fileTarget, ""})
                                 : targets::loadTarget(targetName, error);
        auto result = target ? mapping::mapKernel(kernel, target->target) : mapping::MappingResult{};
        std::optional<ir::Target> targetCopy;
        if (target)
            targetCopy = target->target;
        QMetaObject::invokeMethod(qApp, [self, kernel, result = std::move(result), targetCopy, error, generation]() mutable {
            if (!self || generation != self->mappingGeneration_)
                return; // a newer request replaced this one
            self->mappingModel_->setResult(kernel, std::move(result));
            self->mappedKernel_ = kernel;
            self->mappedTarget_ = targetCopy;
            // A stored schedule of this kernel stays in the editor; otherwise the best candidate's default.
            const views::Selection& selected = *self->selection_;
            if (selected.scheduleId() != 0 && selected.kernel() == QString::fromStdString(kernel.name))
                self->selectCandidateRow(selected.candidate());
            else
                self->showDefaultSchedule(kernel, targetCopy);
            self->mappingView_->resizeColumnsToContents();
            const auto* model = self->mappingModel_;
            self->mappingDetails_->setText(error.empty() ? tr("%1 valid candidates of %2; select one to see why")
                                                               .arg(model->validCount())
                                                               .arg(model->rowCount())
                                                         : QString::fromStdString(error).toHtmlEscaped());
        });
    });
}

QWidget* MainWindow::createGraphPage() {
    auto* page = new QWidget(this);
    auto* layout = new QVBoxLayout(page);
    auto* controls = new QHBoxLayout;
    graphBox_ = new QComboBox(page);
    auto* find = new QLineEdit(page);
    find->setPlaceholderText(tr("Find a node by name"));
    find->setClearButtonEnabled(true);
    auto* fit = new QToolButton(page);
    fit->setText(tr("Fit"));
    controls->addWidget(new QLabel(tr("Show"), page));
    controls->addWidget(graphBox_, 1);
    controls->addWidget(find, 1);
    controls->addWidget(fit);
    layout->addLayout(controls);
    graphView_ = new views::GraphView(page);
    layout->addWidget(graphView_, 1);
    connect(graphBox_, &QComboBox::currentIndexChanged, this, &MainWindow::relayout);
    connect(fit, &QToolButton::clicked, graphView_, &views::GraphView::fit);
    connect(find, &QLineEdit::returnPressed, this, [this, find] {
        if (!graphView_->find(find->text()))
            statusBar()->showMessage(tr("No node matches '%1'").arg(find->text()), 3000);
    });
    connect(graphView_, &views::GraphView::nodeSelected, this,
            [this](const QString& id) { statusBar()->showMessage(tr("Selected %1").arg(id), 3000); });
    return page;
}

// The op graphs of the file first, then each kernel's structure.
void MainWindow::refillGraphs() {
    const QString previous = graphBox_->currentText();
    const QSignalBlocker block(graphBox_);
    graphBox_->clear();
    for (const auto& g : module_.graphs)
        graphBox_->addItem(QString::fromStdString("graph " + g.name));
    for (const auto& k : module_.kernels)
        graphBox_->addItem(QString::fromStdString("kernel " + k.name));
    const int again = graphBox_->findText(previous);
    graphBox_->setCurrentIndex(again >= 0 ? again : 0);
    relayout();
}

void MainWindow::relayout() {
    const QString chosen = graphBox_->currentText();
    views::GraphSpec spec;
    for (const auto& g : module_.graphs)
        if (chosen == QString::fromStdString("graph " + g.name))
            spec = views::opGraphSpec(module_, g);
    for (const auto& k : module_.kernels)
        if (chosen == QString::fromStdString("kernel " + k.name))
            spec = views::kernelSpec(k);
    const int generation = ++layoutGeneration_;
    QPointer<MainWindow> self(this);
    QThreadPool::globalInstance()->start([self, spec, generation] {
        std::string error;
        auto layout = views::layoutGraph(spec, error);
        QMetaObject::invokeMethod(qApp, [self, layout = std::move(layout), error, generation] {
            if (!self || generation != self->layoutGeneration_)
                return;
            if (layout)
                self->graphView_->showLayout(*layout);
            else
                self->statusBar()->showMessage(QString::fromStdString(error));
        });
    });
}

void MainWindow::raiseDock(const QString& name) {
    if (auto* dock = findChild<QDockWidget*>(name.toLower() + "Dock"))
        dock->raise();
    else
        statusBar()->showMessage(tr("No dock '%1': the docks are problems, mappings, search, schedule and project").arg(name));
}

void MainWindow::startSearch(const QString& kernel) {
    const int index = kernelBox_->findText(kernel);
    if (index < 0) {
        statusBar()->showMessage(tr("No kernel '%1' to search; the file has: %2").arg(kernel, [&] {
            QStringList names;
            for (int i = 0; i < kernelBox_->count(); ++i)
                names << kernelBox_->itemText(i);
            return names.join(", ");
        }()));
        return;
    }
    kernelBox_->setCurrentIndex(index);
    if (auto* dock = findChild<QDockWidget*>("searchDock"))
        dock->raise();
    searchPanel_->start();
}

// The schedule editor starts from the default schedule of the best mapping candidate the pins and
// forbids leave; that candidate becomes the selection.
void MainWindow::showDefaultSchedule(const ir::Kernel& kernel, const std::optional<ir::Target>& target) {
    if (!target)
        return;
    for (int row = 0; row < mappingModel_->rowCount(); ++row) {
        const auto* c = mappingModel_->candidate(row);
        if (!c || !c->valid || c->dominated || !rules_.set.allowsCandidate(*c) || rules_.forbids(c->key))
            continue;
        selection_->selectCandidate(QString::fromStdString(kernel.name), QString::fromStdString(c->key));
        showCandidateSchedule(QString::fromStdString(c->key));
        return;
    }
}

void MainWindow::showMappingDetails() {
    const QModelIndex current = mappingProxy_->mapToSource(mappingView_->currentIndex());
    mappingDetails_->setText(mappingModel_->details(current.row()));
}

void MainWindow::createActions() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("&Open..."), QKeySequence::Open, this, [this] {
        if (!maybeSave())
            return;
        QString path = QFileDialog::getOpenFileName(this, tr("Open"), QFileInfo(path_).absolutePath(),
                                                    tr("ISA Mapper files (*.isa *.isamap);;Sources (*.isa);;Projects (*.isamap);;All files (*)"));
        if (!path.isEmpty())
            openFile(path);
    });
    file->addAction(tr("&Save"), QKeySequence::Save, this, [this] { save(); });
    file->addAction(tr("Save &As..."), QKeySequence::SaveAs, this, [this] { saveAs(); });
    file->addSeparator();
    createProjectActions(file);
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

    QMenu* edit = menuBar()->addMenu(tr("&Edit"));
    edit->addAction(tr("&Undo"), QKeySequence::Undo, editor_, &QPlainTextEdit::undo);
    edit->addAction(tr("&Redo"), QKeySequence::Redo, editor_, &QPlainTextEdit::redo);
    edit->addSeparator();
    QAction* undoSchedule = scheduleEditor_->undoStack()->createUndoAction(this, tr("Undo schedule edit"));
    undoSchedule->setShortcut(QKeySequence(Qt::CTRL | Qt::ALT | Qt::Key_Z));
    edit->addAction(undoSchedule);
    QAction* redoSchedule = scheduleEditor_->undoStack()->createRedoAction(this, tr("Redo schedule edit"));
    redoSchedule->setShortcut(QKeySequence(Qt::CTRL | Qt::ALT | Qt::SHIFT | Qt::Key_Z));
    edit->addAction(redoSchedule);
    edit->addSeparator();
    edit->addAction(tr("&Check now"), QKeySequence(Qt::Key_F7), this, &MainWindow::recheck);

    createMeasureActions(menuBar()->addMenu(tr("&Run")));

    QMenu* view = menuBar()->addMenu(tr("&View"));
    for (auto* dock : findChildren<QDockWidget*>())
        view->addAction(dock->toggleViewAction());
}

bool MainWindow::openFile(const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        QMessageBox::warning(this, tr("Open"), tr("Cannot open %1: %2").arg(path, file.errorString()));
        return false;
    }
    if (path.endsWith(".isamap") || file.peek(16) == QByteArray("SQLite format 3", 16)) {
        openProject(path);
        return true;
    }
    path_ = path;
    centralTabs_->setCurrentWidget(editor_);
    editor_->setPlainText(QString::fromUtf8(file.readAll()));
    editor_->document()->setModified(false);
    recheck();
    updateTitle();
    return true;
}

int MainWindow::errorCount() const { return diagnostics_->errorCount(); }

void MainWindow::recheck() {
    recheckTimer_->stop();
    const std::string name = path_.isEmpty() ? std::string("untitled.isa") : QFileInfo(path_).fileName().toStdString();
    ir::SourceFile source{name, editor_->toPlainText().toStdString()};
    auto result = frontend::parseAndCheck(source);
    diagnostics_->setDiagnostics(result.diagnostics);
    problems_->resizeColumnsToContents();
    // The tree shows whatever parsed, so that one mistake does not hide the rest of the file.
    structureModel_->setModule(result.module);
    if (!ir::hasErrors(result.diagnostics)) {
        module_ = result.module;
        refillMappingKernels();
        refillGraphs();
    }
    structure_->expandToDepth(1);
    markProblems(result.diagnostics);
    // A file with errors shows its problems; the mappings wait for a file that checks.
    if (ir::hasErrors(result.diagnostics))
        if (auto* problemsDock = findChild<QDockWidget*>("problemsDock"))
            problemsDock->raise();
    const auto& m = result.module;
    const int errors = diagnostics_->errorCount();
    status_->setText(errors ? tr("%n error(s)", "", errors)
                            : tr("No problems: %1 kernel(s), %2 graph(s), %3 target(s)")
                                  .arg(m.kernels.size())
                                  .arg(m.graphs.size())
                                  .arg(m.targets.size()));
}

void MainWindow::markProblems(const std::vector<ir::Diagnostic>& diagnostics) {
    QList<QTextEdit::ExtraSelection> marks;
    for (const auto& d : diagnostics) {
        if (d.line < 1)
            continue;
        QTextEdit::ExtraSelection mark;
        mark.format.setUnderlineStyle(QTextCharFormat::WaveUnderline);
        mark.format.setUnderlineColor(d.severity == ir::Severity::Error ? Qt::red : QColor(200, 140, 0));
        mark.format.setToolTip(QString::fromStdString(d.message));
        QTextCursor cursor(editor_->document()->findBlockByNumber(d.line - 1));
        cursor.movePosition(QTextCursor::Right, QTextCursor::MoveAnchor, std::max(0, d.column - 1));
        cursor.movePosition(QTextCursor::Right, QTextCursor::KeepAnchor, std::max(1, d.length));
        mark.cursor = cursor;
        marks << mark;
    }
    editor_->setExtraSelections(marks);
}

void MainWindow::goToProblem(int row) {
    if (row < 0 || row >= diagnostics_->rowCount())
        return;
    const auto& d = diagnostics_->diagnostic(row);
    QTextBlock block = editor_->document()->findBlockByNumber(std::max(0, d.line - 1));
    QTextCursor cursor(block);
    cursor.movePosition(QTextCursor::Right, QTextCursor::MoveAnchor, std::max(0, d.column - 1));
    editor_->setTextCursor(cursor);
    editor_->centerCursor();
    editor_->setFocus();
}

bool MainWindow::save() {
    if (path_.isEmpty())
        return saveAs();
    QSaveFile file(path_);
    if (!file.open(QIODevice::WriteOnly) || file.write(editor_->toPlainText().toUtf8()) < 0 || !file.commit()) {
        QMessageBox::warning(this, tr("Save"), tr("Cannot save %1: %2").arg(path_, file.errorString()));
        return false;
    }
    editor_->document()->setModified(false);
    return true;
}

bool MainWindow::saveAs() {
    QString path = QFileDialog::getSaveFileName(this, tr("Save As"), path_, tr("ISA Mapper files (*.isa)"));
    if (path.isEmpty())
        return false;
    path_ = path;
    updateTitle();
    return save();
}

bool MainWindow::maybeSave() {
    if (!editor_->document()->isModified())
        return true;
    auto answer = QMessageBox::question(this, tr("Unsaved changes"), tr("Save the changes to %1?").arg(path_),
                                        QMessageBox::Save | QMessageBox::Discard | QMessageBox::Cancel);
    if (answer == QMessageBox::Save)
        return save();
    return answer == QMessageBox::Discard;
}

void MainWindow::updateTitle() {
    QString name = path_.isEmpty() ? tr("untitled") : QFileInfo(path_).fileName();
    if (!projectPath_.isEmpty())
        name += tr(" (project %1)").arg(QFileInfo(projectPath_).fileName());
    setWindowTitle(QStringLiteral("%1%2 - ISA Mapper Studio").arg(name, editor_->document()->isModified() ? "*" : ""));
}

void MainWindow::closeEvent(QCloseEvent* event) {
    if (!maybeSave()) {
        event->ignore();
        return;
    }
    QSettings settings;
    settings.setValue("window/geometry", saveGeometry());
    settings.setValue("window/state", saveState());
    event->accept();
}

} // namespace isamap::studio
