// Tensors in the generated code's representation (internal to compiler/measure/): 64-byte aligned
// native elements, filled from and read back into the interpreter's values, each kernel argument
// starting at its own offset within a page.
#pragma once

#include "codegen/codegen.h"
#include "interp/interpreter.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace isamap::measure {

// A kernel tensor in the generated code's representation: 64-byte aligned native elements.
//
// The tensor numbered `placement` among a kernel's arguments starts `placement` times 9 cache lines
// into a page. Large buffers from the C library all start at the same offset in their pages, so that
// the same element of two channel-last tensors whose pixels are 2 KiB apart falls in the same few sets
// of the first-level cache: a depthwise layer of 512 channels ran 1.8 times slower with its input and
// output at the same page offset than with them 9 lines apart (docs/PERFORMANCE.md). Staggering them
// measures the kernel rather than the coincidence of two allocations.
class NativeTensor {
public:
    NativeTensor(const codegen::Argument& a, const interp::Buffer& values, std::size_t placement)
        : arg_(a), layout_(values), skew_(placement * kStagger % kPage) {
        memory_.reset(static_cast<unsigned char*>(std::aligned_alloc(kPage, (skew_ + bytes() + kPage - 1) / kPage * kPage)));
        fill(values);
    }
    // Whether this tensor's memory can serve as argument `a` numbered `placement`: same tensor, type,
    // size and offset within its page.
    bool fits(const codegen::Argument& a, std::size_t placement) const {
        return a.tensor == arg_.tensor && a.type == arg_.type && a.storageElements == arg_.storageElements &&
               placement * kStagger % kPage == skew_;
    }
    // Serves as argument `a` (which it fits) again, holding `values`: memory already touched, where a
    // new tensor's first touch of each page is what its making costs on a virtual machine.
    void refill(const codegen::Argument& a, const interp::Buffer& values) {
        arg_ = a;
        layout_ = values;
        fill(values);
    }
    void* data() { return memory_.get() + skew_; }
    double get(const std::vector<std::int64_t>& index) const { return getAt(layout_.offsetOf(index)); }

private:
    std::size_t bytes() const {
        return static_cast<std::size_t>(arg_.storageElements) * static_cast<std::size_t>(ir::byteSize(arg_.type));
    }
    // Elements no index reaches (a layout's gaps) are zero.
    void fill(const interp::Buffer& values) {
        std::memset(data(), 0, bytes());
        const interp::Values& v = *values.storage;
        values.forEachStored([&](std::int64_t at, std::int64_t) { set(at, v[static_cast<std::size_t>(at)]); });
    }
    void set(std::int64_t at, double v) {
        unsigned char* p = memory_.get() + skew_;
        const auto i = static_cast<std::size_t>(at);
        switch (arg_.type) {
        case ir::ScalarType::f32: reinterpret_cast<float*>(p)[i] = static_cast<float>(v); break;
        case ir::ScalarType::bf16: {
            const float f = static_cast<float>(v); // exactly a bf16: the random inputs are
            std::uint32_t bits;
            std::memcpy(&bits, &f, 4);
            reinterpret_cast<std::uint16_t*>(p)[i] = static_cast<std::uint16_t>(bits >> 16);
            break;
        }
        case ir::ScalarType::f16: break; // refused before (no host lowering)
        case ir::ScalarType::i8: reinterpret_cast<std::int8_t*>(p)[i] = static_cast<std::int8_t>(v); break;
        case ir::ScalarType::u8: p[i] = static_cast<std::uint8_t>(v); break;
        case ir::ScalarType::i32: reinterpret_cast<std::int32_t*>(p)[i] = static_cast<std::int32_t>(v); break;
        }
    }
    double getAt(std::int64_t at) const {
        const unsigned char* p = memory_.get() + skew_;
        const auto i = static_cast<std::size_t>(at);
        switch (arg_.type) {
        case ir::ScalarType::f32: return reinterpret_cast<const float*>(p)[i];
        case ir::ScalarType::bf16: {
            const std::uint32_t bits = static_cast<std::uint32_t>(reinterpret_cast<const std::uint16_t*>(p)[i]) << 16;
            float f;
            std::memcpy(&f, &bits, 4);
            return f;
        }
        case ir::ScalarType::f16: return 0;
        case ir::ScalarType::i8: return reinterpret_cast<const std::int8_t*>(p)[i];
        case ir::ScalarType::u8: return p[i];
        case ir::ScalarType::i32: return reinterpret_cast<const std::int32_t*>(p)[i];
        }
        return 0;
    }

    struct Free {
        void operator()(unsigned char* p) const { std::free(p); }
    };
    static constexpr std::size_t kPage = 4096, kStagger = 9 * 64;
    codegen::Argument arg_;
    interp::Buffer layout_;
    std::size_t skew_ = 0;
    std::unique_ptr<unsigned char, Free> memory_;
};

// "C[12, 7]": where a verification found its largest difference.
inline std::string indexText(const std::string& tensor, const std::vector<std::int64_t>& index) {
    std::string s = tensor + "[";
    for (std::size_t i = 0; i < index.size(); ++i)
        s += (i ? ", " : "") + std::to_string(index[i]);
    return s + "]";
}

} // namespace isamap::measure
