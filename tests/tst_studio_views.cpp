// The studio's views on their own, without the main window: the plot with 100,000 points (drawn,
// hovered and clicked), the project model over the bundled example project, the code view with an
// added form, the shared selection, and the start page's suites.
#include "views/code_view.h"
#include "views/performance_view.h"
#include "views/plot_view.h"
#include "views/project_model.h"
#include "views/selection.h"
#include "views/start_page.h"

#include <QAbstractItemModelTester>
#include <QListWidget>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTreeWidget>
#include <QtTest>
#include <random>

using namespace isamap;

namespace {
std::string exampleProject() { return std::string(ISAMAP_RESOURCES_DIR) + "/examples/dwsep_block.isamap"; }

// A temporary copy, so that no test writes to the bundled file.
QString copyOfExample(const QTemporaryDir& dir) {
    const QString copy = dir.filePath("example.isamap");
    QFile::copy(QString::fromStdString(exampleProject()), copy);
    QFile::setPermissions(copy, QFile::ReadOwner | QFile::WriteOwner);
    return copy;
}
} // namespace

class TstStudioViews : public QObject {
    Q_OBJECT
private slots:
    void aPlotDrawsAHundredThousandPointsAndFindsTheOneUnderTheMouse() {
        views::PlotView plot;
        plot.resize(800, 600);
        plot.setAxes({"modeled", true, views::AxisUnit::Seconds}, {"measured", true, views::AxisUnit::Seconds});
        plot.setDiagonal(true);
        std::mt19937 rng(1);
        std::lognormal_distribution<double> spread(-11, 1.5);
        std::vector<views::PlotPoint> points;
        for (int i = 0; i < 100000; ++i) {
            const double modeled = spread(rng);
            points.push_back({modeled, modeled * std::exp(std::normal_distribution<double>(0, 0.3)(rng)), i + 1, 0});
        }
        // One far off on its own, to click.
        points.push_back({1e-3, 1e-9, 424242, 1});
        plot.setPoints(points);
        QCOMPARE(plot.pointCount(), 100001);
        const QImage image = plot.grab().toImage();
        QVERIFY(plot.lastRenderMilliseconds() > 0);
        // The lone point is drawn in the second series' colour, where positionOf says.
        const QPoint lone = plot.positionOf(100000);
        QCOMPARE(image.pixelColor(lone).rgb(), QColor(220, 90, 20).rgb());
        QCOMPARE(plot.pointAt(lone), 100000);
        QCOMPARE(plot.pointAt(lone + QPoint(30, 0)), -1);
        QSignalSpy clicked(&plot, &views::PlotView::pointClicked);
        QTest::mouseClick(&plot, Qt::LeftButton, {}, lone);
        QCOMPARE(clicked.count(), 1);
        QCOMPARE(clicked.front().front().toLongLong(), 424242);
        QCOMPARE(plot.highlighted(), 424242);
        QVERIFY(plot.describe(100000).contains("1.000 ms"));
    }

    void aLogAxisLeavesOutWhatItCannotShow() {
        views::PlotView plot;
        plot.setAxes({"x", true, views::AxisUnit::Plain}, {"y", true, views::AxisUnit::Plain});
        plot.setPoints({{1, 1, 1, 0}, {0, 1, 2, 0}, {1, -3, 3, 0}, {10, 100, 4, 0}});
        QCOMPARE(plot.pointCount(), 2);
    }

    void theExampleProjectReadsWithItsMeasurements() {
        std::string error;
        auto contents = views::readProject(exampleProject(), error);
        QVERIFY2(contents, error.c_str());
        QVERIFY(contents->schedules.size() > 50);
        QVERIFY(std::is_sorted(contents->schedules.begin(), contents->schedules.end(), [](const auto& a, const auto& b) {
            return a.record.modeledSeconds < b.record.modeledSeconds;
        }));
        const auto measured = std::count_if(contents->schedules.begin(), contents->schedules.end(),
                                            [](const auto& s) { return s.measured.has_value(); });
        QVERIFY(measured >= 10);
        views::ProjectModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setContents(*contents);
        QCOMPARE(model.rowCount(), static_cast<int>(contents->schedules.size()));
        QCOMPARE(model.index(0, views::ProjectModel::Kernel).data().toString().isEmpty(), false);

        // A stored schedule resolves back to a space and schedule whose modeled time is the stored one.
        auto resolved = views::resolveSchedule(*contents, contents->schedules.front().record, error);
        QVERIFY2(resolved, error.c_str());
        QCOMPARE(resolved->space.candidateKey, contents->schedules.front().record.candidateKey);

        // The plots' figures: every schedule placed, and a roofline with a compute roof and bandwidth roofs.
        const auto data = views::performanceData(*contents);
        QCOMPARE(data.schedules.size(), contents->schedules.size());
        QVERIFY(!data.rooflines.empty());
        QVERIFY(data.rooflines.front().peakFlops > 0);
        QVERIFY(!data.rooflines.front().bandwidths.empty());
        QVERIFY(std::all_of(data.schedules.begin(), data.schedules.end(), [](const auto& s) { return s.outerBytes > 0; }));
    }

    void aProjectCopiesWholeAndAMissingOrForeignFileIsRefused() {
        QTemporaryDir dir;
        std::string error;
        const std::string copy = dir.filePath("copy.isamap").toStdString();
        QVERIFY2(views::copyProject(exampleProject(), copy, error), error.c_str());
        auto original = views::readProject(exampleProject(), error);
        auto copied = views::readProject(copy, error);
        QVERIFY2(copied, error.c_str());
        QCOMPARE(copied->schedules.size(), original->schedules.size());
        QCOMPARE(copied->runs.size(), original->runs.size());
        for (std::size_t i = 0; i < copied->schedules.size(); ++i) {
            QCOMPARE(copied->schedules[i].record.text, original->schedules[i].record.text);
            QCOMPARE(copied->schedules[i].measured, original->schedules[i].measured);
        }

        QVERIFY(!views::readProject(dir.filePath("none.isamap").toStdString(), error));
        QVERIFY2(error.find("no such project file") != std::string::npos, error.c_str());
        QFile junk(dir.filePath("junk.isamap"));
        QVERIFY(junk.open(QIODevice::WriteOnly));
        junk.write("this is not a database, only text that pretends to be one\n");
        junk.close();
        QVERIFY(!views::readProject(junk.fileName().toStdString(), error));
        QVERIFY2(error.find("junk.isamap") != std::string::npos, error.c_str());
    }

    void theCodeViewShowsTheLoopNestAndAnAddedForm() {
        QTemporaryDir dir;
        std::string error;
        auto contents = views::readProject(exampleProject(), error);
        QVERIFY(contents);
        auto resolved = views::resolveSchedule(*contents, contents->schedules.front().record, error);
        QVERIFY2(resolved, error.c_str());
        views::CodeView code;
        // A second form through the one-function interface that LLVM IR and assembly will use.
        code.addGenerator("Levels", [](const views::CodeInput& in) {
            return std::to_string(in.schedule.levels.size()) + " levels, outermost " + in.space.levels.front().memory;
        });
        QCOMPARE(code.tabNames(), QStringList({"Loop nest", "Levels"}));
        QSignalSpy ready(&code, &views::CodeView::ready);
        code.setSchedule(resolved->space, resolved->schedule);
        QVERIFY(ready.wait(5000));
        QCOMPARE(code.text("Loop nest"), QString::fromStdString(schedule::printLoopNest(resolved->space, resolved->schedule)));
        QCOMPARE(code.text("Levels"), QStringLiteral("%1 levels, outermost hbm").arg(resolved->schedule.levels.size()));
        // A form that throws says so instead of taking the studio down.
        code.addGenerator("Broken", [](const views::CodeInput&) -> std::string {
            throw std::runtime_error("no code generator for this target");
        });
        QTRY_VERIFY(code.text("Broken").contains("no code generator for this target"));
    }

    void theSelectionSaysOnlyWhatChanged() {
        views::Selection selection;
        QSignalSpy changed(&selection, &views::Selection::changed);
        selection.selectSchedule(7, "pointwise", "mma32: ...");
        selection.selectSchedule(7, "pointwise", "mma32: ...");
        QCOMPARE(changed.count(), 1);
        // The same candidate keeps the schedule; another candidate drops it.
        selection.selectCandidate("pointwise", "mma32: ...");
        QCOMPARE(selection.scheduleId(), 7);
        selection.selectCandidate("pointwise", "other");
        QCOMPARE(selection.scheduleId(), 0);
        QCOMPARE(changed.count(), 2);
    }

    void theStartPageListsExamplesAndSuites() {
        views::StartPage page;
        page.setExamples(QString(ISAMAP_RESOURCES_DIR) + "/examples");
        QVERIFY(page.examples()->count() >= 2);
        QVERIFY(page.examples()->item(0)->text().startsWith("dwsep_block.isamap"));
        QSignalSpy open(&page, &views::StartPage::openPath);
        emit page.examples()->itemActivated(page.examples()->item(0));
        QCOMPARE(open.count(), 1);
        QVERIFY(open.front().front().toString().endsWith("examples/dwsep_block.isamap"));
        QStringList suites;
        for (int i = 0; i < page.suites()->topLevelItemCount(); ++i)
            suites << page.suites()->topLevelItem(i)->text(0);
        QVERIFY2(suites.contains("mobilenet-v1") && suites.contains("deepbench-gemm"), qPrintable(suites.join(", ")));
        page.expandSuite("mobilenet-v1");
        const auto* mobilenet = page.suites()->findItems("mobilenet-v1", Qt::MatchExactly).front();
        QVERIFY(mobilenet->childCount() > 10);
    }
};

QTEST_MAIN(TstStudioViews)
#include "tst_studio_views.moc"
