// Error aggregation: every error the service meets (a job that failed or will be retried, a 5xx answer, a
// cleanup step that failed) is counted in the metrics (podpromo_errors_total{kind, stage}), logged, and
// grouped in the database by kind and stage with its count, first and last time seen and the latest message,
// for GET /api/v1/admin/errors. Groups not seen for METRICS_RETENTION_HOURS are pruned.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "podpromo/core/status.h"
#include "podpromo/monitor/metrics.h"
#include "podpromo/store/database.h"
#include "podpromo/store/repositories.h"

namespace podpromo {

// The error kind of a status code (StatusCodeKind): invalid_input, not_found, io_error, no_space, cancelled,
// unavailable, internal, and the service's conditions (resource_exhausted, ...).
std::string ErrorKind(StatusCode code);

// Ownership: `db` and `metrics` are borrowed and must outlive the aggregator. Thread-safe: every method may be
// called from any thread (the workers, the request threads, the housekeeper).
class ErrorAggregator {
  public:
    ErrorAggregator(Database* db, Metrics* metrics, double retention_hours);
    // Counts, logs (with `fields`) and stores one error. Never throws; a database failure is only logged.
    // Thread-safe.
    void Report(const std::string& kind, const std::string& stage, const std::string& message,
                const nlohmann::json& fields = nlohmann::json::object());
    // Groups seen within the retention, most recent first.
    Result<std::vector<ErrorGroup>> Recent();
    // Removes groups older than the retention. Returns how many.
    int Prune();
    double retention_hours() const { return retention_hours_; }

  private:
    Database* db_;
    Metrics* metrics_;
    double retention_hours_;
};

}  // namespace podpromo
