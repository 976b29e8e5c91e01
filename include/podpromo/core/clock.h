// Wall-clock time as stored and logged everywhere.
#pragma once

#include <cstdint>

namespace podpromo {

// Milliseconds since the Unix epoch, the time base of every stored timestamp and log line.
int64_t NowEpochMs();

}  // namespace podpromo
