// Wall-clock time as stored and logged everywhere, and the Clock seam that lets a test set it.
#pragma once

#include <atomic>
#include <cstdint>

namespace podpromo {

// Milliseconds since the Unix epoch, the time base of every stored timestamp and log line.
int64_t NowEpochMs();

// Where a component reads the time: the system's (SystemClock()) in the service, a ManualClock in tests.
// Implementations are thread-safe.
class Clock {
  public:
    virtual ~Clock() = default;
    // Milliseconds since the Unix epoch.
    virtual int64_t NowMs() const = 0;
};

// The system's wall clock (NowEpochMs). A process-wide object that lives for the whole run.
const Clock& SystemClock();

// A clock that moves only when told to. Thread-safe.
class ManualClock : public Clock {
  public:
    explicit ManualClock(int64_t start_ms) : now_(start_ms) {}
    int64_t NowMs() const override { return now_.load(); }
    void Advance(int64_t ms) { now_ += ms; }
    void Set(int64_t ms) { now_ = ms; }

  private:
    std::atomic<int64_t> now_;
};

}  // namespace podpromo
