// Tensors in the generated code's representation (internal to compiler/measure/): 64-byte aligned
// native elements, filled from and read back into the interpreter's values.
#pragma once

#include "codegen/codegen.h"
#include "interp/interpreter.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace isamap::measure {

// A kernel tensor in the generated code's representation: 64-byte aligned native elements.
class NativeTensor {
public:
    NativeTensor(const codegen::Argument& a, const interp::Buffer& values) : arg_(a), layout_(values) {
        const std::size_t bytes = static_cast<std::size_t>(a.storageElements) * static_cast<std::size_t>(ir::byteSize(a.type));
        memory_.reset(static_cast<unsigned char*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64)));
        std::memset(memory_.get(), 0, bytes);
        values.forEach([&](const std::vector<std::int64_t>& index) { set(values.offsetOf(index), values.at(index)); });
    }
    void* data() { return memory_.get(); }
    double get(const std::vector<std::int64_t>& index) const { return getAt(layout_.offsetOf(index)); }

private:
    void set(std::int64_t at, double v) {
        unsigned char* p = memory_.get();
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
        const unsigned char* p = memory_.get();
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
    codegen::Argument arg_;
    interp::Buffer layout_;
    std::unique_ptr<unsigned char, Free> memory_;
};

} // namespace isamap::measure
