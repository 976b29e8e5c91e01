#include "podpromo/core/clock.h"

#include <chrono>

namespace podpromo {

int64_t NowEpochMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace podpromo
