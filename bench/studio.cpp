// The studio's speed: cold start to a usable window (the real executable, spawned), Graphviz layout and
// drawing of a 2,000-node graph, the modeled-time update after a schedule edit, and a redraw of the
// scatter with 100,000 points. Each figure is the median of repeated runs; the goals are the issue's.
//
//   build/bench/bench_studio [--runs N]      (QT_QPA_PLATFORM=offscreen when there is no display)
#include "frontend/library.h"
#include "machine.h"
#include "mapping/mapping.h"
#include "schedule/schedule.h"
#include "targets/catalog.h"
#include "views/graph_layout.h"
#include "views/graph_view.h"
#include "views/plot_view.h"
#include "views/schedule_editor.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QProcess>
#include <QUndoStack>
#include <algorithm>
#include <cstdio>
#include <functional>
#include <random>
#include <vector>

using namespace isamap;

namespace {

// Runs `f` `runs` times and gives the median of the milliseconds each run reports.
double medianOf(int runs, const std::function<double()>& f) {
    std::vector<double> ms;
    for (int i = 0; i < runs; ++i)
        ms.push_back(f());
    return bench::median(ms);
}

double elapsedMs(const QElapsedTimer& t) { return static_cast<double>(t.nsecsElapsed()) / 1e6; }

// Spawns the studio, which quits once its window is shown and the event loop has run; the time is
// from the spawn to the "shown" line on its output.
double coldStart(const QStringList& args) {
    QProcess studio;
    studio.setProcessChannelMode(QProcess::SeparateChannels);
    QElapsedTimer t;
    t.start();
    studio.start(ISAMAP_STUDIO, QStringList{"--exit-when-shown"} + args);
    double shown = -1;
    while (studio.state() != QProcess::NotRunning || studio.bytesAvailable()) {
        studio.waitForReadyRead(50);
        if (studio.canReadLine() && studio.readLine().startsWith("shown after")) {
            shown = elapsedMs(t);
            break;
        }
    }
    studio.waitForFinished(10000);
    if (shown < 0)
        std::fprintf(stderr, "bench_studio: the studio did not report a shown window: %s\n",
                     studio.readAllStandardError().constData());
    return shown;
}

// A layered graph of `count` nodes: 40 ranks, each node fed by one or two nodes of the rank above.
views::GraphSpec layeredGraph(int count) {
    views::GraphSpec spec;
    spec.rankdir = "TB";
    const int perRank = count / 40;
    std::mt19937 rng(3);
    for (int i = 0; i < count; ++i) {
        spec.nodes.push_back({"n" + std::to_string(i), "op" + std::to_string(i), i % 3 ? "box" : "ellipse", "kernel"});
        if (i >= perRank) {
            const int rank = i / perRank;
            std::uniform_int_distribution<int> above((rank - 1) * perRank, rank * perRank - 1);
            spec.edges.push_back({"n" + std::to_string(above(rng)), "n" + std::to_string(i), ""});
            if (i % 4 == 0)
                spec.edges.push_back({"n" + std::to_string(above(rng)), "n" + std::to_string(i), ""});
        }
    }
    return spec;
}

double layoutAndDraw(const views::GraphSpec& spec, int& nodes) {
    QElapsedTimer t;
    t.start();
    std::string error;
    auto layout = views::layoutGraph(spec, error);
    if (!layout) {
        std::fprintf(stderr, "bench_studio: %s\n", error.c_str());
        return -1;
    }
    views::GraphView view;
    view.resize(1200, 800);
    view.showLayout(*layout);
    view.fit();
    view.grab(); // the scene drawn into the viewport
    nodes = view.nodeCount();
    return elapsedMs(t);
}

// The schedule editor on the pointwise kernel of the example's size on nnp-like: one tile edit, until
// the new modeled time is shown (and, second figure, until the table is rebuilt as well).
std::pair<double, double> scheduleEdit(int runs) {
    std::string error;
    auto module = frontend::generate("pointwise", {{"C", 32}, {"K", 64}, {"H", 56}, {"W", 56}}, error);
    auto target = targets::loadTarget("nnp-like", error);
    if (!module || !target) {
        std::fprintf(stderr, "bench_studio: %s\n", error.c_str());
        return {-1, -1};
    }
    const auto& kernel = module->kernels.front();
    const auto mapped = mapping::mapKernel(kernel, target->target);
    auto space = schedule::makeSpace(kernel, target->target, mapped.candidates.front(), error);
    if (!space) {
        std::fprintf(stderr, "bench_studio: %s\n", error.c_str());
        return {-1, -1};
    }
    views::ScheduleEditor editor;
    editor.resize(1200, 400);
    editor.show();
    editor.setSchedule(*space, schedule::defaultSchedule(*space));
    QApplication::processEvents();
    // A loop whose sram tile matters: a tile of one there changes the modeled time.
    std::size_t loop = 0;
    for (std::size_t d = 0; d < space->dims.size(); ++d) {
        const double before = editor.modeledSeconds();
        if (editor.setTile(1, d, 1)) {
            const bool matters = editor.modeledSeconds() != before;
            editor.undoStack()->undo();
            if (matters) {
                loop = d;
                break;
            }
        }
    }
    std::vector<double> shown, rebuilt;
    const std::int64_t first = editor.current().levels[1].tiles[loop];
    for (int i = 0; i < runs; ++i) {
        // Between the default tile and a tile of one: each edit is legal and changes the modeled time.
        const std::int64_t tile = i % 2 ? first : 1;
        const double before = editor.modeledSeconds();
        QElapsedTimer t;
        t.start();
        const bool applied = editor.setTile(1, loop, tile);
        shown.push_back(elapsedMs(t));
        if (!applied || editor.modeledSeconds() == before) {
            std::fprintf(stderr, "bench_studio: the edit did not change the modeled time: %s\n",
                         editor.message().toUtf8().constData());
            return {-1, -1};
        }
        QApplication::processEvents();
        editor.repaint();
        rebuilt.push_back(elapsedMs(t));
    }
    return {bench::median(shown), bench::median(rebuilt)};
}

double scatterRedraw(int points) {
    views::PlotView plot;
    plot.resize(1000, 700);
    plot.setAxes({"modeled", true, views::AxisUnit::Seconds}, {"measured", true, views::AxisUnit::Seconds});
    plot.setDiagonal(true);
    std::mt19937 rng(1);
    std::lognormal_distribution<double> spread(-11, 1.5);
    std::normal_distribution<double> noise(0, 0.3);
    std::vector<views::PlotPoint> data;
    for (int i = 0; i < points; ++i) {
        const double modeled = spread(rng);
        data.push_back({modeled, modeled * std::exp(noise(rng)), i + 1, i % 50 == 0 ? 1 : 0});
    }
    QElapsedTimer t;
    t.start();
    plot.setPoints(std::move(data));
    plot.grab(); // a full redraw: axes, the points into the cached image, and the widget
    return elapsedMs(t);
}

} // namespace

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    int runs = 7;
    for (int i = 1; i + 1 < argc; ++i)
        if (std::string(argv[i]) == "--runs")
            runs = std::max(1, std::atoi(argv[i + 1]));
    std::printf("machine: %s\nruns: %d (medians)\n\n", bench::cpuName().c_str(), runs);

    const double startPage = medianOf(runs, [] { return coldStart({}); });
    const double withExample = medianOf(runs, [] { return coldStart({QString(ISAMAP_RESOURCES_DIR) + "/examples/dwsep_block.isa"}); });
    std::printf("cold start to a shown window, start page:            %8.1f ms  (goal < 1500)\n", startPage);
    std::printf("cold start to a shown window, the example source:    %8.1f ms  (goal < 1500)\n", withExample);

    int nodes = 0;
    const auto spec = layeredGraph(2000);
    const double graph = medianOf(std::max(1, runs / 2), [&] { return layoutAndDraw(spec, nodes); });
    std::printf("Graphviz layout + drawing, %d nodes, %zu edges:  %8.1f ms  (goal < 2000)\n", nodes, spec.edges.size(), graph);

    const auto [shown, rebuilt] = scheduleEdit(std::max(11, runs * 3));
    std::printf("schedule edit to the new modeled time:               %8.3f ms  (goal < 50)\n", shown);
    std::printf("schedule edit to the rebuilt, repainted editor:      %8.3f ms\n", rebuilt);

    const double scatter = medianOf(runs, [] { return scatterRedraw(100000); });
    std::printf("scatter redraw, 100,000 points:                      %8.1f ms  (goal < 100)\n", scatter);

    std::printf("\nstartup_ms=%.1f startup_example_ms=%.1f graph2000_ms=%.1f edit_ms=%.3f edit_repaint_ms=%.3f scatter100k_ms=%.1f\n",
                startPage, withExample, graph, shown, rebuilt, scatter);
    return 0;
}
