// The database behind one small adapter: a pool of SOCI sessions (sqlite3 or postgresql backend), versioned
// migrations, and transactions. Repositories (store/repositories.h) hold all SQL; the SQL is portable.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

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

// libpq's keyword='value' connection string for a postgresql:// (or postgres://) URL: user, password, host (a name,
// an address or [an IPv6 address]), port, database and ?key=value parameters, %-escapes decoded. InvalidInput naming
// DATABASE_URL for what is not such a URL. (SOCI 4.0 hands a URL to libpq in a form libpq misreads.) Without the URL's
// own connect_timeout it gets kDefaultConnectSeconds: libpq's own default waits for ever, so a database host that
// drops packets held a starting serve (and every reconnection) silent for minutes.
inline constexpr int kDefaultConnectSeconds = 10;
Result<std::string> PostgresConnectString(const std::string& url);

class Database {
  public:
    enum class Kind { kSqlite, kPostgres };

    // Opens `url` (sqlite:///path/to.db, creating the file and its folder, or postgresql://user:pass@host:port/db)
    // with `pool_size` sessions. Unavailable when the server cannot be reached, InvalidInput for a bad URL.
    // PostgreSQL ends a session of this process that sits inside a transaction, waiting for its next statement, for
    // longer than `idle_transaction_limit` (the process was frozen): its locks must not stall the other hosts. The
    // process then finds the connection gone (InTransaction reports Unavailable or runs `fn` again). Keep it well above
    // the time any `fn` spends between statements.
    static Result<std::unique_ptr<Database>> Open(
        const std::string& url, int pool_size,
        std::chrono::seconds idle_transaction_limit = kDefaultIdleTransactionLimit);
    static constexpr std::chrono::seconds kDefaultIdleTransactionLimit{60};
    ~Database();

    // Applies the migrations not yet applied, up to `up_to` (a test's database as an older build left it), each in its
    // own transaction, recording them in schema_migrations. Safe to call from several processes at once. Returns how
    // many were applied.
    Result<int> Migrate(int up_to = LatestVersion());
    // The highest applied migration and the highest this build knows.
    Result<int> SchemaVersion();
    static int LatestVersion();

    // Runs `fn` with a pooled session, each statement committed on its own, mapping database exceptions to Status
    // (Unavailable with the slug "database_unavailable" when the connection was lost or cannot be made, Internal
    // otherwise). Thread-safe; blocks while every session is in use.
    // A PostgreSQL session whose connection died is replaced, and when `fn` failed on it, `fn` runs once more: so
    // `fn` must be safe to repeat (reads, or writes that are conditional); anything else belongs in InTransaction.
    Status With(const std::function<void(Tx&)>& fn);

    enum class Isolation {
        kSerializable,   // as if the transactions ran one after another (SQLite always is)
        kReadCommitted,  // PostgreSQL only: for a statement that locks what it changes (a queue claim with SKIP LOCKED)
    };
    // The same inside a transaction, committed when `fn` returns normally, rolled back when it throws. A transaction
    // that conflicted with another (SQLite busy, PostgreSQL serialization failure or deadlock), or whose connection
    // died before its commit, runs again from the start: `fn` must only touch the Tx and its own locals, resetting
    // them. One that lost its connection during the commit is reported Unavailable, not repeated.
    Status InTransaction(const std::function<void(Tx&)>& fn, Isolation isolation = Isolation::kSerializable);

    Kind kind() const { return kind_; }
    // Another process changed the database (a notice said so): write_version moves, so caches of query results drop.
    void NoteRemoteWrite() { ++write_version_; }
    // How many pooled sessions were opened again after their connection died.
    uint64_t reconnects() const { return reconnects_.load(); }
    // Counts committed InTransaction calls of this process, and NoteRemoteWrite calls: a cache of query results is
    // current while it has not moved (other processes' writes are seen only as far as NoteRemoteWrite is called).
    uint64_t write_version() const { return write_version_.load(); }
    // A quick round trip (SELECT 1) for health checks.
    Status Ping();

    // Cross-process notices (PostgreSQL's NOTIFY/LISTEN; SQLite has none: Notify does nothing there and Listen
    // returns null). Notify sends `payload` (at most 7900 bytes: longer is refused, InvalidInput) on `channel` to every
    // listener of the database, this process's included, at once (not inside a caller's transaction).
    Status Notify(const std::string& channel, const std::string& payload);
    class Listener {
      public:
        virtual ~Listener() = default;  // stops listening; the callback is not called after it returns
    };
    // Calls `on_notice` with each payload sent on `channel`, from a thread of the listener's own, over a connection of
    // its own that is opened again (after 1 s) when it fails. Notices sent while it was down are lost: once it listens
    // again it calls `on_resumed` (when given, on the same thread) with when the connection was lost (ms since the
    // epoch), for the caller to catch up from the database. Null on SQLite.
    std::unique_ptr<Listener> Listen(const std::string& channel,
                                     std::function<void(const std::string& payload)> on_notice,
                                     std::function<void(int64_t lost_at_ms)> on_resumed = {});

  private:
    Database(Kind kind, int pool_size, std::chrono::seconds idle_transaction_limit);
    bool Revive(soci::session& s);
    bool Connected(soci::session& s) const;
    Kind kind_;
    int pool_size_;
    std::chrono::seconds idle_transaction_limit_;
    std::unique_ptr<soci::connection_pool> pool_;
    std::atomic<uint64_t> write_version_{0};
    std::atomic<uint64_t> reconnects_{0};
    std::string connect_;  // PostgreSQL's connection string (for a listener's own connection)
};

// Copies every row of every table from `from` into `to` (podpromo migrate --from: SQLite to PostgreSQL), both
// migrated to this build's schema. `to` must hold no rows yet (FailedPrecondition otherwise): it gets all or nothing,
// in one transaction, from one consistent view of `from`; memory stays one row. Returns each table's row count.
// Both are borrowed; run it with no service using either.
Result<std::vector<std::pair<std::string, long long>>> CopyEveryRow(Database* from, Database* to);
// The tables CopyEveryRow copies (every table but schema_migrations).
const std::vector<std::string>& CopiedTables();

}  // namespace podpromo
