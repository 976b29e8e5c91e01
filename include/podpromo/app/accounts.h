// Accounts: users, their API keys and the audit log, as use cases free of HTTP (the next step wires them into the
// API and the browser app: shared/DESIGN.md, issue 18). Thread-safe: every call runs in its own transaction.
//
// A user has a name (1-64 of a-z 0-9 . _ -, starting with a letter or digit) and a password of at least 12 characters
// (at most 1024 bytes), stored as its Argon2id hash. An API key is "pp_<prefix>_<secret>": the prefix (8 characters)
// identifies it in lists and finds it; only the SHA-256 of the secret (32 characters, 160 bits) is stored, so the key
// is shown once, when made. A key has scopes (read, write, render, admin); a request with it may do only what they
// allow, and only an admin key may manage keys or users. Every change is written to the audit log, with the actor.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "podpromo/core/clock.h"
#include "podpromo/core/status.h"
#include "podpromo/store/accounts.h"
#include "podpromo/store/database.h"

namespace podpromo {

// The one document of a user and of a key, for the API and the command line's --json (never a secret or a hash;
// times in epoch milliseconds, null for "never").
nlohmann::json UserDocument(const UserRow& u);
nlohmann::json KeyDocument(const ApiKeyRow& k);

// What a key may do (a bit set).
enum class Scope : unsigned { kRead = 1, kWrite = 2, kRender = 4, kAdmin = 8 };
using Scopes = unsigned;
constexpr Scopes kAllScopes = 15;
// "read,write" (comma-separated, any order, spaces ignored) as scopes. InvalidInput naming an unknown scope or an
// empty list.
Result<Scopes> ParseScopes(std::string_view text);
// The scopes as stored and shown: "read,write,render,admin" in that order.
std::string ScopesText(Scopes scopes);

// Who a request is made by: a user through one of their keys, or through a browser session.
struct Principal {
    std::string user_id, user_name;
    bool is_admin = false;
    Scopes scopes = 0;  // what the key allows (an admin user's key may still be read-only); a session: all the user may
    std::string key_prefix;  // the key used ("" for a session)
    std::string csrf_token;  // a session's: its state-changing requests must echo it ("" for a key)
    bool Can(Scope s) const { return (scopes & static_cast<unsigned>(s)) != 0; }
};

// A browser session just begun: the cookie's token (stored only as its SHA-256) and the CSRF token.
struct NewSession {
    std::string token, csrf_token;
    DbInt expires_at = 0;  // the absolute end; it ends sooner when idle
};

// Failed sign-ins counted per key (an account's name, a client's address): after kFreeFailures in a row, each further
// attempt waits 2^(n - kFreeFailures) seconds after the last failure, at most 15 minutes. A success clears the key. At
// most kMaxKeys keys are kept (the stalest go first), so a flood of names cannot exhaust memory. In memory: each serve
// instance counts its own. Thread-safe; `clock` is borrowed and must outlive it.
class SignInThrottle {
  public:
    static constexpr int kFreeFailures = 3;
    static constexpr DbInt kMaxDelayMs = 15 * 60 * 1000;
    static constexpr size_t kMaxKeys = 10000;
    explicit SignInThrottle(const Clock* clock) : clock_(clock) {}
    // How long `key` must still wait, in milliseconds; 0 when it may try now.
    DbInt WaitMs(const std::string& key) const;
    void Failed(const std::string& key);
    void Succeeded(const std::string& key);

  private:
    struct Failures {
        int count = 0;
        DbInt last_ms = 0;
    };
    const Clock* clock_;
    mutable std::mutex mu_;
    std::map<std::string, Failures> failures_;
};

// A key just made: its row and the whole key, which is never shown again.
struct NewKey {
    ApiKeyRow row;
    std::string token;
};

class Accounts {
  public:
    static constexpr size_t kMinPasswordLength = 12;  // characters
    static constexpr size_t kMaxPasswordBytes = 1024;

    // `db` and `clock` are borrowed and must outlive the Accounts.
    Accounts(Database* db, const Clock* clock) : db_(db), clock_(clock) {}

    // `actor` names who asks, for the audit log ("cli", "user:<name>", "key:<prefix>").
    // A new user. InvalidInput for a bad name or password; FailedPrecondition "name_taken". The first administrator
    // made is given every episode that has no owner yet (those of a service that ran before accounts).
    Result<UserRow> AddUser(const std::string& name, const std::string& password, bool admin, const std::string& actor);
    // A new password; the user's sessions end. NotFound for an unknown user; InvalidInput for a bad password.
    Status SetPassword(const std::string& name, const std::string& password, const std::string& actor);
    // The user can no longer sign in or use a key: their sessions end and their keys are revoked. NotFound.
    Status DisableUser(const std::string& name, const std::string& actor);
    Result<std::vector<UserRow>> Users();

    // A key for `user_name` with `scopes` ("read,write"), named `key_name` (a note for lists, at most 100 bytes).
    // NotFound for an unknown or disabled user; InvalidInput for bad scopes. An admin scope needs an admin user.
    Result<NewKey> CreateKey(const std::string& user_name, const std::string& scopes, const std::string& key_name,
                             const std::string& actor);
    // Revokes the key with `prefix` at once. NotFound when there is no live key with it, or (given `owner_id`) when it
    // is not that user's.
    Status RevokeKey(const std::string& prefix, const std::string& actor, const std::string& owner_id = "");
    // The user's keys (live and revoked), oldest first; no secrets. NotFound for an unknown user.
    Result<std::vector<ApiKeyRow>> Keys(const std::string& user_name);

    // Who `token` (an "Authorization: Bearer" value) is. Unauthenticated, with one message for every reason (malformed,
    // unknown, wrong secret, revoked, disabled user), so an answer tells a guesser nothing. A key proven in the last
    // kKeyCacheMs is answered from memory (a busy client's requests then read nothing): revoking a key or disabling a
    // user through this Accounts takes effect at once; through another process (the command line, another instance),
    // within kKeyCacheMs.
    static constexpr DbInt kKeyCacheMs = 1000;
    Result<Principal> AuthenticateKey(std::string_view token);

    // The audit log, newest first: at most `limit` (1-500) entries older than `before` (0: the newest).
    Result<std::vector<AuditRow>> Audit(int limit, DbInt before = 0);

    // Browser sessions end after kSessionIdleMs without a request, and kSessionMaxMs after sign-in in any case.
    static constexpr DbInt kSessionIdleMs = DbInt{24} * 3600 * 1000;
    static constexpr DbInt kSessionMaxMs = DbInt{14} * 24 * 3600 * 1000;
    // Signs `name` in from `address`. Unauthenticated "the name or password is wrong" for an unknown, disabled or wrong
    // one alike (an unknown name costs the same Argon2id check as a known one); RateLimited with a retry-after while
    // the account or the address must wait (SignInThrottle), whatever the password. Every attempt is audited.
    Result<NewSession> SignIn(const std::string& name, const std::string& password, const std::string& address);
    // Who the session of `token` (a cookie's value) is. Unauthenticated for an unknown, revoked, idle or expired
    // session or a disabled user.
    Result<Principal> AuthenticateSession(std::string_view token);
    // One-time sign-in links: a token that signs its user in once, within kLinkLifetimeMs. The first start prints one
    // for the administrator it makes; `podpromo user link NAME` makes another (a lost password). NotFound for an
    // unknown or disabled user.
    static constexpr DbInt kLinkLifetimeMs = DbInt{24} * 3600 * 1000;
    Result<std::string> IssueSignInLink(const std::string& name, const std::string& actor);
    // Signs in with a link's token, which is then used up. Unauthenticated "the sign-in link is not valid" for an
    // unknown, used or expired one (throttled per address like SignIn). Audited.
    Result<NewSession> SignInWithLink(std::string_view token, const std::string& address);
    // The first start: when there is no user yet, makes the administrator "admin" with no password (it can sign in
    // only by a link until it sets one; it is given every earlier episode) and returns a link's token for it;
    // nullopt when a user exists.
    Result<std::optional<std::string>> FirstStart();
    // The signed-in user changes their own password: `current` must match, unless they have none yet (a first
    // start's administrator). Every session of theirs ends and a new one begins, for the caller's browser.
    // Unauthenticated "wrong_password" for a wrong current password (throttled as sign-ins are); InvalidInput.
    Result<NewSession> ChangePassword(const Principal& who, const std::string& current, const std::string& next);
    // Whether the user has a password (false for a first start's administrator until they set one).
    Result<bool> HasPassword(const std::string& user_id);

    // Ends the session of `token` (Ok when there is none).
    Status SignOut(std::string_view token);
    // Ends every session of the user.
    Status SignOutEverywhere(const std::string& user_id, const std::string& actor);

  private:
    // Inserts a new session of `user_id` begun at `now` (inside the caller's transaction).
    static NewSession StartSession(Tx& tx, const std::string& user_id, DbInt now);
    // The throttle's wait for the address (and account, when given); RateLimited after auditing the refusal.
    Status CheckThrottle(AuditRow entry, const std::vector<std::string>& keys);
    // Forgets every remembered key (after a revocation or a user's change).
    void ForgetKeys();
    Database* db_;
    const Clock* clock_;
    SignInThrottle throttle_{clock_};
    struct RememberedKey {
        Principal who;
        DbInt at_ms = 0;
    };
    std::mutex keys_mu_;                               // guards remembered_
    std::map<std::string, RememberedKey> remembered_;  // by the SHA-256 of the whole token; at most 10,000
};

}  // namespace podpromo
