#include "podpromo/monitor/system.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace podpromo {
namespace fs = std::filesystem;

namespace {

std::string ReadSmallFile(const char* path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// The value of "Name:   123 kB" in a /proc status-like file, in bytes (kB converted); 0 when absent.
int64_t KbField(const std::string& text, const std::string& name) {
    const auto at = text.find("\n" + name + ":");
    const auto pos = at == std::string::npos ? (text.rfind(name + ":", 0) == 0 ? 0 : std::string::npos) : at + 1;
    if (pos == std::string::npos) return 0;
    std::istringstream in(text.substr(pos + name.size() + 1));
    int64_t v = 0;
    std::string unit;
    in >> v >> unit;
    return unit == "kB" ? v * 1024 : v;
}

}  // namespace

ProcessSample SampleProcess() {
    ProcessSample p;
    const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
    // /proc/self/stat: the command may hold spaces, so fields are counted after its closing ')'.
    const std::string stat = ReadSmallFile("/proc/self/stat");
    const auto close = stat.rfind(')');
    if (close != std::string::npos) {
        std::istringstream in(stat.substr(close + 2));
        std::vector<std::string> f;
        for (std::string x; in >> x;) f.push_back(x);
        // f[0] is field 3 (state): utime is field 14, stime 15, num_threads 20, starttime 22, vsize 23, rss 24.
        if (f.size() > 21) {
            p.cpu_seconds = (std::stod(f[11]) + std::stod(f[12])) / tick;
            p.threads = std::stoll(f[17]);
            const double boot = [] {
                const std::string s = ReadSmallFile("/proc/stat");
                const auto at = s.find("btime ");
                return at == std::string::npos ? 0.0 : std::stod(s.substr(at + 6));
            }();
            p.start_time_seconds = boot + std::stod(f[19]) / tick;
            p.virtual_bytes = std::stoll(f[20]);
            p.resident_bytes = std::stoll(f[21]) * sysconf(_SC_PAGESIZE);
        }
    }
    std::error_code ec;
    for (auto it = fs::directory_iterator("/proc/self/fd", ec); !ec && it != fs::end(it); it.increment(ec)) {
        ++p.open_fds;
    }
    struct rlimit rl {};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) p.max_fds = static_cast<int64_t>(rl.rlim_cur);
    return p;
}

SystemSample SampleSystem() {
    SystemSample s;
    const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
    const std::string stat = ReadSmallFile("/proc/stat");
    if (stat.rfind("cpu ", 0) == 0) {
        std::istringstream in(stat.substr(4, stat.find('\n') - 4));
        std::vector<double> v;
        for (double x = 0; in >> x;) v.push_back(x);
        double total = 0;
        for (size_t i = 0; i < v.size() && i < 8; ++i) total += v[i];  // guest time is inside user already
        const double idle = (v.size() > 3 ? v[3] : 0) + (v.size() > 4 ? v[4] : 0);
        s.cpu_total_seconds = total / tick;
        s.cpu_busy_seconds = (total - idle) / tick;
    }
    s.cpus = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
    const std::string mem = ReadSmallFile("/proc/meminfo");
    s.memory_total_bytes = KbField(mem, "MemTotal");
    s.memory_available_bytes = KbField(mem, "MemAvailable");
    std::istringstream load(ReadSmallFile("/proc/loadavg"));
    load >> s.load1;
    return s;
}

double CpuUtilization(const SystemSample& before, const SystemSample& after) {
    const double total = after.cpu_total_seconds - before.cpu_total_seconds;
    if (total <= 0) return 0;
    return std::clamp((after.cpu_busy_seconds - before.cpu_busy_seconds) / total, 0.0, 1.0);
}

}  // namespace podpromo
