// The unified IR: kernels, op graphs and targets as plain values.
//
// A kernel and a hardware instruction are the same kind of object: an iteration domain (named
// dimensions with extents), tensors with element types and shapes, and statements whose accesses are
// affine in the dimensions. A target adds memories and compute units, and describes each of its
// instructions as such a kernel with fixed extents and per-operand constraints.
//
//   kernel gemm(M = 64, N = 32, K = 48) {
//     dim m < M, n < N
//     reduce k < K
//     in  A : f32[M, K] col_major
//     in  B : f32[K, N] col_major
//     out C : f32[M, N] col_major
//     C[m, n] += A[m, k] * B[k, n]
//   }
//
// Values are built by the parser (parser.h) or by the kernel library, checked by check.h, printed by
// printer.h and run by the reference interpreter. Equality ignores source locations, so that
// parse(print(x)) == x is a meaningful test.
#pragma once

#include "ir/types.h"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace isamap::ir {

// Where a construct was written. Compares equal to every other location on purpose: two IR values
// are the same program whatever text they came from.
struct SourceLoc {
    int line = 0;
    int column = 0;
    int length = 1;
    friend bool operator==(const SourceLoc&, const SourceLoc&) { return true; }
};

using ParamValues = std::map<std::string, std::int64_t>;

// An integer expression over kernel parameters: extents, shapes, strides (`H + R - 1`, `(H - 1) / 2 + 1`).
struct SizeExpr {
    enum class Kind { Constant, Param, Add, Sub, Mul, Div };
    Kind kind = Kind::Constant;
    std::int64_t value = 0;       // Constant
    std::string param;            // Param
    std::vector<SizeExpr> operands; // Add, Sub, Mul, Div (two each)
    SourceLoc loc;

    static SizeExpr constant(std::int64_t v) { return SizeExpr{Kind::Constant, v, {}, {}, {}}; }
    static SizeExpr named(std::string p) { return SizeExpr{Kind::Param, 0, std::move(p), {}, {}}; }
    static SizeExpr binary(Kind k, SizeExpr a, SizeExpr b);
    bool operator==(const SizeExpr&) const = default;
};

// Evaluates with the given parameter values; empty on an unknown parameter or a division by zero.
std::optional<std::int64_t> evaluate(const SizeExpr& e, const ParamValues& params);

// An affine index expression: sum of coeff*dim plus a constant (`2*h + r - 1`).
struct AffineTerm {
    std::string dim;
    std::int64_t coeff = 1;
    bool operator==(const AffineTerm&) const = default;
};
struct AffineExpr {
    std::vector<AffineTerm> terms; // at most one term per dimension, no zero coefficients
    std::int64_t constant = 0;
    SourceLoc loc;
    std::int64_t coeffOf(const std::string& dim) const;
    bool operator==(const AffineExpr&) const = default;
};

struct Access {
    std::string tensor;
    std::vector<AffineExpr> indices;
    SourceLoc loc;
    bool operator==(const Access&) const = default;
};

// Element-wise operations. Add/Sub/Mul/Div print infix, Neg as a prefix minus, the rest as calls.
enum class Op { Add, Sub, Mul, Div, Neg, Max, Min, Relu, Sigmoid, Tanh, Exp, Cast };
std::string_view opName(Op op);          // "add", "relu", "cast"
int opArity(Op op);

struct Expr {
    enum class Kind { Access, Constant, Call };
    Kind kind = Kind::Constant;
    Access access;          // Access
    double constant = 0;    // Constant
    Op op = Op::Add;        // Call
    ScalarType castType = ScalarType::f32; // Call with Op::Cast
    std::vector<Expr> args; // Call
    SourceLoc loc;

    static Expr ofAccess(Access a);
    static Expr ofConstant(double v);
    static Expr call(Op op, std::vector<Expr> args);
    static Expr cast(ScalarType to, Expr arg);
    bool operator==(const Expr&) const = default;
};

// How a statement combines its value into the target: `=`, `+=`, `max=`.
enum class Update { Assign, Sum, Max };

struct Statement {
    Access target;
    Update update = Update::Assign;
    Expr value;
    SourceLoc loc;
    bool operator==(const Statement&) const = default;
};

// How a tensor's logical indices map to storage offsets (in elements).
struct Layout {
    enum class Kind { RowMajor, ColMajor, Transposed, Strides };
    Kind kind = Kind::RowMajor;
    std::vector<int> permutation;   // Transposed: storage order, outermost first, of logical dimensions
    std::vector<SizeExpr> strides;  // Strides: one per logical dimension
    SourceLoc loc;
    bool operator==(const Layout&) const = default;
};

enum class TensorRole { In, Out, InOut, Tmp };
std::string_view roleName(TensorRole role);

struct TensorDecl {
    std::string name;
    TensorRole role = TensorRole::In;
    ScalarType type = ScalarType::f32;
    std::vector<SizeExpr> shape;
    Layout layout;
    // Zero halo per dimension: reads up to `padding[d]` outside [0, shape[d]) give zero (convolution
    // padding). Empty means no halo.
    std::vector<std::int64_t> padding;
    // Instruction operands only: where the operand must be and how it may be laid out.
    std::string memory;
    bool unitStride = false;       // its innermost logical dimension must be contiguous
    std::int64_t alignBytes = 0;   // 0: no requirement
    std::int64_t maxStride = 0;    // largest stride in elements; 0: no limit
    SourceLoc loc;
    bool operator==(const TensorDecl&) const = default;
};

struct DimDecl {
    std::string name;
    SizeExpr extent;
    bool reduction = false;
    SourceLoc loc;
    bool operator==(const DimDecl&) const = default;
};

struct Param {
    std::string name;
    std::int64_t value = 0;
    SourceLoc loc;
    bool operator==(const Param&) const = default;
};

struct Kernel {
    std::string name;
    std::vector<Param> params;
    std::vector<DimDecl> dims;
    std::vector<TensorDecl> tensors;
    std::vector<Statement> statements;
    SourceLoc loc;

    const DimDecl* findDim(const std::string& n) const;
    const TensorDecl* findTensor(const std::string& n) const;
    const Param* findParam(const std::string& n) const;
    ParamValues paramValues() const;
    bool operator==(const Kernel&) const = default;
};

// A kernel tensor bound to a graph tensor, or to a sub-tensor of it with leading indices fixed
// (`GX = GX_all[3]`: the fourth time step).
struct Binding {
    std::string kernelTensor;
    std::string graphTensor;
    std::vector<std::int64_t> fixedIndices;
    SourceLoc loc;
    bool operator==(const Binding&) const = default;
};

struct NodeArg {
    std::string param;
    SizeExpr value;
    SourceLoc loc;
    bool operator==(const NodeArg&) const = default;
};

struct Node {
    std::string name;
    std::string kernel;
    std::vector<NodeArg> args;
    std::vector<Binding> bindings;
    SourceLoc loc;
    const Binding* findBinding(const std::string& kernelTensor) const; // the binding of a kernel tensor
    bool operator==(const Node&) const = default;
};

// Kernels connected through tensors. Tensor roles: In, Out, Tmp (produced and consumed inside).
struct Graph {
    std::string name;
    std::vector<Param> params;
    std::vector<TensorDecl> tensors;
    std::vector<Node> nodes;
    SourceLoc loc;

    const TensorDecl* findTensor(const std::string& n) const;
    ParamValues paramValues() const;
    bool operator==(const Graph&) const = default;
};

struct Memory {
    std::string name;
    std::uint64_t bytes = 0;
    double bandwidth = 0;      // bytes per second at which this level is filled from its parent
                               // (for the outermost level: its own read rate)
    double latency = 0;        // seconds for an access that hits this level
    std::string parent;        // the next level out; empty for the outermost
    std::int64_t registers = 0; // > 0 when the level is a register file of that many registers
    // A CPU core's prefetchers follow several sequential streams at once: reading along 2 to `streams`
    // of them, one unit fills this level at `streamsBandwidth` rather than `bandwidth` (0: no such gain).
    std::int64_t streams = 0;
    double streamsBandwidth = 0;
    SourceLoc loc;
    bool operator==(const Memory&) const = default;
};

struct Unit {
    std::string name;
    double clock = 0;   // Hz
    std::int64_t count = 1;
    SourceLoc loc;
    bool operator==(const Unit&) const = default;
};

// One way an instruction lowers: backend `llvm` (a sequence of intrinsic steps for code generation)
// or `sim` (an opcode of the simulator).
struct Lowering {
    std::string backend;
    std::vector<std::string> steps;
    SourceLoc loc;
    bool operator==(const Lowering&) const = default;
};

// A compute or data-movement instruction. Its semantics is `body`, a kernel with constant extents and
// no parameters whose tensors are the instruction's operands (with memory and layout constraints).
struct Instruction {
    enum class Kind { Compute, Move };
    Kind kind = Kind::Compute;
    std::string name;
    std::string unit;
    double throughput = 1;    // issues per cycle per unit
    std::int64_t latency = 1; // cycles
    Kernel body;
    std::vector<Lowering> lowerings;
    SourceLoc loc;
    bool operator==(const Instruction&) const = default;
};

struct Target {
    std::string name;
    std::vector<std::string> features; // CPU features the target needs (host targets)
    std::vector<Memory> memories;
    std::vector<Unit> units;
    std::vector<Instruction> instructions;
    SourceLoc loc;

    const Memory* findMemory(const std::string& n) const;
    const Unit* findUnit(const std::string& n) const;
    const Instruction* findInstruction(const std::string& n) const;
    bool operator==(const Target&) const = default;
};

// Everything one text file holds, in the order written.
struct Module {
    std::vector<Kernel> kernels;
    std::vector<Graph> graphs;
    std::vector<Target> targets;

    const Kernel* findKernel(const std::string& n) const;
    const Graph* findGraph(const std::string& n) const;
    const Target* findTarget(const std::string& n) const;
    bool operator==(const Module&) const = default;
};

// The first access of `tensor` in a statement (its target, then its value); null when it has none.
const Access* findAccess(const Statement& s, const std::string& tensor);
// Calls `f` on every access an expression reads, outermost first.
void forEachAccess(const Expr& e, const std::function<void(const Access&)>& f);
void forEachAccess(Expr& e, const std::function<void(Access&)>& f);
// An index that is one dimension alone (`n`, not `2*n` or `n + 1`).
bool isPlainDim(const AffineExpr& e);
// Every index of the access is one dimension alone (`C[m, n]`).
bool plainDims(const Access& a);
// An index that names each of its points once: one dimension, or dimensions whose coefficients are a
// mixed radix (the smallest 1, each next one the product of the extents below it: `128*jb + ji`), no
// constant. `points` gets how many it names.
bool isMixedRadix(const Kernel& k, const AffineExpr& idx, std::int64_t* points = nullptr);

// Where a kernel's statements after the first run when they are fused as an epilogue of the first:
// at the first statement's output point, or at that point with some of its plain dimensions dropped.
// A dropped dimension is one the epilogue combines across: it reads the first statement's output at
// constants along it (a GRU's tail at [b, j] reads its gates G[b, 0, j], G[b, 1, j], G[b, 2, j]), so
// every value along it must be at hand at once.
struct EpiloguePoint {
    std::vector<AffineExpr> indices;  // where the statements after the first write
    std::vector<std::size_t> across;  // positions of the first statement's output indices the point drops
    std::vector<std::string> acrossDims; // the dimensions at those positions
};
// Empty with `why` when the statements after the first do not all assign at one such point, read a
// value the point does not have (the first output at another point, a later one elsewhere than the
// point), or write the first output while combining across it. One statement: its own point.
std::optional<EpiloguePoint> epiloguePoint(const Kernel& k, std::string& why);

// A kernel with its parameters replaced by `overrides` (unknown names are ignored by this call; the
// command line checks them first).
Kernel withParams(Kernel k, const ParamValues& overrides);
Graph withParams(Graph g, const ParamValues& overrides);

// The kernel a graph node runs, with the parameter values the node gives it (evaluated with the
// graph's); empty when the module has no such kernel.
std::optional<Kernel> nodeKernel(const Module& module, const Graph& graph, const Node& node);

// Storage strides in elements for each logical dimension, after evaluating the layout.
std::optional<std::vector<std::int64_t>> strides(const TensorDecl& t, const ParamValues& params);
// Concrete shape; empty on an unevaluable extent.
std::optional<std::vector<std::int64_t>> shape(const TensorDecl& t, const ParamValues& params);
// Elements a pointer to the tensor's first element must reach: 1 + sum of (extent - 1) * stride.
std::int64_t storageElements(const std::vector<std::int64_t>& shape, const std::vector<std::int64_t>& strides);

} // namespace isamap::ir
