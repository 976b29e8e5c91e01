#include <httplib.h>

#include <filesystem>
#include <string>

#include "http_common.h"
#include "lean_server.h"
#include "podpromo/api/server.h"

namespace podpromo {
using namespace http;  // NOLINT(google-build-using-namespace): the handlers' own helpers

// The browser app (WEB_DIR: the bundle `npm run build` made). Its hashed assets never change, so browsers keep
// them for a year; index.html is revalidated every time so a new build is picked up.
void ApiServer::WebRoutes() {
    auto& svr = *server_;

    svr.Get("/", [this](const Request& req, Response& res) {
        const fs::path index = fs::path(config_.web_dir) / "index.html";
        std::error_code ec;
        if (config_.web_dir.empty() || !fs::is_regular_file(index, ec) ||
            req.get_header_value("Accept").find("text/html") == std::string::npos) {
            return SendJson(
                res, 200,
                {{"name", "PodPromo"},
                 {"api", "/api/v1"},
                 {"health", "/health"},
                 {"metrics", "/metrics"},
                 {"app", fs::is_regular_file(index, ec) ? "open / in a browser" : "not built (run scripts/build)"}});
        }
        SendFile(req, res, index, WebContentType(index), "no-cache");
    });
    // A one-time sign-in link lands on the app, which sends its token (so a link preview that fetches the page does
    // not use it up).
    svr.Get("/signin", [this](const Request& req, Response& res) {
        const fs::path index = fs::path(config_.web_dir) / "index.html";
        std::error_code ec;
        if (config_.web_dir.empty() || !fs::is_regular_file(index, ec)) {
            return SendError(res, 404, "not_found",
                             "the browser app is not built; POST {\"link\": token} to /api/v1/session");
        }
        res.set_header("Cache-Control", "no-store");
        SendFile(req, res, index, WebContentType(index), "no-store");
    });
    svr.Get(R"(/(assets/[A-Za-z0-9._-]+|favicon\.svg))", [this](const Request& req, Response& res) {
        const fs::path file = fs::path(config_.web_dir) / std::string(req.matches[1]);
        std::error_code ec;
        if (config_.web_dir.empty() || !fs::is_regular_file(file, ec)) {
            return SendError(res, 404, "not_found", "no such file");
        }
        const bool hashed = std::string(req.matches[1]).rfind("assets/", 0) == 0;
        SendFile(req, res, file, WebContentType(file), hashed ? "public, max-age=31536000, immutable" : "no-cache");
    });
}

}  // namespace podpromo
