// A vector whose elements live inside the object, up to a fixed capacity.
//
// A schedule is a handful of short lists (a tile per loop dimension, a flag per operand, per memory
// level). Held in std::vector, each list is a heap block of its own, and the cost model, which prices
// tens of thousands of schedules, spent about half of each evaluation waiting for those scattered
// blocks. Inline, a schedule is one contiguous object that is copied without allocating and read in
// sequence. The capacity is a hard limit: schedule::makeSpace refuses a space that would exceed it, so
// that going over it (an std::length_error) is a programming error, never a user's input.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace isamap {

template <typename T, std::size_t Capacity>
class InlineVector {
    static_assert(std::is_trivially_copyable_v<T>, "elements are copied as plain bytes");
    static_assert(Capacity < 256, "the size is held in one byte");

public:
    using value_type = T;
    using size_type = std::size_t;
    using reference = T&;
    using const_reference = const T&;
    using iterator = T*;
    using const_iterator = const T*;
    using reverse_iterator = std::reverse_iterator<iterator>;
    using const_reverse_iterator = std::reverse_iterator<const_iterator>;

    InlineVector() = default;
    explicit InlineVector(size_type n, const T& value = T()) { assign(n, value); }
    InlineVector(std::initializer_list<T> items) { assign(items.begin(), items.end()); }
    // From the std::vector the schedule's code computes a list in (a loop order, a set of tiles).
    InlineVector(const std::vector<T>& items) { assign(items.begin(), items.end()); }
    template <typename It, typename = typename std::iterator_traits<It>::iterator_category>
    InlineVector(It first, It last) {
        assign(first, last);
    }

    static constexpr size_type capacity() { return Capacity; }
    size_type size() const { return size_; }
    bool empty() const { return size_ == 0; }

    T* data() { return items_; }
    const T* data() const { return items_; }
    iterator begin() { return items_; }
    iterator end() { return items_ + size_; }
    const_iterator begin() const { return items_; }
    const_iterator end() const { return items_ + size_; }
    reverse_iterator rbegin() { return reverse_iterator(end()); }
    reverse_iterator rend() { return reverse_iterator(begin()); }
    const_reverse_iterator rbegin() const { return const_reverse_iterator(end()); }
    const_reverse_iterator rend() const { return const_reverse_iterator(begin()); }

    T& operator[](size_type i) { return items_[i]; }
    const T& operator[](size_type i) const { return items_[i]; }
    T& front() { return items_[0]; }
    const T& front() const { return items_[0]; }
    T& back() { return items_[size_ - 1]; }
    const T& back() const { return items_[size_ - 1]; }

    void push_back(const T& value) {
        requireRoomFor(size_ + 1);
        items_[size_++] = value;
    }
    void pop_back() { --size_; }
    void clear() { size_ = 0; }

    void resize(size_type n, const T& value = T()) {
        requireRoomFor(n);
        for (size_type i = size_; i < n; ++i)
            items_[i] = value;
        size_ = static_cast<std::uint8_t>(n);
    }
    void assign(size_type n, const T& value) {
        requireRoomFor(n);
        std::fill(items_, items_ + n, value);
        size_ = static_cast<std::uint8_t>(n);
    }
    template <typename It, typename = typename std::iterator_traits<It>::iterator_category>
    void assign(It first, It last) {
        clear();
        for (; first != last; ++first)
            push_back(*first);
    }

    friend bool operator==(const InlineVector& a, const InlineVector& b) {
        return std::equal(a.begin(), a.end(), b.begin(), b.end());
    }

private:
    static void requireRoomFor(size_type n) {
        if (n > Capacity)
            throw std::length_error("InlineVector: more than its capacity of " + std::to_string(Capacity));
    }

    std::uint8_t size_ = 0;
    T items_[Capacity]{};
};

} // namespace isamap
