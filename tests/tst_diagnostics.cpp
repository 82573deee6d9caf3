// Every user-facing diagnostic of the text format: its message, its place (line and column of the
// offending construct), and the clang-style rendering with the source line and a caret.
#include "frontend/library.h"
#include "ir/diagnostics.h"

#include <QtTest>

using namespace isamap;

namespace {

const char* kGemm = R"(kernel gemm(M = 4, N = 3, K = 2) {
  dim m < M, n < N
  reduce k < K
  in A : f32[M, K]
  in B : f32[K, N]
  out C : f32[M, N]
  C[m, n] += A[m, k] * B[k, n]
}
)";

// kGemm with one line replaced (1-based), to plant one mistake in an otherwise valid kernel.
QString gemmWithLine(int line, const QString& replacement) {
    QStringList lines = QString(kGemm).split('\n');
    lines[line - 1] = replacement;
    return lines.join('\n');
}

const char* kTarget = R"(target t {
  memory dram { bytes = 1 GiB, bandwidth = 10 GB/s, latency = 100 ns }
  memory sram { bytes = 1 MiB, bandwidth = 100 GB/s, latency = 1 ns, parent = dram }
  unit mme { clock = 1 GHz, count = 1 }
  instruction mma4 on mme (throughput = 1, latency = 4) {
    dim i < 4, j < 4
    reduce k < 4
    in a : f32[4, 4] @ sram
    in b : f32[4, 4] @ sram
    inout c : f32[4, 4] @ sram
    c[i, j] += a[i, k] * b[k, j]
  }
}
)";

QString targetWithLine(int line, const QString& replacement) {
    QStringList lines = QString(kTarget).split('\n');
    lines[line - 1] = replacement;
    return lines.join('\n');
}

const char* kGraph = R"(kernel scale(N = 4) {
  dim i < N
  in X : f32[N]
  out Y : f32[N]
  Y[i] = 2 * X[i]
}
graph g(N = 4) {
  in A : f32[N]
  tmp T : f32[N]
  out B : f32[N]
  node first : scale(N = N) { X = A, Y = T }
  node second : scale(N = N) { X = T, Y = B }
}
)";

QString graphWithLine(int line, const QString& replacement) {
    QStringList lines = QString(kGraph).split('\n');
    lines[line - 1] = replacement;
    return lines.join('\n');
}

std::vector<ir::Diagnostic> diagnose(const QString& text) {
    ir::SourceFile file{"test.isa", text.toStdString()};
    return frontend::parseAndCheck(file).diagnostics;
}

} // namespace

class TstDiagnostics : public QObject {
    Q_OBJECT
private slots:
    void validInputsHaveNoDiagnostics() {
        QVERIFY(diagnose(kGemm).empty());
        QVERIFY(diagnose(kTarget).empty());
        QVERIFY(diagnose(kGraph).empty());
    }

    void eachMistakeIsReportedAtItsPlace_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<int>("line");
        QTest::addColumn<QString>("needle"); // the caret points at the first occurrence on that line
        QTest::addColumn<QString>("message");

        // Syntax.
        QTest::newRow("missing bracket") << gemmWithLine(7, "  C[m, n += A[m, k] * B[k, n]") << 7 << "+="
                                         << "expected ']' to close the index list, found '+='";
        QTest::newRow("unknown type") << gemmWithLine(4, "  in A : f64[M, K]") << 4 << "f64"
                                      << "unknown element type 'f64'";
        QTest::newRow("unknown function") << gemmWithLine(7, "  C[m, n] += gelu(A[m, k]) * B[k, n]") << 7 << "gelu"
                                          << "unknown function 'gelu'";
        QTest::newRow("wrong arity") << gemmWithLine(7, "  C[m, n] += relu(A[m, k], B[k, n])") << 7 << "relu"
                                     << "'relu' takes 1 argument, not 2";
        QTest::newRow("non-affine index") << gemmWithLine(7, "  C[m, n] += A[m, k * k] * B[k, n]") << 7 << "k]"
                                          << "expected an integer coefficient";
        QTest::newRow("missing default") << QString("kernel k(N) {\n}\n") << 1 << ")"
                                         << "expected '=' after the parameter name";
        QTest::newRow("stray character") << gemmWithLine(2, "  dim m < M, n < N $") << 2 << "$"
                                         << "character '$'";
        QTest::newRow("bad top level") << QString("kernal gemm() {}\n") << 1 << "kernal"
                                       << "expected 'kernel', 'graph' or 'target'";
        QTest::newRow("wrong unit") << targetWithLine(2, "  memory dram { bytes = 1 GHz, bandwidth = 10 GB/s }") << 2
                                    << "GHz" << "'GHz' is not a unit of a size in bytes";
        QTest::newRow("unknown memory field")
            << targetWithLine(2, "  memory dram { size = 1 GiB, bandwidth = 10 GB/s }") << 2 << "size"
            << "unknown field 'size' in a memory";
        QTest::newRow("unterminated string") << targetWithLine(11, "    c[i, j] += a[i, k] * b[k, j]\n    lower sim \"mma4")
                                             << 12 << "\"" << "unterminated string";
        QTest::newRow("lower in a kernel") << gemmWithLine(7, "  lower sim \"x\"") << 7 << "lower"
                                           << "'lower' belongs in an instruction";

        // Names.
        QTest::newRow("undeclared dimension") << gemmWithLine(7, "  C[m, q] += A[m, k] * B[k, n]") << 7 << "q"
                                              << "undeclared dimension 'q'";
        QTest::newRow("undeclared tensor") << gemmWithLine(7, "  C[m, n] += A[m, k] * D[k, n]") << 7 << "D["
                                           << "undeclared tensor 'D'";
        QTest::newRow("undeclared parameter") << gemmWithLine(4, "  in A : f32[M, L]") << 4 << "L"
                                              << "undeclared parameter 'L' in the shape of 'A'";
        QTest::newRow("duplicate tensor") << gemmWithLine(5, "  in A : f32[K, N]") << 5 << "A"
                                          << "tensor 'A' is declared twice";

        // Shapes.
        QTest::newRow("rank mismatch") << gemmWithLine(7, "  C[m, n] += A[m] * B[k, n]") << 7 << "A["
                                       << "'A' has rank 2 but is read with 1 index";
        QTest::newRow("out of bounds") << gemmWithLine(7, "  C[m, n] += A[m + 1, k] * B[k, n]") << 7 << "m + 1"
                                       << "index 0 of 'A' (m + 1) ranges over [1, 4], outside the tensor's [0, 3]";
        QTest::newRow("negative index without padding")
            << gemmWithLine(7, "  C[m, n] += A[m - 1, k] * B[k, n]") << 7 << "m - 1" << "ranges over [-1, 2]";
        QTest::newRow("zero extent") << gemmWithLine(2, "  dim m < M - 4, n < N") << 2 << "-"
                                     << "dimension 'm' has extent 0";
        QTest::newRow("bad permutation") << gemmWithLine(4, "  in A : f32[M, K] transposed(0, 0)") << 4 << "transposed"
                                         << "transposed(...) of 'A' must list each of its 2 dimensions once";
        QTest::newRow("padded output") << gemmWithLine(6, "  out C : f32[M, N] padded(1, 1)") << 6 << "C"
                                       << "only inputs can be padded";

        // Types.
        QTest::newRow("operand types differ") << gemmWithLine(5, "  in B : bf16[K, N]") << 7 << "*"
                                              << "type mismatch in 'mul': f32 and bf16";
        QTest::newRow("assignment without cast") << gemmWithLine(6, "  out C : i32[M, N]") << 7 << "*"
                                                 << "type mismatch: the value is f32 but 'C' is i32";
        QTest::newRow("float function on integers")
            << gemmWithLine(4, "  in A : i32[M, K]").replace("in B : f32", "in B : i32").replace("out C : f32", "out C : i32")
                   .replace("A[m, k] * B[k, n]", "exp(A[m, k]) * B[k, n]")
            << 7 << "exp" << "'exp' needs a floating-point operand, not i32";

        // Reductions and writes.
        QTest::newRow("reduction in output") << gemmWithLine(6, "  out C : f32[M, K]").replace("C[m, n] +=", "C[m, k] +=")
                                             << 7 << "C[" << "reduction dimension 'k' appears in the output 'C'";
        QTest::newRow("spatial dimension summed")
            << gemmWithLine(3, "  dim k < K") << 7 << "C[" << "dimension 'k' is read but does not index the output 'C'";
        QTest::newRow("assignment with a reduction") << gemmWithLine(7, "  C[m, n] = A[m, k] * B[k, n]") << 7 << "C["
                                                     << "statement reduces over a dimension but assigns with '='";
        QTest::newRow("writing an input") << gemmWithLine(6, "  in C : f32[M, N]") << 7 << "C["
                                          << "'C' is an input and cannot be written";
        QTest::newRow("output never written")
            << gemmWithLine(6, "  out C : f32[M, N]\n  out E : f32[M]") << 7 << "E" << "output 'E' is never written";
        QTest::newRow("temporary read first")
            << gemmWithLine(6, "  out C : f32[M, N]\n  tmp T : f32[M, N]").replace("C[m, n] += A[m, k] * B[k, n]",
                                                                                  "C[m, n] += T[m, n] * A[m, k]")
            << 8 << "T[" << "temporary 'T' is read before any statement writes it";

        // Targets.
        QTest::newRow("operand in undeclared memory") << targetWithLine(8, "    in a : f32[4, 4] @ l1") << 8 << "a"
                                                      << "operand 'a' is placed in memory 'l1', which target 't' does not declare";
        QTest::newRow("operand without memory") << targetWithLine(8, "    in a : f32[4, 4]") << 8 << "a"
                                                << "operand 'a' of instruction 'mma4' does not say which memory";
        QTest::newRow("parametric instruction extent") << targetWithLine(6, "    dim i < N, j < 4") << 6 << "N"
                                                       << "instruction extents must be constants, 'N' is not";
        QTest::newRow("undeclared unit") << targetWithLine(5, "  instruction mma4 on vpu (throughput = 1, latency = 4) {")
                                         << 5 << "mma4" << "runs on unit 'vpu', which target 't' does not declare";
        QTest::newRow("undeclared parent")
            << targetWithLine(3, "  memory sram { bytes = 1 MiB, bandwidth = 1 GB/s, latency = 1 ns, parent = hbm }") << 3
            << "sram" << "memory 'sram' names parent 'hbm', which is not declared";
        QTest::newRow("streams without their bandwidth")
            << targetWithLine(3, "  memory sram { bytes = 1 MiB, bandwidth = 1 GB/s, latency = 1 ns, parent = dram, streams = 4 }")
            << 3 << "sram" << "memory 'sram': streams must be at least 2, with a positive streams_bandwidth";
        QTest::newRow("one stream")
            << targetWithLine(3, "  memory sram { bytes = 1 MiB, bandwidth = 1 GB/s, parent = dram, streams = 1, streams_bandwidth = 2 GB/s }")
            << 3 << "sram" << "memory 'sram': streams must be at least 2, with a positive streams_bandwidth";
        QTest::newRow("streams' bandwidth without streams")
            << targetWithLine(3, "  memory sram { bytes = 1 MiB, bandwidth = 1 GB/s, parent = dram, streams_bandwidth = 2 GB/s }")
            << 3 << "sram" << "memory 'sram': streams_bandwidth needs streams = N, how many streams reach it";
        QTest::newRow("move within one memory")
            << targetWithLine(12, "  }\n  move copy on mme (throughput = 1, latency = 1) {\n    dim i < 4\n"
                                  "    in s : f32[4] @ sram\n    out d : f32[4] @ sram\n    d[i] = s[i]\n  }")
            << 13 << "copy" << "move 'copy' copies within memory 'sram'";
        QTest::newRow("constraint in a kernel") << gemmWithLine(4, "  in A : f32[M, K] @ sram") << 4 << "A"
                                                << "'A' has instruction operand constraints";

        // Graphs.
        QTest::newRow("unknown kernel") << graphWithLine(11, "  node first : scal(N = N) { X = A, Y = T }") << 11
                                        << "first" << "node 'first' calls undeclared kernel 'scal'";
        QTest::newRow("shape mismatch") << graphWithLine(11, "  node first : scale(N = 3) { X = A, Y = T }") << 11 << "X ="
                                        << "shape mismatch: 'X' of 'scale' is [3] but 'A' gives [4]";
        QTest::newRow("read before written")
            << graphWithLine(11, "  node first : scale(N = N) { X = T, Y = A }") << 11 << "X ="
            << "node 'first' reads 'T' before any node writes it";
        QTest::newRow("unbound kernel tensor") << graphWithLine(11, "  node first : scale(N = N) { X = A }") << 11
                                               << "first" << "node 'first' leaves kernel tensor 'Y' unbound";
        QTest::newRow("unknown kernel parameter") << graphWithLine(11, "  node first : scale(M = N) { X = A, Y = T }")
                                                  << 11 << "M =" << "kernel 'scale' has no parameter 'M'";
    }

    void nodeValuesThatBreakTheKernelAreReported() {
        const QString text = "kernel copy(N = 4, M = 4) {\n  dim i < N\n  in X : f32[M]\n  out Y : f32[N]\n  Y[i] = X[i]\n}\n"
                             "graph g(N = 100) {\n  in X : f32[4]\n  out Y : f32[N]\n"
                             "  node a : copy(N = N, M = 4) { X = X, Y = Y }\n}\n";
        const auto diagnostics = diagnose(text);
        QCOMPARE(diagnostics.size(), std::size_t(1));
        QCOMPARE(diagnostics[0].line, 10);
        QVERIFY2(QString::fromStdString(diagnostics[0].message)
                     .startsWith("with the values node 'a' gives, kernel 'copy' is invalid: index 0 of 'X' (i) ranges over [0, 99]"),
                 diagnostics[0].message.c_str());
    }

    void twoInstancesOfOneGraphGeneratorShareAFile() {
        const QString text = "graph a = dwsep(C = 8, K = 8, H = 6, W = 6)\ngraph b = dwsep(C = 8, K = 16, H = 6, W = 6, stride = 2)\n";
        const auto diagnostics = diagnose(text);
        QVERIFY2(diagnostics.empty(), ir::format(diagnostics).c_str());
    }

    void errorsInGeneratedItemsPointAtTheCall() {
        // The generated kernel clashes with one written by hand: the duplicate is reported at the
        // library call, the only place in the file it comes from.
        const QString text = "kernel g(N = 2) {\n  dim i < N\n  in X : f32[N]\n  out Y : f32[N]\n"
                             "  Y[i] = X[i]\n}\n# below, a library call\nkernel g = gemm(M = 8)\n";
        const auto diagnostics = diagnose(text);
        QCOMPARE(diagnostics.size(), std::size_t(1));
        QCOMPARE(diagnostics[0].line, 8);
        QCOMPARE(diagnostics[0].column, 8);
        QVERIFY(QString::fromStdString(diagnostics[0].message).contains("kernel 'g' is declared twice"));
    }

    void eachMistakeIsReportedAtItsPlace() {
        QFETCH(QString, text);
        QFETCH(int, line);
        QFETCH(QString, needle);
        QFETCH(QString, message);
        const auto diagnostics = diagnose(text);
        QVERIFY2(ir::hasErrors(diagnostics), "the mistake went unnoticed");
        const auto it = std::find_if(diagnostics.begin(), diagnostics.end(), [&](const ir::Diagnostic& d) {
            return QString::fromStdString(d.message).contains(message);
        });
        QVERIFY2(it != diagnostics.end(), qPrintable("no diagnostic says \"" + message + "\"; got:\n" +
                                                     QString::fromStdString(ir::format(diagnostics))));
        QCOMPARE(it->line, line);
        const QString sourceLine = text.split('\n').at(line - 1);
        QCOMPARE(it->column, static_cast<int>(sourceLine.indexOf(needle)) + 1);
        QCOMPARE(QString::fromStdString(it->sourceLine), sourceLine);
    }

    void renderingShowsLineCaretAndHint() {
        const auto diagnostics = diagnose(gemmWithLine(7, "  C[m, n] += A[m, k] * B[k, q]"));
        QCOMPARE(diagnostics.size(), std::size_t(1));
        const std::string text = ir::format(diagnostics.front());
        QCOMPARE(QString::fromStdString(text), QString("test.isa:7:29: error: undeclared dimension 'q'\n"
                                                       "      C[m, n] += A[m, k] * B[k, q]\n"
                                                       "                                ^\n"
                                                       "hint: the kernel declares m, n, k\n"));
    }

    void oneFileReportsAllItsSyntaxErrors() {
        QString text = gemmWithLine(4, "  in A : f64[M, K]");
        text = text.replace("in B : f32[K, N]", "in B : f32[K, N] sideways");
        const auto diagnostics = diagnose(text);
        QCOMPARE(diagnostics.size(), std::size_t(2));
        QCOMPARE(diagnostics[0].line, 4);
        QCOMPARE(diagnostics[1].line, 5);
    }

    void unterminatedBlockIsReported() {
        const auto diagnostics = diagnose("kernel k(N = 2) {\n  dim i < N\n");
        QVERIFY(ir::hasErrors(diagnostics));
        QVERIFY(QString::fromStdString(diagnostics.back().message).contains("'}' to close the block"));
    }
};

QTEST_GUILESS_MAIN(TstDiagnostics)
#include "tst_diagnostics.moc"
