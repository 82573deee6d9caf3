// The studio's window, driven as a user would: open the example, read its structure, break the text
// and see the diagnostic in the problems panel, click it and land on the line.
#include "main_window.h"
#include "views/diagnostics_model.h"
#include "views/structure_model.h"

#include "views/code_view.h"
#include "views/graph_view.h"
#include "views/mapping_model.h"
#include "views/measure_panel.h"
#include "views/performance_view.h"
#include "views/project_model.h"
#include "views/scatter_view.h"
#include "views/schedule_editor.h"
#include "views/search_panel.h"
#include "views/selection.h"
#include "views/start_page.h"
#include "views/timeline_view.h"

#include <QAbstractItemModelTester>
#include <QCheckBox>
#include <QListWidget>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QStatusBar>
#include <QThreadPool>
#include <QTreeWidget>
#include <QComboBox>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QUndoStack>
#include <QPlainTextEdit>
#include <QTableView>
#include <QTemporaryDir>
#include <QTreeView>
#include <QtTest>

using isamap::studio::MainWindow;

namespace {
QString example() { return QString(ISAMAP_RESOURCES_DIR) + "/examples/dwsep_block.isa"; }

// Opens the example with the schedule editor on the pointwise kernel; true once it holds a schedule.
bool editPointwise(MainWindow& window) {
    if (!window.openFile(example()))
        return false;
    window.mappingKernelBox()->setCurrentText("kernel pointwise");
    return QTest::qWaitFor([&] { return window.scheduleEditor()->hasSchedule(); });
}

// A writable copy of the bundled example project.
QString copyOfExampleProject(const QTemporaryDir& dir) {
    const QString copy = dir.filePath("example.isamap");
    QFile::copy(QString(ISAMAP_RESOURCES_DIR) + "/examples/dwsep_block.isamap", copy);
    QFile::setPermissions(copy, QFile::ReadOwner | QFile::WriteOwner);
    return copy;
}

bool openProjectAndWait(MainWindow& window, const QString& path) {
    QSignalSpy opened(&window, &MainWindow::projectOpened);
    window.openFile(path);
    return (opened.count() > 0 || opened.wait(20000)) && opened.front().front().toBool();
}

// A GEMM as the library writes it (DeepBench's column-major convention), in a file of its own.
QString writeGemm(const QTemporaryDir& dir, int m, int n, int k) {
    const QString path = dir.filePath("gemm.isa");
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly))
        return {};
    file.write(QStringLiteral("kernel gemm(M = %1, N = %2, K = %3) {\n  dim m < M, n < N\n  reduce k < K\n"
                              "  in A : f32[M, K] col_major\n  in B : f32[K, N] col_major\n  out C : f32[M, N] col_major\n"
                              "  C[m, n] += A[m, k] * B[k, n]\n}\n")
                   .arg(m)
                   .arg(n)
                   .arg(k)
                   .toUtf8());
    return path;
}

// Opens `path` with the host target chosen and waits for the best candidate's schedule in the editor.
bool openOnHost(MainWindow& window, const QString& path) {
    if (!window.openFile(path))
        return false;
    window.targetBox()->setCurrentText("host");
    return QTest::qWaitFor([&] {
        const auto& space = window.scheduleEditor()->space();
        return space && QString::fromStdString(space->target).startsWith("host-");
    }, 20000);
}

QStringList topLevelNames(QAbstractItemModel* model) {
    QStringList names;
    for (int r = 0; r < model->rowCount(); ++r)
        names << model->index(r, 0).data().toString();
    return names;
}
} // namespace

class TstStudio : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() {
        // Recent projects and window state go to a test location, not the person's settings.
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName("isamap-tests");
        QCoreApplication::setApplicationName("tst_studio");
    }

    void opensTheExampleAndShowsItsStructure() {
        MainWindow window;
        QVERIFY(window.openFile(example()));
        QAbstractItemModelTester tester(window.structureView()->model(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        QCOMPARE(window.errorCount(), 0);
        QCOMPARE(topLevelNames(window.structureView()->model()),
                 QStringList({"kernel depthwise", "kernel pointwise", "graph dwsep_block"}));
        QCOMPARE(window.problemsView()->model()->rowCount(), 0);
    }

    void anEditThatBreaksTheKernelShowsTheDiagnostic() {
        MainWindow window;
        QVERIFY(window.openFile(example()));
        QString text = window.editor()->toPlainText();
        text.replace("Y[k, h, w] += F[k, c] * X[c, h, w]", "Y[k, h, w] += F[k, c] * X[c, h, q]");
        window.editor()->setPlainText(text);
        // The recheck runs shortly after the edit, without being asked.
        QTRY_COMPARE(window.errorCount(), 1);
        auto* problems = window.problemsView()->model();
        QCOMPARE(problems->rowCount(), 1);
        const QString location = problems->index(0, isamap::views::DiagnosticsModel::Location).data().toString();
        const QString message = problems->index(0, isamap::views::DiagnosticsModel::Message).data().toString();
        QVERIFY2(location.startsWith("dwsep_block.isa:22:"), qPrintable(location));
        QVERIFY(message.contains("undeclared dimension 'q'"));

        // Clicking the problem puts the cursor on the offending line and column.
        window.goToProblem(0);
        const QTextCursor cursor = window.editor()->textCursor();
        QCOMPARE(cursor.blockNumber() + 1, 22);
        QCOMPARE(cursor.positionInBlock() + 1, problems->index(0, 0).data(isamap::views::DiagnosticsModel::ColumnRole).toInt());
    }

    void theMappingExplorerListsCandidatesAndWhy() {
        MainWindow window;
        QVERIFY(window.openFile(example()));
        QAbstractItemModelTester tester(window.mappingModel(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        // The first kernel of the example on the default target; the mapping runs off the GUI thread.
        QCOMPARE(window.targetBox()->currentText(), QString("nnp-like"));
        QTRY_VERIFY(window.mappingModel()->rowCount() > 0);
        QVERIFY(window.mappingModel()->validCount() > 0);
        const auto* best = window.mappingModel()->candidate(0);
        QVERIFY(best && best->valid);
        QCOMPARE(QString::fromStdString(best->instruction), QString("mma32"));

        // Another target, another answer: the host's vector FMA.
        window.targetBox()->setCurrentText("host-avx512");
        QTRY_COMPARE(QString::fromStdString(window.mappingModel()->candidate(0)->instruction), QString("vfmadd_bcast_f32"));

        // Rejected candidates say why; the filter finds them.
        window.mappingFilter()->setText("rejected: output");
        QTRY_VERIFY(window.mappingView()->model()->rowCount() > 0);
        const QString status = window.mappingView()->model()->index(0, isamap::views::MappingModel::Status).data().toString();
        QVERIFY2(status.startsWith("rejected: output"), qPrintable(status));
        QVERIFY(window.mappingView()->model()->rowCount() < window.mappingModel()->rowCount());

        // The graph's nodes are there too, each with its own parameter values.
        QVERIFY(window.mappingKernelBox()->findText("dwsep_block.pw (pointwise)") >= 0);
    }

    void aSearchRunsInTheBackgroundAndCanBeCancelled() {
        MainWindow window;
        QVERIFY(window.openFile(example()));
        auto* panel = window.searchPanel();
        window.mappingKernelBox()->setCurrentText("kernel pointwise");
        // A short search finishes and shows the best schedule as a loop nest with its modeled time.
        panel->budgetBox()->setValue(2000);
        panel->searchButton()->click();
        QTRY_VERIFY_WITH_TIMEOUT(!panel->running(), 30000);
        QVERIFY2(panel->status().contains("finished: 2000 evaluations"), qPrintable(panel->status()));
        QVERIFY(panel->status().contains("Best so far"));
        QVERIFY(panel->bestText().contains("mma32("));
        QCOMPARE(panel->progressBar()->value(), 100);
        // On a virtual target the simulator times the best schedule and draws its timeline.
        QVERIFY2(panel->status().contains("simulated"), qPrintable(panel->status()));
        QVERIFY(panel->timeline()->barCount() > 0);
        QVERIFY(panel->timeline()->rowCount() >= 2); // compute units and at least one data mover
        QVERIFY(panel->scatter()->pointCount() > 1);  // simulated against modeled, several schedules

        // A long one keeps the window responsive and stops on Cancel.
        panel->budgetBox()->setValue(50'000'000);
        panel->searchButton()->click();
        QVERIFY(panel->running());
        QVERIFY(!panel->searchButton()->isEnabled());
        QTRY_VERIFY(panel->progressBar()->value() >= 1 || panel->status().contains("Best so far"));
        panel->cancelButton()->click();
        QTRY_VERIFY_WITH_TIMEOUT(!panel->running(), 10000);
        QVERIFY2(panel->status().contains("cancelled after"), qPrintable(panel->status()));
        QVERIFY(panel->searchButton()->isEnabled());
    }

    void theIrGraphIsLaidOutByGraphviz() {
        MainWindow window;
        QVERIFY(window.openFile(example()));
        // The op graph first: 5 tensors and 2 nodes, 6 edges along the data.
        QCOMPARE(window.graphBox()->currentText(), QString("graph dwsep_block"));
        QTRY_COMPARE(window.graphView()->nodeCount(), 7);
        QCOMPARE(window.graphView()->edgeCount(), 6);
        QVERIFY(window.graphView()->find("pw"));
        QVERIFY(!window.graphView()->find("no such node"));
        // A kernel's structure: its dimensions, tensors and statement.
        window.graphBox()->setCurrentText("kernel pointwise");
        QTRY_COMPARE(window.graphView()->nodeCount(), 4 + 3 + 1);
    }

    void aTargetWrittenInTheFileMapsAsItIsEdited() {
        QTemporaryDir dir;
        QFile file(dir.filePath("own.isa"));
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write("kernel mm(M = 16, N = 16, K = 16) {\n  dim m < M, n < N\n  reduce k < K\n  in A : f32[M, K]\n"
                   "  in B : f32[K, N]\n  out C : f32[M, N]\n  C[m, n] += A[m, k] * B[k, n]\n}\n"
                   "target mine {\n  memory dram { bytes = 1 GiB, bandwidth = 10 GB/s, latency = 100 ns }\n"
                   "  memory sram { bytes = 1 MiB, bandwidth = 100 GB/s, latency = 1 ns, parent = dram }\n"
                   "  unit mxu { clock = 1 GHz, count = 1 }\n"
                   "  instruction mma4 on mxu (throughput = 1, latency = 4) {\n    dim i < 4, j < 4\n    reduce k < 4\n"
                   "    in a : f32[4, 4] @ sram\n    in b : f32[4, 4] @ sram\n    inout c : f32[4, 4] @ sram\n"
                   "    c[i, j] += a[i, k] * b[k, j]\n  }\n}\n");
        file.close();
        MainWindow window;
        QVERIFY(window.openFile(file.fileName()));
        QVERIFY(window.targetBox()->findText("this file: mine") >= 0);
        window.targetBox()->setCurrentText("this file: mine");
        QTRY_VERIFY(window.mappingModel()->rowCount() > 0 &&
                    window.mappingModel()->candidate(0)->instruction == "mma4");
        QCOMPARE(window.mappingModel()->candidate(0)->dims[0].instructionExtent, std::int64_t(4));
        // Edit the instruction: the mapping follows.
        QString text = window.editor()->toPlainText();
        text.replace("dim i < 4, j < 4\n    reduce k < 4", "dim i < 8, j < 8\n    reduce k < 8");
        text.replace("[4, 4]", "[8, 8]");
        window.editor()->setPlainText(text);
        QTRY_VERIFY(window.mappingModel()->rowCount() > 0 &&
                    window.mappingModel()->candidate(0)->dims[0].instructionExtent == 8);
        QCOMPARE(window.targetBox()->currentText(), QString("this file: mine"));
    }

    void theScheduleEditorRefusesIllegalEditsAndUndoes() {
        MainWindow window;
        QVERIFY(editPointwise(window));
        auto* editor = window.scheduleEditor();
        const double before = editor->modeledSeconds();
        QVERIFY(before > 0);

        // One instruction tile per loop at sram: far more transfers, a new modeled time at once.
        const std::size_t loops = editor->current().levels[1].tiles.size();
        for (std::size_t d = 0; d < loops; ++d)
            QVERIFY(editor->setTile(1, d, 1));
        const double starved = editor->modeledSeconds();
        QVERIFY(starved > before);

        // An order naming a loop that does not exist is refused with the reason, and nothing changes.
        const auto kept = editor->current();
        QVERIFY(!editor->setOrder(1, {"no-such-loop"}));
        QVERIFY2(editor->message().startsWith("Refused: there is no loop"), qPrintable(editor->message()));
        QVERIFY(editor->current() == kept);
        QCOMPARE(editor->modeledSeconds(), starved);

        // Undo walks back to the start, redo forward again.
        QCOMPARE(editor->undoStack()->count(), static_cast<int>(loops));
        while (editor->undoStack()->canUndo())
            editor->undoStack()->undo();
        QCOMPARE(editor->modeledSeconds(), before);
        while (editor->undoStack()->canRedo())
            editor->undoStack()->redo();
        QCOMPARE(editor->modeledSeconds(), starved);
    }

    void aRaceIsRefusedInWords() {
        MainWindow window;
        QVERIFY(editPointwise(window));
        auto* editor = window.scheduleEditor();
        const auto kept = editor->current();
        // Some loop runs in parallel by default; turning on every loop in turn finds the reduction,
        // which is refused because the units would race on the output.
        bool refused = false;
        for (std::size_t d = 0; d < kept.parallel.size() && !refused; ++d)
            if (!kept.parallel[d] && !editor->setParallel(d, true))
                refused = editor->message().contains("race on Y");
        QVERIFY2(refused, qPrintable(editor->message()));
    }

    // Packing is steered from the editor: an input kept in a cache level can be packed, the output
    // cannot.
    void packingIsToggledInTheEditor() {
        MainWindow window;
        QVERIFY(editPointwise(window));
        auto* editor = window.scheduleEditor();
        const auto& space = *editor->space();
        std::size_t input = 0, output = 0;
        for (std::size_t o = 0; o < space.operands.size(); ++o)
            (space.operands[o].output ? output : input) = o;
        QVERIFY(!editor->setPacked(output, true));
        QVERIFY2(editor->message().contains("only inputs are packed"), qPrintable(editor->message()));
        // The instruction reads the input from sram, so sram keeps it and it can be packed there. (An
        // input no cache keeps is refused: tst_schedule's packingIsAScheduleDecision.)
        QVERIFY(isamap::schedule::packLevel(editor->current(), input) >= 0);
        QVERIFY2(editor->setPacked(input, true), qPrintable(editor->message()));
        QVERIFY(editor->current().packed[input]);
        QVERIFY(isamap::schedule::printSchedule(space, editor->current()).find("\npack " + space.operands[input].tensor) !=
                std::string::npos);
        // The table is rebuilt once the edit's signal returns; its toggle then shows the packing.
        const QString name = "pack-" + QString::fromStdString(space.operands[input].tensor);
        QTRY_VERIFY([&] {
            QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
            auto* toggle = editor->findChild<QCheckBox*>(name);
            return toggle && toggle->isChecked();
        }());
    }

    void aMalformedFileOpensWithItsDiagnostics() {
        QTemporaryDir dir;
        QFile bad(dir.filePath("bad.isa"));
        QVERIFY(bad.open(QIODevice::WriteOnly));
        bad.write("target t {\n  memory m { bytes = 3 GHz, bandwidth = 1 GB/s }\n}\n");
        bad.close();
        MainWindow window;
        QVERIFY(window.openFile(bad.fileName()));
        QCOMPARE(window.errorCount(), 1);
        const QString location = window.problemsView()->model()->index(0, 1).data().toString();
        QCOMPARE(location, QString("bad.isa:2:24"));
    }

    void theExampleProjectOpensWithItsSchedulesInEveryView() {
        QTemporaryDir dir;
        MainWindow window;
        QVERIFY(openProjectAndWait(window, copyOfExampleProject(dir)));
        const auto& contents = window.projectModel()->contents();
        QVERIFY(window.projectModel()->rowCount() > 50);
        QCOMPARE(window.projectPath(), dir.filePath("example.isamap"));
        QVERIFY(window.recentProjects().contains(dir.filePath("example.isamap")));
        // The plots received the stored figures: the measured ones in the scatter, all on the roofline.
        const auto measured = std::count_if(contents.schedules.begin(), contents.schedules.end(),
                                            [](const auto& s) { return s.measured.has_value(); });
        QCOMPARE(window.performanceView()->scatter()->pointCount(), static_cast<int>(measured));
        QVERIFY(window.performanceView()->roofline()->pointCount() >= window.projectModel()->rowCount());
        QVERIFY(window.performanceView()->roofline()->curveCount() >= 2);
        // The fastest schedule is selected: the editor edits it and the code view prints it.
        const auto& fastest = contents.schedules.front();
        QCOMPARE(window.selection()->scheduleId(), fastest.record.id);
        QTRY_VERIFY(window.scheduleEditor()->hasSchedule() &&
                    window.scheduleEditor()->space()->candidateKey == fastest.record.candidateKey);
        QCOMPARE(window.scheduleEditor()->modeledSeconds(), fastest.record.modeledSeconds);
        QTRY_VERIFY(window.codeView()->text("Loop nest").contains("mma32("));
        // The editor holds the project's kernels.
        QVERIFY(window.editor()->toPlainText().contains("kernel pointwise"));
        QCOMPARE(window.errorCount(), 0);
    }

    void selectingAScheduleAnywhereSelectsItEverywhere() {
        QTemporaryDir dir;
        MainWindow window;
        QVERIFY(openProjectAndWait(window, copyOfExampleProject(dir)));
        const auto& contents = window.projectModel()->contents();
        // A measured depthwise schedule, clicked in the scatter.
        const auto depthwise = std::find_if(contents.schedules.begin(), contents.schedules.end(), [](const auto& s) {
            return s.kernel == "depthwise" && s.measured.has_value();
        });
        QVERIFY(depthwise != contents.schedules.end());
        auto* scatter = window.performanceView()->scatter();
        window.showView("performance");
        scatter->grab(); // drawn once, so that the pixels know their points
        int index = -1;
        for (std::size_t i = 0; i < scatter->points().size(); ++i)
            if (scatter->points()[i].id == depthwise->record.id)
                index = static_cast<int>(i);
        QVERIFY(index >= 0);
        const QPoint at = scatter->positionOf(index);
        // Several schedules may share the pixel; the click selects the one drawn there.
        QTest::mouseClick(scatter, Qt::LeftButton, {}, at);
        const qint64 clicked = scatter->points()[static_cast<std::size_t>(scatter->pointAt(at))].id;
        QCOMPARE(window.selection()->scheduleId(), clicked);
        const auto* stored = contents.find(clicked);
        QVERIFY(stored);
        // The project table, the roofline, the mapping table and the editor follow.
        QCOMPARE(window.projectView()->currentIndex().data(isamap::views::ProjectModel::ScheduleIdRole).toLongLong(), clicked);
        QCOMPARE(window.performanceView()->roofline()->highlighted(), clicked);
        QCOMPARE(window.mappingKernelBox()->currentText(), QString::fromStdString("kernel " + stored->kernel));
        QTRY_COMPARE(window.scheduleEditor()->modeledSeconds(), stored->record.modeledSeconds);
        QTRY_VERIFY(window.mappingView()->currentIndex().isValid());
        const auto* candidate = window.mappingModel()->candidate(
            qobject_cast<QSortFilterProxyModel*>(window.mappingView()->model())->mapToSource(window.mappingView()->currentIndex()).row());
        QVERIFY(candidate);
        QCOMPARE(candidate->key, stored->record.candidateKey);

        // Choosing another candidate in the mapping table drops the stored schedule everywhere.
        const int other = window.mappingView()->currentIndex().row() == 0 ? 1 : 0;
        window.mappingView()->setCurrentIndex(window.mappingView()->model()->index(other, 0));
        QCOMPARE(window.selection()->scheduleId(), 0);
        QVERIFY(!window.projectView()->selectionModel()->hasSelection());
        QCOMPARE(window.performanceView()->scatter()->highlighted(), 0);
    }

    void pinAndForbidBecomeConstraintsInTheScheduleEditor() {
        MainWindow window;
        QVERIFY(window.openFile(example()));
        window.mappingKernelBox()->setCurrentText("kernel pointwise");
        QTRY_VERIFY(window.mappingModel()->validCount() > 1 && window.scheduleEditor()->hasSchedule());
        // Pin the second valid candidate: the editor moves to it and lists the pin.
        int second = -1;
        for (int row = 0, valid = 0; row < window.mappingModel()->rowCount(); ++row)
            if (window.mappingModel()->candidate(row)->valid && ++valid == 2)
                second = row;
        QVERIFY(second > 0);
        const std::string key = window.mappingModel()->candidate(second)->key;
        window.pinCandidate(second);
        QCOMPARE(window.rules().pinned(), key);
        QCOMPARE(window.scheduleEditor()->space()->candidateKey, key);
        QVERIFY2(window.scheduleEditor()->rulesText().contains("pin candidate"), qPrintable(window.scheduleEditor()->rulesText()));
        QCOMPARE(window.selection()->candidate(), QString::fromStdString(key));
        QVERIFY(window.mappingModel()->index(second, isamap::views::MappingModel::Status).data().toString().startsWith("pinned"));
        // Forbid it: the pin goes, the editor moves to the best candidate still allowed.
        window.forbidCandidate(second);
        QVERIFY(window.rules().pinned().empty());
        QVERIFY(window.scheduleEditor()->space()->candidateKey != key);
        QVERIFY(window.scheduleEditor()->rulesText().contains("forbid candidate"));
        QVERIFY(window.mappingModel()->index(second, isamap::views::MappingModel::Status).data().toString().startsWith("forbidden"));
        // A search honours it: the candidate it schedules is not the forbidden one.
        auto* panel = window.searchPanel();
        panel->budgetBox()->setValue(500);
        panel->searchButton()->click();
        QTRY_VERIFY_WITH_TIMEOUT(!panel->running(), 30000);
        QTRY_VERIFY(window.scheduleEditor()->space()->candidateKey != key);
    }

    void dragReorderAndPlacementEditsAreUndoable() {
        MainWindow window;
        QVERIFY(window.openFile(example()));
        window.mappingKernelBox()->setCurrentText("kernel pointwise");
        auto* editor = window.scheduleEditor();
        QTRY_VERIFY(editor->hasSchedule() && editor->orderList(1));
        const auto before = editor->current();
        const double modeled = editor->modeledSeconds();
        // A drop moves a row of the level's loop list; the level's order follows.
        QListWidget* list = editor->orderList(1);
        const QString first = list->item(0)->text();
        QVERIFY(list->model()->moveRow({}, 0, {}, list->count()));
        QCOMPARE(editor->current().levels[1].order.back(), before.levels[1].order.front());
        QCOMPARE(editor->undoStack()->count(), 1);
        QTRY_COMPARE(editor->orderList(1)->item(editor->orderList(1)->count() - 1)->text(), first);
        // The operand the instruction reads from sram cannot leave it: refused with the reason.
        std::size_t required = 0;
        for (std::size_t o = 0; o < editor->space()->operands.size(); ++o)
            if (editor->space()->operands[o].requiredMemory == editor->space()->levels[1].memory)
                required = o;
        const auto kept = editor->current();
        QVERIFY(!editor->setKeeps(1, required, false));
        QVERIFY2(editor->message().startsWith("Refused"), qPrintable(editor->message()));
        QVERIFY(editor->current() == kept);
        // Undo brings back the first order and its modeled time.
        editor->undoStack()->undo();
        QVERIFY(editor->current() == before);
        QCOMPARE(editor->modeledSeconds(), modeled);
    }

    void aTileEditChangesTheModeledTimeAndSavesIntoTheProject() {
        QTemporaryDir dir;
        MainWindow window;
        QVERIFY(openProjectAndWait(window, copyOfExampleProject(dir)));
        auto* editor = window.scheduleEditor();
        QTRY_VERIFY(editor->hasSchedule());
        const double stored = editor->modeledSeconds();
        // Starve sram: one instruction tile per loop.
        for (std::size_t d = 0; d < editor->current().levels[1].tiles.size(); ++d)
            editor->setTile(1, d, 1);
        const double edited = editor->modeledSeconds();
        QVERIFY(edited > stored);
        QTRY_VERIFY(window.codeView()->text("Loop nest").contains("mma32("));
        // Saved as a new project with the edited schedule; opened again, it is there, made by hand.
        const QString saved = dir.filePath("saved.isamap");
        QSignalSpy opened(&window, &MainWindow::projectOpened);
        QVERIFY(window.saveProjectAs(saved));
        QVERIFY(opened.wait(20000));
        MainWindow again;
        QVERIFY(openProjectAndWait(again, saved));
        const auto& schedules = again.projectModel()->contents().schedules;
        const auto byHand = std::find_if(schedules.begin(), schedules.end(), [](const auto& s) { return s.record.runId == 0; });
        QVERIFY(byHand != schedules.end());
        QCOMPARE(byHand->record.modeledSeconds, edited);
        QCOMPARE(schedules.size(), window.projectModel()->contents().schedules.size());
        QVERIFY(schedules.size() > 50); // the copied runs came along
    }

    void aMalformedProjectIsRefusedWithADiagnostic() {
        QTemporaryDir dir;
        QFile bad(dir.filePath("broken.isamap"));
        QVERIFY(bad.open(QIODevice::WriteOnly));
        bad.write(QByteArray(4096, 'x'));
        bad.close();
        MainWindow window;
        QSignalSpy opened(&window, &MainWindow::projectOpened);
        window.openFile(bad.fileName());
        QVERIFY(opened.wait(10000));
        QCOMPARE(opened.front().front().toBool(), false);
        QCOMPARE(window.errorCount(), 1);
        const QString location = window.problemsView()->model()->index(0, isamap::views::DiagnosticsModel::Location).data().toString();
        const QString message = window.problemsView()->model()->index(0, isamap::views::DiagnosticsModel::Message).data().toString();
        QVERIFY2(location.startsWith("broken.isamap"), qPrintable(location));
        QVERIFY2(message.contains("broken.isamap"), qPrintable(message));
        QVERIFY(window.projectPath().isEmpty());
        QCOMPARE(window.projectModel()->rowCount(), 0);
    }

    void theStartPageOpensTheExampleAndASuiteEntry() {
        MainWindow window;
        window.showStartPage();
        QCOMPARE(window.centralTabs()->currentWidget(), static_cast<QWidget*>(window.startPage()));
        // A MobileNet layer opens as a kernel that checks and maps.
        window.startPage()->expandSuite("mobilenet-v1");
        auto* suite = window.startPage()->suites()->findItems("mobilenet-v1", Qt::MatchExactly).front();
        QVERIFY(suite->childCount() > 0);
        emit window.startPage()->suites()->itemActivated(suite->child(0), 0);
        QCOMPARE(window.errorCount(), 0);
        QVERIFY(window.editor()->toPlainText().contains("mobilenet-v1"));
        QTRY_VERIFY(window.mappingModel()->validCount() > 0);
        // The bundled example project opens as a copy, leaving the shipped file as it is.
        QSignalSpy opened(&window, &MainWindow::projectOpened);
        emit window.startPage()->examples()->itemActivated(window.startPage()->examples()->item(0));
        QVERIFY(opened.wait(20000));
        QVERIFY(opened.front().front().toBool());
        QVERIFY(!window.projectPath().startsWith(ISAMAP_RESOURCES_DIR));
        QVERIFY(window.projectModel()->rowCount() > 50);
    }

    void theSearchDrawsItsConvergence() {
        MainWindow window;
        QVERIFY(window.openFile(example()));
        window.mappingKernelBox()->setCurrentText("kernel pointwise");
        auto* panel = window.searchPanel();
        panel->budgetBox()->setValue(3000);
        QTRY_VERIFY(panel->searchButton()->isEnabled());
        panel->searchButton()->click();
        QTRY_VERIFY_WITH_TIMEOUT(!panel->running(), 30000);
        auto* convergence = window.performanceView()->convergence();
        QVERIFY(convergence->pointCount() >= 2);
        // Best so far only improves.
        const auto& points = convergence->points();
        for (std::size_t i = 1; i < points.size(); ++i)
            QVERIFY(points[i].y < points[i - 1].y && points[i].x > points[i - 1].x);
        // The step line holds the best to the end of the search.
        QCOMPARE(convergence->curveCount(), 1);
        QCOMPARE(convergence->curves().front().points.back().first, 3000.0);
    }
    void theCodeViewShowsLlvmIrAndAssemblyOfAHostGemm() {
        QTemporaryDir dir;
        MainWindow window;
        QVERIFY(openOnHost(window, writeGemm(dir, 256, 64, 128)));
        auto* code = window.codeView();
        QVERIFY(code->tabNames().contains("LLVM IR") && code->tabNames().contains("Assembly"));
        // The instruction's own lowering: a vector FMA as wide as the host target's registers.
        const QString target = QString::fromStdString(window.scheduleEditor()->space()->target);
        const QString fma = target.startsWith("host-avx512") ? "llvm.fma.v16f32" : "llvm.fma.v8f32";
        QTRY_VERIFY_WITH_TIMEOUT(code->text("LLVM IR").contains(fma), 60000);
        QVERIFY(code->text("LLVM IR").startsWith("; code plan:"));
        QVERIFY2(code->text("LLVM IR").contains("define"), qPrintable(code->text("LLVM IR").left(400)));
        QTRY_VERIFY_WITH_TIMEOUT(code->text("Assembly").contains("vfmadd"), 60000);
        // An edit regenerates the code from the edited schedule: the loop nest follows the new tile.
        const QString before = code->text("Loop nest");
        QVERIFY(window.scheduleEditor()->setTile(1, 0, 1));
        QTRY_VERIFY(code->text("Loop nest") != before && !code->text("Loop nest").startsWith("Generating"));
        QTRY_VERIFY_WITH_TIMEOUT(code->text("LLVM IR").contains(fma), 60000);
    }

    void onAVirtualTargetTheNativeTabsSayWhy() {
        MainWindow window;
        QVERIFY(window.openFile(example()));
        QCOMPARE(window.targetBox()->currentText(), QString("nnp-like"));
        QTRY_VERIFY(window.scheduleEditor()->hasSchedule());
        auto* code = window.codeView();
        QTRY_VERIFY_WITH_TIMEOUT(code->text("LLVM IR").contains("is not a host instruction"), 30000);
        QVERIFY(code->text("Assembly").contains("is not a host instruction"));
        QTRY_VERIFY(code->text("Loop nest").contains("mma32("));
        // Measuring is refused in words, and nothing starts.
        window.measureSchedule();
        QVERIFY(!window.measurePanel()->running());
        QVERIFY2(window.measurePanel()->resultText().contains("nnp-like is a virtual target"),
                 qPrintable(window.measurePanel()->resultText()));
        QVERIFY(window.statusBar()->currentMessage().contains("virtual target"));
    }

    void measuringAHostGemmVerifiesItAndPlotsItInTheProject() {
        QTemporaryDir dir;
        MainWindow window;
        window.setWorkerExecutable(ISAMAP_CLI);
        QVERIFY(openOnHost(window, writeGemm(dir, 64, 16, 16)));
        // A new project keeps the editor's schedule; nothing is measured yet.
        QVERIFY(openProjectAndWait(window, [&] {
            window.saveProjectAs(dir.filePath("gemm.isamap"));
            return dir.filePath("gemm.isamap");
        }()));
        QCOMPARE(window.projectModel()->rowCount(), 1);
        QCOMPARE(window.performanceView()->scatter()->pointCount(), 0);
        QTRY_VERIFY(window.scheduleEditor()->hasSchedule());

        QSignalSpy reopened(&window, &MainWindow::projectOpened);
        window.measureAction()->trigger();
        auto* panel = window.measurePanel();
        QVERIFY(panel->running());
        QVERIFY(panel->cancelButton()->isEnabled() && !panel->measureButton()->isEnabled());
        QTRY_VERIFY_WITH_TIMEOUT(!panel->running(), 150000);
        const QString result = panel->resultText();
        QVERIFY2(result.contains("Measured") && result.contains("GFLOP/s") && result.contains("% of the peak"), qPrintable(result));
        QVERIFY2(result.contains("against the interpreter"), qPrintable(result));
        // Kept beside the stored schedule, and plotted once the project is read again.
        QVERIFY(reopened.count() > 0 || reopened.wait(20000));
        QCOMPARE(window.projectModel()->rowCount(), 1);
        const auto& stored = window.projectModel()->contents().schedules.front();
        QVERIFY(stored.measured && *stored.measured > 0);
        QCOMPARE(QString::fromStdString(stored.measuredKind), QString("host"));
        QCOMPARE(window.performanceView()->scatter()->pointCount(), 1);
    }

    void aCancelledMeasurementIsDropped() {
        QTemporaryDir dir;
        MainWindow window;
        window.setWorkerExecutable(ISAMAP_CLI);
        QVERIFY(openOnHost(window, writeGemm(dir, 64, 16, 16)));
        auto* panel = window.measurePanel();
        panel->measureButton()->click();
        QVERIFY(panel->running());
        panel->cancelButton()->click();
        QVERIFY(!panel->running());
        QVERIFY(panel->resultText().startsWith("Cancelled"));
        // The worker finishes on its own; what it sends back changes nothing.
        QVERIFY(QThreadPool::globalInstance()->waitForDone(150000));
        QCoreApplication::processEvents();
        QVERIFY2(panel->resultText().startsWith("Cancelled"), qPrintable(panel->resultText()));
        QVERIFY(panel->measureButton()->isEnabled());
    }

    void measuringWithoutTheCommandLineToolSaysSo() {
        QTemporaryDir dir;
        MainWindow window;
        window.setWorkerExecutable(dir.filePath("no-such-isamap"));
        QVERIFY(openOnHost(window, writeGemm(dir, 64, 16, 16)));
        window.measureSchedule();
        QVERIFY(!window.measurePanel()->running());
        QVERIFY2(window.statusBar()->currentMessage().contains("no command-line tool at"),
                 qPrintable(window.statusBar()->currentMessage()));
    }
};

QTEST_MAIN(TstStudio)
#include "tst_studio.moc"
