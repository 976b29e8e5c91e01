#include "accounts_cmd.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "podpromo/app/accounts.h"
#include "podpromo/core/clock.h"
#include "podpromo/store/database.h"
#include "serve.h"

namespace podpromo {
namespace {
using nlohmann::json;

constexpr const char* kActor = "cli";

// One line of standard input, without its line end; at most Accounts::kMaxPasswordBytes.
Result<std::string> ReadLine(bool echo) {
    termios saved{};
    const bool tty = isatty(STDIN_FILENO) != 0;
    if (tty && !echo && tcgetattr(STDIN_FILENO, &saved) == 0) {
        termios quiet = saved;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    }
    std::string line;
    char c = 0;
    bool got_any = false;
    while (std::cin.get(c) && c != '\n') {
        got_any = true;
        if (line.size() > Accounts::kMaxPasswordBytes) break;
        line.push_back(c);
    }
    got_any = got_any || c == '\n';
    if (tty && !echo) {
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        std::cerr << "\n";
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!got_any) return Status::InvalidInput("no password was given on standard input");
    if (line.size() > Accounts::kMaxPasswordBytes) {
        return Status::InvalidInput("a password is UTF-8 text of at most 1024 bytes");
    }
    return line;
}

// The new password for `name`: typed twice on a terminal, or the first line of a pipe.
Result<std::string> NewPassword(const std::string& name) {
    if (isatty(STDIN_FILENO) == 0) return ReadLine(true);
    std::cerr << "New password for " << name << ": ";
    PODPROMO_ASSIGN_OR_RETURN(const std::string first, ReadLine(false));
    std::cerr << "Again: ";
    PODPROMO_ASSIGN_OR_RETURN(const std::string second, ReadLine(false));
    if (first != second) return Status::InvalidInput("the two passwords differ");
    return first;
}

std::string When(DbInt ms) { return ms == 0 ? "-" : fmt::format("{:%Y-%m-%d %H:%M}", fmt::gmtime(ms / 1000)); }

int ListUsers(Accounts& accounts, bool as_json) {
    auto users = accounts.Users();
    if (!users.ok()) return ReportFailure(users.status());
    json out = json::array();
    for (const auto& u : *users) {
        out.push_back(UserDocument(u));
        if (!as_json) {
            std::cout << fmt::format("{:<24} {:<6} {:<9} {}\n", u.name, u.is_admin ? "admin" : "",
                                     u.disabled ? "disabled" : "", When(u.created_at));
        }
    }
    if (as_json) std::cout << out.dump(2) << "\n";
    return 0;
}

int ListKeys(Accounts& accounts, const std::string& user, bool as_json) {
    auto keys = accounts.Keys(user);
    if (!keys.ok()) return ReportFailure(keys.status());
    json out = json::array();
    for (const auto& k : *keys) {
        out.push_back(KeyDocument(k));
        if (!as_json) {
            std::cout << fmt::format("pp_{:<9} {:<24} {:<24} made {}  used {}  {}\n", k.prefix, k.name, k.scopes,
                                     When(k.created_at), When(k.last_used_at),
                                     k.revoked_at ? "revoked " + When(k.revoked_at) : "live");
        }
    }
    if (as_json) std::cout << out.dump(2) << "\n";
    return 0;
}

Result<std::unique_ptr<Database>> OpenDatabase(const ServiceConfig& config) {
    auto db = Database::Open(config.DatabaseUrl(), 1);
    if (!db.ok()) return db.status();
    auto applied = (*db)->Migrate();
    if (!applied.ok()) return applied.status();
    return db;
}

int Done(const Status& st, const std::string& what) {
    if (!st.ok()) return ReportFailure(st);
    std::cerr << what << "\n";
    return 0;
}

}  // namespace

int RunUserCommand(const ServiceConfig& config, const UserCommand& command) {
    auto db = OpenDatabase(config);
    if (!db.ok()) return ReportFailure(db.status());
    Accounts accounts(db->get(), &SystemClock());
    if (command.action == "list") return ListUsers(accounts, command.json);
    if (command.action == "link") {
        auto token = accounts.IssueSignInLink(command.name, kActor);
        if (!token.ok()) return ReportFailure(token.status());
        std::cout << SignInLink(command.base_url.empty() ? ServiceUrl(config) : command.base_url, *token) << "\n";
        std::cerr << "a one-time link: it signs " << command.name << " in once, within 24 hours\n";
        return 0;
    }
    if (command.action == "disable") {
        return Done(accounts.DisableUser(command.name, kActor),
                    "disabled " + command.name + ": their sessions ended and their keys are revoked");
    }
    auto password = NewPassword(command.name);
    if (!password.ok()) return ReportFailure(password.status());
    if (command.action == "passwd") {
        return Done(accounts.SetPassword(command.name, *password, kActor), "password changed for " + command.name);
    }
    auto added = accounts.AddUser(command.name, *password, command.admin, kActor);
    return Done(added.status(), fmt::format("added {}{}", command.name, command.admin ? " (administrator)" : ""));
}

int RunKeyCommand(const ServiceConfig& config, const KeyCommand& command) {
    auto db = OpenDatabase(config);
    if (!db.ok()) return ReportFailure(db.status());
    Accounts accounts(db->get(), &SystemClock());
    if (command.action == "list") return ListKeys(accounts, command.user, command.json);
    if (command.action == "revoke") {
        std::string prefix = command.prefix;
        if (prefix.starts_with("pp_")) prefix = prefix.substr(3, 8);  // the whole key, or its listed prefix
        return Done(accounts.RevokeKey(prefix, kActor), "revoked pp_" + prefix);
    }
    auto made = accounts.CreateKey(command.user, command.scopes, command.name, kActor);
    if (!made.ok()) return ReportFailure(made.status());
    std::cout << made->token << "\n";
    std::cerr << fmt::format("key pp_{} for {} ({}): shown this once; keep it somewhere safe\n", made->row.prefix,
                             command.user, made->row.scopes);
    return 0;
}

}  // namespace podpromo
