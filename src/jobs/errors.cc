#include "podpromo/jobs/errors.h"

#include "podpromo/monitor/log.h"

namespace podpromo {

std::string ErrorKind(StatusCode code) { return StatusCodeKind(code); }

ErrorAggregator::ErrorAggregator(Database* db, Metrics* metrics, double retention_hours)
    : db_(db), metrics_(metrics), retention_hours_(retention_hours) {
    metrics_->Describe("podpromo_errors_total", "counter", "Errors met, by kind and stage.");
}

void ErrorAggregator::Report(const std::string& kind, const std::string& stage, const std::string& message,
                             const nlohmann::json& fields) {
    metrics_->Increment("podpromo_errors_total", {{"kind", kind}, {"stage", stage}});
    nlohmann::json f = fields.is_object() ? fields : nlohmann::json::object();
    f["kind"] = kind;
    f["stage"] = stage;
    Log(LogLevel::kError, message, f);
    const Status st = db_->InTransaction([&](Tx& s) { RecordError(s, kind, stage, message, NowEpochMs()); });
    if (!st.ok()) Log(LogLevel::kWarn, "cannot record an error: " + st.message());
}

Result<std::vector<ErrorGroup>> ErrorAggregator::Recent() {
    std::vector<ErrorGroup> out;
    const auto since = NowEpochMs() - static_cast<DbInt>(retention_hours_ * 3600 * 1000);
    PODPROMO_RETURN_IF_ERROR(db_->With([&](Tx& s) { out = ListErrors(s, since); }));
    return out;
}

int ErrorAggregator::Prune() {
    int n = 0;
    const auto before = NowEpochMs() - static_cast<DbInt>(retention_hours_ * 3600 * 1000);
    LogIfFailed(db_->InTransaction([&](Tx& s) { n = PruneErrors(s, before); }), "pruning error groups");
    return n;
}

}  // namespace podpromo
