// Code generation through LLVM for host targets: a scheduled kernel becomes native code.
//
// Takes a checked kernel, a host target, one valid mapping candidate, its schedule space and a legal
// schedule. Gives LLVM IR that runs the loop nest the schedule says:
//   - the outermost level's parallel loops spread over a small thread pool (runtime.h);
//   - each level's loops stepping through its tile in tiles of the level below, in the level's order;
//   - the innermost (register) tile fully unrolled into calls of the mapped instruction, lowered
//     through the instruction's own `lower llvm` steps (docs/targets.md);
//   - the output's register tile kept in registers for as long as the innermost loops leave it in
//     place (the reduction sweep), loaded or zeroed before and stored after;
//   - inputs whose layout the instruction cannot read directly (a transposed operand, interleaved
//     pairs for a dot-product instruction, a padded convolution input) packed into the instruction's
//     operand layout at the schedule's cache level, zero-filled past the edges;
//   - tiles that do not divide the problem handled by masked loads and stores and clamped calls;
//   - element-wise statements after the mapped one (a bias, an activation: `Y[n, o] = relu(Y[n, o] + b[o])`)
//     fused as an epilogue: computed on the output's register tile on its last reduction visit, before
//     it is stored, so the result is written once and never read back.
// The code can be optimised and shown (LLVM IR, assembly), compiled in process (jit.h), or written
// as an object file with a C header for a user's program.
//
//   std::string error;
//   auto code = codegen::generate(kernel, target, candidate, space, schedule, {}, error);
//   std::string ir = code->llvmIR();
#pragma once

#include "ir/ir.h"
#include "mapping/mapping.h"
#include "schedule/schedule.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace isamap::codegen {

struct Options {
    int threads = 0;                // workers for the parallel loops; 0: the target unit's count
    // Plants a fault in the generated code (for testing the measuring worker): a store through a null
    // pointer, or a loop that never ends.
    enum class Fault { None, Crash, Hang };
    Fault fault = Fault::None;
    std::string functionName;       // the exported symbol; empty: "isamap_" + the kernel's name
};

// One argument of the generated function: a pointer to a kernel tensor's storage.
struct Argument {
    std::string tensor;
    ir::ScalarType type = ir::ScalarType::f32;
    std::vector<std::int64_t> shape;
    std::int64_t storageElements = 0; // elements the pointer must reach (from its strides)
    bool output = false;
    // A temporary of the kernel the code may use for partial results; its contents after the call
    // mean nothing (the mapped statement's output when only fused statements' results are wanted).
    bool scratch = false;
};

// The code's one parallel loop, for a caller that runs its iterations itself (a graph computing two
// kernels band by band): iteration i covers kernel indices [i * step, min((i + 1) * step, extent)) of
// `dim` and every index of the other dimensions. The range entry is `functionName() + "_range"`,
// void(void* const* arguments, int64_t begin, int64_t end), on the calling thread.
struct ParallelLoop {
    std::string dim;
    std::int64_t step = 1;
    std::int64_t extent = 1;
    std::int64_t iterations = 1;
};

// What the plan decided, in words, for the code view and the command line.
struct Decisions {
    std::vector<std::string> lines;
};

class Code {
public:
    ~Code();
    Code(const Code&) = delete;
    Code& operator=(const Code&) = delete;

    const std::string& functionName() const;
    const std::vector<Argument>& arguments() const;
    const Decisions& decisions() const;
    int threads() const;
    // Present when the code has exactly one parallel loop and it steps a single kernel dimension.
    const std::optional<ParallelLoop>& parallelLoop() const;

    std::string llvmIR() const; // after optimisation
    // Host assembly, or empty with `error`.
    std::string assembly(std::string& error) const;
    bool writeObject(const std::string& path, std::string& error) const;
    // A C header declaring the function, with the arguments' shapes and the runtime it needs.
    std::string cHeader() const;

    struct Impl;
    explicit Code(std::unique_ptr<Impl> impl);
    Impl& impl() { return *impl_; }

private:
    std::unique_ptr<Impl> impl_;
};

// Lowers and optimises for this CPU. Empty with `error` when the target is not a host target, the CPU
// lacks a feature the instruction needs, the schedule is illegal, or a construct has no lowering.
std::unique_ptr<Code> generate(const ir::Kernel& kernel, const ir::Target& target, const mapping::Candidate& candidate,
                               const schedule::Space& space, const schedule::Schedule& schedule,
                               const Options& options, std::string& error);

// Lowers an element-wise kernel (any number of statements, temporaries, exp, sigmoid, tanh; f32
// tensors) as plain loops per statement that LLVM's vectoriser widens, without an instruction mapping
// or a schedule: the route for the work no instruction of the target performs whole.
std::unique_ptr<Code> generateElementwise(const ir::Kernel& kernel, const Options& options, std::string& error);

// A mapping candidate code generation can lower, with its schedule space.
struct Lowerable {
    const mapping::Candidate* candidate = nullptr; // into the mapping result it was taken from
    schedule::Space space;
};
// The first `count` candidates of `mapped` that code generation lowers: valid, not improved on by
// another, of the kernel's first statement (the element-wise statements after it fuse as its
// epilogue), whose space can be built and that `accept` takes (all, without it). The tuner, the graph
// runner and the model-fit benchmark take their candidates here.
std::vector<Lowerable> lowerableCandidates(const ir::Kernel& kernel, const ir::Target& target,
                                           const mapping::MappingResult& mapped, std::size_t count,
                                           const std::function<bool(const schedule::Space&)>& accept = {});

// True for a kernel that reduces over nothing and only assigns: the route of generateElementwise. Any
// other kernel maps its first statement onto an instruction (generate), the rest fused after it.
bool isElementwise(const ir::Kernel& kernel);

} // namespace isamap::codegen
