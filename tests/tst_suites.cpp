// The kernel suites: every bundled suite loads, each entry is a valid library call that generates a
// module printing back to itself, entries follow their CSV rows, and a malformed file is reported
// with its name and line.
#include "frontend/library.h"
#include "frontend/suites.h"
#include "ir/printer.h"
#include "support/resources.h"

#include <QtTest>
#include <fstream>
#include <set>
#include <sstream>

using namespace isamap;

namespace {

// The file's lines split at commas, all of them (header included), so that line L is lines[L - 1].
std::vector<std::vector<std::string>> csvLines(const std::string& relativePath) {
    std::ifstream in(resourcePath(relativePath));
    std::vector<std::vector<std::string>> lines;
    std::string line;
    while (std::getline(in, line)) {
        std::vector<std::string> fields;
        std::stringstream stream(line);
        std::string field;
        while (std::getline(stream, field, ','))
            fields.push_back(field);
        lines.push_back(std::move(fields));
    }
    return lines;
}

// Data rows: non-empty lines after the header, optionally only those with `kind` as a field.
int dataRows(const std::string& relativePath, const std::string& kind) {
    const auto lines = csvLines(relativePath);
    int count = 0;
    for (std::size_t i = 1; i < lines.size(); ++i)
        if (!lines[i].empty() &&
            (kind.empty() || std::find(lines[i].begin(), lines[i].end(), kind) != lines[i].end()))
            ++count;
    return count;
}

std::int64_t number(const std::string& field) {
    return std::stoll(field);
}

std::vector<frontend::SuiteEntry> loaded(const std::string& suite, std::string& error) {
    auto entries = frontend::loadSuite(suite, error);
    return entries ? *entries : std::vector<frontend::SuiteEntry>{};
}

} // namespace

class TstSuites : public QObject {
    Q_OBJECT
private slots:
    void theSuitesAreListed() {
        std::set<std::string> names;
        for (const auto& s : frontend::suites())
            names.insert(s.name);
        QCOMPARE(names, (std::set<std::string>{"deepbench-gemm", "deepbench-rnn", "deepbench-conv",
                                               "mobilenet-v1", "mobilenet-v1-dwsep"}));
        std::string error;
        QVERIFY(!frontend::loadSuite("imagenet", error));
        QCOMPARE(error, std::string("unknown suite 'imagenet'; the suites are: deepbench-gemm deepbench-rnn "
                                    "deepbench-conv mobilenet-v1 mobilenet-v1-dwsep"));
    }

    void everyEntryGeneratesAndRoundTrips_data() {
        QTest::addColumn<QString>("suite");
        for (const auto& s : frontend::suites())
            QTest::newRow(s.name.c_str()) << QString::fromStdString(s.name);
    }
    void everyEntryGeneratesAndRoundTrips() {
        QFETCH(QString, suite);
        std::string error;
        const auto entries = loaded(suite.toStdString(), error);
        QVERIFY2(!entries.empty(), error.c_str());
        std::set<std::string> names;
        for (const auto& e : entries) {
            QVERIFY2(names.insert(e.name).second, ("two entries are named " + e.name).c_str());
            auto module = frontend::generate(e.generator, e.args, error);
            QVERIFY2(module, (e.name + ": " + error).c_str());
            auto again = frontend::parseAndCheck(ir::SourceFile{e.name, ir::print(*module)});
            QVERIFY2(!ir::hasErrors(again.diagnostics),
                     (e.name + ":\n" + ir::format(again.diagnostics)).c_str());
            QVERIFY2(again.module == *module, e.name.c_str());
        }
    }

    void entryCountsMatchTheFiles_data() {
        QTest::addColumn<QString>("suite");
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("kind"); // count only the rows of this kind; empty: every row
        auto row = [](const char* suite, const char* file, const char* kind) {
            QTest::newRow(suite) << suite << file << kind;
        };
        row("deepbench-gemm", "suites/deepbench_gemm.csv", "");
        row("deepbench-rnn", "suites/deepbench_rnn.csv", "");
        row("deepbench-conv", "suites/deepbench_conv.csv", "");
        row("mobilenet-v1", "suites/mobilenet_v1.csv", "");
        row("mobilenet-v1-dwsep", "suites/mobilenet_v1.csv", "depthwise");
    }
    void entryCountsMatchTheFiles() {
        QFETCH(QString, suite);
        QFETCH(QString, file);
        QFETCH(QString, kind);
        std::string error;
        const auto entries = loaded(suite.toStdString(), error);
        QVERIFY2(!entries.empty(), error.c_str());
        const int rows = dataRows(file.toStdString(), kind.toStdString());
        QVERIFY(rows > 0);
        QCOMPARE(static_cast<int>(entries.size()), rows);
    }

    void knownSizesOfThePublishedSets() {
        std::string error;
        QCOMPARE(loaded("mobilenet-v1-dwsep", error).size(), std::size_t(13));
        QCOMPARE(loaded("mobilenet-v1", error).size(), std::size_t(28));
    }

    // Each entry against its own CSV line, read here independently of the loader.
    void gemmEntriesFollowTheirRows() {
        std::string error;
        const auto lines = csvLines("suites/deepbench_gemm.csv");
        const auto entries = loaded("deepbench-gemm", error);
        QVERIFY2(!entries.empty(), error.c_str());
        QCOMPARE(entries.front().name, std::string("train_1760x16x1760_nn"));
        int transposed = 0;
        for (const auto& e : entries) {
            const auto& row = lines.at(static_cast<std::size_t>(e.csvLine - 1));
            QCOMPARE(e.generator, std::string("gemm"));
            QCOMPARE(e.set, row[0]);
            QCOMPARE(e.args.at("M"), number(row[1]));
            QCOMPARE(e.args.at("N"), number(row[2]));
            QCOMPARE(e.args.at("K"), number(row[3]));
            QCOMPARE(e.args.at("ta"), std::int64_t(row[4] == "true"));
            QCOMPARE(e.args.at("tb"), std::int64_t(row[5] == "true"));
            QVERIFY2(e.name.ends_with(std::string("_") + (row[4] == "true" ? "t" : "n") +
                                      (row[5] == "true" ? "t" : "n")),
                     e.name.c_str());
            transposed += e.args.at("ta") + e.args.at("tb");
        }
        QVERIFY(transposed > 0); // the sets do use transposes
    }

    void convEntriesKeepBothAxes() {
        std::string error;
        const auto lines = csvLines("suites/deepbench_conv.csv");
        const auto entries = loaded("deepbench-conv", error);
        QVERIFY2(!entries.empty(), error.c_str());
        bool sawNonSquareFilter = false;
        for (const auto& e : entries) {
            // set,w,h,c,n,k,filter_w,filter_h,pad_w,pad_h,stride_w,stride_h
            const auto& row = lines.at(static_cast<std::size_t>(e.csvLine - 1));
            QCOMPARE(e.generator, std::string("conv2d"));
            QCOMPARE(e.args.at("W"), number(row[1]));
            QCOMPARE(e.args.at("H"), number(row[2]));
            QCOMPARE(e.args.at("C"), number(row[3]));
            QCOMPARE(e.args.at("N"), number(row[4]));
            QCOMPARE(e.args.at("K"), number(row[5]));
            QCOMPARE(e.args.at("S"), number(row[6]));
            QCOMPARE(e.args.at("R"), number(row[7]));
            QCOMPARE(e.args.at("pad_w"), number(row[8]));
            QCOMPARE(e.args.at("pad_h"), number(row[9]));
            QCOMPARE(e.args.at("stride_w"), number(row[10]));
            QCOMPARE(e.args.at("stride_h"), number(row[11]));
            sawNonSquareFilter |= e.args.at("R") != e.args.at("S");
        }
        QVERIFY(sawNonSquareFilter);
    }

    void rnnEntriesPickTheirCell() {
        std::string error;
        const auto lines = csvLines("suites/deepbench_rnn.csv");
        const auto entries = loaded("deepbench-rnn", error);
        QVERIFY2(!entries.empty(), error.c_str());
        const std::map<std::string, std::string> generatorOf = {
            {"vanilla", "rnn_cell"}, {"gru", "gru_cell"}, {"lstm", "lstm_cell"}};
        std::set<std::string> used;
        for (const auto& e : entries) {
            // set,hidden,batch,timesteps,cell
            const auto& row = lines.at(static_cast<std::size_t>(e.csvLine - 1));
            QCOMPARE(e.generator, generatorOf.at(row[4]));
            QCOMPARE(e.args.at("H"), number(row[1]));
            QCOMPARE(e.args.at("B"), number(row[2]));
            QVERIFY2(e.name.ends_with("_t" + row[3]), e.name.c_str());
            used.insert(e.generator);
        }
        QCOMPARE(used.size(), std::size_t(3));
    }

    void mobilenetEntriesFollowTheTable() {
        std::string error;
        const auto layers = loaded("mobilenet-v1", error);
        QVERIFY2(!layers.empty(), error.c_str());
        const std::map<std::string, std::string> expected = {
            {"conv1", "conv2d"}, {"dw1", "depthwise"}, {"pw1", "pointwise"}, {"fc", "fully_connected"}};
        for (const auto& e : layers)
            if (expected.count(e.name))
                QCOMPARE(e.generator, expected.at(e.name));
        QCOMPARE(layers.front().args.at("stride"), std::int64_t(2));
        QCOMPARE(layers.back().args.at("OUT"), std::int64_t(1000));

        const auto blocks = loaded("mobilenet-v1-dwsep", error);
        QVERIFY2(!blocks.empty(), error.c_str());
        // Block 2: 64 -> 128 channels, 112 -> 56 pixels; block 13: 1024 -> 1024 at 7x7.
        QCOMPARE(blocks[1].args.at("C"), std::int64_t(64));
        QCOMPARE(blocks[1].args.at("K"), std::int64_t(128));
        QCOMPARE(blocks[1].args.at("stride"), std::int64_t(2));
        QCOMPARE(blocks[12].args.at("K"), std::int64_t(1024));
        QCOMPARE(blocks[12].args.at("H"), std::int64_t(7));
    }

    // DeepBench's convolution list repeats some rows; the repeats get a counter and keep their data.
    void repeatedRowsGetACounter() {
        std::string error;
        const auto entries = loaded("deepbench-conv", error);
        QVERIFY2(!entries.empty(), error.c_str());
        std::map<std::string, const frontend::SuiteEntry*> byName;
        for (const auto& e : entries)
            byName[e.name] = &e;
        int repeats = 0;
        for (const auto& e : entries) {
            if (!e.name.ends_with("_2"))
                continue;
            ++repeats;
            const auto first = byName.find(e.name.substr(0, e.name.size() - 2));
            QVERIFY2(first != byName.end(), e.name.c_str());
            QCOMPARE(first->second->args, e.args);
            QVERIFY(first->second->csvLine < e.csvLine);
        }
        QVERIFY(repeats > 0);
    }

    void malformedFilesNameFileAndLine_data() {
        QTest::addColumn<QString>("suite");
        QTest::addColumn<QString>("content");
        QTest::addColumn<QString>("error"); // what follows the file's path
        auto row = [](const char* name, const char* suite, const QString& content, const char* error) {
            QTest::newRow(name) << suite << content << error;
        };
        const QString gemm = "set,m,n,k,a_transposed,b_transposed\n";
        const QString goodGemm = "training_set,1760,16,1760,false,false\n";
        row("short row", "deepbench-gemm", gemm + goodGemm.repeated(5) + "training_set,1760,16,1760,false\n",
            ":7: expected 6 columns, found 5");
        row("not an integer", "deepbench-gemm", gemm + "training_set,abc,16,1760,false,false\n",
            ":2: column 'm' should be an integer, not 'abc'");
        row("not a boolean", "deepbench-gemm", gemm + "training_set,8,16,1760,maybe,false\n",
            ":2: column 'a_transposed' should be true or false, not 'maybe'");
        row("missing column", "deepbench-gemm", "set,m,n,a_transposed,b_transposed\n",
            ":1: missing column 'k'; the suite needs set, m, n, k, a_transposed, b_transposed");
        row("size out of range", "deepbench-gemm", gemm + goodGemm + "training_set,0,16,1760,false,false\n",
            ":3: 'gemm': M must be at least 1, not 0");
        row("empty file", "deepbench-gemm", "\n\n",
            ":1: the file is empty; expected a header line naming the columns");
        row("unknown cell", "deepbench-rnn",
            "set,hidden,batch,timesteps,cell\ntraining_set,512,16,25,transformer\n",
            ":2: unknown cell 'transformer'; expected vanilla, gru or lstm");
        row("filter too large", "deepbench-conv",
            "set,w,h,c,n,k,filter_w,filter_h,pad_w,pad_h,stride_w,stride_h\n"
            "training_set,7,7,3,1,8,9,3,0,0,1,1\n",
            ":2: 'conv2d': the filter does not fit: S = 9 (dilation 1) spans 9 columns but the padded input "
            "width W + 2*pad_w is only 7");
        const QString mobilenet = "layer,kind,in_channels,out_channels,in_h,in_w,kernel,stride,pad,groups\n";
        const QString dw1 = "dw1,depthwise,32,32,112,112,3,1,1,32\n";
        row("unknown layer kind", "mobilenet-v1", mobilenet + "pool,pool,32,32,7,7,7,1,0,1\n",
            ":2: unknown layer kind 'pool'; expected conv, depthwise, pointwise or gemm");
        row("depthwise changes channels", "mobilenet-v1",
            mobilenet + "dw1,depthwise,32,64,112,112,3,1,1,32\n",
            ":2: a depthwise layer needs out_channels = in_channels = groups");
        row("block without pointwise", "mobilenet-v1-dwsep", mobilenet + dw1,
            ":2: depthwise layer 'dw1' is not followed by a pointwise layer");
        row("block channels disagree", "mobilenet-v1-dwsep",
            mobilenet + dw1 + "pw1,pointwise,16,64,112,112,1,1,0,1\n",
            ":3: pointwise layer 'pw1' takes 16 channels but depthwise layer 'dw1' gives 32");
        row("block sizes disagree", "mobilenet-v1-dwsep",
            mobilenet + "dw2,depthwise,64,64,112,112,3,2,1,64\npw2,pointwise,64,128,112,112,1,1,0,1\n",
            ":3: pointwise layer 'pw2' takes height 112 but depthwise layer 'dw2' gives 56");
    }
    void malformedFilesNameFileAndLine() {
        QFETCH(QString, suite);
        QFETCH(QString, content);
        QFETCH(QString, error);
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString path = dir.filePath("broken.csv");
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(content.toUtf8());
        file.close();
        std::string message;
        QVERIFY(!frontend::loadSuiteFile(suite.toStdString(), path.toStdString(), message));
        QCOMPARE(QString::fromStdString(message), path + error);
    }

    void explicitFilesLoadWithWindowsLineEnds() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString path = dir.filePath("mine.csv");
        QFile file(path);
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.write(
            "set,m,n,k,a_transposed,b_transposed\r\nmine,8,4,2,true,false\r\nmine,8,4,2,true,false\r\n");
        file.close();
        std::string error;
        auto entries = frontend::loadSuiteFile("deepbench-gemm", path.toStdString(), error);
        QVERIFY2(entries, error.c_str());
        QCOMPARE(entries->size(), std::size_t(2));
        QCOMPARE(entries->at(0).name, std::string("mine_8x4x2_tn"));
        QCOMPARE(entries->at(1).name, std::string("mine_8x4x2_tn_2"));
        QCOMPARE(entries->at(1).csvLine, 3);
        QCOMPARE(entries->at(0).args.at("ta"), std::int64_t(1));

        QVERIFY(!frontend::loadSuiteFile("deepbench-gemm", dir.filePath("absent.csv").toStdString(), error));
        QVERIFY2(error.starts_with("cannot open "), error.c_str());
    }
};

QTEST_GUILESS_MAIN(TstSuites)
#include "tst_suites.moc"
