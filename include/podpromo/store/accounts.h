// The accounts' SQL: users, API keys, browser sessions and the audit log (migration 6), as functions over a Tx,
// like store/repositories.h (portable SQL; errors thrown and turned into Status by Database::With / InTransaction;
// no state). Secrets are never stored: a key's and a session's SHA-256 only, a password's Argon2id hash only.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "podpromo/store/database.h"
#include "podpromo/store/repositories.h"

namespace podpromo {

struct UserRow {
    std::string id, name;
    std::string password_hash;  // Argon2id, encoded (core/secrets.h)
    bool is_admin = false;
    bool disabled = false;
    DbInt created_at = 0, updated_at = 0;
};

struct ApiKeyRow {
    std::string id, user_id, name;
    std::string prefix;       // shown in lists, and how a presented key is found
    std::string secret_hash;  // SHA-256 of the secret part, hex
    std::string scopes;       // comma-separated: read, write, render, admin
    DbInt created_at = 0;
    DbInt last_used_at = 0;  // 0: never
    DbInt revoked_at = 0;    // 0: live
};

struct SessionRow {
    std::string id;  // SHA-256 of the cookie's token, hex
    std::string user_id, csrf_token;
    DbInt created_at = 0, last_seen_at = 0, expires_at = 0;
    DbInt revoked_at = 0;  // 0: live
};

struct AuditRow {
    std::string id;
    DbInt at = 0;
    std::string actor;    // "user:<name>", "key:<prefix>", "cli", or "anonymous"
    std::string action;   // user.add, user.passwd, user.disable, key.create, key.revoke, sign_in, ...
    std::string target;   // what it acted on: a user's name, a key's prefix, an episode id
    std::string address;  // the client's address ("" from the command line)
    std::string outcome;  // ok, refused
    std::string detail;
};

// Users.
void InsertUser(Tx& tx, const UserRow& u);
std::optional<UserRow> GetUserByName(Tx& tx, const std::string& name);
std::optional<UserRow> GetUserById(Tx& tx, const std::string& id);
std::vector<UserRow> ListUsers(Tx& tx);
DbInt CountUsers(Tx& tx);
void SetUserPassword(Tx& tx, const std::string& user_id, const std::string& password_hash, DbInt now);
void SetUserDisabled(Tx& tx, const std::string& user_id, bool disabled, DbInt now);
// Gives every episode without an owner to `user_id` (the first administrator); how many.
DbInt ClaimUnownedEpisodes(Tx& tx, const std::string& user_id);

// API keys.
void InsertApiKey(Tx& tx, const ApiKeyRow& k);
std::optional<ApiKeyRow> GetApiKeyByPrefix(Tx& tx, const std::string& prefix);
std::vector<ApiKeyRow> ListApiKeys(Tx& tx, const std::string& user_id);
// Revokes the live key with `prefix`; false when there is none.
bool RevokeApiKey(Tx& tx, const std::string& prefix, DbInt now);
void RevokeUserApiKeys(Tx& tx, const std::string& user_id, DbInt now);
void TouchApiKey(Tx& tx, const std::string& key_id, DbInt now);

// Sessions.
void InsertSession(Tx& tx, const SessionRow& s);
std::optional<SessionRow> GetSession(Tx& tx, const std::string& id);
void TouchSession(Tx& tx, const std::string& id, DbInt now);
void RevokeSession(Tx& tx, const std::string& id, DbInt now);
void RevokeUserSessions(Tx& tx, const std::string& user_id, DbInt now);

// One-time sign-in links, by the SHA-256 of their token. UseSignInLink marks a live one used and returns its user;
// nullopt for an unknown, used or expired one.
void InsertSignInLink(Tx& tx, const std::string& id, const std::string& user_id, DbInt now, DbInt expires_at);
std::optional<std::string> UseSignInLink(Tx& tx, const std::string& id, DbInt now);

// The audit log, newest first: at most `limit` rows older than `before` (0: from the newest).
void InsertAudit(Tx& tx, const AuditRow& a);
std::vector<AuditRow> ListAudit(Tx& tx, int limit, DbInt before = 0);

}  // namespace podpromo
