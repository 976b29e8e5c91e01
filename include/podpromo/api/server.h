// The HTTP API of DESIGN.md §4 over cpp-httplib: thin handlers that parse a request, call one use case of App
// (app/app.h) and map its result, every error through HttpErrorFor onto a JSON body {"error": {"code",
// "message"}} with its status.
//
// Ownership: every pointer given to the constructor is borrowed and must outlive the ApiServer (RunServe owns
// them all for the process's life); `workers` may be null (nothing is woken then). Threads: Serve blocks its
// caller and runs handlers on the server's pool; Stop may be called from any thread.
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "podpromo/core/config.h"
#include "podpromo/files/storage.h"
#include "podpromo/jobs/errors.h"
#include "podpromo/jobs/events.h"
#include "podpromo/jobs/housekeeper.h"
#include "podpromo/jobs/workers.h"
#include "podpromo/monitor/metrics.h"
#include "podpromo/store/database.h"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace podpromo {

class App;
class LeanServer;

class ApiServer {
  public:
    ApiServer(const ServiceConfig& config, Database* db, Storage* storage, WorkerPool* workers, EventBus* events,
              Metrics* metrics, Housekeeper* housekeeper, ErrorAggregator* errors);
    ~ApiServer();

    // Binds config.host:config.port (0: any free port). Unavailable when the address is taken.
    Status Bind();
    int port() const { return port_; }
    // Serves until Stop (blocking).
    void Serve();
    // The use cases the handlers call (for the service's own background work: reading shows' feeds).
    App* app() { return app_.get(); }
    // Stops accepting, ends open event streams, and lets in-flight requests finish. Thread-safe.
    void Stop();

  private:
    // The middleware (request ids, body caps, metrics, access log, error bodies), then each area's routes,
    // defined in routes_<area>.cc.
    void Routes();
    void LogRequest(const httplib::Request& req, const httplib::Response& res);
    void OperatorRoutes();
    void AdminRoutes();
    void EpisodeRoutes();
    void ListEpisodes(const httplib::Request& req, httplib::Response& res);  // GET /api/v1/episodes
    void EpisodeContentRoutes();
    void TranscriptRoutes();  // read, replace and fix words (routes_episodes.cc)
    void SpeakerRoutes();     // the transcript's speakers named (routes_episodes.cc)
    void EpisodeHandOffRoutes();
    void ShowRoutes();  // shows added by their RSS feed (routes_shows.cc)
    void LookRoutes();  // a show's look and logo, and the fonts (routes_shows.cc)
    void ClipRoutes();
    void JobRoutes();
    void WebRoutes();
    void AccountRoutes();  // sign-in, sessions, the caller's account
    void KeyRoutes();      // the caller's API keys
    void UserRoutes();     // an administrator's: users and the audit log
    // What runs before routing: the browser policy, the body guard, who the caller is and their rate. True when it
    // answered `res` itself (the handler must not run).
    bool Guard(const httplib::Request& req, httplib::Response& res);
    void ServeMetrics(const httplib::Request& req, httplib::Response& res);
    void ServeEvents(const httplib::Request& req, httplib::Response& res);  // GET /api/v1/events
    // Every check of /health: the HTTP status and the document.
    std::pair<int, nlohmann::json> RunHealthChecks();
    ServiceConfig config_;
    Database* db_;
    Storage* storage_;
    WorkerPool* workers_;
    EventBus* events_;
    Metrics* metrics_;
    Housekeeper* housekeeper_;
    ErrorAggregator* errors_;
    void RefreshHealth();
    void StopHealthThread();
    std::unique_ptr<LeanServer> server_;
    int port_ = 0;
    std::unique_ptr<App> app_;  // the use cases the handlers call
    // What the server keeps between requests (event streams, the health answer and its thread, caches): private to
    // api/ (src/api/server_state.h).
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace podpromo
