// parse(print(x)) == x: for randomly generated kernels and targets (a property test with a fixed
// seed), for the bundled examples and targets, and for the quantities' units.
#include "frontend/library.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "support/resources.h"

#include <QtTest>
#include <filesystem>
#include <random>

using namespace isamap;
using namespace isamap::ir;

namespace {

// Builds random but well-formed IR: the kind of value the parser can produce. The values need not pass
// the semantic checks; the printer and parser must agree on all of them.
class RandomIr {
public:
    explicit RandomIr(unsigned seed) : rng_(seed) {}

    Kernel kernel(int index) {
        Kernel k;
        k.name = "k" + std::to_string(index);
        for (int i = 0, n = pick(0, 3); i < n; ++i)
            k.params.push_back({"P" + std::to_string(i), pick(-3, 300), {}});
        for (int i = 0, n = pick(1, 5); i < n; ++i)
            k.dims.push_back({"d" + std::to_string(i), size(k.params, 2), chance(0.3), {}});
        for (int i = 0, n = pick(1, 4); i < n; ++i)
            k.tensors.push_back(tensor("T" + std::to_string(i), k.params, false));
        for (int i = 0, n = pick(1, 3); i < n; ++i)
            k.statements.push_back(statement(k));
        return k;
    }

    Target target() {
        Target t;
        t.name = "rand-target";
        if (chance(0.5))
            t.features = {"avx512f", "fma"};
        for (int i = 0, n = pick(1, 4); i < n; ++i) {
            Memory m;
            m.name = "m" + std::to_string(i);
            m.bytes = static_cast<std::uint64_t>(pick(1, 1 << 20)) * (chance(0.5) ? 1024u : 1u);
            m.bandwidth = std::uniform_real_distribution<double>(1e6, 1e13)(rng_);
            m.latency = std::uniform_real_distribution<double>(0, 1e-6)(rng_);
            m.parent = i > 0 ? "m" + std::to_string(i - 1) : "";
            m.registers = chance(0.3) ? 32 : 0;
            if (chance(0.3)) {
                m.streams = pick(2, 16);
                m.streamsBandwidth = std::uniform_real_distribution<double>(1e6, 1e13)(rng_);
            }
            t.memories.push_back(m);
        }
        t.units.push_back({"u", std::uniform_real_distribution<double>(1e8, 5e9)(rng_), pick(1, 128), {}});
        for (int i = 0, n = pick(1, 3); i < n; ++i) {
            Instruction ins;
            ins.kind = chance(0.3) ? Instruction::Kind::Move : Instruction::Kind::Compute;
            ins.name = "ins" + std::to_string(i);
            ins.unit = "u";
            ins.throughput = chance(0.5) ? pick(1, 4) : 1.0 / pick(1, 16);
            ins.latency = pick(0, 100);
            ins.body = kernel(100 + i);
            ins.body.name = ins.name;
            ins.body.params.clear();
            for (auto& d : ins.body.dims)
                d.extent = SizeExpr::constant(pick(1, 64));
            for (auto& tensor : ins.body.tensors) {
                tensor = this->tensor(tensor.name, {}, true);
                tensor.memory = t.memories[static_cast<std::size_t>(pick(0, static_cast<int>(t.memories.size()) - 1))].name;
            }
            ins.lowerings.push_back({"sim", {"op" + std::to_string(i)}, {}});
            if (chance(0.5))
                ins.lowerings.push_back({"llvm", {"broadcast b", "llvm.fma.v16f32"}, {}});
            t.instructions.push_back(std::move(ins));
        }
        return t;
    }

private:
    int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
    bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }

    SizeExpr size(const std::vector<Param>& params, int depth) {
        if (depth == 0 || chance(0.5)) {
            if (!params.empty() && chance(0.5))
                return SizeExpr::named(params[static_cast<std::size_t>(pick(0, static_cast<int>(params.size()) - 1))].name);
            return SizeExpr::constant(pick(0, 1000));
        }
        static const SizeExpr::Kind kinds[] = {SizeExpr::Kind::Add, SizeExpr::Kind::Sub, SizeExpr::Kind::Mul,
                                               SizeExpr::Kind::Div};
        return SizeExpr::binary(kinds[pick(0, 3)], size(params, depth - 1), size(params, depth - 1));
    }

    TensorDecl tensor(const std::string& name, const std::vector<Param>& params, bool operand) {
        TensorDecl t;
        t.name = name;
        t.role = static_cast<TensorRole>(pick(0, 3));
        t.type = static_cast<ScalarType>(pick(0, 5));
        const int rank = pick(0, 4);
        for (int i = 0; i < rank; ++i)
            t.shape.push_back(operand ? SizeExpr::constant(pick(1, 64)) : size(params, 1));
        switch (pick(0, 3)) {
        case 0: break;
        case 1: t.layout.kind = Layout::Kind::ColMajor; break;
        case 2:
            t.layout.kind = Layout::Kind::Transposed;
            for (int i = rank - 1; i >= 0; --i)
                t.layout.permutation.push_back(i);
            break;
        case 3:
            t.layout.kind = Layout::Kind::Strides;
            for (int i = 0; i < rank; ++i)
                t.layout.strides.push_back(operand ? SizeExpr::constant(pick(0, 99)) : size(params, 1));
            break;
        }
        if (!operand && chance(0.3))
            for (int i = 0; i < rank; ++i)
                t.padding.push_back(pick(0, 3));
        if (operand) {
            t.unitStride = chance(0.5);
            t.alignBytes = chance(0.3) ? 64 : 0;
            t.maxStride = chance(0.2) ? pick(1, 4096) : 0;
        }
        return t;
    }

    AffineExpr affine(const Kernel& k) {
        AffineExpr e;
        for (const auto& d : k.dims)
            if (chance(0.4))
                e.terms.push_back({d.name, chance(0.8) ? pick(1, 3) : -pick(1, 3)});
        if (e.terms.empty() || chance(0.3))
            e.constant = pick(-5, 5);
        return e;
    }

    Access access(const Kernel& k) {
        const auto& t = k.tensors[static_cast<std::size_t>(pick(0, static_cast<int>(k.tensors.size()) - 1))];
        Access a;
        a.tensor = t.name;
        for (std::size_t i = 0; i < t.shape.size(); ++i)
            a.indices.push_back(affine(k));
        return a;
    }

    Expr expr(const Kernel& k, int depth) {
        if (depth == 0 || chance(0.3)) {
            if (chance(0.7))
                return Expr::ofAccess(access(k));
            static const double constants[] = {0, 1, 2, -1, 0.5, -0.25, 3.14159, 1e-7, -2.5e10, 65504};
            return Expr::ofConstant(constants[pick(0, 9)]);
        }
        const Op op = static_cast<Op>(pick(0, 11));
        if (op == Op::Cast)
            return Expr::cast(static_cast<ScalarType>(pick(0, 5)), expr(k, depth - 1));
        std::vector<Expr> args;
        for (int i = 0; i < opArity(op); ++i)
            args.push_back(expr(k, depth - 1));
        return Expr::call(op, std::move(args));
    }

    Statement statement(const Kernel& k) {
        Statement s;
        s.target = access(k);
        s.update = static_cast<Update>(pick(0, 2));
        s.value = expr(k, 4);
        return s;
    }

    std::mt19937 rng_;
};

Module reparse(const std::string& text) {
    auto result = parse(SourceFile{"printed.isa", text}, frontend::expander());
    if (hasErrors(result.diagnostics))
        qWarning().noquote() << QString::fromStdString(format(result.diagnostics) + text);
    return result.module;
}

} // namespace

class TstRoundtrip : public QObject {
    Q_OBJECT
private slots:
    void randomKernels() {
        RandomIr random(20261121);
        for (int i = 0; i < 500; ++i) {
            Module m;
            m.kernels.push_back(random.kernel(i));
            const std::string text = print(m);
            const Module back = reparse(text);
            QVERIFY2(back == m, text.c_str());
            QCOMPARE(print(back), text);
        }
    }

    void randomTargets() {
        RandomIr random(7);
        for (int i = 0; i < 200; ++i) {
            Module m;
            m.targets.push_back(random.target());
            const std::string text = print(m);
            const Module back = reparse(text);
            QVERIFY2(back == m, text.c_str());
        }
    }

    void expressionsKeepTheirShape_data() {
        QTest::addColumn<QString>("expression");
        QTest::newRow("left associative") << "A[i] - B[i] - C[i]";
        QTest::newRow("right grouping") << "A[i] - (B[i] - C[i])";
        QTest::newRow("division grouping") << "A[i] / (B[i] * C[i])";
        QTest::newRow("negated literal") << "-(2) * A[i]";
        QTest::newRow("negative literal") << "-2 * A[i]";
        QTest::newRow("double negation") << "-(-A[i])";
        QTest::newRow("negated sum") << "-(A[i] + B[i])";
        QTest::newRow("calls and casts") << "max(relu(A[i]), f32(bf16(B[i])))";
    }

    void expressionsKeepTheirShape() {
        QFETCH(QString, expression);
        const std::string text = "kernel k(N = 4) {\n  dim i < N\n  in A : f32[N]\n  in B : f32[N]\n  in C : f32[N]\n"
                                 "  out Y : f32[N]\n  Y[i] = " + expression.toStdString() + "\n}\n";
        const Module m = reparse(text);
        QCOMPARE(m.kernels.size(), std::size_t(1));
        QCOMPARE(QString::fromStdString(print(m.kernels[0].statements[0].value)), expression);
        QVERIFY(reparse(print(m)) == m);
    }

    void quantitiesPrintInTheirUnits() {
        QCOMPARE(formatQuantity(Quantity::Bytes, 32.0 * 1024 * 1024), std::string("32 MiB"));
        QCOMPARE(formatQuantity(Quantity::Bandwidth, 8e12), std::string("8 TB/s"));
        QCOMPARE(formatQuantity(Quantity::Frequency, 1.1e9), std::string("1.1 GHz"));
        QCOMPARE(formatQuantity(Quantity::Time, 20e-9), std::string("20 ns"));
    }

    void bundledFilesRoundTrip() {
        int files = 0;
        for (const char* folder : {"targets", "examples"}) {
            for (const auto& entry : std::filesystem::directory_iterator(resourcePath(folder))) {
                if (entry.path().extension() != ".isa")
                    continue;
                std::string error;
                auto text = readFile(entry.path(), error);
                QVERIFY2(text, error.c_str());
                auto first = frontend::parseAndCheck(SourceFile{entry.path().string(), *text});
                QVERIFY2(!hasErrors(first.diagnostics), format(first.diagnostics).c_str());
                QVERIFY2(reparse(print(first.module)) == first.module, entry.path().c_str());
                ++files;
            }
        }
        QVERIFY(files >= 1);
    }
};

QTEST_GUILESS_MAIN(TstRoundtrip)
#include "tst_roundtrip.moc"
