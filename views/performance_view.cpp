#include "views/performance_view.h"

#include "cost/cost.h"
#include "views/duration_text.h"
#include "views/scatter_view.h"

#include <QTabWidget>
#include <QVBoxLayout>
#include <algorithm>
#include <map>
#include <tuple>

namespace isamap::views {

Roofline rooflineOf(const schedule::Space& space) {
    Roofline r;
    r.target = space.target;
    r.instruction = space.instruction;
    // Each call does instructionPoints multiply-adds: two flops each.
    r.peakFlops = 2 * space.instructionPoints * space.throughput * space.clock * static_cast<double>(space.units);
    for (std::size_t l = 1; l < space.levels.size(); ++l) {
        const auto& level = space.levels[l];
        const int parent = std::max(0, level.parent);
        if (level.bandwidth > 0)
            r.bandwidths.push_back({space.levels[static_cast<std::size_t>(parent)].memory + " -> " + level.memory, level.bandwidth});
    }
    return r;
}

double outerBytes(const schedule::Space& space, const schedule::Schedule& s) {
    if (space.levels.empty())
        return 0;
    // The breakdown names each transfer "bandwidth on PARENT -> LEVEL for TENSOR".
    const std::string prefix = "bandwidth on " + space.levels.front().memory + " -> ";
    double bytes = 0;
    for (const auto& term : cost::explain(space, s).terms)
        if (term.what.rfind(prefix, 0) == 0)
            bytes += term.bytes;
    return bytes;
}

PerformanceData performanceData(const ProjectContents& project) {
    PerformanceData data;
    using Key = std::tuple<std::int64_t, std::int64_t, std::string>;
    std::map<Key, std::optional<schedule::Space>> spaces;
    std::map<std::pair<std::string, std::string>, std::pair<int, Roofline>> rooflines;
    for (const auto& stored : project.schedules) {
        const auto& record = stored.record;
        const Key key{record.kernelId, record.targetId, record.candidateKey};
        auto found = spaces.find(key);
        if (found == spaces.end()) {
            std::string error;
            auto resolved = resolveSchedule(project, record, error);
            found = spaces.emplace(key, resolved ? std::optional(resolved->space) : std::nullopt).first;
        }
        PerformanceSchedule p{record.id, stored.kernel, stored.target, record.modeledSeconds, stored.measured,
                              stored.measuredKind};
        if (found->second) {
            const auto& space = *found->second;
            std::string error;
            if (auto s = schedule::parseSchedule(space, record.text, error)) {
                p.flops = space.usefulFlops;
                p.outerBytes = outerBytes(space, *s);
            }
            auto& [count, roof] = rooflines[{space.target, space.instruction}];
            if (count++ == 0)
                roof = rooflineOf(space);
        }
        data.schedules.push_back(std::move(p));
    }
    std::vector<std::pair<int, Roofline>> ordered;
    for (auto& [key, entry] : rooflines)
        ordered.push_back(entry);
    std::stable_sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    for (auto& [count, roof] : ordered)
        data.rooflines.push_back(std::move(roof));
    return data;
}

PerformanceView::PerformanceView(QWidget* parent) : QWidget(parent) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    tabs_ = new QTabWidget(this);
    scatter_ = new ScatterView(tabs_);
    roofline_ = new PlotView(tabs_);
    roofline_->setAxes({tr("arithmetic intensity (flop per byte from the outermost memory)"), true, AxisUnit::FlopsPerByte},
                       {tr("performance"), true, AxisUnit::FlopsPerSecond});
    roofline_->setEmptyText(tr("Open a project: its schedules are placed on their target's roofline."));
    convergence_ = new PlotView(tabs_);
    convergence_->setAxes({tr("evaluations"), true, AxisUnit::Plain}, {tr("best modeled time so far"), true, AxisUnit::Seconds});
    convergence_->setEmptyText(tr("Run a search: its best modeled time so far is drawn against the evaluations."));
    tabs_->addTab(scatter_, tr("Measured vs modeled"));
    tabs_->addTab(roofline_, tr("Roofline"));
    tabs_->addTab(convergence_, tr("Convergence"));
    layout->addWidget(tabs_);
    for (PlotView* plot : {static_cast<PlotView*>(scatter_), roofline_})
        connect(plot, &PlotView::pointClicked, this, &PerformanceView::scheduleClicked);
}

void PerformanceView::setData(const PerformanceData& data) {
    std::vector<ScatterPoint> measured;
    QString measuredName = tr("measured");
    for (const auto& s : data.schedules)
        if (s.measured) {
            measured.push_back({s.modeled, *s.measured,
                                tr("schedule %1: %2 on %3").arg(s.id).arg(QString::fromStdString(s.kernel),
                                                                          QString::fromStdString(s.target)),
                                s.id, false});
            if (s.measuredKind == "simulator")
                measuredName = tr("simulated");
        }
    scatter_->setPoints(measured, measuredName);
    showRoofline(data);
}

// The roofline of the target and instruction with the most schedules, and those schedules on it:
// modeled performance (and measured, where there is a measurement) at their arithmetic intensity.
void PerformanceView::showRoofline(const PerformanceData& data) {
    if (data.rooflines.empty()) {
        roofline_->clear();
        return;
    }
    const Roofline& roof = data.rooflines.front();
    std::vector<PlotPoint> points;
    std::vector<QString> labels;
    double lowest = INFINITY, highest = 0;
    for (const auto& s : data.schedules) {
        if (s.target != roof.target || s.flops <= 0 || s.outerBytes <= 0)
            continue;
        const double intensity = s.flops / s.outerBytes;
        lowest = std::min(lowest, intensity);
        highest = std::max(highest, intensity);
        const QString label = tr("schedule %1: %2, modeled %3").arg(s.id).arg(QString::fromStdString(s.kernel),
                                                                              durationText(s.modeled));
        points.push_back({intensity, s.flops / s.modeled, s.id, 0});
        labels.push_back(label);
        if (s.measured) {
            points.push_back({intensity, s.flops / *s.measured, s.id, 1});
            labels.push_back(label + tr(", %1 %2").arg(QString::fromStdString(s.measuredKind), durationText(*s.measured)));
        }
    }
    if (points.empty())
        lowest = 0.1, highest = 100;
    // The roofs span a decade either side of the schedules, and reach the compute roof.
    double from = lowest / 10, to = highest * 10;
    for (const auto& [name, bandwidth] : roof.bandwidths)
        to = std::max(to, std::min(3 * roof.peakFlops / bandwidth, highest * 1000));
    std::vector<PlotCurve> curves;
    curves.push_back({{{from, roof.peakFlops}, {to, roof.peakFlops}},
                      QColor(200, 40, 40),
                      tr("peak %1 (%2)").arg(axisText(roof.peakFlops, AxisUnit::FlopsPerSecond),
                                              QString::fromStdString(roof.instruction))});
    const QColor roofColours[] = {QColor(60, 60, 60), QColor(120, 120, 120), QColor(160, 120, 40)};
    for (std::size_t i = 0; i < roof.bandwidths.size(); ++i) {
        const auto& [name, bandwidth] = roof.bandwidths[i];
        const double ridge = roof.peakFlops / bandwidth; // where this roof meets the compute roof
        if (ridge <= from)
            continue;
        curves.push_back({{{from, from * bandwidth}, {std::min(ridge, to), std::min(ridge, to) * bandwidth}},
                          roofColours[std::min<std::size_t>(i, 2)],
                          tr("%1: %2").arg(QString::fromStdString(name), axisText(bandwidth, AxisUnit::BytesPerSecond)),
                          i > 0});
    }
    roofline_->setSeriesNames({tr("modeled on %1").arg(QString::fromStdString(roof.target)), tr("measured")});
    roofline_->setCurves(std::move(curves));
    roofline_->setPoints(std::move(points), std::move(labels));
}

void PerformanceView::clearConvergence() {
    improvements_.clear();
    lastEvaluation_ = 0;
    showConvergence();
}

void PerformanceView::addImprovement(qint64 evaluation, double seconds) {
    improvements_.push_back({static_cast<double>(std::max<qint64>(1, evaluation)), seconds});
    showConvergence();
}

void PerformanceView::endConvergence(qint64 evaluations) {
    lastEvaluation_ = static_cast<double>(evaluations);
    showConvergence();
}

// A step line: the best so far holds until the next improvement, and to the end of the search.
void PerformanceView::showConvergence() {
    PlotCurve steps;
    steps.colour = QColor(40, 100, 190);
    steps.label = tr("best so far");
    std::vector<PlotPoint> points;
    std::vector<QString> labels;
    for (std::size_t i = 0; i < improvements_.size(); ++i) {
        const auto& [evaluation, seconds] = improvements_[i];
        if (i > 0)
            steps.points.push_back({evaluation, improvements_[i - 1].second});
        steps.points.push_back({evaluation, seconds});
        points.push_back({evaluation, seconds, 0, 1});
        labels.push_back(tr("improvement %1").arg(i + 1));
    }
    if (!improvements_.empty() && lastEvaluation_ > improvements_.back().first)
        steps.points.push_back({lastEvaluation_, improvements_.back().second});
    convergence_->setCurves(improvements_.empty() ? std::vector<PlotCurve>{} : std::vector<PlotCurve>{steps});
    convergence_->setPoints(std::move(points), std::move(labels));
}

void PerformanceView::select(qint64 id) {
    scatter_->setHighlighted(id);
    roofline_->setHighlighted(id);
}

} // namespace isamap::views
