#include "podpromo/store/accounts.h"

#include <soci/soci.h>

#include <limits>

#include "fetch_all.h"

namespace podpromo {
namespace {
using soci::into;
using soci::use;

constexpr const char* kUserColumns = "id, name, password_hash, is_admin, disabled, created_at, updated_at";

struct UserInto {
    UserRow u;
    int is_admin = 0, disabled = 0;
    void Bind(soci::statement& st) {
        st.exchange(into(u.id));
        st.exchange(into(u.name));
        st.exchange(into(u.password_hash));
        st.exchange(into(is_admin));
        st.exchange(into(disabled));
        st.exchange(into(u.created_at));
        st.exchange(into(u.updated_at));
    }
    UserRow Get() const {
        UserRow r = u;
        r.is_admin = is_admin != 0;
        r.disabled = disabled != 0;
        return r;
    }
};

constexpr const char* kKeyColumns =
    "id, user_id, name, prefix, secret_hash, scopes, created_at, last_used_at, revoked_at";

struct KeyInto {
    ApiKeyRow k;
    void Bind(soci::statement& st) {
        for (std::string* f : {&k.id, &k.user_id, &k.name, &k.prefix, &k.secret_hash, &k.scopes}) st.exchange(into(*f));
        st.exchange(into(k.created_at));
        st.exchange(into(k.last_used_at));
        st.exchange(into(k.revoked_at));
    }
    ApiKeyRow Get() const { return k; }
};

struct SessionInto {
    SessionRow s;
    void Bind(soci::statement& st) {
        st.exchange(into(s.id));
        st.exchange(into(s.user_id));
        st.exchange(into(s.csrf_token));
        st.exchange(into(s.created_at));
        st.exchange(into(s.last_seen_at));
        st.exchange(into(s.expires_at));
        st.exchange(into(s.revoked_at));
    }
    SessionRow Get() const { return s; }
};

struct AuditInto {
    AuditRow a;
    void Bind(soci::statement& st) {
        st.exchange(into(a.id));
        st.exchange(into(a.at));
        for (std::string* f : {&a.actor, &a.action, &a.target, &a.address, &a.outcome, &a.detail})
            st.exchange(into(*f));
    }
    AuditRow Get() const { return a; }
};

template <typename Binder, typename Row>
std::optional<Row> FetchOne(soci::session& s, const std::string& sql, const std::string& key) {
    auto rows = FetchAll<Binder>(s, sql, [&](soci::statement& st) { st.exchange(use(key)); });
    if (rows.empty()) return std::nullopt;
    return rows[0];
}

}  // namespace

void InsertUser(Tx& tx, const UserRow& u) {
    const int is_admin = u.is_admin ? 1 : 0, disabled = u.disabled ? 1 : 0;
    tx.sql() << "INSERT INTO users (id, name, password_hash, is_admin, disabled, created_at, updated_at)"
                " VALUES (:id, :n, :h, :a, :d, :c, :u)",
        use(u.id), use(u.name), use(u.password_hash), use(is_admin), use(disabled), use(u.created_at),
        use(u.updated_at);
}

std::optional<UserRow> GetUserByName(Tx& tx, const std::string& name) {
    return FetchOne<UserInto, UserRow>(tx.sql(), std::string("SELECT ") + kUserColumns + " FROM users WHERE name = :n",
                                       name);
}

std::optional<UserRow> GetUserById(Tx& tx, const std::string& id) {
    return FetchOne<UserInto, UserRow>(tx.sql(), std::string("SELECT ") + kUserColumns + " FROM users WHERE id = :i",
                                       id);
}

std::vector<UserRow> ListUsers(Tx& tx) {
    return FetchAll<UserInto>(tx.sql(), std::string("SELECT ") + kUserColumns + " FROM users ORDER BY name",
                              [](soci::statement&) {});
}

DbInt CountUsers(Tx& tx) {
    DbInt n = 0;
    tx.sql() << "SELECT COUNT(*) FROM users", into(n);
    return n;
}

void SetUserPassword(Tx& tx, const std::string& user_id, const std::string& password_hash, DbInt now) {
    tx.sql() << "UPDATE users SET password_hash = :h, updated_at = :t WHERE id = :i", use(password_hash), use(now),
        use(user_id);
}

void SetUserDisabled(Tx& tx, const std::string& user_id, bool disabled, DbInt now) {
    const int value = disabled ? 1 : 0;
    tx.sql() << "UPDATE users SET disabled = :d, updated_at = :t WHERE id = :i", use(value), use(now), use(user_id);
}

DbInt ClaimUnownedEpisodes(Tx& tx, const std::string& user_id) {
    soci::statement st = (tx.sql().prepare << "UPDATE episodes SET owner_id = :o WHERE owner_id = ''", use(user_id));
    st.execute(true);
    return static_cast<DbInt>(st.get_affected_rows());
}

void InsertApiKey(Tx& tx, const ApiKeyRow& k) {
    tx.sql() << "INSERT INTO api_keys (" << kKeyColumns << ") VALUES (:id, :u, :n, :p, :h, :s, :c, :l, :r)", use(k.id),
        use(k.user_id), use(k.name), use(k.prefix), use(k.secret_hash), use(k.scopes), use(k.created_at),
        use(k.last_used_at), use(k.revoked_at);
}

std::optional<ApiKeyRow> GetApiKeyByPrefix(Tx& tx, const std::string& prefix) {
    return FetchOne<KeyInto, ApiKeyRow>(
        tx.sql(), std::string("SELECT ") + kKeyColumns + " FROM api_keys WHERE prefix = :p", prefix);
}

std::vector<ApiKeyRow> ListApiKeys(Tx& tx, const std::string& user_id) {
    return FetchAll<KeyInto>(
        tx.sql(), std::string("SELECT ") + kKeyColumns + " FROM api_keys WHERE user_id = :u ORDER BY created_at, id",
        [&](soci::statement& st) { st.exchange(use(user_id)); });
}

bool RevokeApiKey(Tx& tx, const std::string& prefix, DbInt now) {
    soci::statement st =
        (tx.sql().prepare << "UPDATE api_keys SET revoked_at = :t WHERE prefix = :p AND revoked_at = 0", use(now),
         use(prefix));
    st.execute(true);
    return st.get_affected_rows() > 0;
}

void RevokeUserApiKeys(Tx& tx, const std::string& user_id, DbInt now) {
    tx.sql() << "UPDATE api_keys SET revoked_at = :t WHERE user_id = :u AND revoked_at = 0", use(now), use(user_id);
}

void TouchApiKey(Tx& tx, const std::string& key_id, DbInt now) {
    tx.sql() << "UPDATE api_keys SET last_used_at = :t WHERE id = :i", use(now), use(key_id);
}

void InsertSession(Tx& tx, const SessionRow& s) {
    tx.sql() << "INSERT INTO sessions (id, user_id, csrf_token, created_at, last_seen_at, expires_at, revoked_at)"
                " VALUES (:id, :u, :c, :t0, :t1, :e, :r)",
        use(s.id), use(s.user_id), use(s.csrf_token), use(s.created_at), use(s.last_seen_at), use(s.expires_at),
        use(s.revoked_at);
}

std::optional<SessionRow> GetSession(Tx& tx, const std::string& id) {
    return FetchOne<SessionInto, SessionRow>(
        tx.sql(),
        "SELECT id, user_id, csrf_token, created_at, last_seen_at, expires_at, revoked_at FROM sessions WHERE id = :i",
        id);
}

void TouchSession(Tx& tx, const std::string& id, DbInt now) {
    tx.sql() << "UPDATE sessions SET last_seen_at = :t WHERE id = :i", use(now), use(id);
}

void RevokeSession(Tx& tx, const std::string& id, DbInt now) {
    tx.sql() << "UPDATE sessions SET revoked_at = :t WHERE id = :i AND revoked_at = 0", use(now), use(id);
}

void RevokeUserSessions(Tx& tx, const std::string& user_id, DbInt now) {
    tx.sql() << "UPDATE sessions SET revoked_at = :t WHERE user_id = :u AND revoked_at = 0", use(now), use(user_id);
}

void InsertSignInLink(Tx& tx, const std::string& id, const std::string& user_id, DbInt now, DbInt expires_at) {
    tx.sql() << "INSERT INTO sign_in_links (id, user_id, created_at, expires_at, used_at) VALUES (:id, :u, :t, :e, 0)",
        use(id), use(user_id), use(now), use(expires_at);
}

std::optional<std::string> UseSignInLink(Tx& tx, const std::string& id, DbInt now) {
    std::string user_id;
    soci::indicator ind = soci::i_null;
    tx.sql() << "SELECT user_id FROM sign_in_links WHERE id = :id AND used_at = 0 AND expires_at > :t", use(id),
        use(now), into(user_id, ind);
    if (!tx.sql().got_data() || ind != soci::i_ok) return std::nullopt;
    // Conditional, so two uses at once cannot both succeed.
    soci::statement st =
        (tx.sql().prepare << "UPDATE sign_in_links SET used_at = :t WHERE id = :id AND used_at = 0", use(now), use(id));
    st.execute(true);
    if (st.get_affected_rows() == 0) return std::nullopt;
    return user_id;
}

void InsertAudit(Tx& tx, const AuditRow& a) {
    tx.sql() << "INSERT INTO audit_log (id, at, actor, action, target, address, outcome, detail)"
                " VALUES (:id, :at, :ac, :an, :t, :ad, :o, :d)",
        use(a.id), use(a.at), use(a.actor), use(a.action), use(a.target), use(a.address), use(a.outcome), use(a.detail);
}

std::vector<AuditRow> ListAudit(Tx& tx, int limit, DbInt before) {
    const DbInt bound = before > 0 ? before : std::numeric_limits<DbInt>::max();
    return FetchAll<AuditInto>(tx.sql(),
                               "SELECT id, at, actor, action, target, address, outcome, detail FROM audit_log"
                               " WHERE at < :b ORDER BY at DESC, id DESC LIMIT :l",
                               [&](soci::statement& st) {
                                   st.exchange(use(bound));
                                   st.exchange(use(limit));
                               });
}

}  // namespace podpromo
