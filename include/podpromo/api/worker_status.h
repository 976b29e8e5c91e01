// The small HTTP port of `podpromo worker`, for its own monitoring: GET /livez and GET /metrics (the worker's own
// Prometheus text: its jobs, their stages and errors, how many workers are busy, whether it reaches the database), and
// nothing else. It runs on
// LeanServer, so the heads it reads are bounded like the API's; it reads no bodies. /metrics needs
// `Authorization: Bearer <METRICS_TOKEN>` when that is set; bind it to a private interface otherwise.
//
// Ownership: `db`, `metrics` and `workers` are borrowed and must outlive the server. Threads: Serve blocks its caller;
// Stop may be called from any thread.
#pragma once

#include <memory>
#include <string>

#include "podpromo/core/status.h"
#include "podpromo/jobs/workers.h"
#include "podpromo/monitor/metrics.h"
#include "podpromo/store/database.h"

namespace podpromo {

class LeanServer;

class WorkerStatusServer {
  public:
    WorkerStatusServer(std::string metrics_token, Database* db, Metrics* metrics, WorkerPool* workers);
    ~WorkerStatusServer();

    // Binds host:port (0: any free port). Unavailable when the address is taken.
    Status Bind(const std::string& host, int port);
    int port() const { return port_; }
    // Serves until Stop (blocking).
    void Serve();
    void Stop();

  private:
    std::string metrics_token_;
    Database* db_;
    Metrics* metrics_;
    WorkerPool* workers_;
    std::unique_ptr<LeanServer> server_;
    int port_ = 0;
};

}  // namespace podpromo
