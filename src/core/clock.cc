#include "podpromo/core/clock.h"

#include <chrono>

namespace podpromo {

int64_t NowEpochMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace podpromo

namespace podpromo {

namespace {
class WallClock : public Clock {
  public:
    int64_t NowMs() const override { return NowEpochMs(); }
};
}  // namespace

const Clock& SystemClock() {
    static const WallClock clock;
    return clock;
}

}  // namespace podpromo
