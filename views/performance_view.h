// The performance view: measured (or simulated) against modeled as a log-log scatter with the y = x
// line; the target's roofline (peak compute from the instruction's throughput, the clock and the
// units; one bandwidth roof per memory level) with the schedules placed on it by arithmetic intensity;
// and the search's convergence (the best modeled time so far against evaluations). Every plot is a
// PlotView: hover shows the schedule, a click selects it, and 100,000 points stay fluid.
//
//   auto data = views::performanceData(contents);   // Qt-free, off the GUI thread: re-reads each space
//   view->setData(data);
#pragma once

#include "schedule/schedule.h"
#include "views/project_model.h"

#include <QWidget>
#include <optional>
#include <string>
#include <vector>

class QTabWidget;

namespace isamap::views {

class PlotView;
class ScatterView;

struct PerformanceSchedule {
    qint64 id = 0;
    std::string kernel, target;
    double modeled = 0;               // s
    std::optional<double> measured;   // s
    std::string measuredKind;
    double flops = 0;                 // useful work of the whole kernel
    double outerBytes = 0;            // moved out of the outermost memory
};

// What bounds a mapped instruction on its target: a compute roof and one bandwidth roof per level.
struct Roofline {
    std::string target;
    std::string instruction;
    double peakFlops = 0; // FLOP/s
    std::vector<std::pair<std::string, double>> bandwidths; // "hbm -> sram", bytes/s
};

struct PerformanceData {
    std::vector<PerformanceSchedule> schedules;
    std::vector<Roofline> rooflines; // one per target and instruction, most schedules first
};

Roofline rooflineOf(const schedule::Space& space);
// Bytes the schedule moves out of the outermost memory, per the cost model's breakdown.
double outerBytes(const schedule::Space& space, const schedule::Schedule& s);
// Every schedule of the project with its figures; each candidate's space is built once.
PerformanceData performanceData(const ProjectContents& project);

class PerformanceView : public QWidget {
    Q_OBJECT
public:
    explicit PerformanceView(QWidget* parent = nullptr);

    void setData(const PerformanceData& data);
    void clearConvergence();
    void addImprovement(qint64 evaluation, double seconds);
    // The search ended after `evaluations`: the best so far holds to there.
    void endConvergence(qint64 evaluations);
    // Rings the schedule in every plot.
    void select(qint64 id);

    ScatterView* scatter() const { return scatter_; }
    PlotView* roofline() const { return roofline_; }
    PlotView* convergence() const { return convergence_; }
    QTabWidget* tabs() const { return tabs_; }

signals:
    void scheduleClicked(qint64 id);

private:
    void showRoofline(const PerformanceData& data);
    void showConvergence();

    QTabWidget* tabs_ = nullptr;
    ScatterView* scatter_ = nullptr;
    PlotView* roofline_ = nullptr;
    PlotView* convergence_ = nullptr;
    std::vector<std::pair<double, double>> improvements_; // (evaluation, best seconds)
    double lastEvaluation_ = 0;
};

} // namespace isamap::views
