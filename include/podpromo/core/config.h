// The service's configuration: environment variables of DESIGN.md §4, overridden by command-line flags.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "podpromo/core/lifecycle.h"
#include "podpromo/core/status.h"

namespace podpromo {

// The speech recogniser: pocketsphinx (built in), or a Whisper-compatible server: openai (the OpenAI API shape, also
// served by open-source servers) or whisper-server (whisper.cpp's server).
enum class AsrEngine { kPocketsphinx, kOpenai, kWhisperServer };
template <>
struct EnumNames<AsrEngine> {
    static constexpr std::array<std::string_view, 3> kNames = {"pocketsphinx", "openai", "whisper-server"};
};
// The engine called `name` by `setting` (ASR_ENGINE, --asr-engine); InvalidInput naming both and the choices.
Result<AsrEngine> ParseAsrEngine(std::string_view name, std::string_view setting = "ASR_ENGINE");

// Speech recognition settings, shared by `podpromo process` (where flags override them) and the service.
struct AsrSettings {
    AsrEngine engine = AsrEngine::kPocketsphinx;  // ASR_ENGINE
    std::string url;                              // ASR_URL, e.g. https://api.openai.com or http://127.0.0.1:8178
    std::string api_key;                          // ASR_API_KEY (never logged)
    std::string model = "whisper-1";              // ASR_MODEL
    std::string language;                         // ASR_LANGUAGE (empty: detected)
    // The vocabulary hint for every episode (an upload's own "show" and "terms" fields take precedence).
    std::string show_name;  // SHOW_NAME
    std::string terms;      // ASR_TERMS: names and terms, comma-separated
};

struct ServiceConfig {
    std::string host = "127.0.0.1";
    int port = 8080;
    std::string data_dir = "./data";
    std::string database_url;  // empty: sqlite:///<data_dir>/podpromo.db
    int64_t max_file_size_bytes = 524288000;
    double max_storage_gb = 10;
    double cleanup_interval_hours = 24;
    int max_concurrent_jobs = 3;  // 0: a serve that runs no jobs (`podpromo worker` hosts take them)
    int max_queue_size = 100;
    double metrics_retention_hours = 24;
    int http_threads = 96;               // HTTP_THREADS: requests served at once (an idle connection holds none)
    int max_episode_seconds = 6 * 3600;  // MAX_EPISODE_SECONDS: longer episodes are refused while decoding
    int http_head_timeout_seconds = 10;  // HTTP_HEAD_TIMEOUT_SECONDS: a request head's first byte to its end
    // HTTP_CLIENT_MIN_RATE: the bytes a second a client must keep up, sending a body or reading an answer, once it
    // has kept a worker waiting for the head timeout (0: none); a slower one is cut off (a body 408) and frees it.
    int http_client_min_rate = 500;
    // HTTP_REQUESTS_PER_CLIENT: requests one address may have served at once (0: any); more wait their turn while
    // other addresses go ahead.
    int http_requests_per_client = 32;
    int http_connections_per_client = 64;  // HTTP_CONNECTIONS_PER_CLIENT: open at once from one address (0: any)
    int event_streams_per_client = 8;      // EVENT_STREAMS_PER_CLIENT: /api/v1/events streams from one address
    // Request rate limits (a token bucket, refilled over the window; 0 requests: no limit): per API key, or per user's
    // browser sessions, and per address for requests without credentials. An upload, a render or a transcript import
    // counts RATE_LIMIT_HEAVY_COST requests.
    int rate_limit_requests = 1200;           // RATE_LIMIT_REQUESTS
    int rate_limit_anonymous_requests = 120;  // RATE_LIMIT_ANONYMOUS_REQUESTS
    int rate_limit_window_seconds = 60;       // RATE_LIMIT_WINDOW_SECONDS
    int rate_limit_heavy_cost = 10;           // RATE_LIMIT_HEAVY_COST
    // Each user's share (0: no limit of that kind).
    int user_max_jobs = 50;               // USER_MAX_JOBS: their jobs queued or running
    int user_max_shows = 100;             // USER_MAX_SHOWS: shows they follow (each feed is read on a schedule)
    double user_storage_gb = 0;           // USER_STORAGE_GB: the bytes of their uploads
    double user_audio_hours_per_day = 0;  // USER_AUDIO_HOURS_PER_DAY: hours of audio uploaded in any 24 hours
    int max_event_streams = 32;           // MAX_EVENT_STREAMS: open /api/v1/events streams (each holds a thread)
    int database_pool_size = 0;  // DATABASE_POOL_SIZE: connections each process keeps (0: sized from the workers and
                                 // HTTP threads)
    int job_lease_seconds = 30;  // JOB_LEASE_SECONDS: a job whose worker stops renewing is taken again
    int job_max_attempts = 3;    // JOB_MAX_ATTEMPTS: tries for transient failures, with backoff
    double retry_backoff_seconds = 5;  // RETRY_BACKOFF_SECONDS: first retry delay, doubled each time
    int asr_threads = 0;               // ASR_THREADS: recogniser threads per job (0: all cores)
    // Storage lifecycle (CLEANUP_INTERVAL_HOURS 0: cleanup only on demand).
    double source_retention_days = 30;  // SOURCE_RETENTION_DAYS: sources older than this are archived (0: never)
    double clip_retention_days = 90;    // CLIP_RETENTION_DAYS: unstarred clips older than this expire (0: never)
    double work_retention_hours = 6;    // WORK_RETENTION_HOURS: leftovers of work older than this are removed
    // Health thresholds: past them /health says degraded.
    double health_min_free_disk_percent = 5;     // HEALTH_MIN_FREE_DISK_PERCENT (unhealthy under 1%)
    double health_max_memory_percent = 95;       // HEALTH_MAX_MEMORY_PERCENT: system memory in use
    double health_max_queue_age_seconds = 3600;  // HEALTH_MAX_QUEUE_AGE_SECONDS: oldest runnable queued job
    AsrSettings asr;
    std::vector<std::string> cors_origins;  // CORS_ORIGINS: the other origins whose pages may call the API
    // METRICS_TOKEN: a bearer token that may read /metrics (for Prometheus), at least 16 characters; "" = admin only.
    std::string metrics_token;
    // ALERT_WEBHOOK_URL: an http(s) endpoint told whenever /health changes state (for a team with no Alertmanager);
    // ALERT_WEBHOOK_SECRET signs each call as Standard Webhooks does ("whsec_" and base64, or any 24+ characters).
    std::string alert_webhook_url, alert_webhook_secret;
    // Shows added by their RSS feed: how often each feed is read (FEED_POLL_SECONDS), how many at once, and what a
    // feed may reach:
    // FEED_ALLOW_PRIVATE=1 lets feeds (and what they name) be on private, loopback or link-local addresses, and
    // FEED_PRIVATE_HOSTS names hosts that may (comma-separated). Off by default: a stranger's feed URL must not reach
    // the machine's own network.
    int feed_poll_seconds = 3600;
    int feed_polls_at_once = 4;  // FEED_POLLS_AT_ONCE: feeds read at the same time
    int feed_allow_private = 0;
    std::vector<std::string> feed_private_hosts;
    std::string web_dir;              // WEB_DIR: the browser app's bundle (default: the one built from this tree)
    std::string log_format = "auto";  // LOG_FORMAT: json, text, or auto (text on a terminal, JSON otherwise)
    std::string log_level = "info";   // LOG_LEVEL: debug, info, warn, error

    // The database URL in effect.
    std::string DatabaseUrl() const;
};

// `url` with the password of its user part (scheme://user:password@host…) replaced by "***", for logs, messages and
// what the commands print.
std::string WithoutPassword(const std::string& url);

// Reads the variables through `getenv` (a fake in tests) into `config`. Every bad value is refused with
// InvalidInput naming the variable and what it accepts; the first one found is reported.
Status LoadConfigFromEnv(
    ServiceConfig* config,
    const std::function<const char*(const char*)>& getenv = [](const char* n) { return std::getenv(n); });

// Checks values that flags may also set (port range, positive sizes). InvalidInput naming the setting.
Status ValidateConfig(const ServiceConfig& config);

// Reads ASR_ENGINE, ASR_URL, ASR_API_KEY, ASR_MODEL, ASR_LANGUAGE, SHOW_NAME and ASR_TERMS (those set and not empty)
// into `asr`. InvalidInput naming ASR_ENGINE when it names no engine; the URL is checked later (ValidateAsrEngine),
// as flags may still set it.
Status LoadAsrSettingsFromEnv(
    AsrSettings* asr,
    const std::function<const char*(const char*)>& getenv = [](const char* n) { return std::getenv(n); });

// The origins CORS_ORIGINS lists, checked: comma-separated "http(s)://host[:port]" (no path, no "*"), at most 50,
// kept in lower case. InvalidInput naming CORS_ORIGINS and the bad entry.
Result<std::vector<std::string>> ParseOrigins(std::string_view text);
// The "host[:port]" of an http(s) origin ("scheme://host[:port]" and nothing after), or "" when `origin` is not one.
// Pure.
std::string_view OriginAuthority(std::string_view origin);

// InvalidInput naming ASR_URL when a remote engine has no http(s) URL.
Status ValidateAsrEngine(AsrEngine engine, const std::string& url);

}  // namespace podpromo
