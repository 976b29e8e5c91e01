#include "podpromo/core/config.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>

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
    for (const IntVar& v :
         {IntVar{"PORT", &c->port, 0, 65535}, IntVar{"MAX_CONCURRENT_JOBS", &c->max_concurrent_jobs, 1, 64},
          IntVar{"MAX_QUEUE_SIZE", &c->max_queue_size, 1, 1000000}, IntVar{"HTTP_THREADS", &c->http_threads, 4, 1024},
          IntVar{"HTTP_HEAD_TIMEOUT_SECONDS", &c->http_head_timeout_seconds, 1, 300},
          IntVar{"HTTP_CONNECTIONS_PER_CLIENT", &c->http_connections_per_client, 0, 100000},
          IntVar{"EVENT_STREAMS_PER_CLIENT", &c->event_streams_per_client, 1, 100000},
          IntVar{"MAX_EPISODE_SECONDS", &c->max_episode_seconds, 60, 48 * 3600},
          IntVar{"MAX_EVENT_STREAMS", &c->max_event_streams, 1, 512},
          IntVar{"JOB_LEASE_SECONDS", &c->job_lease_seconds, 2, 3600},
          IntVar{"JOB_MAX_ATTEMPTS", &c->job_max_attempts, 1, 20}, IntVar{"ASR_THREADS", &c->asr_threads, 0, 256}}) {
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
                             RealVar{"RETRY_BACKOFF_SECONDS", &c->retry_backoff_seconds, 0, 3600}}) {
        if (const char* s = getenv(v.name)) PODPROMO_RETURN_IF_ERROR(ParseNumber(v.name, s, v.min, v.max, v.out));
    }
    text("WEB_DIR", &c->web_dir);
    LoadAsrSettingsFromEnv(&c->asr, getenv);
    text("LOG_FORMAT", &c->log_format);
    text("LOG_LEVEL", &c->log_level);
    return ValidateConfig(*c);
}

Status ValidateConfig(const ServiceConfig& c) {
    if (c.port < 0 || c.port > 65535) return Status::InvalidInput(fmt::format("port {} is not 0..65535", c.port));
    if (c.data_dir.empty()) return Status::InvalidInput("DATA_DIR must not be empty");
    if (c.host.empty()) return Status::InvalidInput("HOST must not be empty");
    if (c.log_format != "auto" && c.log_format != "json" && c.log_format != "text") {
        return Status::InvalidInput(fmt::format("LOG_FORMAT='{}': expected json, text or auto", c.log_format));
    }
    if (c.log_level != "debug" && c.log_level != "info" && c.log_level != "warn" && c.log_level != "error") {
        return Status::InvalidInput(fmt::format("LOG_LEVEL='{}': expected debug, info, warn or error", c.log_level));
    }
    PODPROMO_RETURN_IF_ERROR(ValidateAsrEngine(c.asr.engine, c.asr.url));
    const std::string url = c.DatabaseUrl();
    if (url.rfind("sqlite://", 0) != 0 && url.rfind("postgresql://", 0) != 0 && url.rfind("postgres://", 0) != 0) {
        return Status::InvalidInput(
            fmt::format("DATABASE_URL='{}': expected sqlite:///path or postgresql://user:pass@host/db", url));
    }
    return Status::Ok();
}

void LoadAsrSettingsFromEnv(AsrSettings* asr, const std::function<const char*(const char*)>& getenv) {
    for (const auto& [name, out] : {std::pair{"ASR_ENGINE", &asr->engine}, std::pair{"ASR_URL", &asr->url},
                                    std::pair{"ASR_API_KEY", &asr->api_key}, std::pair{"ASR_MODEL", &asr->model},
                                    std::pair{"ASR_LANGUAGE", &asr->language}, std::pair{"SHOW_NAME", &asr->show_name},
                                    std::pair{"ASR_TERMS", &asr->terms}}) {
        if (const char* v = getenv(name); v && *v) *out = v;  // set but empty: the default
    }
}

Status ValidateAsrEngine(const std::string& engine, const std::string& url) {
    if (engine != "pocketsphinx" && engine != "openai" && engine != "whisper-server") {
        return Status::InvalidInput(
            fmt::format("ASR_ENGINE='{}': expected pocketsphinx, openai or whisper-server", engine));
    }
    if (engine != "pocketsphinx" && url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
        return Status::InvalidInput(
            fmt::format("ASR_URL='{}': ASR_ENGINE={} needs http(s)://host[:port][/prefix]", url, engine));
    }
    return Status::Ok();
}

}  // namespace podpromo
