// Samples of this process and of the machine, read from /proc and statvfs (Linux).
#pragma once

#include <cstdint>
#include <string>

namespace podpromo {

struct ProcessSample {
    double cpu_seconds = 0;  // user + system, since the process started
    int64_t resident_bytes = 0;
    int64_t virtual_bytes = 0;
    int64_t open_fds = 0;
    int64_t max_fds = 0;
    double start_time_seconds = 0;  // since the epoch
    int64_t threads = 0;
};

struct SystemSample {
    // Cumulative CPU time of the whole machine in ticks-independent seconds: busy and total (all cores).
    double cpu_busy_seconds = 0;
    double cpu_total_seconds = 0;
    int cpus = 0;
    int64_t memory_total_bytes = 0;
    int64_t memory_available_bytes = 0;
    double load1 = 0;
};

// Fields that cannot be read stay 0. Thread-safe.
ProcessSample SampleProcess();
SystemSample SampleSystem();

// The share of CPU time the machine spent busy between two samples (0..1; 0 when they are equal).
double CpuUtilization(const SystemSample& before, const SystemSample& after);

}  // namespace podpromo
