// The project database on real files: every record kind survives closing and reopening; files that are
// not ours, or are newer than us, are refused and left byte for byte as they were; an old schema is
// migrated with its rows; a failed write leaves what was committed; a killed writer loses only its open
// transaction.
#include "frontend/library.h"
#include "store/project.h"

#include <QDir>
#include <QTemporaryDir>
#include <QtTest>
#include <cmath>
#include <csignal>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace isamap;
using store::Project;

namespace {

QByteArray bytesOf(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

QStringList filesIn(const QTemporaryDir& dir) {
    return QDir(dir.path()).entryList(QDir::Files, QDir::Name);
}

void writeBytes(const QString& path, const QByteArray& bytes) {
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(bytes);
}

// Raw SQLite, to make files as another program (or an older version of this one) would, and to look at
// ours from outside.
class RawDatabase {
public:
    explicit RawDatabase(const QString& path) { sqlite3_open(path.toUtf8().constData(), &db_); }
    ~RawDatabase() { sqlite3_close(db_); }
    RawDatabase(const RawDatabase&) = delete;
    RawDatabase& operator=(const RawDatabase&) = delete;

    bool exec(const char* sqlText) {
        char* message = nullptr;
        const bool ok = sqlite3_exec(db_, sqlText, nullptr, nullptr, &message) == SQLITE_OK;
        if (!ok)
            qWarning("%s: %s", sqlText, message);
        sqlite3_free(message);
        return ok;
    }
    // The first column of every row.
    QStringList column(const char* sqlText) {
        QStringList values;
        sqlite3_stmt* statement = nullptr;
        sqlite3_prepare_v2(db_, sqlText, -1, &statement, nullptr);
        while (statement && sqlite3_step(statement) == SQLITE_ROW)
            values << QString::fromUtf8(reinterpret_cast<const char*>(sqlite3_column_text(statement, 0)));
        sqlite3_finalize(statement);
        return values;
    }
    QString value(const char* sqlText) { return column(sqlText).value(0); }

private:
    sqlite3* db_ = nullptr;
};

std::string kernelText(std::int64_t M) {
    std::string error;
    auto text = frontend::generateText("gemm", {{"M", M}, {"N", 16}, {"K", 32}}, error);
    if (!text)
        qFatal("%s", error.c_str());
    return *text;
}

// A project with a kernel, a target, a finished run and two of its schedules.
struct Seeded {
    std::int64_t kernel = 0, target = 0, run = 0;
    std::vector<std::int64_t> schedules;
};

Seeded seed(Project& p) {
    std::string error;
    Seeded s;
    s.kernel = p.addKernel("gemm", kernelText(64), error).value_or(0);
    s.target = p.addTarget("nnp-like", "target nnp-like { }\n", error).value_or(0);
    s.run = p.startRun({.kernelId = s.kernel, .targetId = s.target, .strategy = "random", .seed = 7}, error)
                .value_or(0);
    store::ScheduleRecord a{.runId = s.run,
                            .kernelId = s.kernel,
                            .targetId = s.target,
                            .candidateKey = "mma32: i=m j=n k=k",
                            .text = "tile hbm m=2\n",
                            .modeledSeconds = 2e-3,
                            .bound = "compute-bound",
                            .breakdownJson = "{}"};
    store::ScheduleRecord b = a;
    b.text = "tile hbm m=4\n";
    b.modeledSeconds = 1e-3;
    s.schedules = p.addSchedules({a, b}, error).value_or(std::vector<std::int64_t>{});
    if (!s.kernel || !s.target || !s.run || s.schedules.size() != 2 || !p.finishRun(s.run, "finished", error))
        qFatal("seeding the project failed: %s", error.c_str());
    return s;
}

// The schema of version 1, frozen as that version wrote it: a file made with it is what an
// ISA Mapper Studio of that version left behind.
constexpr const char* kVersion1Schema = R"sql(
PRAGMA application_id = 1230196048;
PRAGMA user_version = 1;
CREATE TABLE kernels (id INTEGER PRIMARY KEY, name TEXT NOT NULL, text TEXT NOT NULL, UNIQUE (name, text));
CREATE TABLE targets (id INTEGER PRIMARY KEY, name TEXT NOT NULL, text TEXT NOT NULL, UNIQUE (name, text));
CREATE TABLE candidates (
    id INTEGER PRIMARY KEY,
    kernel_id INTEGER NOT NULL REFERENCES kernels (id) ON DELETE CASCADE,
    target_id INTEGER NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    key TEXT NOT NULL, valid INTEGER NOT NULL CHECK (valid IN (0, 1)), utilisation REAL NOT NULL,
    json TEXT NOT NULL, UNIQUE (kernel_id, target_id, key));
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    kernel_id INTEGER NOT NULL REFERENCES kernels (id) ON DELETE CASCADE,
    target_id INTEGER NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    strategy TEXT NOT NULL, seed INTEGER NOT NULL, budget TEXT NOT NULL, constraints TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'cancelled', 'failed')),
    evaluations INTEGER NOT NULL DEFAULT 0, best_seconds REAL, started TEXT NOT NULL,
    finished TEXT NOT NULL DEFAULT '');
CREATE INDEX runs_by_kernel_target ON runs (kernel_id, target_id);
CREATE TABLE schedules (
    id INTEGER PRIMARY KEY,
    run_id INTEGER REFERENCES runs (id) ON DELETE CASCADE,
    kernel_id INTEGER NOT NULL REFERENCES kernels (id) ON DELETE CASCADE,
    target_id INTEGER NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    candidate_key TEXT NOT NULL, text TEXT NOT NULL, modeled_seconds REAL NOT NULL, bound TEXT NOT NULL,
    breakdown_json TEXT NOT NULL);
CREATE INDEX schedules_by_run ON schedules (run_id, modeled_seconds);
CREATE INDEX schedules_by_kernel_target ON schedules (kernel_id, target_id, modeled_seconds);
INSERT INTO kernels VALUES (1, 'gemm', 'kernel gemm() {}');
INSERT INTO targets VALUES (1, 'nnp-like', 'target nnp-like {}');
INSERT INTO candidates VALUES (1, 1, 1, 'mma32: i=m', 1, 0.5, '{"key": "mma32: i=m"}');
INSERT INTO runs VALUES (1, 1, 1, 'beam', 42, 'evaluations=10', '', 'finished', 10, 0.25,
                         '2024-01-01T00:00:00.000Z', '2024-01-01T00:01:00.000Z');
INSERT INTO schedules VALUES (1, 1, 1, 1, 'mma32: i=m', 'tile hbm m=1', 0.25, 'compute-bound', '{}');
)sql";

} // namespace

class TstStore : public QObject {
    Q_OBJECT
private slots:
    void createsAProjectThatReopens() {
        QTemporaryDir dir;
        const std::string path = dir.filePath("new.isamap").toStdString();
        std::string error;
        {
            auto p = Project::open(path, error);
            QVERIFY2(p, error.c_str());
            QCOMPARE(p->path(), path);
            QCOMPARE(p->schemaVersion(), Project::currentSchemaVersion());
        }
        auto again = Project::open(path, error);
        QVERIFY2(again, error.c_str());
        auto kernels = again->kernels(error);
        QVERIFY(kernels && kernels->empty());
    }

    void roundTripsEveryRecordKindThroughAFile() {
        QTemporaryDir dir;
        const std::string path = dir.filePath("all.isamap").toStdString();
        std::string error;
        std::int64_t kernel = 0, otherKernel = 0, target = 0, run = 0, handMade = 0, measurement = 0;
        std::vector<std::int64_t> candidateIds, batch;
        {
            auto p = Project::open(path, error);
            QVERIFY2(p, error.c_str());
            kernel = p->addKernel("gemm", kernelText(64), error).value_or(0);
            QVERIFY2(kernel > 0, error.c_str());
            // The same kernel again gives the same id; the same name with another text, another kernel.
            QCOMPARE(p->addKernel("gemm", kernelText(64), error).value_or(0), kernel);
            otherKernel = p->addKernel("gemm", kernelText(128), error).value_or(0);
            QVERIFY(otherKernel > 0 && otherKernel != kernel);
            target = p->addTarget("nnp-like", "target nnp-like { }\n", error).value_or(0);
            QVERIFY2(target > 0, error.c_str());

            std::vector<store::CandidateRecord> found{
                {.key = "mma32: i=m j=n k=k",
                 .valid = true,
                 .utilisation = 1.0,
                 .json = R"({"valid": true})"},
                {.key = "mma32: i=n j=m k=k",
                 .valid = false,
                 .json = "{\"reason\": \"c's access does not depend on k\"}"}};
            auto ids = p->addCandidates(kernel, target, found, error);
            QVERIFY2(ids && ids->size() == 2, error.c_str());
            found[0].utilisation = 0.75; // mapped again: the same key keeps its id and takes the new figures
            auto again = p->addCandidates(kernel, target, {found[0]}, error);
            QVERIFY2(again && again->front() == ids->front(), error.c_str());
            candidateIds = *ids;

            run = p->startRun({.kernelId = kernel,
                               .targetId = target,
                               .strategy = "annealing",
                               .seed = 0xFEDCBA9876543210ull,
                               .budget = "evaluations=1000",
                               .constraints = "keep k innermost"},
                              error)
                      .value_or(0);
            QVERIFY2(run > 0, error.c_str());
            QVERIFY2(p->updateRun(run, "running", 500, 3e-3, error), error.c_str());

            store::ScheduleRecord s{.runId = run,
                                    .kernelId = kernel,
                                    .targetId = target,
                                    .candidateKey = "mma32: i=m j=n k=k",
                                    .text = "tile hbm m=2 n=1 k=4\n",
                                    .modeledSeconds = 3e-3,
                                    .bound = "bandwidth-bound on hbm",
                                    .breakdownJson = R"({"compute": 1e-3, "hbm": 3e-3})"};
            std::vector<store::ScheduleRecord> many;
            for (int i = 0; i < 5; ++i) {
                many.push_back(s);
                many.back().text = "tile hbm m=" + std::to_string(i) + "\n";
                many.back().modeledSeconds = 1e-3 * (5 - i);
            }
            batch = p->addSchedules(many, error).value_or(std::vector<std::int64_t>{});
            QVERIFY2(batch.size() == 5, error.c_str());
            s.runId = 0; // made by hand, outside any search
            s.modeledSeconds = 0.5e-3;
            handMade = p->addSchedule(s, error).value_or(0);
            QVERIFY2(handMade > 0, error.c_str());
            QVERIFY2(p->finishRun(run, "cancelled", error), error.c_str());

            measurement = p->addMeasurement({.scheduleId = batch[4],
                                             .kind = "simulator",
                                             .seconds = 1.1e-3,
                                             .spread = 0.0,
                                             .detail = "timeline: 12 events"},
                                            error)
                              .value_or(0);
            QVERIFY2(measurement > 0, error.c_str());
            QVERIFY(p->addMeasurement(
                {.scheduleId = batch[4], .kind = "host", .seconds = 1.3e-3, .spread = 0.1e-3}, error));
        }

        auto p = Project::open(path, error); // everything below comes back from the file
        QVERIFY2(p, error.c_str());
        auto kernels = p->kernels(error);
        QVERIFY2(kernels && kernels->size() == 2, error.c_str());
        QCOMPARE(kernels->at(0).id, kernel);
        QCOMPARE(kernels->at(0).name, std::string("gemm"));
        QCOMPARE(kernels->at(0).text, kernelText(64));
        QCOMPARE(kernels->at(1).text, kernelText(128));
        auto targets = p->targets(error);
        QVERIFY(targets && targets->size() == 1);
        QCOMPARE(targets->front().text, std::string("target nnp-like { }\n"));

        auto candidates = p->candidates(kernel, target, error);
        QVERIFY2(candidates && candidates->size() == 2, error.c_str());
        QCOMPARE(candidates->at(0).id, candidateIds[0]);
        QCOMPARE(candidates->at(0).kernelId, kernel);
        QCOMPARE(candidates->at(0).targetId, target);
        QVERIFY(candidates->at(0).valid);
        QCOMPARE(candidates->at(0).utilisation, 0.75);
        QVERIFY(!candidates->at(1).valid);
        QCOMPARE(candidates->at(1).json, std::string("{\"reason\": \"c's access does not depend on k\"}"));
        QVERIFY(p->candidates(otherKernel, target, error)->empty());

        auto r = p->run(run, error);
        QVERIFY2(r, error.c_str());
        QCOMPARE(r->strategy, std::string("annealing"));
        QCOMPARE(r->seed, std::uint64_t(0xFEDCBA9876543210ull)); // all 64 bits, through a signed column
        QCOMPARE(r->budget, std::string("evaluations=1000"));
        QCOMPARE(r->constraints, std::string("keep k innermost"));
        QCOMPARE(r->status, std::string("cancelled"));
        QCOMPARE(r->evaluations, std::int64_t(500));
        QCOMPARE(r->bestSeconds, 3e-3);
        QVERIFY2(r->started.size() == 24 && r->started.back() == 'Z',
                 r->started.c_str()); // 2024-05-01T12:00:00.000Z
        QVERIFY(!r->finished.empty() && r->finished >= r->started);
        auto runs = p->runs(error);
        QVERIFY(runs && runs->size() == 1 && runs->front().id == run);

        auto ofRun = p->schedules({.runId = run}, error);
        QVERIFY2(ofRun && ofRun->size() == 5, error.c_str());
        for (std::size_t i = 1; i < ofRun->size(); ++i) // fastest first
            QVERIFY(ofRun->at(i - 1).modeledSeconds <= ofRun->at(i).modeledSeconds);
        QCOMPARE(ofRun->front().id, batch[4]);
        QCOMPARE(ofRun->front().bound, std::string("bandwidth-bound on hbm"));
        QCOMPARE(ofRun->front().breakdownJson, std::string(R"({"compute": 1e-3, "hbm": 3e-3})"));
        QCOMPARE(p->schedules({.runId = run, .limit = 2}, error)->size(), std::size_t(2));
        auto all = p->schedules({.kernelId = kernel, .targetId = target}, error);
        QVERIFY(all && all->size() == 6);
        QCOMPARE(all->front().id, handMade);
        QCOMPARE(all->front().runId, std::int64_t(0));
        QVERIFY(p->schedules({.kernelId = otherKernel}, error)->empty());
        auto one = p->schedule(batch[2], error);
        QVERIFY2(one, error.c_str());
        QCOMPARE(one->text, std::string("tile hbm m=2\n"));
        QCOMPARE(one->candidateKey, std::string("mma32: i=m j=n k=k"));

        auto measured = p->measurements(batch[4], error);
        QVERIFY2(measured && measured->size() == 2, error.c_str());
        QCOMPARE(measured->at(0).id, measurement);
        QCOMPARE(measured->at(0).kind, std::string("simulator"));
        QCOMPARE(measured->at(0).seconds, 1.1e-3);
        QCOMPARE(measured->at(0).detail, std::string("timeline: 12 events"));
        QCOMPARE(measured->at(1).kind, std::string("host"));
        QCOMPARE(measured->at(1).spread, 0.1e-3);
    }

    void aRunWithoutASchedulePlainlyHasNoBestTime() {
        QTemporaryDir dir;
        std::string error;
        auto p = Project::open(dir.filePath("r.isamap").toStdString(), error);
        QVERIFY2(p, error.c_str());
        auto s = seed(*p);
        auto run = p->startRun({.kernelId = s.kernel, .targetId = s.target, .strategy = "random"}, error);
        QVERIFY2(run, error.c_str());
        QVERIFY(std::isinf(p->run(*run, error)->bestSeconds));
        QCOMPARE(p->run(*run, error)->status, std::string("running"));
        QVERIFY(p->run(*run, error)->finished.empty());
    }

    void isAWriteAheadLoggedProjectFile() {
        QTemporaryDir dir;
        const QString path = dir.filePath("wal.isamap");
        std::string error;
        auto p = Project::open(path.toStdString(), error);
        QVERIFY2(p, error.c_str());
        seed(*p);
        RawDatabase raw(path); // a second connection, while ours is open
        QCOMPARE(raw.value("PRAGMA journal_mode"), QString("wal"));
        QCOMPARE(raw.value("PRAGMA application_id"), QString::number(0x49534D50));
        QCOMPARE(raw.value("PRAGMA user_version"), QString::number(Project::currentSchemaVersion()));
        QCOMPARE(raw.value("SELECT count(*) FROM schedules"), QString("2")); // committed, so visible
        QCOMPARE(raw.column("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name"),
                 (QStringList{"candidates", "kernels", "measurements", "runs", "schedules", "targets"}));
    }

    void integrityHoldsAfterWrites() {
        QTemporaryDir dir;
        const QString path = dir.filePath("ok.isamap");
        std::string error;
        {
            auto p = Project::open(path.toStdString(), error);
            QVERIFY2(p, error.c_str());
            auto s = seed(*p);
            for (int i = 0; i < 50; ++i)
                QVERIFY(p->addMeasurement(
                    {.scheduleId = s.schedules[i % 2], .kind = "host", .seconds = 1e-3 * i}, error));
            QVERIFY(!p->addSchedule({.runId = 999, .kernelId = s.kernel, .targetId = s.target},
                                    error)); // rolled back
        }
        RawDatabase raw(path);
        QCOMPARE(raw.value("PRAGMA integrity_check"), QString("ok"));
        QVERIFY(raw.column("PRAGMA foreign_key_check").isEmpty());
        QCOMPARE(raw.value("SELECT count(*) FROM measurements"), QString("50"));
    }

    void aFailedWriteReportsItAndKeepsEarlierRows() {
        QTemporaryDir dir;
        const std::string path = dir.filePath("fail.isamap").toStdString();
        std::string error;
        auto p = Project::open(path, error);
        QVERIFY2(p, error.c_str());
        auto s = seed(*p);

        store::ScheduleRecord orphan{.runId = 999, .kernelId = s.kernel, .targetId = s.target, .text = "x"};
        QVERIFY(!p->addSchedule(orphan, error));
        QVERIFY2(error.starts_with(path + ": cannot add a schedule: "), error.c_str());
        QVERIFY2(error.find("not in the project") != std::string::npos, error.c_str());

        // A batch with one bad schedule stores none of them.
        store::ScheduleRecord good{.runId = s.run, .kernelId = s.kernel, .targetId = s.target, .text = "y"};
        QVERIFY(!p->addSchedules({good, good, orphan}, error));
        auto left = p->schedules({.runId = s.run}, error);
        QVERIFY2(left, error.c_str());
        QCOMPARE(left->size(), std::size_t(2));

        QVERIFY(!p->updateRun(12345, "running", 1, 1.0, error));
        QVERIFY2(error == path + ": cannot update search run 12345: there is no search run 12345",
                 error.c_str());
        QVERIFY(!p->finishRun(s.run, "running", error));
        QVERIFY(!p->addMeasurement({.scheduleId = s.schedules[0], .kind = "gpu"}, error));
        QVERIFY2(error.find("unknown kind 'gpu'") != std::string::npos, error.c_str());
        QVERIFY(!p->schedule(4242, error));
        QCOMPARE(error, path + ": there is no schedule 4242");
        QVERIFY(!p->addCandidates(s.kernel, 777, {{.key = "k"}}, error));
        QVERIFY(p->candidates(s.kernel, s.target, error)->empty());

        // Nothing earlier was lost, and the project still takes writes.
        QCOMPARE(p->run(s.run, error)->status, std::string("finished"));
        QVERIFY(p->addSchedule(good, error));
        QCOMPARE(p->schedules({.runId = s.run}, error)->size(), std::size_t(3));
    }

    void takesAnEmptyFileAsANewProject() {
        QTemporaryDir dir;
        const QString path = dir.filePath("empty.isamap");
        writeBytes(path, {});
        std::string error;
        auto p = Project::open(path.toStdString(), error);
        QVERIFY2(p, error.c_str());
        QVERIFY(p->addKernel("k", "kernel k() {}", error));
    }

    void refusesATextFileUntouched() {
        QTemporaryDir dir;
        const QString path = dir.filePath("notes.isamap");
        writeBytes(path, "kernel gemm(M = 4) {\n  # not a project, a kernel saved under the wrong name\n}\n");
        const QByteArray before = bytesOf(path);
        std::string error;
        QVERIFY(!Project::open(path.toStdString(), error));
        QCOMPARE(error, path.toStdString() + " is not an ISA Mapper project (not an SQLite database)");
        QCOMPARE(bytesOf(path), before);
        QCOMPARE(filesIn(dir), QStringList{"notes.isamap"});

        writeBytes(path, "SQLite"); // shorter than the header
        QVERIFY(!Project::open(path.toStdString(), error));
        QCOMPARE(bytesOf(path), QByteArray("SQLite"));
    }

    void refusesADamagedDatabaseUntouched() {
        QTemporaryDir dir;
        const QString path = dir.filePath("damaged.isamap");
        QByteArray bytes("SQLite format 3", 16);
        bytes += QByteArray(4080, '\x5a');
        writeBytes(path, bytes);
        std::string error;
        QVERIFY(!Project::open(path.toStdString(), error));
        QVERIFY2(error.starts_with(path.toStdString() + " cannot be read as an ISA Mapper project: "),
                 error.c_str());
        QCOMPARE(bytesOf(path), bytes);
        QCOMPARE(filesIn(dir), QStringList{"damaged.isamap"});
    }

    void refusesAFolder() {
        QTemporaryDir dir;
        std::string error;
        QVERIFY(!Project::open(dir.path().toStdString(), error));
        QCOMPARE(error, dir.path().toStdString() + " is a folder, not an ISA Mapper project");
    }

    void refusesAnotherProgramsDatabaseUntouched_data() {
        QTest::addColumn<QString>("setup");
        QTest::addColumn<QString>("applicationId");
        QTest::newRow("no application id")
            << "CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine');"
            << "0x00000000";
        QTest::newRow("another application id, WAL")
            << "PRAGMA journal_mode = WAL; PRAGMA application_id = 1179603782; CREATE TABLE t (x); "
               "INSERT INTO t VALUES (1);"
            << "0x464F5346";
    }
    void refusesAnotherProgramsDatabaseUntouched() {
        QFETCH(QString, setup);
        QFETCH(QString, applicationId);
        QTemporaryDir dir;
        const QString path = dir.filePath("other.db");
        {
            RawDatabase raw(path);
            QVERIFY(raw.exec(setup.toUtf8().constData()));
        }
        const QByteArray before = bytesOf(path);
        const QStringList filesBefore = filesIn(dir);
        std::string error;
        QVERIFY(!Project::open(path.toStdString(), error));
        QCOMPARE(error,
                 path.toStdString() +
                     " is not an ISA Mapper project (an SQLite database of another program, application id " +
                     applicationId.toStdString() + ")");
        QCOMPARE(bytesOf(path), before);
        QCOMPARE(filesIn(dir), filesBefore); // not even a -wal or -shm beside it
    }

    void refusesANewerSchemaUntouched() {
        QTemporaryDir dir;
        const QString path = dir.filePath("future.isamap");
        std::string error;
        {
            auto p = Project::open(path.toStdString(), error);
            QVERIFY2(p, error.c_str());
            seed(*p);
        }
        const int newer = Project::currentSchemaVersion() + 5;
        {
            RawDatabase raw(path);
            QVERIFY(raw.exec(QString("PRAGMA user_version = %1").arg(newer).toUtf8().constData()));
        }
        const QByteArray before = bytesOf(path);
        const QStringList filesBefore = filesIn(dir);
        QVERIFY(!Project::open(path.toStdString(), error));
        QCOMPARE(error, path.toStdString() + " was written by a newer ISA Mapper Studio (schema " +
                            std::to_string(newer) + "; this one reads up to " +
                            std::to_string(Project::currentSchemaVersion()) + ")");
        QCOMPARE(bytesOf(path), before);
        QCOMPARE(filesIn(dir), filesBefore);
    }

    void migratesAVersion1FileKeepingItsRows() {
        QTemporaryDir dir;
        const QString path = dir.filePath("old.isamap");
        {
            RawDatabase raw(path);
            QVERIFY(raw.exec(kVersion1Schema));
        }
        std::string error;
        {
            auto p = Project::open(path.toStdString(), error);
            QVERIFY2(p, error.c_str());
            QCOMPARE(p->schemaVersion(), 2);
            auto kernels = p->kernels(error);
            QVERIFY2(kernels && kernels->size() == 1, error.c_str());
            QCOMPARE(kernels->front().text, std::string("kernel gemm() {}"));
            QCOMPARE(p->candidates(1, 1, error)->front().utilisation, 0.5);
            auto run = p->run(1, error);
            QVERIFY2(run, error.c_str());
            QCOMPARE(run->seed, std::uint64_t(42));
            QCOMPARE(run->finished, std::string("2024-01-01T00:01:00.000Z"));
            auto schedule = p->schedule(1, error);
            QVERIFY2(schedule, error.c_str());
            QCOMPARE(schedule->bound, std::string("compute-bound"));
            // What version 2 added works on the migrated file.
            QVERIFY2(p->addMeasurement({.scheduleId = 1, .kind = "host", .seconds = 0.3}, error),
                     error.c_str());
            QCOMPARE(p->measurements(1, error)->size(), std::size_t(1));
        }
        RawDatabase raw(path);
        QCOMPARE(raw.value("PRAGMA user_version"), QString("2"));
        QCOMPARE(raw.value("PRAGMA journal_mode"), QString("wal"));
        QCOMPARE(raw.value("PRAGMA integrity_check"), QString("ok"));
    }

    void twoConnectionsShareTheFile() {
        QTemporaryDir dir;
        const std::string path = dir.filePath("shared.isamap").toStdString();
        std::string error;
        auto writer = Project::open(path, error);
        QVERIFY2(writer, error.c_str());
        auto reader = Project::open(path, error);
        QVERIFY2(reader, error.c_str());
        auto s = seed(*writer);
        QCOMPARE(reader->schedules({.runId = s.run}, error)->size(), std::size_t(2));
    }

    // What the crash test of `isamap tune` will rely on, checked here on the library: a writer killed
    // with SIGKILL in the middle of a transaction leaves every earlier commit and none of that one.
    void aKilledWriterLosesOnlyItsOpenTransaction() {
        QTemporaryDir dir;
        const QString path = dir.filePath("killed.isamap");
        const pid_t child = fork();
        QVERIFY(child >= 0);
        if (child == 0) {
            std::string error;
            auto p = Project::open(path.toStdString(), error);
            if (!p)
                _exit(1);
            seed(*p);
            RawDatabase raw(path);
            if (!raw.exec(
                    "BEGIN IMMEDIATE; INSERT INTO measurements (schedule_id, kind, seconds, spread, detail) "
                    "VALUES (1, 'host', 1.0, 0.0, 'never committed');"))
                _exit(3);
            kill(getpid(), SIGKILL);
            _exit(2);
        }
        int status = 0;
        QCOMPARE(waitpid(child, &status, 0), child);
        QVERIFY(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        QVERIFY(QFile::exists(path + "-wal")); // the crash left the log behind, unmerged

        std::string error;
        auto p = Project::open(path.toStdString(), error);
        QVERIFY2(p, error.c_str());
        auto schedules = p->schedules({}, error);
        QVERIFY2(schedules && schedules->size() == 2, error.c_str());
        QCOMPARE(p->runs(error)->front().status, std::string("finished"));
        QVERIFY(p->measurements(1, error)->empty());
        RawDatabase raw(path);
        QCOMPARE(raw.value("PRAGMA integrity_check"), QString("ok"));
    }
};

QTEST_GUILESS_MAIN(TstStore)
#include "tst_store.moc"
