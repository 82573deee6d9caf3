#include "mapping/mapping.h"

#include "ir/printer.h"
#include "support/integers.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

namespace isamap::mapping {

using namespace ir;

std::string DimBinding::expression(const Kernel& k) const {
    if (kernelDims.empty())
        return "0";
    std::string out;
    std::int64_t scale = kernelExtent;
    for (const auto& d : kernelDims) {
        scale /= *evaluate(k.findDim(d)->extent, k.paramValues());
        if (!out.empty())
            out += " + ";
        out += scale == 1 ? d : d + "*" + std::to_string(scale);
    }
    return out;
}

int MappingResult::validCount() const {
    return static_cast<int>(std::count_if(candidates.begin(), candidates.end(), [](const Candidate& c) { return c.valid; }));
}

namespace {

// One instruction operand matched with one kernel access.
struct OperandPair {
    const Access* instruction = nullptr;
    const Access* kernel = nullptr;
    bool output = false;
};

// ---- matching the statements ---------------------------------------------------------------------

bool commutative(Op op) { return op == Op::Add || op == Op::Mul || op == Op::Max || op == Op::Min; }

// All ways the instruction's expression `ins` matches the kernel's `ker`, each a list of operand pairs.
// `why` receives the first structural difference when there is none.
void matchExpr(const Expr& ins, const Expr& ker, std::vector<OperandPair> sofar,
               std::vector<std::vector<OperandPair>>& out, std::string& why);

void matchArgs(const Expr& ins, const Expr& ker, const std::vector<std::size_t>& order, std::size_t at,
               std::vector<OperandPair> sofar, std::vector<std::vector<OperandPair>>& out, std::string& why) {
    if (at == order.size()) {
        out.push_back(std::move(sofar));
        return;
    }
    std::vector<std::vector<OperandPair>> partial;
    matchExpr(ins.args[at], ker.args[order[at]], sofar, partial, why);
    for (auto& p : partial)
        matchArgs(ins, ker, order, at + 1, std::move(p), out, why);
}

std::string describe(const Expr& e) {
    if (e.kind == Expr::Kind::Call && e.op == Op::Cast)
        return "a conversion to " + std::string(typeName(e.castType)) + " (" + print(e) + ")";
    if (e.kind == Expr::Kind::Call)
        return "'" + std::string(opName(e.op)) + "' (" + print(e) + ")";
    if (e.kind == Expr::Kind::Constant)
        return "the constant " + print(e);
    return "an operand (" + print(e) + ")";
}

void matchExpr(const Expr& ins, const Expr& ker, std::vector<OperandPair> sofar,
               std::vector<std::vector<OperandPair>>& out, std::string& why) {
    auto differ = [&] {
        if (why.empty())
            why = "the instruction has " + describe(ins) + " where the kernel has " + describe(ker);
    };
    if (ins.kind != ker.kind) {
        differ();
        return;
    }
    switch (ins.kind) {
    case Expr::Kind::Constant:
        if (ins.constant == ker.constant)
            out.push_back(std::move(sofar));
        else
            differ();
        return;
    case Expr::Kind::Access: {
        // An instruction operand used twice must meet the same kernel access both times.
        for (const auto& p : sofar)
            if (p.instruction->tensor == ins.access.tensor && !(*p.kernel == ker.access)) {
                if (why.empty())
                    why = "the instruction reads " + ins.access.tensor + " twice, the kernel reads two different values there";
                return;
            }
        sofar.push_back({&ins.access, &ker.access, false});
        out.push_back(std::move(sofar));
        return;
    }
    case Expr::Kind::Call: break;
    }
    if (ins.op != ker.op || ins.args.size() != ker.args.size() || (ins.op == Op::Cast && ins.castType != ker.castType)) {
        differ();
        return;
    }
    std::vector<std::size_t> order(ins.args.size());
    std::iota(order.begin(), order.end(), 0);
    matchArgs(ins, ker, order, 0, sofar, out, why);
    if (commutative(ins.op) && ins.args.size() == 2) {
        std::reverse(order.begin(), order.end());
        matchArgs(ins, ker, order, 0, sofar, out, why);
    }
}

// ---- the kernel and instruction as seen by the search --------------------------------------------

struct AccessInfo {
    std::string tensor;
    const TensorDecl* decl = nullptr;
    std::vector<std::int64_t> storageStrides; // per tensor index
    const Access* access = nullptr;

    bool dependsOn(const std::string& dim) const {
        for (const auto& idx : access->indices)
            if (idx.coeffOf(dim) != 0)
                return true;
        return false;
    }
    // Elements moved in storage when `dim` advances by one.
    std::int64_t strideAlong(const std::string& dim) const {
        std::int64_t s = 0;
        for (std::size_t r = 0; r < access->indices.size(); ++r)
            s += access->indices[r].coeffOf(dim) * storageStrides[r];
        return s;
    }
};

struct Pair {
    AccessInfo kernel;
    const Access* instruction = nullptr;
    const TensorDecl* instructionDecl = nullptr;
    bool output = false;
};

struct Option {
    std::vector<std::string> dims; // empty: tile of one
};

class Search {
public:
    Search(const Kernel& k, const Instruction& ins, int statementIndex, std::vector<Pair> pairs,
           const MappingOptions& options, std::vector<Candidate>& out)
        : k_(k), ins_(ins), statement_(statementIndex), pairs_(std::move(pairs)), options_(options), out_(out),
          params_(k.paramValues()) {
        std::set<std::string> used;
        for (const auto& p : pairs_)
            for (const auto& idx : p.kernel.access->indices)
                for (const auto& t : idx.terms)
                    used.insert(t.dim);
        for (const auto& d : k.dims)
            if (used.count(d.name)) {
                statementDims_.push_back(d.name);
                extents_[d.name] = *evaluate(d.extent, params_);
            }
        for (const auto& d : ins.body.dims)
            instructionDims_.push_back(&d);
        buildOptions();
    }

    void run() {
        std::vector<DimBinding> bound;
        std::set<std::string> taken;
        descend(bound, taken);
    }

private:
    void buildOptions() {
        options_list_.push_back(Option{});
        for (std::size_t i = 0; i < statementDims_.size(); ++i)
            for (std::size_t len = 1; len <= static_cast<std::size_t>(std::max(1, options_.maxFusion)) &&
                                      i + len <= statementDims_.size();
                 ++len)
                options_list_.push_back(
                    Option{std::vector<std::string>(statementDims_.begin() + static_cast<long>(i),
                                                    statementDims_.begin() + static_cast<long>(i + len))});
    }

    static bool instructionDependsOn(const Access& a, const std::string& dim) {
        for (const auto& idx : a.indices)
            if (idx.coeffOf(dim) != 0)
                return true;
        return false;
    }

    std::string joined(const std::vector<std::string>& dims) const {
        if (dims.size() == 1)
            return dims[0];
        std::string s = "(";
        for (std::size_t i = 0; i < dims.size(); ++i)
            s += (i ? ", " : "") + dims[i];
        return s + ")";
    }

    // Empty when binding instruction dimension `e` to `dims` keeps every operand consistent; else why not.
    std::string check(const DimDecl& e, const std::vector<std::string>& dims) const {
        if (dims.empty())
            return {};
        const std::string role = e.reduction ? ", the instruction's reduction dimension," : "";
        for (const auto& p : pairs_) {
            const std::string& T = p.kernel.tensor;
            const std::string& u = p.instruction->tensor;
            // A fused run must move every tensor as one dimension would.
            if (dims.size() > 1) {
                bool first = p.kernel.dependsOn(dims[0]);
                for (std::size_t i = 1; i < dims.size(); ++i)
                    if (p.kernel.dependsOn(dims[i]) != first)
                        return "fusing " + joined(dims) + " splits " + T + ": it depends on " +
                               (first ? dims[0] : dims[i]) + " but not on " + (first ? dims[i] : dims[0]);
                for (std::size_t i = 0; first && i + 1 < dims.size(); ++i) {
                    const std::int64_t outer = p.kernel.strideAlong(dims[i]);
                    const std::int64_t inner = p.kernel.strideAlong(dims[i + 1]);
                    if (outer != extentOf({dims.begin() + static_cast<long>(i) + 1, dims.end()}) * inner)
                        return "fusing " + joined(dims) + " is not affine in " + T + ": its stride along " + dims[i] +
                               " is " + std::to_string(outer) + ", not " +
                               std::to_string(extentOf({dims.begin() + static_cast<long>(i) + 1, dims.end()})) +
                               " times its stride along " + dims[i + 1] + " (" + std::to_string(inner) + ")";
                }
            }
            const bool kernelDepends = p.kernel.dependsOn(dims[0]);
            const bool instructionDepends = instructionDependsOn(*p.instruction, e.name);
            if (kernelDepends && !instructionDepends)
                return std::string(p.output ? "output " : "") + T + " depends on " + joined(dims) +
                       ", which is bound to " + e.name + role + " but the instruction's " + u +
                       " does not depend on " + e.name;
            if (!kernelDepends && instructionDepends)
                return std::string(p.output ? "output " : "") + T + " does not depend on " + joined(dims) +
                       ", which is bound to " + e.name + role + " but the instruction's " + u + " does";
        }
        return {};
    }

    std::int64_t extentOf(const std::vector<std::string>& dims) const {
        std::int64_t n = 1;
        for (const auto& d : dims)
            n *= extents_.at(d);
        return n;
    }

    DimBinding bind(const DimDecl& e, const std::vector<std::string>& dims) const {
        DimBinding b;
        b.instructionDim = e.name;
        b.kernelDims = dims;
        b.reduction = e.reduction;
        b.instructionExtent = *evaluate(e.extent, {});
        b.kernelExtent = extentOf(dims);
        b.tiles = ceilDiv(b.kernelExtent, b.instructionExtent);
        b.padding = dims.empty() ? 0.0
                                 : 1.0 - static_cast<double>(b.kernelExtent) /
                                             static_cast<double>(b.tiles * b.instructionExtent);
        return b;
    }

    void descend(std::vector<DimBinding>& bound, std::set<std::string>& taken) {
        const std::size_t at = bound.size();
        if (at == instructionDims_.size()) {
            finish(bound);
            return;
        }
        const DimDecl& e = *instructionDims_[at];
        for (const auto& option : options_list_) {
            if (std::any_of(option.dims.begin(), option.dims.end(), [&](const std::string& d) { return taken.count(d); }))
                continue;
            bound.push_back(bind(e, option.dims));
            std::string why = check(e, option.dims);
            if (!why.empty()) {
                if (options_.keepRejected)
                    reject(bound, why);
                bound.pop_back();
                continue;
            }
            for (const auto& d : option.dims)
                taken.insert(d);
            descend(bound, taken);
            for (const auto& d : option.dims)
                taken.erase(d);
            bound.pop_back();
        }
    }

    Candidate base(const std::vector<DimBinding>& bound) const {
        Candidate c;
        c.instruction = ins_.name;
        c.statement = statement_;
        c.dims = bound;
        for (const auto& p : pairs_) {
            OperandBinding o;
            o.instructionOperand = p.instruction->tensor;
            o.kernelTensor = p.kernel.tensor;
            o.output = p.output;
            c.operands.push_back(o);
        }
        return c;
    }

    void reject(const std::vector<DimBinding>& bound, const std::string& why) {
        Candidate c = base(bound);
        c.valid = false;
        c.reason = why;
        out_.push_back(std::move(c));
    }

    const DimBinding* bindingOf(const std::vector<DimBinding>& bound, const std::string& instructionDim) const {
        for (const auto& b : bound)
            if (b.instructionDim == instructionDim)
                return &b;
        return nullptr;
    }

    // Strides the instruction sees for one operand, per index of its access.
    std::vector<std::int64_t> operandStrides(const Pair& p, const std::vector<DimBinding>& bound) const {
        std::vector<std::int64_t> strides;
        for (const auto& idx : p.instruction->indices) {
            std::int64_t s = 0;
            for (const auto& t : idx.terms) {
                const DimBinding* b = bindingOf(bound, t.dim);
                if (b && !b->kernelDims.empty())
                    s += t.coeff * p.kernel.strideAlong(b->kernelDims.back());
            }
            strides.push_back(s);
        }
        return strides;
    }

    // Extent actually used along each index of an operand's access (1 for constants and tiles of one).
    std::vector<std::int64_t> operandExtents(const Pair& p, const std::vector<DimBinding>& bound) const {
        std::vector<std::int64_t> extents;
        for (const auto& idx : p.instruction->indices) {
            std::int64_t n = 1;
            for (const auto& t : idx.terms) {
                const DimBinding* b = bindingOf(bound, t.dim);
                if (b && !b->kernelDims.empty())
                    n += (std::min(b->instructionExtent, b->kernelExtent) - 1) * std::abs(t.coeff);
            }
            extents.push_back(n);
        }
        return extents;
    }

    static bool injective(std::vector<std::int64_t> strides, std::vector<std::int64_t> extents) {
        std::vector<std::size_t> order(strides.size());
        std::iota(order.begin(), order.end(), 0);
        std::sort(order.begin(), order.end(),
                  [&](std::size_t a, std::size_t b) { return std::abs(strides[a]) < std::abs(strides[b]); });
        std::int64_t reach = 0; // largest offset reachable with the smaller strides
        for (auto i : order) {
            if (extents[i] <= 1)
                continue;
            if (std::abs(strides[i]) <= reach)
                return false;
            reach += std::abs(strides[i]) * (extents[i] - 1);
        }
        return true;
    }

    std::string dimsText(const std::vector<std::int64_t>& v) const {
        std::string s = "(";
        for (std::size_t i = 0; i < v.size(); ++i)
            s += (i ? ", " : "") + std::to_string(v[i]);
        return s + ")";
    }

    void finish(const std::vector<DimBinding>& bound) {
        Candidate c = base(bound);
        c.valid = true;
        double utilisation = 1;
        double filled = 1;
        std::int64_t calls = 1;
        std::set<std::string> boundDims;
        for (const auto& b : bound) {
            const double slots = static_cast<double>(b.tiles * b.instructionExtent);
            utilisation *= static_cast<double>(b.kernelDims.empty() ? 1 : b.kernelExtent) / slots;
            if (!b.kernelDims.empty())
                filled *= static_cast<double>(b.kernelExtent) / slots;
            calls *= b.tiles;
            boundDims.insert(b.kernelDims.begin(), b.kernelDims.end());
        }
        for (const auto& d : statementDims_)
            if (!boundDims.count(d)) {
                c.outerLoops.push_back(d);
                calls *= extents_.at(d);
            }
        c.utilisation = utilisation;
        c.padding = 1 - filled;
        c.calls = calls;
        for (std::size_t i = 0; i < pairs_.size(); ++i) {
            const Pair& p = pairs_[i];
            auto strides = operandStrides(p, bound);
            auto extents = operandExtents(p, bound);
            c.operands[i].strides = strides;
            if (!injective(strides, extents)) {
                if (p.output) {
                    reject(bound, "the instruction would write " + p.kernel.tensor +
                                      " through an overlapping view (strides " + dimsText(strides) + ")");
                    return;
                }
                c.operands[i].overlapping = true;
                c.layoutChanges.push_back("overlapping view of " + p.kernel.tensor + ": the instruction's " +
                                          p.instruction->tensor + " reads it with strides " + dimsText(strides) +
                                          ", no copy needed");
            }
            addLayoutChanges(c, p, strides, extents);
        }
        out_.push_back(std::move(c));
    }

    void addLayoutChanges(Candidate& c, const Pair& p, const std::vector<std::int64_t>& strides,
                          const std::vector<std::int64_t>& extents) const {
        const TensorDecl& op = *p.instructionDecl;
        const std::string& T = p.kernel.tensor;
        const std::string verb = p.output ? "accumulate " + T + " in the instruction's layout and copy it back"
                                          : "pack " + T;
        if (op.unitStride && !strides.empty() && extents.back() > 1 && strides.back() != 1) {
            const std::string along = indexText(p.instruction->indices.back());
            auto contiguous = std::find(strides.begin(), strides.end(), 1);
            if (contiguous != strides.end() && extents[static_cast<std::size_t>(contiguous - strides.begin())] > 1)
                c.layoutChanges.push_back(verb + ": it is contiguous along the instruction's " +
                                          indexText(p.instruction->indices[static_cast<std::size_t>(
                                              contiguous - strides.begin())]) +
                                          ", the instruction needs unit stride along " + along + " (a transposition)");
            else
                c.layoutChanges.push_back(verb + ": its stride along the instruction's " + along + " is " +
                                          std::to_string(strides.back()) + ", the instruction needs unit stride");
        }
        if (op.maxStride > 0)
            for (std::size_t r = 0; r < strides.size(); ++r)
                if (extents[r] > 1 && std::abs(strides[r]) > op.maxStride)
                    c.layoutChanges.push_back(verb + ": its stride along the instruction's " +
                                              indexText(p.instruction->indices[r]) + " is " + std::to_string(strides[r]) +
                                              ", above the instruction's limit of " + std::to_string(op.maxStride));
        if (op.alignBytes > 0 && strides.size() >= 2 && extents[strides.size() - 2] > 1) {
            const std::int64_t rowBytes = strides[strides.size() - 2] * byteSize(op.type);
            if (rowBytes % op.alignBytes != 0)
                c.layoutChanges.push_back(verb + ": its rows start every " + std::to_string(rowBytes) +
                                          " bytes, the instruction needs " + std::to_string(op.alignBytes) +
                                          "-byte alignment");
        }
    }

    static std::string indexText(const AffineExpr& e) { return print(e); }

    const Kernel& k_;
    const Instruction& ins_;
    int statement_;
    std::vector<Pair> pairs_;
    const MappingOptions& options_;
    std::vector<Candidate>& out_;
    ParamValues params_;
    std::vector<std::string> statementDims_;
    std::map<std::string, std::int64_t> extents_;
    std::vector<const DimDecl*> instructionDims_;
    std::vector<Option> options_list_;
};

std::string updateName(Update u) {
    return u == Update::Assign ? "assigns (=)" : u == Update::Sum ? "accumulates a sum (+=)" : "accumulates a maximum (max=)";
}

AccessInfo accessInfo(const Kernel& k, const Access& a) {
    AccessInfo info;
    info.tensor = a.tensor;
    info.decl = k.findTensor(a.tensor);
    info.storageStrides = *strides(*info.decl, k.paramValues());
    info.access = &a;
    return info;
}

// Matches one statement against one instruction; adds the candidates (or the reason there are none).
void mapStatement(const Kernel& k, int statementIndex, const Instruction& ins, const MappingOptions& options,
                  std::vector<Candidate>& out) {
    const Statement& ks = k.statements[static_cast<std::size_t>(statementIndex)];
    const Statement& is = ins.body.statements.front();
    auto rejectWhole = [&](const std::string& why) {
        if (!options.keepRejected)
            return;
        Candidate c;
        c.instruction = ins.name;
        c.statement = statementIndex;
        c.reason = why;
        out.push_back(std::move(c));
    };
    if (ks.update != is.update) {
        rejectWhole("the instruction " + updateName(is.update) + ", the kernel's statement " + updateName(ks.update));
        return;
    }
    std::vector<std::vector<OperandPair>> matches;
    std::string why;
    matchExpr(is.value, ks.value, {{&is.target, &ks.target, true}}, matches, why);
    if (matches.empty()) {
        rejectWhole("the statements differ: " + why);
        return;
    }
    for (const auto& match : matches) {
        std::vector<Pair> pairs;
        std::string typeProblem;
        for (const auto& m : match) {
            Pair p;
            p.kernel = accessInfo(k, *m.kernel);
            p.instruction = m.instruction;
            p.instructionDecl = ins.body.findTensor(m.instruction->tensor);
            p.output = m.output;
            if (p.instructionDecl->type != p.kernel.decl->type && typeProblem.empty())
                typeProblem = p.kernel.tensor + " is " + std::string(typeName(p.kernel.decl->type)) +
                              " but the instruction's " + p.instructionDecl->name + " is " +
                              std::string(typeName(p.instructionDecl->type));
            pairs.push_back(std::move(p));
        }
        if (!typeProblem.empty()) {
            rejectWhole(typeProblem);
            continue;
        }
        Search(k, ins, statementIndex, std::move(pairs), options, out).run();
    }
}

std::string keyOf(const Candidate& c, bool withOperands) {
    std::string key = c.instruction + ":";
    for (std::size_t i = 0; i < c.dims.size(); ++i) {
        const auto& d = c.dims[i];
        key += (i ? ", " : " ") + d.instructionDim + "=";
        if (d.kernelDims.empty())
            key += "1";
        for (std::size_t j = 0; j < d.kernelDims.size(); ++j)
            key += (j ? "." : "") + d.kernelDims[j];
    }
    if (withOperands) {
        key += ";";
        for (std::size_t i = 0; i < c.operands.size(); ++i)
            key += (i ? ", " : " ") + c.operands[i].instructionOperand + "=" + c.operands[i].kernelTensor;
    }
    if (c.statement > 0)
        key += " (statement " + std::to_string(c.statement + 1) + ")";
    return key;
}

// Candidates that differ only in which instruction operand takes which tensor, with nothing else
// changed (same binding, same validity and reason, same layout changes), are one choice.
std::string symmetryKey(const Candidate& c) {
    std::string key = keyOf(c, false) + "|" + (c.valid ? "valid" : "rejected: " + c.reason) + "|";
    std::vector<std::string> changes = c.layoutChanges;
    std::sort(changes.begin(), changes.end());
    for (const auto& s : changes)
        key += s + ";";
    std::vector<std::string> tensors;
    for (const auto& o : c.operands)
        tensors.push_back(o.kernelTensor);
    std::sort(tensors.begin(), tensors.end());
    for (const auto& t : tensors)
        key += t + ",";
    return key;
}

// Whether `better` binds every dimension `c` binds, the same way, and more besides.
bool extends(const Candidate& better, const Candidate& c) {
    if (better.instruction != c.instruction || better.statement != c.statement || better.dims.size() != c.dims.size() ||
        better.utilisation <= c.utilisation)
        return false;
    for (std::size_t i = 0; i < c.dims.size(); ++i)
        if (!c.dims[i].kernelDims.empty() && c.dims[i].kernelDims != better.dims[i].kernelDims)
            return false;
    for (std::size_t i = 0; i < c.operands.size(); ++i)
        if (c.operands[i].kernelTensor != better.operands[i].kernelTensor)
            return false;
    return true;
}

void markDominated(std::vector<Candidate>& candidates) {
    for (auto& c : candidates) {
        if (!c.valid)
            continue;
        for (const auto& other : candidates)
            if (other.valid && &other != &c && extends(other, c)) {
                c.dominated = true;
                break;
            }
    }
}

} // namespace

MappingResult mapKernel(const Kernel& kernel, const Target& target, const MappingOptions& options) {
    MappingResult result;
    result.kernel = kernel.name;
    result.target = target.name;
    std::vector<Candidate> all;
    for (const auto& ins : target.instructions) {
        if (ins.kind != Instruction::Kind::Compute || ins.body.statements.size() != 1)
            continue;
        if (!options.onlyInstruction.empty() && ins.name != options.onlyInstruction)
            continue;
        for (std::size_t s = 0; s < kernel.statements.size(); ++s)
            mapStatement(kernel, static_cast<int>(s), ins, options, all);
    }
    // Merge symmetric choices, keeping the first of each group.
    std::map<std::string, std::size_t> groups;
    for (auto& c : all) {
        auto [it, inserted] = groups.emplace(symmetryKey(c), result.candidates.size());
        if (inserted)
            result.candidates.push_back(std::move(c));
        else
            ++result.candidates[it->second].symmetricCount;
    }
    for (auto& c : result.candidates)
        c.key = keyOf(c, true);
    markDominated(result.candidates);
    std::stable_sort(result.candidates.begin(), result.candidates.end(), [](const Candidate& a, const Candidate& b) {
        if (a.valid != b.valid)
            return a.valid;
        if (a.dominated != b.dominated)
            return b.dominated;
        if (a.valid) {
            if (a.utilisation != b.utilisation)
                return a.utilisation > b.utilisation;
            if (a.calls != b.calls)
                return a.calls < b.calls;
            if (a.layoutChanges.size() != b.layoutChanges.size())
                return a.layoutChanges.size() < b.layoutChanges.size();
        } else {
            if (a.dims.size() != b.dims.size())
                return a.dims.size() > b.dims.size();
            // A statement of the same shape with other types is nearer than a statement of another shape.
            const bool aDiffers = a.reason.rfind("the statements differ", 0) == 0;
            const bool bDiffers = b.reason.rfind("the statements differ", 0) == 0;
            if (aDiffers != bDiffers)
                return bDiffers;
        }
        return a.key < b.key;
    });
    for (std::size_t i = 0; i < result.candidates.size(); ++i)
        result.candidates[i].id = static_cast<int>(i + 1);
    return result;
}

std::vector<const Candidate*> nearestMisses(const MappingResult& result, std::size_t count) {
    std::vector<const Candidate*> out;
    std::set<std::string> said; // one line per instruction and reason
    for (const auto& c : result.candidates)
        if (!c.valid && out.size() < count && said.insert(c.instruction + "|" + c.reason).second)
            out.push_back(&c);
    return out;
}

} // namespace isamap::mapping
