#include <httplib.h>

#include <nlohmann/json.hpp>
#include <string>

#include "access.h"
#include "http_common.h"
#include "lean_server.h"
#include "podpromo/api/server.h"
#include "podpromo/app/accounts.h"
#include "podpromo/core/utf8.h"
#include "server_state.h"

namespace podpromo {
using namespace http;  // NOLINT(google-build-using-namespace): the handlers' own helpers

namespace {

// The request's JSON object body; InvalidInput naming `shape` otherwise.
Result<json> JsonObject(const Request& req, const char* shape) {
    json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object()) return Status::InvalidInput(std::string("send ") + shape);
    return body;
}

std::string Text(const json& body, const char* name) {
    return body.contains(name) && body[name].is_string() ? body[name].get<std::string>() : std::string();
}

// Answers a new session: its cookie, and the CSRF token the page must echo.
void SendSession(const Request& req, Response& res, const NewSession& s, const Principal& who) {
    res.set_header("Set-Cookie",
                   SessionCookie(s.token, static_cast<long>(Accounts::kSessionMaxMs / 1000), OverHttps(req)));
    res.set_header("Cache-Control", "no-store");
    SendJson(res, 200,
             {{"user", {{"id", who.user_id}, {"name", who.user_name}, {"is_admin", who.is_admin}}},
              {"csrf_token", s.csrf_token}});
}

}  // namespace

// POST/DELETE /api/v1/session (sign in with a password or a one-time link; sign out), GET /api/v1/me, the caller's
// password and sessions.
void ApiServer::AccountRoutes() {
    auto& svr = *server_;
    Accounts& accounts = state_->accounts;

    svr.Post("/api/v1/session", [&accounts](const Request& req, Response& res) {
        auto body = JsonObject(req, "{\"name\": …, \"password\": …} or {\"link\": token}");
        if (!body.ok()) return SendStatus(res, body.status());
        const std::string link = Text(*body, "link");
        auto session = link.empty() ? accounts.SignIn(Text(*body, "name"), Text(*body, "password"), req.remote_addr)
                                    : accounts.SignInWithLink(link, req.remote_addr);
        if (!session.ok()) return SendStatus(res, session.status());
        auto who = accounts.AuthenticateSession(session->token);
        if (!who.ok()) return SendStatus(res, who.status());
        SendSession(req, res, *session, *who);
    });
    svr.Delete("/api/v1/session", [&accounts](const Request& req, Response& res) {
        accounts.SignOut(CookieValue(req.get_header_value("Cookie"), kSessionCookie))
            .IgnoreError("the cookie is cleared; an unknown session has nothing to end");
        res.set_header("Set-Cookie", SessionCookie("", 0, OverHttps(req)));
        res.status = 204;
    });

    svr.Get("/api/v1/me", [&accounts](const Request&, Response& res) {
        const Principal& who = *CurrentPrincipal();
        auto has_password = accounts.HasPassword(who.user_id);
        if (!has_password.ok()) return SendStatus(res, has_password.status());
        res.set_header("Cache-Control", "no-store");
        SendJson(res, 200,
                 {{"user", {{"id", who.user_id}, {"name", who.user_name}, {"is_admin", who.is_admin}}},
                  {"scopes", ScopesText(who.scopes)},
                  {"via", who.key_prefix.empty() ? "session" : "key"},
                  {"key_prefix", who.key_prefix.empty() ? json(nullptr) : json(who.key_prefix)},
                  {"csrf_token", who.key_prefix.empty() ? json(who.csrf_token) : json(nullptr)},
                  {"has_password", *has_password}});
    });
    svr.Put("/api/v1/me/password", [&accounts](const Request& req, Response& res) {
        auto body = JsonObject(req, "{\"current\": …, \"password\": …}");
        if (!body.ok()) return SendStatus(res, body.status());
        const Principal who = *CurrentPrincipal();
        auto session = accounts.ChangePassword(who, Text(*body, "current"), Text(*body, "password"));
        if (!session.ok()) return SendStatus(res, session.status());
        if (!who.key_prefix.empty()) return SendJson(res, 200, {{"changed", true}});
        auto now = accounts.AuthenticateSession(session->token);
        if (!now.ok()) return SendStatus(res, now.status());
        SendSession(req, res, *session, *now);
    });
    svr.Post("/api/v1/me/sign-out-everywhere", [&accounts](const Request& req, Response& res) {
        const Principal& who = *CurrentPrincipal();
        if (Status st = accounts.SignOutEverywhere(who.user_id, ActorOf(&who)); !st.ok()) return SendStatus(res, st);
        res.set_header("Set-Cookie", SessionCookie("", 0, OverHttps(req)));
        res.status = 204;
    });
}

// The caller's API keys: listed, made (shown once) and revoked.
void ApiServer::KeyRoutes() {
    auto& svr = *server_;
    Accounts& accounts = state_->accounts;

    svr.Get("/api/v1/keys", [&accounts](const Request&, Response& res) {
        auto keys = accounts.Keys(CurrentPrincipal()->user_name);
        if (!keys.ok()) return SendStatus(res, keys.status());
        json items = json::array();
        for (const auto& k : *keys) items.push_back(KeyDocument(k));
        SendJson(res, 200, {{"items", items}});
    });
    // {"name": note, "scopes": "read,write"}: the whole key is in this answer only.
    svr.Post("/api/v1/keys", [&accounts](const Request& req, Response& res) {
        auto body = JsonObject(req, "{\"name\": …, \"scopes\": \"read,write,render\"}");
        if (!body.ok()) return SendStatus(res, body.status());
        const Principal& who = *CurrentPrincipal();
        auto made = accounts.CreateKey(who.user_name, Text(*body, "scopes"), Text(*body, "name"), ActorOf(&who));
        if (!made.ok()) return SendStatus(res, made.status());
        json j = KeyDocument(made->row);
        j["key"] = made->token;
        res.set_header("Cache-Control", "no-store");
        SendJson(res, 201, j);
    });
    svr.Delete(R"(/api/v1/keys/([a-z2-7]{1,16}))", [&accounts](const Request& req, Response& res) {
        // A user revokes their own keys; an administrator anyone's.
        const Principal& who = *CurrentPrincipal();
        const std::string prefix = req.matches[1];
        const Status st = CallerOf(who).sees_all ? accounts.RevokeKey(prefix, ActorOf(&who))
                                                 : accounts.RevokeKey(prefix, ActorOf(&who), who.user_id);
        if (!st.ok()) return SendStatus(res, st);
        res.status = 204;
    });
}

// An administrator's: the users (list, add, disable, a one-time sign-in link) and the audit log.
void ApiServer::UserRoutes() {
    auto& svr = *server_;
    Accounts& accounts = state_->accounts;

    svr.Get("/api/v1/users", [&accounts](const Request&, Response& res) {
        auto users = accounts.Users();
        if (!users.ok()) return SendStatus(res, users.status());
        json items = json::array();
        for (const auto& u : *users) items.push_back(UserDocument(u));
        SendJson(res, 200, {{"items", items}});
    });
    // {"name": …, "password": …, "admin": false}
    svr.Post("/api/v1/users", [&accounts](const Request& req, Response& res) {
        auto body = JsonObject(req, "{\"name\": …, \"password\": …, \"admin\": false}");
        if (!body.ok()) return SendStatus(res, body.status());
        const bool admin = body->contains("admin") && (*body)["admin"].is_boolean() && (*body)["admin"].get<bool>();
        auto user = accounts.AddUser(Text(*body, "name"), Text(*body, "password"), admin, ActorOf(CurrentPrincipal()));
        if (!user.ok()) return SendStatus(res, user.status());
        SendJson(res, 201, UserDocument(*user));
    });
    svr.Post(R"(/api/v1/users/([a-z0-9._-]{1,64})/disable)", [&accounts](const Request& req, Response& res) {
        if (req.matches[1] == CurrentPrincipal()->user_name) {
            return SendStatus(res, Status::InvalidInput("an administrator cannot disable themselves"));
        }
        if (Status st = accounts.DisableUser(req.matches[1], ActorOf(CurrentPrincipal())); !st.ok()) {
            return SendStatus(res, st);
        }
        res.status = 204;
    });
    // A one-time sign-in link for the user (a new user's first sign-in, or a lost password).
    svr.Post(R"(/api/v1/users/([a-z0-9._-]{1,64})/link)", [&accounts](const Request& req, Response& res) {
        auto token = accounts.IssueSignInLink(req.matches[1], ActorOf(CurrentPrincipal()));
        if (!token.ok()) return SendStatus(res, token.status());
        res.set_header("Cache-Control", "no-store");
        SendJson(res, 201, {{"path", "/signin?token=" + *token}, {"expires_in_s", Accounts::kLinkLifetimeMs / 1000}});
    });

    svr.Get("/api/v1/admin/audit", [&accounts](const Request& req, Response& res) {
        auto rows = accounts.Audit(IntParam(req, "limit", 100, 1, 500), ParseInt(Param(req, "before")).value_or(0));
        if (!rows.ok()) return SendStatus(res, rows.status());
        json items = json::array();
        for (const auto& a : *rows) {
            items.push_back({{"at", a.at},
                             {"actor", a.actor},
                             {"action", a.action},
                             {"target", a.target},
                             {"address", a.address},
                             {"outcome", a.outcome},
                             {"detail", a.detail}});
        }
        SendJson(res, 200, {{"items", items}});
    });
}

}  // namespace podpromo
