#include "mapping/execute.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

namespace isamap::mapping {

using namespace ir;

namespace {

// Advances a mixed-radix counter; false once it wraps to all zeros.
bool advance(std::vector<std::int64_t>& counter, const std::vector<std::int64_t>& limits) {
    for (std::size_t d = counter.size(); d-- > 0;) {
        if (++counter[d] < limits[d])
            return true;
        counter[d] = 0;
    }
    return false;
}

std::int64_t evalAffine(const AffineExpr& e, const std::map<std::string, std::int64_t>& point) {
    std::int64_t v = e.constant;
    for (const auto& t : e.terms)
        v += t.coeff * point.at(t.dim);
    return v;
}

std::vector<std::int64_t> indexOf(const Access& a, const std::map<std::string, std::int64_t>& point) {
    std::vector<std::int64_t> index;
    for (const auto& e : a.indices)
        index.push_back(evalAffine(e, point));
    return index;
}

bool inside(const interp::Buffer& b, const std::vector<std::int64_t>& index) {
    for (std::size_t d = 0; d < index.size(); ++d)
        if (index[d] < 0 || index[d] >= b.shape[d])
            return false;
    return true;
}


// The instruction with the dimensions a candidate leaves at a tile of one cut to that one index: those
// lanes compute nothing the kernel reads. Lanes of bound dimensions, padding included, all run.
Instruction withoutIdleLanes(const Instruction& ins, const Candidate& c) {
    Instruction cut = ins;
    for (std::size_t e = 0; e < cut.body.dims.size() && e < c.dims.size(); ++e)
        if (c.dims[e].kernelDims.empty())
            cut.body.dims[e].extent = SizeExpr::constant(1);
    return cut;
}

class MappedStatement {
public:
    MappedStatement(const Kernel& k, const Instruction& ins, const Candidate& c, interp::Buffers& buffers)
        : k_(k), ins_(withoutIdleLanes(ins, c)), c_(c), buffers_(buffers), kernelStatement_(k.statements[static_cast<std::size_t>(c.statement)]),
          instructionStatement_(ins_.body.statements.front()) {}

    std::optional<std::string> run() {
        const ParamValues params = k_.paramValues();
        for (const auto& d : c_.outerLoops)
            outerExtents_.push_back(*evaluate(k_.findDim(d)->extent, params));
        for (const auto& d : ins_.body.dims)
            instructionExtents_.push_back(*evaluate(d.extent, {}));
        for (const auto& b : c_.dims)
            tileCounts_.push_back(b.tiles);
        for (const auto& t : ins_.body.tensors)
            operands_[t.name] = *interp::allocate(t, {});
        outputAccumulates_ = ins_.body.findTensor(instructionStatement_.target.tensor)->role == TensorRole::Out &&
                             instructionStatement_.update != Update::Assign;

        std::vector<std::int64_t> outer(outerExtents_.size(), 0);
        do {
            std::vector<std::int64_t> tile(tileCounts_.size(), 0);
            do {
                if (auto error = runTile(outer, tile))
                    return error;
            } while (advance(tile, tileCounts_));
        } while (advance(outer, outerExtents_));
        return std::nullopt;
    }

private:
    // The kernel point for instruction point `j` in the given tile; false in the padding.
    bool kernelPoint(const std::vector<std::int64_t>& outer, const std::vector<std::int64_t>& tile,
                     const std::vector<std::int64_t>& j, std::map<std::string, std::int64_t>& point) const {
        for (std::size_t i = 0; i < outer.size(); ++i)
            point[c_.outerLoops[i]] = outer[i];
        for (std::size_t e = 0; e < c_.dims.size(); ++e) {
            const DimBinding& b = c_.dims[e];
            std::int64_t f = tile[e] * b.instructionExtent + j[e];
            if (b.kernelDims.empty()) {
                if (j[e] != 0)
                    return false;
                continue;
            }
            if (f >= b.kernelExtent)
                return false;
            // Split the fused index into its dimensions, innermost last.
            for (std::size_t d = b.kernelDims.size(); d-- > 0;) {
                const std::int64_t n = *evaluate(k_.findDim(b.kernelDims[d])->extent, k_.paramValues());
                point[b.kernelDims[d]] = f % n;
                f /= n;
            }
        }
        return true;
    }

    std::map<std::string, std::int64_t> instructionPoint(const std::vector<std::int64_t>& j) const {
        std::map<std::string, std::int64_t> p;
        for (std::size_t e = 0; e < ins_.body.dims.size(); ++e)
            p[ins_.body.dims[e].name] = j[e];
        return p;
    }

    std::optional<std::string> runTile(const std::vector<std::int64_t>& outer, const std::vector<std::int64_t>& tile) {
        for (auto& [name, buffer] : operands_)
            std::fill(buffer.storage->begin(), buffer.storage->end(), 0.0);
        // Gather: every operand element the instruction reads, from the kernel tensor the binding names.
        std::map<std::string, std::set<std::int64_t>> written;
        std::vector<std::pair<std::int64_t, std::vector<std::int64_t>>> outputSlots; // operand offset -> kernel index
        // Only the instruction points that reach the kernel are gathered; the rest of each operand stays
        // zero, the padding the instruction then runs over.
        std::vector<std::int64_t> reach(instructionExtents_.size(), 1);
        for (std::size_t e = 0; e < c_.dims.size(); ++e)
            if (!c_.dims[e].kernelDims.empty())
                reach[e] = std::min(instructionExtents_[e],
                                    c_.dims[e].kernelExtent - tile[e] * c_.dims[e].instructionExtent);
        std::vector<std::int64_t> j(instructionExtents_.size(), 0);
        std::map<std::string, std::int64_t> point;
        do {
            if (!kernelPoint(outer, tile, j, point))
                continue;
            const auto ipoint = instructionPoint(j);
            for (const auto& o : c_.operands) {
                const Access& ia = *findAccess(instructionStatement_, o.instructionOperand);
                const Access& ka = *findAccess(kernelStatement_, o.kernelTensor);
                interp::Buffer& operand = operands_.at(o.instructionOperand);
                const interp::Buffer& tensor = buffers_.at(o.kernelTensor);
                const auto operandIndex = indexOf(ia, ipoint);
                const auto tensorIndex = indexOf(ka, point);
                const std::int64_t slot = operand.offsetOf(operandIndex);
                double value = 0;
                if (inside(tensor, tensorIndex))
                    value = tensor.at(tensorIndex);
                else if (!k_.findTensor(o.kernelTensor)->padding.empty())
                    value = 0; // the tensor's zero halo
                else
                    return "candidate " + c_.key + " reads " + o.kernelTensor + " out of bounds";
                if (o.output && outputAccumulates_)
                    value = interp::identityOf(instructionStatement_.update);
                auto& seen = written[o.instructionOperand];
                if (!seen.insert(slot).second) {
                    if ((*operand.storage)[static_cast<std::size_t>(slot)] != value)
                        return "candidate " + c_.key + " is unsound: the instruction's " + o.instructionOperand +
                               " element at one place stands for two different values of " + o.kernelTensor;
                    continue;
                }
                (*operand.storage)[static_cast<std::size_t>(slot)] = value;
                if (o.output)
                    outputSlots.emplace_back(slot, tensorIndex);
            }
        } while (advance(j, reach));

        if (auto error = interp::run(ins_.body, operands_))
            return "running " + ins_.name + ": " + *error;

        // Scatter the instruction's result back into the kernel's output.
        const OperandBinding& out = *std::find_if(c_.operands.begin(), c_.operands.end(),
                                                  [](const OperandBinding& o) { return o.output; });
        interp::Buffer& result = operands_.at(out.instructionOperand);
        interp::Buffer& target = buffers_.at(out.kernelTensor);
        for (const auto& [slot, tensorIndex] : outputSlots) {
            const double v = (*result.storage)[static_cast<std::size_t>(slot)];
            interp::accumulate(outputAccumulates_ ? instructionStatement_.update : Update::Assign, target.at(tensorIndex), v);
        }
        return std::nullopt;
    }

    const Kernel& k_;
    const Instruction ins_;
    const Candidate& c_;
    interp::Buffers& buffers_;
    const Statement& kernelStatement_;
    const Statement& instructionStatement_;
    std::vector<std::int64_t> outerExtents_;
    std::vector<std::int64_t> instructionExtents_;
    std::vector<std::int64_t> tileCounts_;
    interp::Buffers operands_;
    bool outputAccumulates_ = false;
};

} // namespace

std::optional<std::string> runMapped(const Kernel& kernel, const Instruction& instruction, const Candidate& candidate,
                                     interp::Buffers& buffers) {
    if (!candidate.valid)
        return "candidate " + candidate.key + " is not valid: " + candidate.reason;
    // Tiles of an f32 instruction round as the hardware would; the reference rounds once at the end.
    return interp::runReplacing(kernel, buffers, candidate.statement, [&](interp::Buffers& b) {
        return MappedStatement(kernel, instruction, candidate, b).run();
    });
}

} // namespace isamap::mapping
