// The liveness memory planner targets share: buffers that are never alive at the same time share
// memory. A buffer is alive from the first step that writes it to the last step that reads it
// (inclusive); each goes, largest first, to the lowest aligned offset free of every buffer alive
// at an overlapping time. Header-only, standard library only, so that it can serve a target's
// plan (x86) and a target's code generator (the NEON package) alike.
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

namespace edgeopt::targets {

struct LiveBuffer {
  size_t bytes = 0;
  int first = 0, last = 0;  // steps (first <= last); -1 for "before the first step"
};

// Offsets of `buffers` (in their order) in one arena of *arenaBytes bytes.
inline std::vector<size_t> planArena(const std::vector<LiveBuffer>& buffers, size_t align, size_t* arenaBytes) {
  std::vector<size_t> order(buffers.size()), offset(buffers.size(), 0);
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return buffers[a].bytes > buffers[b].bytes; });
  std::vector<size_t> placed;
  *arenaBytes = 0;
  for (size_t i : order) {
    const LiveBuffer& s = buffers[i];
    std::vector<std::pair<size_t, size_t>> busy;
    for (size_t j : placed) {
      const LiveBuffer& o = buffers[j];
      if (o.first <= s.last && s.first <= o.last) busy.push_back({offset[j], offset[j] + o.bytes});
    }
    std::sort(busy.begin(), busy.end());
    size_t at = 0;
    for (const auto& [lo, hi] : busy) {
      if (at + s.bytes <= lo) break;
      at = std::max(at, (hi + align - 1) / align * align);
    }
    offset[i] = at;
    *arenaBytes = std::max(*arenaBytes, at + s.bytes);
    placed.push_back(i);
  }
  return offset;
}

}  // namespace edgeopt::targets
