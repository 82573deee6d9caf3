// isamap tune and isamap schedule show, end to end: the search, its progress, its results in a real
// project file, constraints and their conflicts, and a tune process killed with SIGKILL mid-search.
#include "store/project.h"

#include "cli_process.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>
#include <csignal>
#include <sqlite3.h>

using namespace isamap;
using isamap::testing::isamapCli;
using isamap::testing::writeFile;

namespace {

QString integrityCheck(const QString& path) {
    sqlite3* db = nullptr;
    QString result = "cannot open";
    if (sqlite3_open_v2(path.toUtf8().constData(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
            result = QString::fromUtf8(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return result;
}

const QStringList kGemm = {"gemm", "M=512", "N=64", "K=512", "--target", "nnp-like"};

} // namespace

class TstTune : public QObject {
    Q_OBJECT
private slots:
    void tuneStoresTheBestSchedules() {
        QTemporaryDir dir;
        const QString project = dir.filePath("p.isamap");
        auto r = isamapCli(QStringList{"tune"} + kGemm +
                           QStringList{"--strategy", "random", "--budget", "3000", "--seed", "3", "--project", project, "--json"});
        QVERIFY2(r.status == 0, qPrintable(r.err));
        const auto doc = QJsonDocument::fromJson(r.out.toUtf8());
        const QJsonArray schedules = doc["schedules"].toArray();
        QVERIFY(!schedules.isEmpty());
        QCOMPARE(doc["evaluations"].toInt(), 3000);
        double previous = 0;
        for (const auto& value : schedules) {
            const auto s = value.toObject();
            QVERIFY(s["id"].toInt() > 0);
            QVERIFY(s["seconds"].toDouble() >= previous);
            previous = s["seconds"].toDouble();
            QVERIFY(s["bound"].toString().contains("-bound"));
            QVERIFY(s["breakdown"].toObject()["warm"].isNull()); // a virtual accelerator copies in every run
        }
        const int bestId = schedules.first().toObject()["id"].toInt();
        auto shown = isamapCli({"schedule", "show", QString::number(bestId), "--project", project});
        QVERIFY2(shown.status == 0, qPrintable(shown.err));
        QVERIFY(shown.out.contains("mma32("));
        QVERIFY(shown.out.contains("modeled"));

        // The project holds the run, finished, with its settings.
        std::string error;
        auto p = store::Project::open(project.toStdString(), error);
        QVERIFY2(p, error.c_str());
        auto runs = p->runs(error);
        QVERIFY(runs && runs->size() == 1);
        QCOMPARE(runs->front().status, std::string("finished"));
        QCOMPARE(runs->front().strategy, std::string("random"));
        QCOMPARE(runs->front().seed, std::uint64_t(3));
        QCOMPARE(integrityCheck(project), QString("ok"));
    }

    void sameSeedSameResult() {
        const QStringList args = QStringList{"tune"} + kGemm + QStringList{"--strategy", "annealing", "--budget", "2000", "--seed", "9", "--json"};
        auto a = isamapCli(args);
        auto b = isamapCli(args);
        QCOMPARE(a.status, 0);
        const auto first = QJsonDocument::fromJson(a.out.toUtf8())["schedules"].toArray().first().toObject();
        const auto second = QJsonDocument::fromJson(b.out.toUtf8())["schedules"].toArray().first().toObject();
        QCOMPARE(first["seconds"].toDouble(), second["seconds"].toDouble());
        QCOMPARE(first["schedule"].toString(), second["schedule"].toString());
    }

    void progressIsReportedInPlainLines() {
        auto r = isamapCli(QStringList{"tune"} + kGemm + QStringList{"--strategy", "random", "--budget", "2000"});
        QCOMPARE(r.status, 0);
        QVERIFY2(r.err.contains("progress 100%"), qPrintable(r.err));
        QVERIFY(r.out.contains("best schedule:"));
        QVERIFY(r.out.contains("where the time goes"));
        QVERIFY2(!r.out.contains("warm:"), qPrintable(r.out)); // a virtual accelerator copies in every run
        // On a CPU, a kernel whose 393 KB fit the second cache is found there from one run to the next.
        auto host = isamapCli({"tune", "gemm", "M=256", "N=64", "K=256", "--target", "host-avx512", "--budget", "200"});
        QCOMPARE(host.status, 0);
        QVERIFY2(host.out.contains("warm: the kernel's 393 KB stay in l2 from one run to the next: nothing moves dram -> l2"),
                 qPrintable(host.out));
        // The same words for a script, beside the terms whose time they explain.
        auto json = isamapCli({"tune", "gemm", "M=256", "N=64", "K=256", "--target", "host-avx512", "--budget", "200", "--json"});
        QCOMPARE(json.status, 0);
        const auto best = QJsonDocument::fromJson(json.out.toUtf8())["schedules"].toArray().first().toObject();
        QCOMPARE(best["breakdown"].toObject()["warm"].toString(),
                 QString("the kernel's 393 KB stay in l2 from one run to the next: nothing moves dram -> l2"));
    }

    void conflictingConstraintsAreNamed() {
        QTemporaryDir dir;
        const QString file = writeFile(dir, "c.txt", "# two wishes that cannot both hold\ntile m at sram = 2\n"
                                                     "tile m at sram >= 4\nparallel m\n");
        auto r = isamapCli(QStringList{"tune"} + kGemm + QStringList{"--strategy", "random", "--budget", "500", "--constraints", file});
        QCOMPARE(r.status, 1);
        QVERIFY2(r.err.contains("no legal schedule satisfies these constraints together"), qPrintable(r.err));
        QVERIFY(r.err.contains(file + ":2:1: tile m at sram = 2"));
        QVERIFY(r.err.contains(file + ":3:1: tile m at sram >= 4"));
        QVERIFY(!r.err.contains(":4:1: parallel m"));
    }

    void malformedConstraintsGetADiagnostic() {
        QTemporaryDir dir;
        const QString file = writeFile(dir, "c.txt", "tile m sram = 2\n");
        auto r = isamapCli(QStringList{"tune"} + kGemm + QStringList{"--constraints", file});
        QCOMPARE(r.status, 1);
        QVERIFY2(r.err.startsWith(file + ":1:"), qPrintable(r.err));
        QVERIFY(r.err.contains(": error: "));
    }

    void aFileThatIsNotAProjectIsLeftAlone() {
        QTemporaryDir dir;
        const QString notes = writeFile(dir, "notes.isamap", "these are my notes, not a database\n");
        auto r = isamapCli(QStringList{"tune"} + kGemm + QStringList{"--budget", "100", "--project", notes});
        QCOMPARE(r.status, 1);
        QVERIFY2(r.err.contains("not an ISA Mapper project"), qPrintable(r.err));
        QFile f(notes);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll(), QByteArray("these are my notes, not a database\n"));
    }

    // A real tune process killed with SIGKILL mid-search: the file opens, passes integrity_check, and
    // holds every schedule that had been committed before the kill.
    void killedMidSearchLosesNothingCommitted() {
        QTemporaryDir dir;
        const QString project = dir.filePath("killed.isamap");
        QProcess tune;
        tune.start(ISAMAP_CLI, QStringList{"tune", "gemm", "M=1760", "N=128", "K=1760", "--target", "host-avx512",
                                           "--strategy", "annealing", "--budget", "60s", "--project", project});
        QVERIFY(tune.waitForStarted());
        // Wait until the search has committed schedules and progress.
        std::size_t committed = 0;
        std::int64_t evaluations = 0;
        QElapsedTimer clock;
        clock.start();
        while (clock.elapsed() < 30000 && (committed < 2 || evaluations == 0)) {
            QTest::qWait(200);
            std::string error;
            auto p = store::Project::open(project.toStdString(), error);
            if (!p)
                continue;
            auto runs = p->runs(error);
            auto stored = p->schedules({}, error);
            if (runs && !runs->empty() && stored) {
                committed = stored->size();
                evaluations = runs->front().evaluations;
            }
        }
        QVERIFY2(committed >= 2 && evaluations > 0, "the search committed nothing in 30 s");
        QCOMPARE(tune.state(), QProcess::Running);
        ::kill(static_cast<pid_t>(tune.processId()), SIGKILL);
        QVERIFY(tune.waitForFinished(10000));
        QCOMPARE(tune.exitStatus(), QProcess::CrashExit);

        QCOMPARE(integrityCheck(project), QString("ok"));
        std::string error;
        auto p = store::Project::open(project.toStdString(), error);
        QVERIFY2(p, error.c_str());
        auto stored = p->schedules({}, error);
        QVERIFY(stored);
        QVERIFY(stored->size() >= committed);
        auto runs = p->runs(error);
        QCOMPARE(runs->front().status, std::string("running")); // it never got to say otherwise
        // Every committed schedule is whole: it reads back and prints.
        auto shown = isamapCli({"schedule", "show", QString::number(stored->front().id), "--project", project});
        QVERIFY2(shown.status == 0, qPrintable(shown.err));
    }
};

QTEST_GUILESS_MAIN(TstTune)
#include "tst_tune.moc"
