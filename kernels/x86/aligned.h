// Storage for data the AVX-512 kernels read or write 64 bytes at a time (packed weights, output
// stage constants, scratch rows): buffers that start on a cache line, so that no full-vector
// access of them splits two lines, whatever the heap happens to return.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace edgeopt::kernels::x86 {

template <class T>
struct CacheLineAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlignment{64};
  CacheLineAllocator() = default;
  template <class U>
  CacheLineAllocator(const CacheLineAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlignment)); }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, kAlignment); }
  template <class U>
  bool operator==(const CacheLineAllocator<U>&) const noexcept { return true; }
  template <class U>
  bool operator!=(const CacheLineAllocator<U>&) const noexcept { return false; }
};

template <class T>
using AlignedVector = std::vector<T, CacheLineAllocator<T>>;

}  // namespace edgeopt::kernels::x86
