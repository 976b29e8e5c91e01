#include "rate_limit.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace podpromo::http {
namespace {

// A bucket of 5 per 10 s: five at once, then a refusal that says when one more is there, a steady refill of one every
// 2 s, and never more than the burst however long it rests.
TEST(TokenBuckets, ABurstThenOneEveryIntervalAndTheWaitIsSaid) {
    ManualClock clock(1'000'000);
    TokenBuckets buckets(&clock);
    const RatePolicy policy{5, 10};
    for (int i = 4; i >= 0; --i) {
        const auto d = buckets.Take("k", policy, 1);
        EXPECT_TRUE(d.allowed);
        EXPECT_EQ(d.remaining, i);
    }
    auto refused = buckets.Take("k", policy, 1);
    EXPECT_FALSE(refused.allowed);
    EXPECT_EQ(refused.retry_after_s, 2);
    EXPECT_EQ(refused.reset_s, 10);
    EXPECT_TRUE(buckets.Take("other", policy, 1).allowed) << "each key has its own bucket";
    clock.Advance(2000);
    EXPECT_TRUE(buckets.Take("k", policy, 1).allowed);
    EXPECT_FALSE(buckets.Take("k", policy, 1).allowed);
    clock.Advance(3'600'000);
    EXPECT_EQ(buckets.Take("k", policy, 1).remaining, 4) << "at most the burst";
    // A heavy request needs its whole cost; refused, it takes nothing.
    EXPECT_TRUE(buckets.Take("k", policy, 3).allowed);
    const auto heavy = buckets.Take("k", policy, 3);
    EXPECT_FALSE(heavy.allowed);
    EXPECT_EQ(heavy.remaining, 1);
    EXPECT_EQ(heavy.retry_after_s, 4);
    EXPECT_TRUE(buckets.Take("k", policy, 1).allowed);
}

// Parallel takers never get more than the bucket holds.
TEST(TokenBuckets, ParallelRequestsCannotOverdraw) {
    ManualClock clock(0);
    TokenBuckets buckets(&clock);
    std::atomic<int> allowed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 100; ++i) allowed += buckets.Take("one", {50, 60}, 1).allowed ? 1 : 0;
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(allowed.load(), 50);
}

// A flood of addresses stays bounded, and does not refill a key's half-spent bucket of a larger policy: each bucket is
// judged full by its own quota.
TEST(TokenBuckets, AFloodOfKeysStaysBoundedAndRefillsNoOtherBucket) {
    ManualClock clock(0);
    TokenBuckets buckets(&clock);
    const RatePolicy flood{10, 60}, key_policy{1000, 60};
    for (size_t i = 0; i + 1 < TokenBuckets::kMaxKeys; ++i) buckets.Take("a:" + std::to_string(i), flood, 1);
    clock.Advance(12'000);                                               // the flood's buckets are full again
    for (int i = 0; i < 600; ++i) buckets.Take("k:one", key_policy, 1);  // 400 of 1000 left, more than 10
    for (size_t i = 0; i < 500; ++i) buckets.Take("b:" + std::to_string(i), flood, 1);
    EXPECT_LE(buckets.size(), TokenBuckets::kMaxKeys);
    EXPECT_LT(buckets.size(), 1000u) << "the full buckets were dropped";
    EXPECT_EQ(buckets.Take("k:one", key_policy, 1).remaining, 399) << "not judged full by the flood's quota";
    // A flood of keys none of which has refilled: half go per sweep, never one scan per key.
    ManualClock still(0);
    TokenBuckets busy(&still);
    for (size_t i = 0; i < 3 * TokenBuckets::kMaxKeys; ++i) {
        still.Advance(1);
        busy.Take("c:" + std::to_string(i), flood, 1);
    }
    EXPECT_LE(busy.size(), TokenBuckets::kMaxKeys);
}

TEST(RateLimits, ProbesAreFreeAndHeavyRequestsCostMore) {
    EXPECT_EQ(RequestCost("GET", "/livez", 10), 0);
    EXPECT_EQ(RequestCost("GET", "/health", 10), 0);
    EXPECT_EQ(RequestCost("GET", "/metrics", 10), 0);
    EXPECT_EQ(RequestCost("GET", "/assets/app.js", 10), 0);
    EXPECT_EQ(RequestCost("GET", "/api/v1/episodes", 10), 1);
    EXPECT_EQ(RequestCost("POST", "/api/v1/session", 10), 1);
    EXPECT_EQ(RequestCost("POST", "/api/v1/episodes", 10), 10);
    EXPECT_EQ(RequestCost("POST", "/api/v1/episodes/ep1/clips", 10), 10);
    EXPECT_EQ(RequestCost("PUT", "/api/v1/episodes/ep1/transcript", 7), 7);
    EXPECT_EQ(RequestCost("GET", "/api/v1/episodes/ep1/clips", 10), 1);
    EXPECT_EQ(RequestCost("POST", "/livez", 10), 1) << "only reads of the probes are free";
}

}  // namespace
}  // namespace podpromo::http
