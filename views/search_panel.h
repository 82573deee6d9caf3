// The search panel: runs a schedule search for one kernel on one target in the background, with a
// progress bar, the best schedule so far updating live (its loop nest and where its time goes), and
// Cancel. The search is the compiler core's (compiler/search/); the panel never blocks the GUI thread.
#pragma once

#include "ir/ir.h"
#include "schedule/schedule.h"
#include "views/candidate_rules.h"

#include <QWidget>
#include <atomic>
#include <memory>
#include <optional>

class QComboBox;
class QLabel;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTabWidget;

namespace isamap::sim {
struct SimResult;
}

namespace isamap::views {

class ScatterView;
class TimelineView;

class SearchPanel : public QWidget {
    Q_OBJECT
public:
    explicit SearchPanel(QWidget* parent = nullptr);
    ~SearchPanel() override;

    // What the next search is for: a kernel and the name of a target (bundled name or "host").
    // `target`, when given, is used as it is (a target written in the open file) instead of loading one.
    void setProblem(const ir::Kernel& kernel, const QString& targetName, std::optional<ir::Target> target = {});

    // The pins (as constraints, which the search also applies to every schedule) and the forbidden
    // candidates: the search schedules the best candidate they leave.
    void setRules(const CandidateRules& rules);

    QComboBox* strategyBox() const { return strategy_; }
    QSpinBox* budgetBox() const { return budget_; }
    QPushButton* searchButton() const { return search_; }
    QPushButton* cancelButton() const { return cancel_; }
    QProgressBar* progressBar() const { return progress_; }
    QString bestText() const;
    TimelineView* timeline() const { return timeline_; }
    ScatterView* scatter() const { return scatter_; }
    void showTimelineTab();
    void showScatterTab();
    QString status() const;
    bool running() const { return running_; }

public slots:
    void start();
    void cancel();

signals:
    void started();
    // Each time the best so far improves: at which evaluation, and its modeled time (the convergence).
    void improved(qint64 evaluation, double seconds);
    // The evaluations a search spent in all, as it ends (before `finished`).
    void evaluated(qint64 evaluations);
    void finished(const QString& status);
    // The best schedule of a search that finished, on the GUI thread.
    void bestSchedule(const schedule::Space& space, const schedule::Schedule& s);

private:
    void showProgress(int percent, qint64 evaluations);
    void showBest(const QString& text, const QString& summary);
    void finish(const QString& status);
    void showSimulation(const sim::SimResult& result);

    ir::Kernel kernel_;
    bool haveKernel_ = false;
    QString target_;
    std::optional<ir::Target> targetGiven_;
    CandidateRules rules_;
    QComboBox* strategy_ = nullptr;
    QSpinBox* budget_ = nullptr;
    QPushButton* search_ = nullptr;
    QPushButton* cancel_ = nullptr;
    QProgressBar* progress_ = nullptr;
    QLabel* summary_ = nullptr;
    QPlainTextEdit* best_ = nullptr;
    QTabWidget* tabs_ = nullptr;
    TimelineView* timeline_ = nullptr;
    ScatterView* scatter_ = nullptr;
    bool running_ = false;
    // Shared with the worker, which may outlive a closed panel by one progress callback.
    std::shared_ptr<std::atomic<bool>> cancelFlag_;
};

} // namespace isamap::views
