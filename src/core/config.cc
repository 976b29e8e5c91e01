#include "podpromo/core/config.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>

#include "podpromo/core/utf8.h"

namespace podpromo {
namespace {

template <typename T>
Status ParseNumber(const char* name, const char* text, T min, T max, T* out) {
    const std::string s(text);
    T value{};
    const char* end = s.data() + s.size();
    auto [ptr, ec] = std::from_chars(s.data(), end, value);
    if (s.empty() || ec != std::errc() || ptr != end || value < min || value > max) {
        return Status::InvalidInput(fmt::format("{}='{}': expected a number from {} to {}", name, s, min, max));
    }
    *out = value;
    return Status::Ok();
}

}  // namespace

std::string ServiceConfig::DatabaseUrl() const {
    if (!database_url.empty()) return database_url;
    return "sqlite:///" + data_dir + "/podpromo.db";
}

std::string WithoutPassword(const std::string& url) {
    const size_t scheme = url.find("://");
    if (scheme == std::string::npos) return url;
    std::string out = url;
    const size_t authority = scheme + 3;
    const size_t end = out.find_first_of("/?#", authority);
    const size_t at = out.rfind('@', end == std::string::npos ? std::string::npos : end);
    const size_t colon = out.find(':', authority);
    if (at != std::string::npos && at >= authority && colon != std::string::npos && colon < at) {
        out = out.substr(0, colon + 1) + "***" + out.substr(at);
    }
    // libpq also takes it as a parameter: ?password=…
    const size_t query = out.find('?');
    for (size_t p = query; p != std::string::npos && (p = out.find("password=", p)) != std::string::npos;) {
        if (out[p - 1] != '?' && out[p - 1] != '&') {
            p += 9;
            continue;
        }
        const size_t value_end = out.find('&', p);
        out = out.substr(0, p + 9) + "***" + (value_end == std::string::npos ? "" : out.substr(value_end));
        p += 12;
    }
    return out;
}

namespace {

// "a, b,,c " as {"a", "b", "c"}.
std::vector<std::string> SplitList(const std::string& list) {
    std::vector<std::string> out;
    for (size_t at = 0; at <= list.size();) {
        const size_t comma = std::min(list.find(',', at), list.size());
        std::string item = list.substr(at, comma - at);
        item.erase(0, item.find_first_not_of(' '));
        item.erase(item.find_last_not_of(' ') + 1);
        if (!item.empty()) out.push_back(item);
        at = comma + 1;
    }
    return out;
}

}  // namespace

Status LoadConfigFromEnv(ServiceConfig* c, const std::function<const char*(const char*)>& getenv) {
    auto text = [&](const char* name, std::string* out) {
        if (const char* v = getenv(name)) *out = v;
    };
    text("HOST", &c->host);
    text("DATA_DIR", &c->data_dir);
    text("DATABASE_URL", &c->database_url);
    struct IntVar {
        const char* name;
        int* out;
        int min, max;
    };
    for (const IntVar& v : {IntVar{"PORT", &c->port, 0, 65535},
                            IntVar{"MAX_CONCURRENT_JOBS", &c->max_concurrent_jobs, 0, 64},
                            IntVar{"MAX_QUEUE_SIZE", &c->max_queue_size, 1, 1000000},
                            IntVar{"HTTP_THREADS", &c->http_threads, 4, 1024},
                            IntVar{"HTTP_HEAD_TIMEOUT_SECONDS", &c->http_head_timeout_seconds, 1, 300},
                            IntVar{"HTTP_CLIENT_MIN_RATE", &c->http_client_min_rate, 0, 100000000},
                            IntVar{"HTTP_REQUESTS_PER_CLIENT", &c->http_requests_per_client, 0, 100000},
                            IntVar{"HTTP_CONNECTIONS_PER_CLIENT", &c->http_connections_per_client, 0, 100000},
                            IntVar{"EVENT_STREAMS_PER_CLIENT", &c->event_streams_per_client, 1, 100000},
                            IntVar{"MAX_EPISODE_SECONDS", &c->max_episode_seconds, 60, 48 * 3600},
                            IntVar{"MAX_EVENT_STREAMS", &c->max_event_streams, 1, 512},
                            IntVar{"JOB_LEASE_SECONDS", &c->job_lease_seconds, 2, 3600},
                            IntVar{"JOB_MAX_ATTEMPTS", &c->job_max_attempts, 1, 20},
                            IntVar{"ASR_THREADS", &c->asr_threads, 0, 256},
                            IntVar{"RATE_LIMIT_REQUESTS", &c->rate_limit_requests, 0, 100000000},
                            IntVar{"RATE_LIMIT_ANONYMOUS_REQUESTS", &c->rate_limit_anonymous_requests, 0, 100000000},
                            IntVar{"RATE_LIMIT_WINDOW_SECONDS", &c->rate_limit_window_seconds, 1, 86400},
                            IntVar{"RATE_LIMIT_HEAVY_COST", &c->rate_limit_heavy_cost, 1, 1000},
                            IntVar{"USER_MAX_JOBS", &c->user_max_jobs, 0, 1000000},
                            IntVar{"USER_MAX_SHOWS", &c->user_max_shows, 0, 1000000},
                            IntVar{"DATABASE_POOL_SIZE", &c->database_pool_size, 0, 256},
                            IntVar{"FEED_POLL_SECONDS", &c->feed_poll_seconds, 1, 7 * 86400},
                            IntVar{"FEED_POLLS_AT_ONCE", &c->feed_polls_at_once, 1, 64},
                            IntVar{"FEED_ALLOW_PRIVATE", &c->feed_allow_private, 0, 1}}) {
        if (const char* s = getenv(v.name)) PODPROMO_RETURN_IF_ERROR(ParseNumber(v.name, s, v.min, v.max, v.out));
    }
    if (const char* s = getenv("MAX_FILE_SIZE")) {
        PODPROMO_RETURN_IF_ERROR(
            ParseNumber<int64_t>("MAX_FILE_SIZE", s, 1, int64_t{1} << 50, &c->max_file_size_bytes));
    }
    struct RealVar {
        const char* name;
        double* out;
        double min, max;
    };
    for (const RealVar& v : {RealVar{"MAX_STORAGE_GB", &c->max_storage_gb, 0.000001, 1e6},
                             RealVar{"CLEANUP_INTERVAL_HOURS", &c->cleanup_interval_hours, 0, 1e5},
                             RealVar{"SOURCE_RETENTION_DAYS", &c->source_retention_days, 0, 1e5},
                             RealVar{"CLIP_RETENTION_DAYS", &c->clip_retention_days, 0, 1e5},
                             RealVar{"WORK_RETENTION_HOURS", &c->work_retention_hours, 0.01, 1e5},
                             RealVar{"HEALTH_MIN_FREE_DISK_PERCENT", &c->health_min_free_disk_percent, 0, 100},
                             RealVar{"HEALTH_MAX_MEMORY_PERCENT", &c->health_max_memory_percent, 1, 100},
                             RealVar{"HEALTH_MAX_QUEUE_AGE_SECONDS", &c->health_max_queue_age_seconds, 1, 1e7},
                             RealVar{"METRICS_RETENTION_HOURS", &c->metrics_retention_hours, 0.01, 1e5},
                             RealVar{"RETRY_BACKOFF_SECONDS", &c->retry_backoff_seconds, 0, 3600},
                             RealVar{"USER_STORAGE_GB", &c->user_storage_gb, 0, 1e6},
                             RealVar{"USER_AUDIO_HOURS_PER_DAY", &c->user_audio_hours_per_day, 0, 1e5}}) {
        if (const char* s = getenv(v.name)) PODPROMO_RETURN_IF_ERROR(ParseNumber(v.name, s, v.min, v.max, v.out));
    }
    text("WEB_DIR", &c->web_dir);
    if (const char* s = getenv("CORS_ORIGINS")) {
        auto origins = ParseOrigins(s);
        if (!origins.ok()) return origins.status();
        c->cors_origins = std::move(*origins);
    }
    if (const char* s = getenv("FEED_PRIVATE_HOSTS")) c->feed_private_hosts = SplitList(s);
    text("METRICS_TOKEN", &c->metrics_token);
    text("ALERT_WEBHOOK_URL", &c->alert_webhook_url);
    text("ALERT_WEBHOOK_SECRET", &c->alert_webhook_secret);
    PODPROMO_RETURN_IF_ERROR(LoadAsrSettingsFromEnv(&c->asr, getenv));
    text("LOG_FORMAT", &c->log_format);
    text("LOG_LEVEL", &c->log_level);
    return ValidateConfig(*c);
}

Status ValidateConfig(const ServiceConfig& c) {
    if (c.port < 0 || c.port > 65535) return Status::InvalidInput(fmt::format("port {} is not 0..65535", c.port));
    if (c.data_dir.empty()) return Status::InvalidInput("DATA_DIR must not be empty");
    if (c.host.empty()) return Status::InvalidInput("HOST must not be empty");
    if (c.database_pool_size > 0 && c.database_pool_size < 4) {
        // (A job, its lease keeper, the housekeeper and a request each hold one at times.)
        return Status::InvalidInput("DATABASE_POOL_SIZE must be 0 (sized by itself) or 4 to 256");
    }
    if (!c.metrics_token.empty() && (c.metrics_token.size() < 16 || c.metrics_token.size() > 256 ||
                                     c.metrics_token.find_first_of(" \t\r\n") != std::string::npos)) {
        return Status::InvalidInput("METRICS_TOKEN must be 16 to 256 characters with no spaces");
    }
    if (!c.alert_webhook_url.empty()) {
        const std::string& u = c.alert_webhook_url;
        if ((u.rfind("http://", 0) != 0 && u.rfind("https://", 0) != 0) || u.size() > 2048 ||
            u.find_first_of(" \t\r\n") != std::string::npos) {
            return Status::InvalidInput("ALERT_WEBHOOK_URL must be an http:// or https:// URL");
        }
        if (c.alert_webhook_secret.size() < 24) {
            return Status::InvalidInput(
                "ALERT_WEBHOOK_SECRET (24 characters or more) must be set with ALERT_WEBHOOK_URL");
        }
    }
    if (c.log_format != "auto" && c.log_format != "json" && c.log_format != "text") {
        return Status::InvalidInput(fmt::format("LOG_FORMAT='{}': expected json, text or auto", c.log_format));
    }
    if (c.log_level != "debug" && c.log_level != "info" && c.log_level != "warn" && c.log_level != "error") {
        return Status::InvalidInput(fmt::format("LOG_LEVEL='{}': expected debug, info, warn or error", c.log_level));
    }
    PODPROMO_RETURN_IF_ERROR(ValidateAsrEngine(c.asr.engine, c.asr.url));
    const std::string url = c.DatabaseUrl();
    if (url.rfind("sqlite://", 0) != 0 && url.rfind("postgresql://", 0) != 0 && url.rfind("postgres://", 0) != 0) {
        return Status::InvalidInput(fmt::format(
            "DATABASE_URL='{}': expected sqlite:///path or postgresql://user:pass@host/db", WithoutPassword(url)));
    }
    return Status::Ok();
}

Result<AsrEngine> ParseAsrEngine(std::string_view name, std::string_view setting) {
    if (auto engine = Parse<AsrEngine>(name)) return *engine;
    return Status::InvalidInput(
        fmt::format("{}='{}': expected pocketsphinx, openai or whisper-server", setting, name.substr(0, 100)));
}

Status LoadAsrSettingsFromEnv(AsrSettings* asr, const std::function<const char*(const char*)>& getenv) {
    if (const char* v = getenv("ASR_ENGINE"); v && *v) {  // set but empty: the default
        auto engine = ParseAsrEngine(v);
        if (!engine.ok()) return engine.status();
        asr->engine = *engine;
    }
    for (const auto& [name, out] : {std::pair{"ASR_URL", &asr->url}, std::pair{"ASR_API_KEY", &asr->api_key},
                                    std::pair{"ASR_MODEL", &asr->model}, std::pair{"ASR_LANGUAGE", &asr->language},
                                    std::pair{"SHOW_NAME", &asr->show_name}, std::pair{"ASR_TERMS", &asr->terms}}) {
        if (const char* v = getenv(name); v && *v) *out = v;  // set but empty: the default
    }
    return Status::Ok();
}

namespace {

constexpr size_t kMaxOrigins = 50;
constexpr size_t kMaxOriginBytes = 253 + 16;  // a DNS name, the scheme and a port

// "host[:port]" of an http(s) origin: letters, digits, '.', '-', or a bracketed IPv6 address, then a port of 1-5
// digits.
bool ValidAuthority(std::string_view a) {
    if (a.empty()) return false;
    size_t host_end = 0;
    if (a.front() == '[') {
        host_end = a.find(']');
        if (host_end == std::string_view::npos || host_end < 2) return false;
        for (char c : a.substr(1, host_end - 1))
            if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return false;
        ++host_end;
    } else {
        while (host_end < a.size() && a[host_end] != ':') {
            const auto c = static_cast<unsigned char>(a[host_end]);
            if (!std::isalnum(c) && c != '.' && c != '-') return false;
            ++host_end;
        }
        if (host_end == 0) return false;
    }
    if (host_end == a.size()) return true;
    if (a[host_end] != ':') return false;
    const std::string_view port = a.substr(host_end + 1);
    return !port.empty() && port.size() <= 5 &&
           std::all_of(port.begin(), port.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

}  // namespace

std::string_view OriginAuthority(std::string_view origin) {
    for (std::string_view scheme : {"http://", "https://"}) {
        if (origin.size() > scheme.size() && AsciiLower(origin.substr(0, scheme.size())) == scheme) {
            const std::string_view a = origin.substr(scheme.size());
            return ValidAuthority(a) ? a : std::string_view();
        }
    }
    return {};
}

Result<std::vector<std::string>> ParseOrigins(std::string_view text) {
    std::vector<std::string> out;
    while (!text.empty()) {
        const size_t comma = text.find(',');
        const std::string item = TrimAscii(text.substr(0, comma));
        text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
        if (item.empty()) continue;
        if (item.size() > kMaxOriginBytes || OriginAuthority(item).empty()) {
            return Status::InvalidInput(fmt::format("CORS_ORIGINS: '{}' is not an origin like https://app.example.com",
                                                    std::string_view(item).substr(0, 80)));
        }
        if (out.size() == kMaxOrigins) return Status::InvalidInput("CORS_ORIGINS lists more than 50 origins");
        out.push_back(AsciiLower(item));
    }
    return out;
}

Status ValidateAsrEngine(AsrEngine engine, const std::string& url) {
    if (engine != AsrEngine::kPocketsphinx && url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
        return Status::InvalidInput(
            fmt::format("ASR_URL='{}': ASR_ENGINE={} needs http(s)://host[:port][/prefix]", url, Name(engine)));
    }
    return Status::Ok();
}

}  // namespace podpromo
