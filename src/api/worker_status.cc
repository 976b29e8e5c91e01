#include "podpromo/api/worker_status.h"

#include <fmt/format.h>

#include "lean_server.h"
#include "podpromo/core/secrets.h"

namespace podpromo {

WorkerStatusServer::WorkerStatusServer(std::string metrics_token, Database* db, Metrics* metrics, WorkerPool* workers)
    : metrics_token_(std::move(metrics_token)),
      db_(db),
      metrics_(metrics),
      workers_(workers),
      server_(std::make_unique<LeanServer>()) {
    server_->Get("/livez", [](const httplib::Request&, httplib::Response& res) {
        res.set_content("{\"status\":\"ok\"}", "application/json");
    });
    server_->Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
        if (!metrics_token_.empty() &&
            !ConstantTimeEquals(req.get_header_value("Authorization"), "Bearer " + metrics_token_)) {
            res.status = 401;
            res.set_header("WWW-Authenticate", "Bearer");
            res.set_content(R"({"error":{"code":"unauthenticated","message":"/metrics needs the METRICS_TOKEN"}})",
                            "application/json");
            return;
        }
        metrics_->Set("podpromo_workers_busy", {}, workers_->running());
        metrics_->Set("podpromo_database_up", {}, db_->Ping().ok() ? 1 : 0);
        res.set_content(metrics_->Render(), "text/plain; version=0.0.4; charset=utf-8");
    });
    // Anything else, a body included, is refused without being read.
    server_->set_payload_max_length(0);
}

WorkerStatusServer::~WorkerStatusServer() = default;

Status WorkerStatusServer::Bind(const std::string& host, int port) {
    server_->set_threads(2, 0, {});
    server_->set_max_connections(64);
    server_->set_tcp_nodelay(true);
    server_->set_read_timeout(10);
    server_->set_write_timeout(10);
    server_->set_head_timeout_ms(5000);
    if (port == 0) {
        port_ = server_->bind_to_any_port(host);
        if (port_ <= 0) return Status::Unavailable("cannot listen on " + host);
        return Status::Ok();
    }
    if (!server_->bind_to_port(host, port)) {
        return Status::Unavailable(fmt::format("cannot listen on {}:{} (in use?)", host, port));
    }
    port_ = port;
    return Status::Ok();
}

void WorkerStatusServer::Serve() { server_->listen_after_bind(); }

void WorkerStatusServer::Stop() { server_->stop(); }

}  // namespace podpromo
