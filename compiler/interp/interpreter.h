// The reference interpreter: runs any checked kernel or op graph on given or random inputs, computing
// in double precision and storing each written tensor rounded to its element type, so that every
// later stage (mapped instructions, generated code, the simulator) can be verified against it.
//
//   interp::Buffers buffers = interp::randomInputs(kernel, /*seed=*/1);
//   if (auto error = interp::run(kernel, buffers)) ...;
//   double sum = interp::checksum(buffers.at("C")).sum;
#pragma once

#include "ir/ir.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace isamap::interp {

// Where large arrays of values are allocated: on 2 MB boundaries, with the kernel asked for transparent
// huge pages (madvise), so that the first touch of a tensor of gigabytes faults once per 2 MB rather
// than once per 4 KB page. On a virtual machine a first touch costs microseconds a page: filling 2 GB
// took 5.4 s in 4 KB pages and 1.6-3.9 s in 2 MB ones. Small arrays come from the usual heap.
void* allocateValues(std::size_t bytes);
void freeValues(void* p, std::size_t bytes);

template <typename T>
struct LargePageAllocator {
    using value_type = T;
    LargePageAllocator() = default;
    template <typename U>
    LargePageAllocator(const LargePageAllocator<U>&) {}
    T* allocate(std::size_t n) { return static_cast<T*>(allocateValues(n * sizeof(T))); }
    void deallocate(T* p, std::size_t n) { freeValues(p, n * sizeof(T)); }
    template <typename U>
    bool operator==(const LargePageAllocator<U>&) const { return true; }
};

// A tensor's stored values, in double precision whatever its element type.
using Values = std::vector<double, LargePageAllocator<double>>;

// A tensor's values: a view (shape, strides, offset) into shared storage, so that a graph can hand a
// slice of one of its tensors to a kernel.
struct Buffer {
    ir::ScalarType type = ir::ScalarType::f32;
    std::vector<std::int64_t> shape;
    std::vector<std::int64_t> strides;
    std::int64_t offset = 0;
    std::shared_ptr<Values> storage;

    std::int64_t elementCount() const;
    std::int64_t offsetOf(const std::vector<std::int64_t>& index) const;
    double& at(const std::vector<std::int64_t>& index) { return (*storage)[static_cast<std::size_t>(offsetOf(index))]; }
    double at(const std::vector<std::int64_t>& index) const {
        return (*storage)[static_cast<std::size_t>(offsetOf(index))];
    }
    // Visits every logical index in row-major order.
    template <typename F>
    void forEach(F f) const;
    // Visits every element as (storage offset, row-major position of its logical index), in storage
    // order: the dimension of the smallest stride innermost. For walks over tensors of a billion
    // elements (a 512 x 500000 GEMM's column-major input), which forEach takes in logical order, a
    // page apart from one element to the next, with an index vector and its dot product for each.
    template <typename F>
    void forEachStored(F f) const;
};

using Buffers = std::map<std::string, Buffer>;

// What an output starts at before a statement accumulates into it: 0 for a sum, -infinity for a max.
double identityOf(ir::Update u);
// Combines `value` into `slot` as the update says: replace, add, or keep the larger.
inline void accumulate(ir::Update u, double& slot, double value) {
    switch (u) {
    case ir::Update::Assign: slot = value; break;
    case ir::Update::Sum: slot += value; break;
    case ir::Update::Max: slot = slot > value ? slot : value; break;
    }
}

// A zero-filled buffer with the tensor's shape and layout; empty if the shape does not evaluate.
std::optional<Buffer> allocate(const ir::TensorDecl& t, const ir::ParamValues& params);

// Fills with values exactly representable in the buffer's type: floats uniform in [-1, 1), i8 in
// [-128, 127], u8 in [0, 255], i32 in [-1000, 1000].
void fillRandom(Buffer& b, std::uint64_t seed);

// Buffers for every input (random) and output (zero) of a kernel or graph.
Buffers randomInputs(const ir::Kernel& k, std::uint64_t seed);
Buffers randomInputs(const ir::Graph& g, std::uint64_t seed);

// Runs a kernel that passed the semantic checks. Inputs must be in `buffers`; outputs are created
// when absent. Returns an error message (missing input, shape mismatch), or nothing on success.
std::optional<std::string> run(const ir::Kernel& k, Buffers& buffers);
// Runs a kernel statement by statement as run() does, except statement `replaced`, which
// `replacement` performs on the buffers instead (the mapping proof and the simulator run one
// statement their own way); its result is then rounded to the output's type like every statement's.
// Every tensor the kernel writes must be in `buffers` (outputs are created when absent).
std::optional<std::string> runReplacing(const ir::Kernel& k, Buffers& buffers, int replaced,
                                        const std::function<std::optional<std::string>(Buffers&)>& replacement);

// The values a kernel gives its output at `points` (indices of the output tensor), each the first
// statement's update folded over the dimensions the output does not use, rounded to the output's
// type, then any element-wise statements after it (a fused epilogue, assigning at the first output's
// indices or at those with some dimensions dropped, ir::epiloguePoint) applied at that point; the last
// statement's target is the output. The reference for a sample of
// a result too big to compute whole. The output's indices must be plain dimensions (`C[m, n]`) or
// mixed radixes of them (`G[b, 128*jb + ji]`).
// Returns an error message, or nothing.
std::optional<std::string> valuesAt(const ir::Kernel& k, const Buffers& inputs,
                                    const std::vector<std::vector<std::int64_t>>& points, std::vector<double>& values);

// Runs the nodes of a graph in order, kernels taken from `module`.
std::optional<std::string> run(const ir::Graph& g, const ir::Module& module, Buffers& buffers);
// What a node's binding hands its kernel of a graph tensor: a view with the fixed leading indices
// dropped (`GH[3]` of GH : f32[T, B, 3, H] is a [B, 3, H] view of the fourth slice).
Buffer sliceOf(const Buffer& whole, const std::vector<std::int64_t>& fixedIndices);

struct Checksum {
    double sum = 0;      // plain sum of all elements
    double weighted = 0; // sum of element * (1 + (i mod 7)) over logical row-major position i
};
Checksum checksum(const Buffer& b);

// Largest absolute difference between two buffers of the same shape, and where it is.
struct Difference {
    double largest = 0;
    std::vector<std::int64_t> index;
};
std::optional<Difference> compare(const Buffer& a, const Buffer& b);

template <typename F>
void Buffer::forEach(F f) const {
    const std::size_t rank = shape.size();
    for (auto s : shape)
        if (s <= 0)
            return;
    std::vector<std::int64_t> index(rank, 0);
    while (true) {
        f(index);
        std::size_t d = rank;
        while (d > 0) {
            --d;
            if (++index[d] < shape[d])
                break;
            index[d] = 0;
            if (d == 0)
                return;
        }
        if (rank == 0)
            return;
    }
}

template <typename F>
void Buffer::forEachStored(F f) const {
    const std::size_t rank = shape.size();
    for (auto s : shape)
        if (s <= 0)
            return;
    // Row-major positions step by the product of the extents after a dimension.
    std::vector<std::int64_t> positionStride(rank, 1);
    for (std::size_t d = rank; d-- > 1;)
        positionStride[d - 1] = positionStride[d] * shape[d];
    // Dimensions from the largest stride to the smallest; equal strides keep their logical order.
    std::vector<std::size_t> walk(rank);
    for (std::size_t d = 0; d < rank; ++d)
        walk[d] = d;
    std::stable_sort(walk.begin(), walk.end(), [&](std::size_t a, std::size_t b) { return strides[a] > strides[b]; });
    if (rank == 0) {
        f(offset, std::int64_t{0});
        return;
    }
    const std::size_t innermost = walk.back();
    const std::int64_t inner = shape[innermost], innerStride = strides[innermost], innerStep = positionStride[innermost];
    std::vector<std::int64_t> index(rank, 0); // along `walk`
    std::int64_t rowOffset = offset, rowPosition = 0;
    while (true) {
        for (std::int64_t i = 0; i < inner; ++i)
            f(rowOffset + i * innerStride, rowPosition + i * innerStep);
        std::size_t w = rank - 1;
        while (true) {
            if (w == 0)
                return;
            --w;
            const std::size_t d = walk[w];
            rowOffset += strides[d];
            rowPosition += positionStride[d];
            if (++index[w] < shape[d])
                break;
            rowOffset -= strides[d] * shape[d];
            rowPosition -= positionStride[d] * shape[d];
            index[w] = 0;
        }
    }
}

} // namespace isamap::interp
