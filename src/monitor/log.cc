#include "podpromo/monitor/log.h"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <ctime>

#include "podpromo/core/clock.h"
#include "podpromo/core/utf8.h"

namespace podpromo {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<bool> g_json{false};
std::atomic<bool> g_configured{false};

const char* LevelName(LogLevel l) {
    switch (l) {
        case LogLevel::kDebug:
            return "debug";
        case LogLevel::kInfo:
            return "info";
        case LogLevel::kWarn:
            return "warn";
        case LogLevel::kError:
            return "error";
    }
    return "info";
}

std::string IsoTime(long long ms) {
    const std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                       tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
}

}  // namespace

void ConfigureLog(const std::string& format, const std::string& level) {
    if (format == "json") g_json = true;
    if (format == "text") g_json = false;
    if (format == "auto") g_json = !isatty(STDERR_FILENO);
    for (LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
        if (level == LevelName(l)) g_level = static_cast<int>(l);
    }
    g_configured = true;
}

bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed); }

std::string FormatLogLine(bool json, LogLevel level, std::string_view message, const nlohmann::json& fields,
                          long long now_ms) {
    if (json) {
        nlohmann::json line = {{"time", IsoTime(now_ms)}, {"level", LevelName(level)}, {"message", message}};
        if (fields.is_object()) {
            for (const auto& [k, v] : fields.items()) {
                if (k != "time" && k != "level" && k != "message") line[k] = v;
            }
        }
        return DumpJson(line);
    }
    std::string out = IsoTime(now_ms);
    out[10] = ' ';
    out.pop_back();  // "2026-11-25 02:30:00.123"
    std::string upper = LevelName(level);
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    out += fmt::format(" {:<5} {}", upper, message);
    if (fields.is_object()) {
        for (const auto& [k, v] : fields.items()) {
            out += " " + k + "=" + (v.is_string() ? v.get<std::string>() : DumpJson(v));
        }
    }
    return out;
}

void Log(LogLevel level, std::string_view message, const nlohmann::json& fields) {
    if (!LogEnabled(level)) return;
    if (!g_configured.exchange(true)) g_json = !isatty(STDERR_FILENO);
    const long long now = NowEpochMs();
    std::string line = FormatLogLine(g_json, level, message, fields, now);
    line.push_back('\n');
    size_t done = 0;
    while (done < line.size()) {
        const ssize_t n = write(STDERR_FILENO, line.data() + done, line.size() - done);
        if (n <= 0) break;
        done += static_cast<size_t>(n);
    }
}

bool LogIfFailed(const Status& st, std::string_view what, const nlohmann::json& fields) {
    if (st.ok()) return true;
    nlohmann::json line = fields.is_object() ? fields : nlohmann::json::object();
    line["kind"] = StatusCodeKind(st.code());
    line["error"] = st.message();
    Log(LogLevel::kError, std::string(what) + " failed", line);
    return false;
}

}  // namespace podpromo
