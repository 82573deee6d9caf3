// Compiling generated code into this process with LLVM's ORC LLJIT.
//
//   auto code = codegen::generate(...);
//   auto kernel = codegen::JitKernel::compile(std::move(code), error);
//   void* args[] = {a, b, c};      // one pointer per Code::arguments(), in that order
//   kernel->run(args);
#pragma once

#include "codegen/codegen.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace isamap::codegen {

class JitKernel {
public:
    ~JitKernel();
    // Takes the code (its LLVM module moves into the JIT). Empty with `error` when LLVM fails.
    static std::unique_ptr<JitKernel> compile(std::unique_ptr<Code> code, std::string& error);

    void run(void* const* arguments) const { entry_(arguments); }
    const std::vector<Argument>& arguments() const { return arguments_; }
    int threads() const { return threads_; }

    // Iterations [begin, end) of the code's parallel loop on the calling thread (see Code::parallelLoop);
    // only when parallelLoop() is present.
    void runRange(void* const* arguments, std::int64_t begin, std::int64_t end) const { range_(arguments, begin, end); }
    const std::optional<ParallelLoop>& parallelLoop() const { return parallelLoop_; }
    // The whole kernel with its parallel loop's iterations from the last to the first, each thread taking
    // the same contiguous share as run() gives it, from its end: after a run over the same input it starts
    // on what that run read last, still in the cache. Only when canRunBackwards().
    void runBackwards(void* const* arguments) const;
    bool canRunBackwards() const { return parallelLoop_ && parallelLoop_->iterations >= 2; }

    struct Impl;

private:
    JitKernel() = default;
    std::unique_ptr<Impl> impl_;
    void (*entry_)(void* const*) = nullptr;
    void (*range_)(void* const*, std::int64_t, std::int64_t) = nullptr;
    std::vector<Argument> arguments_;
    std::optional<ParallelLoop> parallelLoop_;
    int threads_ = 1;
};

// Compiles a tiny LLVM function and times it: the machine's peak multiply-add rate per thread in
// GFLOP/s for f32 (16-lane fused multiply-adds on independent chains), measured once per process.
double measuredPeakGflopsPerThread(std::string& error);

} // namespace isamap::codegen
