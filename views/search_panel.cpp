#include "views/search_panel.h"

#include "cost/cost.h"
#include "views/duration_text.h"
#include "mapping/mapping.h"
#include "schedule/schedule.h"
#include "search/search.h"
#include "sim/sim.h"
#include "views/scatter_view.h"
#include "views/timeline_view.h"
#include "targets/catalog.h"

#include <QApplication>
#include <QComboBox>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPointer>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QTabWidget>
#include <QThreadPool>
#include <QVBoxLayout>
#include <chrono>

namespace isamap::views {

namespace {

// Runs `f` on the GUI thread if the panel still exists then.
template <typename F>
void onGuiThread(QPointer<SearchPanel> panel, F f) {
    QMetaObject::invokeMethod(qApp, [panel, f = std::move(f)]() mutable {
        if (panel)
            f(*panel);
    });
}

} // namespace

SearchPanel::SearchPanel(QWidget* parent) : QWidget(parent) {
    auto* layout = new QVBoxLayout(this);
    auto* controls = new QHBoxLayout;
    strategy_ = new QComboBox(this);
    for (const auto& name : search::strategyNames())
        strategy_->addItem(QString::fromStdString(name));
    strategy_->setCurrentText("annealing");
    budget_ = new QSpinBox(this);
    budget_->setRange(100, 100'000'000);
    budget_->setSingleStep(10000);
    budget_->setValue(20000);
    budget_->setSuffix(tr(" evaluations"));
    search_ = new QPushButton(tr("Search"), this);
    cancel_ = new QPushButton(tr("Cancel"), this);
    cancel_->setEnabled(false);
    progress_ = new QProgressBar(this);
    progress_->setRange(0, 100);
    controls->addWidget(new QLabel(tr("Strategy"), this));
    controls->addWidget(strategy_);
    controls->addWidget(budget_);
    controls->addWidget(search_);
    controls->addWidget(cancel_);
    controls->addWidget(progress_, 1);
    layout->addLayout(controls);
    summary_ = new QLabel(tr("Choose a kernel and a target in the Mappings panel, then Search."), this);
    summary_->setWordWrap(true);
    layout->addWidget(summary_);
    best_ = new QPlainTextEdit(this);
    best_->setReadOnly(true);
    best_->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    best_->setLineWrapMode(QPlainTextEdit::NoWrap);
    timeline_ = new TimelineView(this);
    tabs_ = new QTabWidget(this);
    tabs_->addTab(best_, tr("Best schedule"));
    tabs_->addTab(timeline_, tr("Timeline (simulated)"));
    scatter_ = new ScatterView(this);
    tabs_->addTab(scatter_, tr("Simulated vs modeled"));
    layout->addWidget(tabs_, 1);
    connect(search_, &QPushButton::clicked, this, &SearchPanel::start);
    connect(cancel_, &QPushButton::clicked, this, &SearchPanel::cancel);
}

SearchPanel::~SearchPanel() {
    if (cancelFlag_)
        *cancelFlag_ = true;
}

void SearchPanel::setProblem(const ir::Kernel& kernel, const QString& targetName, std::optional<ir::Target> target) {
    kernel_ = kernel;
    haveKernel_ = true;
    target_ = targetName;
    targetGiven_ = std::move(target);
    search_->setEnabled(!running_);
}

QString SearchPanel::bestText() const { return best_->toPlainText(); }
QString SearchPanel::status() const { return summary_->text(); }

void SearchPanel::start() {
    if (running_ || !haveKernel_)
        return;
    running_ = true;
    cancelFlag_ = std::make_shared<std::atomic<bool>>(false);
    search_->setEnabled(false);
    cancel_->setEnabled(true);
    progress_->setValue(0);
    best_->clear();
    summary_->setText(tr("Searching %1 on %2...").arg(QString::fromStdString(kernel_.name), target_));

    QPointer<SearchPanel> self(this);
    const ir::Kernel kernel = kernel_;
    const std::string targetName = target_.toStdString();
    const std::string strategyName = strategy_->currentText().toStdString();
    const std::int64_t budget = budget_->value();
    auto flag = cancelFlag_;
    const auto given = targetGiven_;
    const CandidateRules rules = rules_;
    emit started();
    QThreadPool::globalInstance()->start([self, kernel, targetName, given, strategyName, budget, flag, rules] {
        std::string error;
        auto target = given ? std::optional<targets::LoadedTarget>(targets::LoadedTarget{*given, ""})
                            : targets::loadTarget(targetName, error);
        const auto mapped = target ? mapping::mapKernel(kernel, target->target) : mapping::MappingResult{};
        // The best candidate the person's pins allow and that is not forbidden.
        const mapping::Candidate* candidate = nullptr;
        for (const auto& c : mapped.candidates)
            if (c.valid && !c.dominated && rules.set.allowsCandidate(c) && !rules.forbids(c.key)) {
                candidate = &c;
                break;
            }
        auto space = candidate ? schedule::makeSpace(kernel, target->target, *candidate, error) : std::nullopt;
        auto strategy = space ? search::makeStrategy(strategyName, error) : nullptr;
        if (!strategy) {
            const QString why = QString::fromStdString(
                error.empty() ? "no candidate of " + targetName + " that the constraints allow can perform kernel " + kernel.name
                              : error);
            onGuiThread(self, [why](SearchPanel& p) { p.finish(tr("Cannot search: %1").arg(why)); });
            return;
        }
        search::Options options;
        options.seed = 1;
        options.budget.evaluations = budget;
        options.cancel = flag.get();
        options.keepBest = 1;
        options.constraints = &rules.set;
        options.onProgress = [&](const search::Progress& p) {
            onGuiThread(self, [p](SearchPanel& panel) {
                panel.showProgress(static_cast<int>(p.fraction * 100), p.evaluations);
            });
        };
        // The best so far, shown live but at most every 100 ms: improvements come fast at the start.
        auto lastShown = std::chrono::steady_clock::now() - std::chrono::seconds(1);
        auto show = [&](const schedule::Schedule& s) {
            const auto b = cost::explain(*space, s);
            const QString text = QString::fromStdString(schedule::printLoopNest(*space, s));
            const QString summary = tr("Best so far: %1 (%2 GFLOP/s), %3").arg(durationText(b.seconds)).arg(b.gflops, 0, 'f', 1)
                                        .arg(QString::fromStdString(b.bound));
            onGuiThread(self, [text, summary](SearchPanel& panel) { panel.showBest(text, summary); });
        };
        options.onImprovement = [&](const search::Evaluated& e) {
            onGuiThread(self, [evaluation = e.evaluation, seconds = e.seconds](SearchPanel& panel) {
                emit panel.improved(evaluation, seconds);
            });
            const auto now = std::chrono::steady_clock::now();
            if (now - lastShown < std::chrono::milliseconds(100))
                return;
            lastShown = now;
            show(e.schedule);
        };
        const auto result = strategy->run(*space, options);
        if (!result.best.empty())
            show(result.best.front().schedule);
        // On a virtual target, the simulator times the best schedule: measured against modeled.
        if (!result.best.empty() && target->target.features.empty() && !result.cancelled) {
            sim::SimOptions simOptions;
            simOptions.maxFunctionalCalls = 512;
            simOptions.maxTimelineEntries = 20000;
            std::string simError;
            auto simulated = sim::simulate(kernel, target->target, *candidate, *space, result.best.front().schedule,
                                           simOptions, simError);
            if (simulated)
                onGuiThread(self, [sim = *simulated](SearchPanel& panel) { panel.showSimulation(sim); });
            // The best schedule and 40 schedules of a random sample, from its best to its worst, timed
            // by the simulator: how far the model can be trusted across the space.
            std::vector<ScatterPoint> points;
            sim::SimOptions timed;
            timed.functional = false;
            timed.maxTimelineEntries = 0;
            auto sample = search::spreadSample(*space, 40, 7, 2000, flag.get());
            sample.insert(sample.begin(), result.best.front());
            for (std::size_t i = 0; i < sample.size() && !*flag; ++i) {
                const auto& e = sample[i];
                std::string ignored;
                if (auto t = sim::simulate(kernel, target->target, *candidate, *space, e.schedule, timed, ignored))
                    points.push_back({e.seconds, t->seconds, i == 0 ? tr("the best schedule found") : tr("a random schedule"), 0, i == 0});
            }
            onGuiThread(self, [points](SearchPanel& panel) { panel.scatter()->setPoints(points, tr("simulated")); });
        }
        const QString status = result.cancelled ? tr("cancelled after %1 evaluations").arg(result.evaluations)
                                                : tr("finished: %1 evaluations").arg(result.evaluations);
        if (!result.best.empty())
            onGuiThread(self, [space = *space, best = result.best.front().schedule](SearchPanel& panel) {
                emit panel.bestSchedule(space, best);
            });
        onGuiThread(self, [status, evaluations = result.evaluations](SearchPanel& panel) {
            emit panel.evaluated(evaluations);
            panel.finish(status);
        });
    });
}

void SearchPanel::setRules(const CandidateRules& rules) { rules_ = rules; }

void SearchPanel::cancel() {
    if (cancelFlag_)
        *cancelFlag_ = true;
}

void SearchPanel::showProgress(int percent, qint64 evaluations) {
    progress_->setValue(percent);
    progress_->setFormat(tr("%p% (%1 evaluations)").arg(evaluations));
}

void SearchPanel::showBest(const QString& text, const QString& summary) {
    best_->setPlainText(text);
    summary_->setText(summary);
}

void SearchPanel::showTimelineTab() { tabs_->setCurrentWidget(timeline_); }
void SearchPanel::showScatterTab() { tabs_->setCurrentWidget(scatter_); }

void SearchPanel::showSimulation(const sim::SimResult& result) {
    timeline_->setTimeline(result);
    summary_->setText(summary_->text() + tr("; simulated %1 (%2)").arg(durationText(result.seconds),
                                                                   QString::fromStdString(result.verification)));
}

void SearchPanel::finish(const QString& status) {
    running_ = false;
    search_->setEnabled(haveKernel_);
    cancel_->setEnabled(false);
    if (status.startsWith("finished"))
        progress_->setValue(100);
    summary_->setText(summary_->text().startsWith(tr("Best so far")) ? summary_->text() + " — " + status : status);
    emit finished(status);
}

} // namespace isamap::views
