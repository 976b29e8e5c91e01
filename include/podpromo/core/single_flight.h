// Callers that ask for the same expensive answer at the same time share one computation of it: the first
// computes, the others wait for that result instead of starting their own. A caller that arrives after a
// computation ended starts a new one, so an answer was begun at most one computation's time before the
// request that receives it.
// Thread-safe; the computation runs on the first caller's thread, and an exception from it reaches every waiter.
#pragma once

#include <exception>
#include <functional>
#include <future>
#include <mutex>
#include <optional>

namespace podpromo {

template <typename T>
class SingleFlight {
  public:
    // Runs `compute`, or waits for the run in flight and returns its result (or rethrows its exception).
    T Run(const std::function<T()>& compute) {
        std::shared_future<T> result;
        std::optional<std::promise<T>> mine;
        {
            std::lock_guard<std::mutex> lock(mu_);
            if (!in_flight_.valid()) {
                mine.emplace();
                in_flight_ = mine->get_future().share();
            }
            result = in_flight_;
        }
        if (mine) {
            try {
                mine->set_value(compute());
            } catch (...) {
                mine->set_exception(std::current_exception());
            }
            std::lock_guard<std::mutex> lock(mu_);
            in_flight_ = {};
        }
        return result.get();
    }

  private:
    std::mutex mu_;
    std::shared_future<T> in_flight_;
};

}  // namespace podpromo
