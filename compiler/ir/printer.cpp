#include "ir/printer.h"

namespace isamap::ir {

namespace {

template <typename T, typename F>
std::string joined(const std::vector<T>& items, F f, std::string_view sep = ", ") {
    std::string out;
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i)
            out += sep;
        out += f(items[i]);
    }
    return out;
}

int sizePrecedence(const SizeExpr& e) {
    switch (e.kind) {
    case SizeExpr::Kind::Add:
    case SizeExpr::Kind::Sub: return 1;
    case SizeExpr::Kind::Mul:
    case SizeExpr::Kind::Div: return 2;
    default: return 3;
    }
}

// Left-associative operators: the right operand needs parentheses at equal precedence.
std::string printSize(const SizeExpr& e) {
    const int prec = sizePrecedence(e);
    if (prec == 3)
        return e.kind == SizeExpr::Kind::Constant ? std::to_string(e.value) : e.param;
    std::string lhs = printSize(e.operands[0]);
    std::string rhs = printSize(e.operands[1]);
    if (sizePrecedence(e.operands[0]) < prec)
        lhs = "(" + lhs + ")";
    if (sizePrecedence(e.operands[1]) <= prec)
        rhs = "(" + rhs + ")";
    const char* op = e.kind == SizeExpr::Kind::Add ? " + " : e.kind == SizeExpr::Kind::Sub ? " - "
                     : e.kind == SizeExpr::Kind::Mul ? " * " : " / ";
    return lhs + op + rhs;
}

int exprPrecedence(const Expr& e) {
    if (e.kind != Expr::Kind::Call)
        return e.kind == Expr::Kind::Constant && e.constant < 0 ? 3 : 4;
    switch (e.op) {
    case Op::Add:
    case Op::Sub: return 1;
    case Op::Mul:
    case Op::Div: return 2;
    case Op::Neg: return 3;
    default: return 4;
    }
}

std::string printExpr(const Expr& e) {
    switch (e.kind) {
    case Expr::Kind::Access: return print(e.access);
    case Expr::Kind::Constant: return formatNumber(e.constant);
    case Expr::Kind::Call: break;
    }
    const int prec = exprPrecedence(e);
    if (e.op == Op::Neg) {
        // `-(2)` keeps a negated literal apart from the literal -2.
        const Expr& a = e.args[0];
        bool bare = a.kind == Expr::Kind::Access || (a.kind == Expr::Kind::Call && exprPrecedence(a) == 4);
        return "-" + (bare ? printExpr(a) : "(" + printExpr(a) + ")");
    }
    if (prec <= 2) {
        std::string lhs = printExpr(e.args[0]);
        std::string rhs = printExpr(e.args[1]);
        if (exprPrecedence(e.args[0]) < prec)
            lhs = "(" + lhs + ")";
        if (exprPrecedence(e.args[1]) <= prec && !(e.args[1].kind == Expr::Kind::Constant))
            rhs = "(" + rhs + ")";
        const char* op = e.op == Op::Add ? " + " : e.op == Op::Sub ? " - " : e.op == Op::Mul ? " * " : " / ";
        return lhs + op + rhs;
    }
    std::string name = e.op == Op::Cast ? std::string(typeName(e.castType)) : std::string(opName(e.op));
    return name + "(" + joined(e.args, printExpr) + ")";
}

std::string printLayout(const Layout& l) {
    switch (l.kind) {
    case Layout::Kind::RowMajor: return "";
    case Layout::Kind::ColMajor: return " col_major";
    case Layout::Kind::Transposed:
        return " transposed(" + joined(l.permutation, [](int p) { return std::to_string(p); }) + ")";
    case Layout::Kind::Strides: return " strides(" + joined(l.strides, printSize) + ")";
    }
    return "";
}

std::string printTensor(const TensorDecl& t) {
    std::string out = std::string(roleName(t.role)) + " " + t.name + " : " + std::string(typeName(t.type)) + "[" +
                      joined(t.shape, printSize) + "]" + printLayout(t.layout);
    if (!t.padding.empty())
        out += " padded(" + joined(t.padding, [](std::int64_t p) { return std::to_string(p); }) + ")";
    if (!t.memory.empty())
        out += " @ " + t.memory;
    if (t.unitStride)
        out += " unit_stride";
    if (t.alignBytes)
        out += " align(" + std::to_string(t.alignBytes) + ")";
    if (t.maxStride)
        out += " max_stride(" + std::to_string(t.maxStride) + ")";
    return out;
}

// Consecutive dimensions of the same kind share a line: `dim m < M, n < N`.
void printDims(std::string& out, const std::vector<DimDecl>& dims, const std::string& indent) {
    for (std::size_t i = 0; i < dims.size();) {
        std::size_t j = i;
        std::string line = indent + (dims[i].reduction ? "reduce " : "dim ");
        while (j < dims.size() && dims[j].reduction == dims[i].reduction) {
            line += (j > i ? ", " : "") + dims[j].name + " < " + printSize(dims[j].extent);
            ++j;
        }
        out += line + "\n";
        i = j;
    }
}

void printKernelBody(std::string& out, const Kernel& k, const std::string& indent) {
    printDims(out, k.dims, indent);
    for (const auto& t : k.tensors)
        out += indent + printTensor(t) + "\n";
    for (const auto& s : k.statements)
        out += indent + print(s) + "\n";
}

std::string printParams(const std::vector<Param>& params) {
    return "(" + joined(params, [](const Param& p) { return p.name + " = " + std::to_string(p.value); }) + ")";
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

} // namespace

std::string print(const SizeExpr& e) { return printSize(e); }
std::string print(const Expr& e) { return printExpr(e); }

std::string print(const AffineExpr& e) {
    std::string out;
    for (const auto& t : e.terms) {
        std::int64_t c = t.coeff;
        if (out.empty()) {
            out = c == 1 ? t.dim : c == -1 ? "-" + t.dim : std::to_string(c) + "*" + t.dim;
            continue;
        }
        out += c < 0 ? " - " : " + ";
        std::int64_t a = c < 0 ? -c : c;
        out += a == 1 ? t.dim : std::to_string(a) + "*" + t.dim;
    }
    if (out.empty())
        return std::to_string(e.constant);
    if (e.constant > 0)
        out += " + " + std::to_string(e.constant);
    else if (e.constant < 0)
        out += " - " + std::to_string(-e.constant);
    return out;
}

std::string print(const Access& a) {
    return a.tensor + "[" + joined(a.indices, [](const AffineExpr& e) { return print(e); }) + "]";
}

std::string print(const Statement& s) {
    const char* op = s.update == Update::Assign ? " = " : s.update == Update::Sum ? " += " : " max= ";
    return print(s.target) + op + print(s.value);
}

std::string print(const Kernel& k) {
    std::string out = "kernel " + k.name + printParams(k.params) + " {\n";
    printKernelBody(out, k, "  ");
    return out + "}\n";
}

std::string print(const Graph& g) {
    std::string out = "graph " + g.name + printParams(g.params) + " {\n";
    for (const auto& t : g.tensors)
        out += "  " + printTensor(t) + "\n";
    for (const auto& n : g.nodes) {
        out += "  node " + n.name + " : " + n.kernel + "(" +
               joined(n.args, [](const NodeArg& a) { return a.param + " = " + printSize(a.value); }) + ") { " +
               joined(n.bindings,
                      [](const Binding& b) {
                          std::string s = b.kernelTensor + " = " + b.graphTensor;
                          if (!b.fixedIndices.empty())
                              s += "[" + joined(b.fixedIndices, [](std::int64_t i) { return std::to_string(i); }) +
                                   "]";
                          return s;
                      }) +
               " }\n";
    }
    return out + "}\n";
}

std::string print(const Instruction& ins) {
    std::string out = std::string(ins.kind == Instruction::Kind::Move ? "move " : "instruction ") + ins.name + " on " +
                      ins.unit + " (throughput = " + formatNumber(ins.throughput) +
                      ", latency = " + std::to_string(ins.latency) + ") {\n";
    printKernelBody(out, ins.body, "    ");
    for (const auto& l : ins.lowerings)
        out += "    lower " + l.backend + " " + joined(l.steps, quoted, " ") + "\n";
    return out + "  }\n";
}

std::string print(const Target& t) {
    std::string out = "target " + t.name + " {\n";
    if (!t.features.empty())
        out += "  features = " + joined(t.features, [](const std::string& f) { return f; }) + "\n";
    for (const auto& m : t.memories) {
        std::vector<std::string> fields;
        fields.push_back("bytes = " + formatQuantity(Quantity::Bytes, static_cast<double>(m.bytes)));
        fields.push_back("bandwidth = " + formatQuantity(Quantity::Bandwidth, m.bandwidth));
        fields.push_back("latency = " + formatQuantity(Quantity::Time, m.latency));
        if (m.registers)
            fields.push_back("registers = " + std::to_string(m.registers));
        if (!m.parent.empty())
            fields.push_back("parent = " + m.parent);
        if (m.streams) {
            fields.push_back("streams = " + std::to_string(m.streams));
            fields.push_back("streams_bandwidth = " + formatQuantity(Quantity::Bandwidth, m.streamsBandwidth));
        }
        out += "  memory " + m.name + " { " + joined(fields, [](const std::string& s) { return s; }) + " }\n";
    }
    for (const auto& u : t.units)
        out += "  unit " + u.name + " { clock = " + formatQuantity(Quantity::Frequency, u.clock) +
               ", count = " + std::to_string(u.count) + " }\n";
    for (const auto& i : t.instructions)
        out += "  " + print(i);
    return out + "}\n";
}

std::string print(const Module& m) {
    std::string out;
    auto append = [&](const std::string& text) {
        if (!out.empty())
            out += "\n";
        out += text;
    };
    for (const auto& k : m.kernels)
        append(print(k));
    for (const auto& g : m.graphs)
        append(print(g));
    for (const auto& t : m.targets)
        append(print(t));
    return out;
}

} // namespace isamap::ir
