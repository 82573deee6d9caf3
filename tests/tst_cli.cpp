// End-to-end tests of the isamap executable: what a user types and what comes back.
#include "frontend/library.h"
#include "interp/interpreter.h"

#include "cli_process.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

using namespace isamap;
using isamap::testing::isamapCli;
using isamap::testing::writeFile;

namespace {

} // namespace

class TstCli : public QObject {
    Q_OBJECT
private slots:
    void kernelPrintsTheLibraryKernel() {
        auto r = isamapCli({"kernel", "gemm", "M=64", "N=32", "K=48"});
        QCOMPARE(r.status, 0);
        QVERIFY(r.out.startsWith("kernel gemm(M = 64, N = 32, K = 48) {"));
        QVERIFY(r.out.contains("C[m, n] += A[m, k] * B[k, n]"));
    }

    void parsePrintsTheSameTextBack() {
        auto kernel = isamapCli({"kernel", "gemm", "M=64", "N=32", "K=48", "ta=1"});
        auto back = isamapCli({"parse", "-"}, kernel.out.toUtf8());
        QCOMPARE(back.status, 0);
        QCOMPARE(back.out, kernel.out);
    }

    void parseReportsErrorsWithFileLineAndColumn() {
        QTemporaryDir dir;
        QString bad = writeFile(dir, "bad.isa", "kernel k(N = 4) {\n  dim i < N\n  in X : f32[N]\n  out Y : f32[N]\n"
                                                "  Y[i] = X[j]\n}\n");
        auto r = isamapCli({"parse", bad});
        QCOMPARE(r.status, 1);
        QVERIFY2(r.err.startsWith(bad + ":5:12: error: undeclared dimension 'j'"), qPrintable(r.err));
        QVERIFY(r.err.contains("      Y[i] = X[j]\n"));
        QVERIFY(r.err.contains("hint:"));
        QVERIFY(r.out.isEmpty());
    }

    void runPrintsTheInterpretersChecksum() {
        QTemporaryDir dir;
        auto kernel = isamapCli({"kernel", "gemm", "M=16", "N=8", "K=12"});
        QString file = writeFile(dir, "gemm.isa", kernel.out.toUtf8());
        auto r = isamapCli({"run", file, "--random-inputs", "--seed", "5"});
        QCOMPARE(r.status, 0);

        // The same kernel and seed, run in process, must give the printed sum.
        std::string error;
        auto module = frontend::generate("gemm", {{"M", 16}, {"N", 8}, {"K", 12}}, error);
        QVERIFY(module);
        auto buffers = interp::randomInputs(module->kernels[0], 5);
        QVERIFY(!interp::run(module->kernels[0], buffers));
        const auto sum = interp::checksum(buffers.at("C")).sum;
        QVERIFY2(r.out.contains(QString("C : f32[16, 8]  sum=%1").arg(QString::asprintf("%.9g", sum))), qPrintable(r.out));

        auto again = isamapCli({"run", file, "--seed", "5"});
        QCOMPARE(again.out, r.out);
        auto otherSeed = isamapCli({"run", file, "--seed", "6"});
        QVERIFY(otherSeed.out != r.out);
    }

    void runOverridesParameters() {
        QTemporaryDir dir;
        QString file = writeFile(dir, "gemm.isa", isamapCli({"kernel", "gemm"}).out.toUtf8());
        auto r = isamapCli({"run", file, "M=3", "N=2"});
        QCOMPARE(r.status, 0);
        QVERIFY2(r.out.contains("C : f32[3, 2]"), qPrintable(r.out));
        auto wrong = isamapCli({"run", file, "Q=3"});
        QCOMPARE(wrong.status, 1);
        QVERIFY(wrong.err.contains("'gemm' has no parameter 'Q'"));
    }

    void runsAGraph() {
        auto r = isamapCli({"run", QString(ISAMAP_RESOURCES_DIR) + "/examples/dwsep_block.isa", "H=8", "W=8"});
        QCOMPARE(r.status, 0);
        QVERIFY2(r.out.contains("graph dwsep_block") && r.out.contains("Y : f32[64, 8, 8]"), qPrintable(r.out));
    }

    void everyBundledTargetChecks() {
        QDir targets(QString(ISAMAP_RESOURCES_DIR) + "/targets");
        QStringList files;
        for (const auto& name : targets.entryList({"*.isa"}))
            files << targets.filePath(name);
        QVERIFY(files.size() >= 6);
        auto r = isamapCli(QStringList{"check"} + files);
        QVERIFY2(r.status == 0, qPrintable(r.err));
        QCOMPARE(r.out.count(": ok ("), files.size());
        auto list = isamapCli({"targets"});
        for (const char* name : {"host-avx512", "host-avx512-zen5", "host-avx2", "nnp-like", "tpu-like", "tensorcore-like"})
            QVERIFY2(list.out.contains(name), name);
    }

    void mistakesGetClearMessages() {
        auto unknownCommand = isamapCli({"frobnicate"});
        QCOMPARE(unknownCommand.status, 2);
        QVERIFY(unknownCommand.err.contains("unknown command 'frobnicate'"));
        auto unknownKernel = isamapCli({"kernel", "gemmm"});
        QCOMPARE(unknownKernel.status, 1);
        QVERIFY(unknownKernel.err.contains("unknown library kernel 'gemmm'"));
        auto badValue = isamapCli({"kernel", "gemm", "M=big"});
        QCOMPARE(badValue.status, 2);
        QVERIFY(badValue.err.contains("must be an integer"));
        auto badRange = isamapCli({"kernel", "gemm", "M=0"});
        QCOMPARE(badRange.status, 1);
        QVERIFY(badRange.err.contains("M must be at least 1"));
        auto missing = isamapCli({"parse", "/nonexistent/file.isa"});
        QCOMPARE(missing.status, 1);
        QVERIFY(missing.err.contains("cannot open /nonexistent/file.isa"));
        auto unknownTarget = isamapCli({"target", "gpu-ish"});
        QCOMPARE(unknownTarget.status, 1);
        QVERIFY(unknownTarget.err.contains("unknown target 'gpu-ish'"));
    }

    void installPutsEverythingInPlace() {
        QTemporaryDir prefix;
        QProcess install;
        install.start("cmake", {"--install", ISAMAP_BUILD_DIR, "--prefix", prefix.path()});
        QVERIFY(install.waitForFinished(120000));
        QVERIFY2(install.exitCode() == 0, install.readAllStandardError().constData());
        for (const char* file : {"bin/isamap", "bin/isamap-studio", "share/applications/isamap-studio.desktop",
                                 "share/icons/hicolor/scalable/apps/isamap-studio.svg",
                                 "share/isamap-studio/targets/nnp-like.isa",
                                 "share/isamap-studio/examples/dwsep_block.isa"})
            QVERIFY2(QFile::exists(prefix.filePath(file)), file);
        // The installed tool reads the installed resources, not the source tree's.
        QProcess installed;
        installed.start(prefix.filePath("bin/isamap"), {"target", "nnp-like"});
        QVERIFY(installed.waitForFinished(60000));
        const QString out = QString::fromUtf8(installed.readAllStandardOutput());
        QVERIFY2(out.startsWith("# " + prefix.filePath("share/isamap-studio/targets/nnp-like.isa")), qPrintable(out));
    }

    void mapPrintsTheCandidatesAsATable() {
        auto r = isamapCli({"map", "gemm", "M=64", "N=32", "K=48", "--target", "nnp-like"});
        QCOMPARE(r.status, 0);
        QVERIFY2(r.out.startsWith("kernel gemm (M=64 N=32 K=48) on nnp-like: "), qPrintable(r.out));
        const QStringList lines = r.out.split('\n');
        QVERIFY(lines[1].contains("instruction") && lines[1].contains("utilisation"));
        // The best candidate: the column-major GEMM is C^T = B^T A^T for a row-major instruction, no packing.
        QVERIFY2(lines[2].simplified().startsWith("1 mma32 i=n j=m k=k c=C a=B b=A 25.0% 75.0%"), qPrintable(lines[2]));
        QVERIFY(r.out.contains("--all shows them"));
        auto all = isamapCli({"map", "gemm", "M=64", "N=32", "K=48", "--target", "nnp-like", "--all"});
        QVERIFY(all.out.contains("rejected: output C does not depend on k, which is bound to i but the instruction's c does"));
    }

    void mapAsJson() {
        auto r = isamapCli({"map", "gemm", "M=64", "N=32", "K=48", "--target", "nnp-like", "--json", "--all"});
        QCOMPARE(r.status, 0);
        QJsonParseError error;
        const auto doc = QJsonDocument::fromJson(r.out.toUtf8(), &error);
        QVERIFY2(error.error == QJsonParseError::NoError, qPrintable(error.errorString()));
        const QJsonArray candidates = doc.array();
        QVERIFY(candidates.size() > 10);
        int valid = 0;
        for (const auto& value : candidates) {
            const QJsonObject c = value.toObject();
            for (const char* field : {"id", "instruction", "valid", "binding", "padding", "layout_changes", "utilisation", "reason"})
                QVERIFY2(c.contains(field), field);
            if (c["valid"].toBool()) {
                ++valid;
                QVERIFY(c["reason"].toString().isEmpty());
            } else {
                QVERIFY(!c["reason"].toString().isEmpty());
            }
        }
        QVERIFY(valid > 0 && valid < candidates.size());
        const QJsonObject best = candidates.first().toObject();
        QCOMPARE(best["instruction"].toString(), QString("mma32"));
        QCOMPARE(best["utilisation"].toDouble(), 0.75); // N = 32 fills the instruction, M = 64 too, K = 48 of 64
    }

    void mapWithoutAnyCandidateListsTheNearestMisses() {
        auto r = isamapCli({"map", "gemm", "dtype=4", "--target", "host-avx512"});
        QCOMPARE(r.status, 1);
        QVERIFY2(r.err.contains("no instruction of host-avx512 can perform kernel gemm"), qPrintable(r.err));
        QVERIFY(r.err.contains("vpdpbusd_bcast: A is i8 but the instruction's a is u8"));
    }

    void mapOneInstructionOverASuite() {
        auto r = isamapCli({"map", "--suite", "mobilenet-v1", "--instruction", "vfmadd_bcast_f32", "--target", "host-avx512"});
        QCOMPARE(r.status, 0);
        QVERIFY2(r.out.contains("vfmadd_bcast_f32 on host-avx512 serves 28 of 28 kernels of mobilenet-v1"), qPrintable(r.out));
        auto wrong = isamapCli({"map", "--suite", "mobilenet-v1", "--instruction", "mma99", "--target", "nnp-like"});
        QCOMPARE(wrong.status, 1);
        QVERIFY(wrong.err.contains("target nnp-like has no instruction 'mma99'"));
    }

    void helpListsTheCommands() {
        auto r = isamapCli({"--help"});
        QCOMPARE(r.status, 0);
        for (const char* command : {"kernel", "parse", "check", "run", "map", "targets", "target", "suite"})
            QVERIFY(r.out.contains(QString("isamap ") + command));
    }
};

QTEST_GUILESS_MAIN(TstCli)
#include "tst_cli.moc"
