// Running external programs (ffmpeg) without a shell: arguments are passed as they are, so a hostile file
// name can never be interpreted as a command or an option.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "podpromo/core/progress.h"
#include "podpromo/core/status.h"

namespace podpromo {

struct ProcessOutput {
    int exit_code = -1;  // -1 when killed by a signal
    std::string out;     // standard output
    std::string err;     // standard error (last 64 KiB)
};

// Runs argv[0] (looked up in PATH) with argv, standard input closed. Kills the child and returns
// Cancelled when `cancel` becomes set, or when `timeout_ms` (>0) passes. `memory_bytes` (>0) limits the child's data
// (its heap and private writable mappings, RLIMIT_DATA): past it, its allocations fail and it exits with an error.
// Errors: Unavailable when the program cannot be started. Thread-safe; blocks the calling thread.
Result<ProcessOutput> RunProcess(const std::vector<std::string>& argv, const CancelToken* cancel = nullptr,
                                 long timeout_ms = 0, int64_t memory_bytes = 0);

// The memory every media child (ffmpeg, espeak-ng) gets: a 1080x1920 render holds a few hundred MB, so this stops only
// a file made to exhaust the machine.
inline constexpr int64_t kChildMemoryBytes = int64_t{2} << 30;

// A child's time limit in proportion to its work: a minute, plus `per_second` seconds for each second of the media
// it reads (so a wedged or hostile decode ends instead of holding a worker for ever).
inline long TimeLimitMs(int64_t media_ms, double per_second) {
    return 60000 + static_cast<long>(static_cast<double>(media_ms) * per_second);
}

// True when `program` is found in PATH.
bool ProgramExists(const std::string& program);

}  // namespace podpromo
