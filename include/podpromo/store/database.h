// The database behind one small adapter: a pool of SOCI sessions (sqlite3 or postgresql backend), versioned
// migrations, and transactions. Repositories (store/repositories.h) hold all SQL; the SQL is portable.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "podpromo/core/clock.h"
#include "podpromo/core/status.h"

namespace soci {
class session;
class connection_pool;
}  // namespace soci

namespace podpromo {

// One pooled session inside Database::With or InTransaction, handed to the repositories (store/repositories.h).
// Valid only during that call and on its thread. Only the store sees the SOCI session inside.
class Tx {
  public:
    explicit Tx(soci::session& s) : s_(s) {}
    Tx(const Tx&) = delete;
    Tx& operator=(const Tx&) = delete;
    soci::session& sql() { return s_; }

  private:
    soci::session& s_;
};

class Database {
  public:
    enum class Kind { kSqlite, kPostgres };

    // Opens `url` (sqlite:///path/to.db, creating the file and its folder, or postgresql://user:pass@host:port/db)
    // with `pool_size` sessions. Unavailable when the server cannot be reached, InvalidInput for a bad URL.
    static Result<std::unique_ptr<Database>> Open(const std::string& url, int pool_size);
    ~Database();

    // Applies the migrations not yet applied, up to `up_to` (a test's database as an older build left it), each in its
    // own transaction, recording them in schema_migrations. Safe to call from several processes at once. Returns how
    // many were applied.
    Result<int> Migrate(int up_to = LatestVersion());
    // The highest applied migration and the highest this build knows.
    Result<int> SchemaVersion();
    static int LatestVersion();

    // Runs `fn` with a pooled session, mapping database exceptions to Status (Unavailable for connection
    // problems, Internal otherwise). Thread-safe; blocks while every session is in use.
    Status With(const std::function<void(Tx&)>& fn);
    // The same inside a transaction, committed when `fn` returns normally, rolled back when it throws.
    Status InTransaction(const std::function<void(Tx&)>& fn);

    Kind kind() const { return kind_; }
    // Counts committed InTransaction calls of this process: a cache of query results is current while it
    // has not moved (writes by other processes are not seen here).
    uint64_t write_version() const { return write_version_.load(); }
    // A quick round trip (SELECT 1) for health checks.
    Status Ping();

  private:
    Database(Kind kind, int pool_size);
    Kind kind_;
    int pool_size_;
    std::unique_ptr<soci::connection_pool> pool_;
    std::atomic<uint64_t> write_version_{0};
};

}  // namespace podpromo
