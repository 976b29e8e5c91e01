#include "podpromo/app/accounts.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <functional>

#include "podpromo/core/secrets.h"
#include "podpromo/core/utf8.h"
#include "podpromo/jobs/pipeline.h"

namespace podpromo {

namespace {

constexpr std::string_view kKeyPrefix = "pp_";
constexpr size_t kPrefixChars = 8;          // 5 random bytes
constexpr size_t kSecretChars = 32;         // 20 random bytes
constexpr DbInt kTouchEveryMs = 60 * 1000;  // a credential's last use is written at most once a minute
constexpr std::array<std::pair<std::string_view, Scope>, 4> kScopeNames = {
    {{"read", Scope::kRead}, {"write", Scope::kWrite}, {"render", Scope::kRender}, {"admin", Scope::kAdmin}}};

Status CheckName(const std::string& name) {
    const bool ok = !name.empty() && name.size() <= 64 && std::isalnum(static_cast<unsigned char>(name[0])) &&
                    std::all_of(name.begin(), name.end(), [](char c) {
                        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
                    });
    if (ok) return Status::Ok();
    return Status::InvalidInput(
        "a user name is 1 to 64 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit");
}

Status CheckPassword(const std::string& password) {
    if (password.size() > Accounts::kMaxPasswordBytes || !IsValidUtf8(password)) {
        return Status::InvalidInput("a password is UTF-8 text of at most 1024 bytes");
    }
    if (Utf8Length(password) < Accounts::kMinPasswordLength) {
        return Status::InvalidInput(fmt::format("a password has at least {} characters", Accounts::kMinPasswordLength));
    }
    return Status::Ok();
}

AuditRow Entry(DbInt now, const std::string& actor, const std::string& action, const std::string& target) {
    return {NewId("au"), now, actor, action, target, "", "ok", ""};
}

Status NoSuchUser(const std::string& name) { return Status::NotFound("no user " + name.substr(0, 64)); }

// Runs `change` on the user called `name`, in one transaction. NotFound when there is none.
Status ChangeUser(Database* db, const std::string& name, const std::function<void(Tx&, const UserRow&)>& change) {
    bool found = false;
    PODPROMO_RETURN_IF_ERROR(db->InTransaction([&](Tx& tx) {
        const auto user = GetUserByName(tx, name);
        found = user.has_value();
        if (found) change(tx, *user);
    }));
    return found ? Status::Ok() : NoSuchUser(name);
}

// Writes a key's or session's last use (`touch`) when the stored one is a minute old or more, so a busy client does not
// write on every request. A failed write only waits for the next use: the request goes on.
void NoteUse(Database* db, DbInt last_ms, DbInt now, const std::function<void(Tx&)>& touch) {
    if (now - last_ms < kTouchEveryMs) return;
    db->InTransaction(touch).IgnoreError("a last-use time; written again on the next use");
}

Status BadKey() { return Status::Unauthenticated("the API key is not valid"); }

}  // namespace

nlohmann::json UserDocument(const UserRow& u) {
    return {{"id", u.id},
            {"name", u.name},
            {"is_admin", u.is_admin},
            {"disabled", u.disabled},
            {"has_password", !u.password_hash.empty()},
            {"created_at", u.created_at}};
}

nlohmann::json KeyDocument(const ApiKeyRow& k) {
    auto time = [](DbInt ms) { return ms == 0 ? nlohmann::json(nullptr) : nlohmann::json(ms); };
    return {{"prefix", k.prefix},
            {"name", k.name},
            {"scopes", k.scopes},
            {"created_at", k.created_at},
            {"last_used_at", time(k.last_used_at)},
            {"revoked_at", time(k.revoked_at)}};
}

Result<Scopes> ParseScopes(std::string_view text) {
    Scopes scopes = 0;
    while (!text.empty()) {
        const size_t comma = text.find(',');
        const std::string item = TrimAscii(text.substr(0, comma));
        text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
        if (item.empty()) continue;
        const auto it = std::find_if(kScopeNames.begin(), kScopeNames.end(),
                                     [&](const auto& named) { return named.first == item; });
        if (it == kScopeNames.end()) {
            return Status::InvalidInput(
                fmt::format("unknown scope '{}': expected read, write, render or admin", item.substr(0, 40)));
        }
        scopes |= static_cast<unsigned>(it->second);
    }
    if (scopes == 0) return Status::InvalidInput("a key needs at least one scope: read, write, render or admin");
    return scopes;
}

std::string ScopesText(Scopes scopes) {
    std::string out;
    for (const auto& [name, scope] : kScopeNames) {
        if ((scopes & static_cast<unsigned>(scope)) == 0) continue;
        if (!out.empty()) out += ",";
        out += name;
    }
    return out;
}

Result<UserRow> Accounts::AddUser(const std::string& name, const std::string& password, bool admin,
                                  const std::string& actor) {
    PODPROMO_RETURN_IF_ERROR(CheckName(name));
    PODPROMO_RETURN_IF_ERROR(CheckPassword(password));
    PODPROMO_ASSIGN_OR_RETURN(const std::string hash, HashPassword(password));
    UserRow u;
    u.id = NewId("usr");
    u.name = name;
    u.password_hash = hash;
    u.is_admin = admin;
    u.created_at = u.updated_at = clock_->NowMs();
    bool taken = false;
    PODPROMO_RETURN_IF_ERROR(db_->InTransaction([&](Tx& tx) {
        taken = GetUserByName(tx, name).has_value();
        if (taken) return;
        const auto users = ListUsers(tx);
        const bool first_admin =
            admin && std::none_of(users.begin(), users.end(), [](const UserRow& other) { return other.is_admin; });
        InsertUser(tx, u);
        AuditRow entry = Entry(u.created_at, actor, "user.add", name);
        entry.detail = admin ? "admin" : "";
        if (first_admin) entry.detail += fmt::format("; given {} earlier episodes", ClaimUnownedEpisodes(tx, u.id));
        InsertAudit(tx, entry);
    }));
    if (taken) return Status::FailedPrecondition("there is already a user " + name).WithSlug("name_taken");
    return u;
}

Status Accounts::SetPassword(const std::string& name, const std::string& password, const std::string& actor) {
    PODPROMO_RETURN_IF_ERROR(CheckPassword(password));
    PODPROMO_ASSIGN_OR_RETURN(const std::string hash, HashPassword(password));
    const DbInt now = clock_->NowMs();
    return ChangeUser(db_, name, [&](Tx& tx, const UserRow& user) {
        SetUserPassword(tx, user.id, hash, now);
        RevokeUserSessions(tx, user.id, now);
        InsertAudit(tx, Entry(now, actor, "user.passwd", name));
    });
}

Status Accounts::DisableUser(const std::string& name, const std::string& actor) {
    const DbInt now = clock_->NowMs();
    Status st = ChangeUser(db_, name, [&](Tx& tx, const UserRow& user) {
        SetUserDisabled(tx, user.id, true, now);
        RevokeUserSessions(tx, user.id, now);
        RevokeUserApiKeys(tx, user.id, now);
        InsertAudit(tx, Entry(now, actor, "user.disable", name));
    });
    ForgetKeys();
    return st;
}

Result<std::vector<UserRow>> Accounts::Users() {
    std::vector<UserRow> users;
    PODPROMO_RETURN_IF_ERROR(db_->With([&](Tx& tx) { users = ListUsers(tx); }));
    return users;
}

Result<NewKey> Accounts::CreateKey(const std::string& user_name, const std::string& scopes, const std::string& key_name,
                                   const std::string& actor) {
    PODPROMO_ASSIGN_OR_RETURN(const Scopes parsed, ParseScopes(scopes));
    if (key_name.size() > 100 || !IsValidUtf8(key_name)) {
        return Status::InvalidInput("a key's name is UTF-8 text of at most 100 bytes");
    }
    NewKey made;
    ApiKeyRow& k = made.row;
    k.id = NewId("key");
    k.name = key_name;
    k.prefix = RandomToken(5).substr(0, kPrefixChars);
    const std::string secret = RandomToken(20).substr(0, kSecretChars);
    k.secret_hash = Sha256Hex(secret);
    k.scopes = ScopesText(parsed);
    k.created_at = clock_->NowMs();
    made.token = std::string(kKeyPrefix) + k.prefix + "_" + secret;
    Status refused;
    PODPROMO_RETURN_IF_ERROR(db_->InTransaction([&](Tx& tx) {
        const auto user = GetUserByName(tx, user_name);
        if (!user || user->disabled) {
            refused = NoSuchUser(user_name);
            return;
        }
        if ((parsed & static_cast<unsigned>(Scope::kAdmin)) && !user->is_admin) {
            refused = Status::InvalidInput("only an administrator's key may have the admin scope");
            return;
        }
        k.user_id = user->id;
        InsertApiKey(tx, k);
        AuditRow entry = Entry(k.created_at, actor, "key.create", k.prefix);
        entry.detail = user_name + ": " + k.scopes;
        InsertAudit(tx, entry);
    }));
    PODPROMO_RETURN_IF_ERROR(refused);
    return made;
}

Status Accounts::RevokeKey(const std::string& prefix, const std::string& actor, const std::string& owner_id) {
    bool revoked = false;
    const DbInt now = clock_->NowMs();
    PODPROMO_RETURN_IF_ERROR(db_->InTransaction([&](Tx& tx) {
        if (!owner_id.empty()) {
            const auto key = GetApiKeyByPrefix(tx, prefix);
            if (!key || key->user_id != owner_id) return;
        }
        revoked = RevokeApiKey(tx, prefix, now);
        if (revoked) InsertAudit(tx, Entry(now, actor, "key.revoke", prefix));
    }));
    if (revoked) ForgetKeys();
    return revoked ? Status::Ok() : Status::NotFound("no live key " + prefix.substr(0, 40));
}

Result<std::vector<ApiKeyRow>> Accounts::Keys(const std::string& user_name) {
    std::vector<ApiKeyRow> keys;
    bool found = false;
    PODPROMO_RETURN_IF_ERROR(db_->With([&](Tx& tx) {
        const auto user = GetUserByName(tx, user_name);
        found = user.has_value();
        if (found) keys = ListApiKeys(tx, user->id);
    }));
    if (!found) return NoSuchUser(user_name);
    return keys;
}

void Accounts::ForgetKeys() {
    std::lock_guard<std::mutex> lock(keys_mu_);
    remembered_.clear();
}

Result<Principal> Accounts::AuthenticateKey(std::string_view token) {
    if (token.size() != kKeyPrefix.size() + kPrefixChars + 1 + kSecretChars || !token.starts_with(kKeyPrefix) ||
        token[kKeyPrefix.size() + kPrefixChars] != '_') {
        return BadKey();
    }
    const std::string whole_hash = Sha256Hex(token);
    {
        std::lock_guard<std::mutex> lock(keys_mu_);
        const auto it = remembered_.find(whole_hash);
        if (it != remembered_.end() && clock_->NowMs() - it->second.at_ms < kKeyCacheMs) return it->second.who;
    }
    const std::string prefix(token.substr(kKeyPrefix.size(), kPrefixChars));
    const std::string secret_hash = Sha256Hex(token.substr(kKeyPrefix.size() + kPrefixChars + 1));
    const DbInt now = clock_->NowMs();
    std::optional<ApiKeyRow> key;
    std::optional<UserRow> user;
    PODPROMO_RETURN_IF_ERROR(db_->With([&](Tx& tx) {
        key = GetApiKeyByPrefix(tx, prefix);
        if (key) user = GetUserById(tx, key->user_id);
    }));
    const bool valid =
        key && ConstantTimeEquals(secret_hash, key->secret_hash) && key->revoked_at == 0 && user && !user->disabled;
    if (!valid) return BadKey();
    NoteUse(db_, key->last_used_at, now, [&](Tx& tx) { TouchApiKey(tx, key->id, now); });
    auto scopes = ParseScopes(key->scopes);
    Principal who{user->id, user->name, user->is_admin, scopes.ok() ? *scopes : 0, key->prefix, ""};
    std::lock_guard<std::mutex> lock(keys_mu_);
    if (remembered_.size() >= 10000) remembered_.clear();
    remembered_[whole_hash] = {who, now};
    return who;
}

Result<std::vector<AuditRow>> Accounts::Audit(int limit, DbInt before) {
    std::vector<AuditRow> rows;
    PODPROMO_RETURN_IF_ERROR(db_->With([&](Tx& tx) { rows = ListAudit(tx, std::clamp(limit, 1, 500), before); }));
    return rows;
}

DbInt SignInThrottle::WaitMs(const std::string& key) const {
    std::lock_guard<std::mutex> lock(mu_);
    const auto it = failures_.find(key);
    if (it == failures_.end() || it->second.count < kFreeFailures) return 0;
    const int over = std::min(it->second.count - kFreeFailures, 20);
    const DbInt delay = std::min(kMaxDelayMs, DbInt{1000} << over);
    return std::max<DbInt>(0, it->second.last_ms + delay - clock_->NowMs());
}

void SignInThrottle::Failed(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    if (failures_.size() >= kMaxKeys && !failures_.count(key)) {
        const auto stalest = std::min_element(failures_.begin(), failures_.end(), [](const auto& a, const auto& b) {
            return a.second.last_ms < b.second.last_ms;
        });
        failures_.erase(stalest);
    }
    Failures& f = failures_[key];
    ++f.count;
    f.last_ms = clock_->NowMs();
}

void SignInThrottle::Succeeded(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    failures_.erase(key);
}

namespace {

// An Argon2id hash no password matches, checked when the name is unknown so that costs what a known name costs.
const std::string& DummyHash() {
    static const std::string hash = [] {
        auto h = HashPassword(RandomToken(20));
        return h.ok() ? *h : std::string();
    }();
    return hash;
}

Status WrongCredentials() { return Status::Unauthenticated("the name or password is wrong"); }

Status BadSession() { return Status::Unauthenticated("the session has ended; sign in again"); }

Scopes SessionScopes(const UserRow& user) {
    return user.is_admin ? kAllScopes
                         : static_cast<Scopes>(Scope::kRead) | static_cast<Scopes>(Scope::kWrite) |
                               static_cast<Scopes>(Scope::kRender);
}

}  // namespace

NewSession Accounts::StartSession(Tx& tx, const std::string& user_id, DbInt now) {
    NewSession made;
    made.token = RandomToken(32);
    made.csrf_token = RandomToken(20);
    made.expires_at = now + kSessionMaxMs;
    InsertSession(tx, {Sha256Hex(made.token), user_id, made.csrf_token, now, now, made.expires_at, 0});
    return made;
}

Status Accounts::CheckThrottle(AuditRow entry, const std::vector<std::string>& keys) {
    DbInt wait = 0;
    for (const auto& key : keys) wait = std::max(wait, throttle_.WaitMs(key));
    if (wait <= 0) return Status::Ok();
    entry.outcome = "refused";
    entry.detail = "throttled";
    db_->InTransaction([&](Tx& tx) { InsertAudit(tx, entry); }).IgnoreError("an audit line; the refusal stands");
    return Status::RateLimited("too many failed sign-ins; wait before trying again")
        .WithRetryAfter(static_cast<int>((wait + 999) / 1000));
}

Result<NewSession> Accounts::SignIn(const std::string& name, const std::string& password, const std::string& address) {
    // A stranger's bytes reach the audit log and the throttle only as a valid name (or as that it was not one).
    const std::string shown = CheckName(name).ok() ? name : "(not a user name)";
    const std::string account_key = "user:" + shown, address_key = "addr:" + address.substr(0, 64);
    const DbInt now = clock_->NowMs();
    AuditRow entry = Entry(now, "anonymous", "sign_in", shown);
    entry.address = address.substr(0, 64);
    PODPROMO_RETURN_IF_ERROR(CheckThrottle(entry, {account_key, address_key}));
    std::optional<UserRow> user;
    PODPROMO_RETURN_IF_ERROR(db_->With([&](Tx& tx) {
        if (shown == name) user = GetUserByName(tx, name);
    }));
    // An unknown, disabled or password-less account costs the same check as a known one.
    const bool usable = user && !user->disabled && !user->password_hash.empty();
    const std::string& hash = usable ? user->password_hash : DummyHash();
    const bool ok = password.size() <= kMaxPasswordBytes && VerifyPassword(hash, password) && usable;
    NewSession made;
    entry.actor = ok ? "user:" + name : "anonymous";
    entry.outcome = ok ? "ok" : "refused";
    PODPROMO_RETURN_IF_ERROR(db_->InTransaction([&](Tx& tx) {
        if (ok) made = StartSession(tx, user->id, now);
        InsertAudit(tx, entry);
    }));
    if (!ok) {
        throttle_.Failed(account_key);
        throttle_.Failed(address_key);
        return WrongCredentials();
    }
    throttle_.Succeeded(account_key);  // (not the address: one good account must not reset a guesser's count)
    return made;
}

Result<std::string> Accounts::IssueSignInLink(const std::string& name, const std::string& actor) {
    const std::string token = RandomToken(32);
    const DbInt now = clock_->NowMs();
    bool found = false;
    PODPROMO_RETURN_IF_ERROR(db_->InTransaction([&](Tx& tx) {
        const auto user = GetUserByName(tx, name);
        found = user && !user->disabled;
        if (!found) return;
        InsertSignInLink(tx, Sha256Hex(token), user->id, now, now + kLinkLifetimeMs);
        InsertAudit(tx, Entry(now, actor, "link.create", name));
    }));
    if (!found) return NoSuchUser(name);
    return token;
}

Result<NewSession> Accounts::SignInWithLink(std::string_view token, const std::string& address) {
    const std::string address_key = "addr:" + address.substr(0, 64);
    const DbInt now = clock_->NowMs();
    AuditRow entry = Entry(now, "anonymous", "sign_in_link", "");
    entry.address = address.substr(0, 64);
    PODPROMO_RETURN_IF_ERROR(CheckThrottle(entry, {address_key}));
    std::optional<NewSession> made;
    PODPROMO_RETURN_IF_ERROR(db_->InTransaction([&](Tx& tx) {
        const auto user_id =
            token.empty() || token.size() > 128 ? std::nullopt : UseSignInLink(tx, Sha256Hex(token), now);
        const auto user = user_id ? GetUserById(tx, *user_id) : std::nullopt;
        if (user && !user->disabled) {
            made = StartSession(tx, user->id, now);
            entry.actor = "user:" + user->name;
            entry.target = user->name;
        } else {
            entry.outcome = "refused";
        }
        InsertAudit(tx, entry);
    }));
    if (!made) {
        throttle_.Failed(address_key);
        return Status::Unauthenticated("the sign-in link is not valid: it was used, has expired or is mistyped");
    }
    return std::move(*made);
}

Result<std::optional<std::string>> Accounts::FirstStart() {
    UserRow u;
    u.id = NewId("usr");
    u.name = "admin";
    u.is_admin = true;
    u.created_at = u.updated_at = clock_->NowMs();
    const std::string token = RandomToken(32);
    bool made = false;
    PODPROMO_RETURN_IF_ERROR(db_->InTransaction([&](Tx& tx) {
        made = CountUsers(tx) == 0;
        if (!made) return;
        InsertUser(tx, u);
        AuditRow entry = Entry(u.created_at, "first_start", "user.add", u.name);
        entry.detail = fmt::format("admin; given {} earlier episodes", ClaimUnownedEpisodes(tx, u.id));
        InsertAudit(tx, entry);
        InsertSignInLink(tx, Sha256Hex(token), u.id, u.created_at, u.created_at + kLinkLifetimeMs);
    }));
    if (!made) return std::optional<std::string>();
    return std::optional<std::string>(token);
}

Result<NewSession> Accounts::ChangePassword(const Principal& who, const std::string& current, const std::string& next) {
    PODPROMO_RETURN_IF_ERROR(CheckPassword(next));
    const std::string account_key = "user:" + who.user_name;
    const DbInt now = clock_->NowMs();
    const std::string actor = who.key_prefix.empty() ? "user:" + who.user_name : "key:" + who.key_prefix;
    PODPROMO_RETURN_IF_ERROR(CheckThrottle(Entry(now, actor, "user.passwd", who.user_name), {account_key}));
    std::optional<UserRow> user;
    PODPROMO_RETURN_IF_ERROR(db_->With([&](Tx& tx) { user = GetUserById(tx, who.user_id); }));
    if (!user || user->disabled) return BadSession();
    if (!user->password_hash.empty() &&
        (current.size() > kMaxPasswordBytes || !VerifyPassword(user->password_hash, current))) {
        throttle_.Failed(account_key);
        return Status::Unauthenticated("the current password is wrong").WithSlug("wrong_password");
    }
    PODPROMO_ASSIGN_OR_RETURN(const std::string hash, HashPassword(next));
    NewSession made;
    PODPROMO_RETURN_IF_ERROR(db_->InTransaction([&](Tx& tx) {
        SetUserPassword(tx, user->id, hash, now);
        RevokeUserSessions(tx, user->id, now);
        made = StartSession(tx, user->id, now);
        InsertAudit(tx, Entry(now, actor, "user.passwd", user->name));
    }));
    throttle_.Succeeded(account_key);
    return made;
}

Result<bool> Accounts::HasPassword(const std::string& user_id) {
    std::optional<UserRow> user;
    PODPROMO_RETURN_IF_ERROR(db_->With([&](Tx& tx) { user = GetUserById(tx, user_id); }));
    return user && !user->password_hash.empty();
}

Result<Principal> Accounts::AuthenticateSession(std::string_view token) {
    if (token.empty() || token.size() > 128) return BadSession();
    const std::string id = Sha256Hex(token);
    const DbInt now = clock_->NowMs();
    std::optional<SessionRow> session;
    std::optional<UserRow> user;
    PODPROMO_RETURN_IF_ERROR(db_->With([&](Tx& tx) {
        session = GetSession(tx, id);
        if (session) user = GetUserById(tx, session->user_id);
    }));
    const bool live = session && session->revoked_at == 0 && now < session->expires_at &&
                      now - session->last_seen_at < kSessionIdleMs && user && !user->disabled;
    if (!live) return BadSession();
    NoteUse(db_, session->last_seen_at, now, [&](Tx& tx) { TouchSession(tx, id, now); });
    return Principal{user->id, user->name, user->is_admin, SessionScopes(*user), "", session->csrf_token};
}

Status Accounts::SignOut(std::string_view token) {
    if (token.empty() || token.size() > 128) return Status::Ok();
    const std::string id = Sha256Hex(token);
    const DbInt now = clock_->NowMs();
    return db_->InTransaction([&](Tx& tx) { RevokeSession(tx, id, now); });
}

Status Accounts::SignOutEverywhere(const std::string& user_id, const std::string& actor) {
    const DbInt now = clock_->NowMs();
    return db_->InTransaction([&](Tx& tx) {
        RevokeUserSessions(tx, user_id, now);
        InsertAudit(tx, Entry(now, actor, "sign_out_everywhere", user_id));
    });
}

}  // namespace podpromo
