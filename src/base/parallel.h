// Runs independent work items on all cores.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace weft {

// Calls fn(i) for every i in [0, n), on up to hardware_concurrency() threads. fn must be safe to
// call concurrently for different i. Returns when all calls have returned.
template <typename Fn>
void ParallelFor(size_t n, Fn fn) {
  static const size_t cores = std::max(1u, std::thread::hardware_concurrency());  // reads /sys
  size_t threads = std::min(n, cores);
  if (threads <= 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < n;) fn(i);
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
}

}  // namespace weft
