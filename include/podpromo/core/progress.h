// Progress reporting and cooperative cancellation for long work (DESIGN.md §5.6).
#pragma once

#include <atomic>
#include <functional>
#include <string_view>

#include "podpromo/core/lifecycle.h"

namespace podpromo {

// Set once by any thread; polled by long-running work between and inside stages. Thread-safe.
class CancelToken {
  public:
    void Cancel() { cancelled_.store(true, std::memory_order_relaxed); }
    bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }

  private:
    std::atomic<bool> cancelled_{false};
};

// Called with the stage and the fraction (0..1) of that stage done. May be called from worker threads;
// implementations must be thread-safe. An empty function is allowed everywhere a ProgressFn is taken.
using ProgressFn = std::function<void(Stage stage, double fraction)>;

inline void Report(const ProgressFn& fn, Stage stage, double fraction) {
    if (fn) fn(stage, fraction);
}

}  // namespace podpromo
