// Operator fusion of op graphs: an element-wise node (bias, activation, any statements that assign
// at one point) folded into the node before it that produces its input, as statements after the
// producer's own. Code generation then computes them as an epilogue on the producer's register tiles
// (codegen.h), so the intermediate tensor is never written and read back.
//
// Takes a module and one of its graphs; gives a module and graph that compute the same values, with
// each fused pair replaced by one node running a merged kernel, and why each pair was or was not fused.
//
//   auto fused = fusion::fuseEpilogues(module, graph);
//   for (const auto& line : fused.report) std::puts(line.c_str());
//   interp::run(fused.graph, fused.module, buffers);   // the same results as the original graph
#pragma once

#include "ir/ir.h"

#include <string>
#include <vector>

namespace isamap::fusion {

struct FusedGraph {
    ir::Module module;               // the original kernels plus one merged kernel per fused pair
    ir::Graph graph;                 // the nodes, fused pairs replaced by their merged node
    std::vector<std::string> report; // per pair considered: fused, or why not
    int fusedPairs = 0;
};

// Fuses each element-wise node into the node just before it when that node produces the tensor it
// reads, at the same point: the consumer has no reduction, assigns, reads the producer's output at
// plain dimensions that cover all its own, and computes f32. Chains fuse (a product, a bias, an
// activation). The intermediate becomes a temporary of the merged kernel when nothing else reads it.
FusedGraph fuseEpilogues(const ir::Module& module, const ir::Graph& graph);

} // namespace isamap::fusion
