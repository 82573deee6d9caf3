// Running an op graph through generated code: each node's kernel compiled once (nodes running the same
// kernel with the same parameters share it), the graph's tensors allocated once, the nodes called in
// order with pointers into them (a node bound to `GH[3]` gets the fourth slice). Element-wise nodes
// are first fused into the nodes that produce their inputs (fusion.h) unless asked not to; a merged
// node whose code cannot be generated makes the runner fall back to the unfused graph, and says so.
// Two consecutive nodes whose parallel loops step the same axis of the tensor one writes and the next
// reads run band by band: a band of the first, then the same band of the second, bands over the workers.
// A node repeating an earlier node's code over the same largest input (each step of a recurrence, over
// its weights) runs its parallel loop the other way round: it starts on what that node read last.
// Verified node by node: after each node runs, the reference interpreter runs that node's kernel on the
// values the generated code gave its inputs, and what the code wrote is compared with it. The nodes
// are those that ran, merged ones as merged: that a fused graph computes what the original does is
// fusion.h's promise, tested on the interpreter. Timed whole.
//
//   measure::GraphRunner runner(module, [&](const ir::Node&, const ir::Kernel& k, std::string& e) { ... });
//   auto check = runner.verify(smallGraph, options);   // same kernels, fewer steps
//   auto timed = runner.time(graph, options, flops);
#pragma once

#include "codegen/codegen.h"
#include "codegen/jit.h"
#include "interp/interpreter.h"
#include "ir/ir.h"
#include "measure/measure.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace isamap::measure {

// Generates one node's kernel; empty with `error` when it cannot.
using LowerNode = std::function<std::unique_ptr<codegen::Code>(const ir::Node&, const ir::Kernel&, std::string& error)>;

// Which way a node repeating an earlier node's code over the same largest input (a recurrence's steps
// over their weights) runs its parallel loop (graph.cpp, alternateSweeps).
enum class Sweeps {
    Forwards,    // every node forwards
    Alternating, // each such node the other way from the one before it
    Faster,      // alternating if whole runs of the graph, timed both ways in pairs, are faster so;
                 // a graph only verified, and not kept, alternates (its check runs the code both ways)
};

class GraphRunner {
public:
    GraphRunner(const ir::Module& module, LowerNode lower, bool fuse = true, Sweeps sweeps = Sweeps::Faster);
    ~GraphRunner();

    // Runs the graph once on random inputs and compares everything each node writes with the
    // interpreter's run of that node on the same inputs; the first node that differs is named.
    // `progress` (may be empty) hears the share of the steps checked and the node last checked.
    Result verify(const ir::Graph& graph, const Options& options,
                  const std::function<void(double fraction, const std::string& node)>& progress = {});
    // Times whole runs of the graph; `usefulFlops` per run gives the GFLOP/s.
    Result time(const ir::Graph& graph, const Options& options, double usefulFlops);

    // Where a run's time goes: each step of the graph (a node, or two run band by band) timed on its own
    // inside `runs` whole runs after a warm-up, so that each starts on the caches the step before it left,
    // as in a plain run. Steps come in the order they run; empty with `error` when the graph cannot run.
    struct StepTime {
        std::string nodes;   // the node, or both run band by band ("dw and pw, band by band")
        int code = 0;        // steps running the same compiled code share this number (0, 1, ... as first run)
        bool backwards = false;
        double seconds = 0;  // the median over the runs
    };
    std::vector<StepTime> profile(const ir::Graph& graph, const Options& options, int runs, std::string& error);

    int compiledKernels() const { return static_cast<int>(kernels_.size()); }
    // Seconds spent in the LowerNode calls, which choose each kernel's schedule and generate its code
    // (for the graph command: the search, and the timing of its proposals); the JIT's compiling is
    // apart, in Result::compileSeconds.
    double lowerSeconds() const { return lowerSeconds_; }
    // Keep the tensors and calls of the graph last prepared for the next call on the same graph and
    // seed, instead of allocating and filling them again: the graph command verifies, times and
    // profiles one graph. Off by default, so that a benchmark's rounds each start on fresh tensors.
    void keepPrepared(bool keep) { keep_ = keep; }
    // How many times this runner has allocated and filled a graph's tensors.
    int preparations() const { return preparations_; }
    // What fusion did on the last graph prepared: pairs fused, or why not, and any fallback.
    const std::vector<std::string>& fusionReport() const { return report_; }
    int fusedPairs() const { return fusedPairs_; }
    // Consecutive nodes run band by band on the last graph prepared (a depthwise then a pointwise
    // convolution: each band of rows of the intermediate is consumed while it is in cache).
    int bandPairs() const { return bandPairs_; }
    // Nodes of the last graph prepared that ran their parallel loop backwards.
    int alternatedSteps() const { return alternatedSteps_; }
    // With Sweeps::Faster, the median over the pairs of whole runs of the alternating run's time over the
    // all-forwards run's (alternating is kept below 1); 0 where nothing was timed.
    double alternatingOverForwards() const { return alternatingOverForwards_; }

    struct Prepared; // a graph ready to run: its tensors and compiled calls (graph.cpp)

private:
    Prepared* preparedFor(const ir::Graph& graph, const Options& options, interp::Buffers* values, bool timed,
                          std::string& error);
    void releaseUnlessKept();
    std::unique_ptr<Prepared> prepare(const ir::Graph& graph, const interp::Buffers& values, std::string& error);
    void alternateSweeps(Prepared& p);
    void chooseDirections(Prepared& p, const Options& options);
    void leaveDirectionsUntimed();
    std::unique_ptr<Prepared> prepareNodes(const ir::Module& module, const ir::Graph& graph,
                                           const interp::Buffers& values, std::string& error);

    const ir::Module& module_;
    LowerNode lower_;
    bool fuse_ = true;
    Sweeps sweeps_ = Sweeps::Faster;
    double alternatingOverForwards_ = 0;
    std::vector<std::string> report_;
    int fusedPairs_ = 0;
    int bandPairs_ = 0;
    int alternatedSteps_ = 0;
    std::map<std::string, std::shared_ptr<codegen::JitKernel>> kernels_; // by the kernel's printed text
    double lowerSeconds_ = 0, compileSeconds_ = 0;
    bool keep_ = false;
    int preparations_ = 0;
    std::unique_ptr<Prepared> prepared_; // the graph last prepared, while a call runs it or when kept
    std::string preparedKey_;            // its seed and printed graph
};

} // namespace isamap::measure
