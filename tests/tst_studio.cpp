// The studio's window, driven as a user would: open the example, read its structure, break the text
// and see the diagnostic in the problems panel, click it and land on the line.
#include "main_window.h"
#include "views/diagnostics_model.h"
#include "views/structure_model.h"

#include "views/graph_view.h"
#include "views/mapping_model.h"
#include "views/scatter_view.h"
#include "views/schedule_editor.h"
#include "views/search_panel.h"
#include "views/timeline_view.h"

#include <QAbstractItemModelTester>
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
        QVERIFY(window.openFile(example()));
        window.mappingKernelBox()->setCurrentText("kernel pointwise");
        auto* editor = window.scheduleEditor();
        QTRY_VERIFY(editor->hasSchedule());
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
        QVERIFY(window.openFile(example()));
        window.mappingKernelBox()->setCurrentText("kernel pointwise");
        auto* editor = window.scheduleEditor();
        QTRY_VERIFY(editor->hasSchedule());
        const auto kept = editor->current();
        // Some loop runs in parallel by default; turning on every loop in turn finds the reduction,
        // which is refused because the units would race on the output.
        bool refused = false;
        for (std::size_t d = 0; d < kept.parallel.size() && !refused; ++d)
            if (!kept.parallel[d] && !editor->setParallel(d, true))
                refused = editor->message().contains("race on Y");
        QVERIFY2(refused, qPrintable(editor->message()));
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
};

QTEST_MAIN(TstStudio)
#include "tst_studio.moc"
