// Structured logs on stderr: one JSON object per line (time, level, message and fields such as request_id,
// episode_id, job_id, duration_ms), or a human-readable line for a terminal. Thread-safe: each line is written
// with one write(2).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "podpromo/core/status.h"

namespace podpromo {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// format: "json", "text" or "auto" (text when stderr is a terminal); level: debug, info, warn or error.
// Unknown values keep the current setting. Call before starting threads.
void ConfigureLog(const std::string& format, const std::string& level);
bool LogEnabled(LogLevel level);
// Writes one line when `level` is enabled. `fields` (an object) is merged into the line.
void Log(LogLevel level, std::string_view message, const nlohmann::json& fields = nlohmann::json::object());
// For a write whose failure the caller cannot act on (a progress row, a final state change after the work is
// done): logs `st` at error level as "<what> failed", with its kind and message and `fields`. Returns st.ok().
bool LogIfFailed(const Status& st, std::string_view what, const nlohmann::json& fields = nlohmann::json::object());
// The line Log would write, without the newline (for tests). `now_ms` is milliseconds since the epoch.
std::string FormatLogLine(bool json, LogLevel level, std::string_view message, const nlohmann::json& fields,
                          long long now_ms);

}  // namespace podpromo
