// The measuring half of the main window: the schedule in the editor run on this CPU through the
// command-line tool's worker, the result shown under the schedule editor and, with a project open,
// kept beside the schedule so that the performance view plots it against its modeled time.
#include "main_window.h"

#include "ir/printer.h"
#include "measure/measure.h"
#include "store/project.h"
#include "views/mapping_model.h"
#include "views/measure_panel.h"
#include "views/schedule_editor.h"

#include <QAction>
#include <QCoreApplication>
#include <QDir>
#include <QDockWidget>
#include <QFileInfo>
#include <QMenu>
#include <QStatusBar>
#include <QVBoxLayout>

namespace isamap::studio {

namespace {
// Where the command-line tool is, seen from the studio's own directory: beside it once installed,
// and in the build tree's app/cli beside app/studio.
const char* const kWorkerPlaces[] = {"isamap", "../cli/isamap"};

bool isHostTarget(const ir::Target& target) { return !target.features.empty(); }
} // namespace

QWidget* MainWindow::createScheduleDockWidget() {
    auto* page = new QWidget(this);
    auto* layout = new QVBoxLayout(page);
    layout->setContentsMargins(0, 0, 0, 0);
    scheduleEditor_ = new views::ScheduleEditor(page);
    measurePanel_ = new views::MeasurePanel(page);
    layout->addWidget(scheduleEditor_, 1);
    layout->addWidget(measurePanel_);
    connect(measurePanel_, &views::MeasurePanel::measureRequested, this, &MainWindow::measureSchedule);
    connect(measurePanel_, &views::MeasurePanel::measured, this, &MainWindow::keepMeasurement);
    return page;
}

void MainWindow::createMeasureActions(QMenu* run) {
    measureAction_ = run->addAction(tr("&Measure on this CPU"), QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_M), this,
                                    &MainWindow::measureSchedule);
    measureAction_->setStatusTip(tr("Generate the code of the schedule in the editor, check it and time it on this CPU"));
    run->addAction(tr("&Cancel Measurement"), this, [this] { measurePanel_->cancel(); });
}

QString MainWindow::workerExecutable() const {
    if (!workerExecutable_.isEmpty())
        return QFileInfo(workerExecutable_).isExecutable() ? workerExecutable_ : QString();
    const QDir here(QCoreApplication::applicationDirPath());
    for (const char* place : kWorkerPlaces)
        if (const QFileInfo tool(here.filePath(place)); tool.isFile() && tool.isExecutable())
            return tool.canonicalFilePath();
    return {};
}

std::optional<mapping::Candidate> MainWindow::mappedCandidate(const std::string& key) const {
    for (int row = 0; row < mappingModel_->rowCount(); ++row)
        if (const auto* c = mappingModel_->candidate(row); c && c->key == key)
            return *c;
    return std::nullopt;
}

// The stored schedule that is the measured one: the same kernel, target, candidate and schedule text.
// Found by content rather than by what the editor last loaded, so that an edit, or a click before a
// stored schedule has finished loading, never puts a measurement beside the wrong schedule.
std::optional<std::int64_t> MainWindow::storedIdOf(const views::MeasureRequest& request) const {
    const auto& contents = projectModel_->contents();
    const std::string text = schedule::printSchedule(request.space, request.schedule);
    const std::string kernelText = ir::print(request.kernel), targetText = ir::print(request.target);
    auto textOf = [](const auto& records, std::int64_t id) {
        for (const auto& r : records)
            if (r.id == id)
                return r.text;
        return std::string();
    };
    for (const auto& s : contents.schedules)
        if (s.record.text == text && s.record.candidateKey == request.candidate.key &&
            textOf(contents.kernels, s.record.kernelId) == kernelText && textOf(contents.targets, s.record.targetId) == targetText)
            return s.record.id;
    return std::nullopt;
}

void MainWindow::measureSchedule() {
    auto refuse = [this](const QString& why) {
        measurePanel_->showMessage(why);
        statusBar()->showMessage(why, 8000);
    };
    if (auto* dock = findChild<QDockWidget*>("scheduleDock"))
        dock->raise();
    if (measurePanel_->running())
        return refuse(tr("A measurement is running; cancel it first"));
    if (!scheduleEditor_->hasSchedule() || !editorTarget_ || !editorCandidate_)
        return refuse(tr("No schedule to measure: choose a candidate or a stored schedule first"));
    if (!isHostTarget(*editorTarget_))
        return refuse(tr("Cannot measure on this CPU: %1 is a virtual target (its schedules are simulated; see the search panel)")
                          .arg(QString::fromStdString(editorTarget_->name)));
    const QString worker = workerExecutable();
    if (worker.isEmpty())
        return refuse(workerExecutable_.isEmpty()
                          ? tr("Cannot measure: the command-line tool isamap, which runs measurements, is neither next to "
                               "the studio nor in the build tree")
                          : tr("Cannot measure: no command-line tool at %1").arg(workerExecutable_));
    views::MeasureRequest request{editorKernel_,  *editorTarget_, *editorCandidate_, *scheduleEditor_->space(),
                                  scheduleEditor_->current(), scheduleEditor_->modeledSeconds(),
                                  projectPath_.toStdString()};
    statusBar()->showMessage(tr("Measuring on this CPU in a worker process..."), 3000);
    measurePanel_->start(worker, request);
}

// A verified measurement goes into the project beside its schedule (stored first when it is not), and
// the project is read again so that every view shows it.
void MainWindow::keepMeasurement(const views::MeasureRequest& request, const measure::Result& result) {
    if (result.status != measure::Status::Ok) {
        statusBar()->showMessage(tr("Measurement failed (%1)").arg(measure::statusName(result.status)), 8000);
        return;
    }
    if (request.projectPath.empty() || QString::fromStdString(request.projectPath) != projectPath_) {
        statusBar()->showMessage(tr("Measured; open or save a project to keep measurements"), 8000);
        return;
    }
    std::string error;
    std::optional<std::int64_t> id;
    {
        // Closed before the project is read back, so that the reader does not wait for this connection.
        auto project = store::Project::open(request.projectPath, error);
        id = !project ? std::nullopt : storedIdOf(request);
        if (project && !id)
            id = addSchedule(*project, request.kernel, request.target, request.space, request.schedule, error);
        store::Measurement m;
        m.scheduleId = id.value_or(0);
        m.kind = "host";
        m.seconds = result.secondsMedian;
        m.spread = result.secondsMax - result.secondsMin;
        m.detail = result.verification() + "; " + std::to_string(result.runs) + " runs on " +
                   std::to_string(result.threads) + " thread(s)";
        if (id && !project->addMeasurement(m, error))
            id.reset();
    }
    if (!id) {
        statusBar()->showMessage(tr("Cannot keep the measurement: %1").arg(QString::fromStdString(error)), 8000);
        return;
    }
    // The measured schedule is selected again once the project is read back, if the editor still shows it.
    if (request.space.candidateKey == editorCandidate_.value_or(mapping::Candidate{}).key &&
        request.schedule == scheduleEditor_->current())
        editorScheduleId_ = *id;
    openProject(projectPath_);
}

} // namespace isamap::studio
