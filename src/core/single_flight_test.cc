#include "podpromo/core/single_flight.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace podpromo {
namespace {

using namespace std::chrono_literals;

TEST(SingleFlight, CallersAtTheSameTimeShareOneComputation) {
    SingleFlight<std::string> flight;
    std::atomic<int> computed{0};
    std::atomic<bool> release{false};
    std::atomic<int> waiting{0};
    auto slow = [&] {
        ++computed;
        while (!release) std::this_thread::sleep_for(1ms);
        return std::string("answer ") + std::to_string(computed.load());
    };
    std::vector<std::string> answers(8);
    std::vector<std::thread> callers;
    for (size_t i = 0; i < answers.size(); ++i) {
        callers.emplace_back([&, i] {
            ++waiting;
            answers[i] = flight.Run(slow);
        });
    }
    while (waiting < 8) std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(200ms);  // by now every caller waits inside Run on the first one's computation
    release = true;
    for (auto& t : callers) t.join();
    EXPECT_EQ(computed, 1);
    for (const auto& a : answers) EXPECT_EQ(a, "answer 1");

    // A caller after that computation ended gets a new one.
    EXPECT_EQ(flight.Run(slow), "answer 2");
    EXPECT_EQ(computed, 2);
}

TEST(SingleFlight, AFailureReachesEveryWaiterAndTheNextCallTriesAgain) {
    SingleFlight<int> flight;
    EXPECT_THROW(flight.Run([]() -> int { throw std::runtime_error("disk gone"); }), std::runtime_error);
    EXPECT_EQ(flight.Run([] { return 7; }), 7);
}

}  // namespace
}  // namespace podpromo
