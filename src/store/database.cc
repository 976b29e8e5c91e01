#include "podpromo/store/database.h"

#include <fmt/format.h>
#include <libpq-fe.h>
#include <poll.h>
#include <soci/connection-pool.h>
#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

namespace podpromo {
namespace fs = std::filesystem;

namespace {

// Each migration is a list of statements. Never edit one that has shipped: add the next.
// Long statements are split over adjacent literals on purpose.
// NOLINTBEGIN(bugprone-suspicious-missing-comma)
// 6: accounts. Users (Argon2id password hashes), their API keys (a visible prefix and the SHA-256 of the
// secret), browser sessions (the SHA-256 of the token), the audit log, and an owner for every episode (its
// clips, jobs, feedback and files are the episode's; '' until the first administrator claims it).
std::vector<std::string> AccountsMigration() {
    return {
        "CREATE TABLE users ("
        " id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL, is_admin INTEGER NOT NULL,"
        " disabled INTEGER NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)",
        "CREATE TABLE api_keys ("
        " id TEXT PRIMARY KEY, user_id TEXT NOT NULL, name TEXT NOT NULL, prefix TEXT NOT NULL UNIQUE,"
        " secret_hash TEXT NOT NULL, scopes TEXT NOT NULL, created_at BIGINT NOT NULL,"
        " last_used_at BIGINT NOT NULL, revoked_at BIGINT NOT NULL)",
        "CREATE INDEX api_keys_by_user ON api_keys (user_id)",
        "CREATE TABLE sessions ("
        " id TEXT PRIMARY KEY, user_id TEXT NOT NULL, csrf_token TEXT NOT NULL, created_at BIGINT NOT NULL,"
        " last_seen_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, revoked_at BIGINT NOT NULL)",
        "CREATE INDEX sessions_by_user ON sessions (user_id)",
        "CREATE TABLE audit_log ("
        " id TEXT PRIMARY KEY, at BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL,"
        " address TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL)",
        "CREATE INDEX audit_log_by_time ON audit_log (at)",
        "ALTER TABLE episodes ADD COLUMN owner_id TEXT NOT NULL DEFAULT ''",
        "CREATE INDEX episodes_by_owner ON episodes (owner_id, created_at)",
    };
}

// 7: one-time sign-in links (the SHA-256 of the token), as the first start prints and `podpromo user link` makes.
std::vector<std::string> SignInLinksMigration() {
    return {
        "CREATE TABLE sign_in_links ("
        " id TEXT PRIMARY KEY, user_id TEXT NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL,"
        " used_at BIGINT NOT NULL)",
    };
}

// 8: fencing. Every claim of a job increments its lease epoch, and every write of the job's effects names the epoch it
// holds, so a worker whose lease passed to another (paused past it, cut off from the database) changes nothing.
std::vector<std::string> LeaseEpochMigration() {
    return {
        "ALTER TABLE jobs ADD COLUMN lease_epoch BIGINT NOT NULL DEFAULT 0",
    };
}

// 9: leader leases. One process at a time holds a named duty (the housekeeper's cleanup) among every process that
// shares the database; the epoch counts the holders, and next_run_at is the duty's schedule, kept here so that a
// takeover keeps it.
std::vector<std::string> LeaderLeaseMigration() {
    return {
        "CREATE TABLE leader_leases ("
        " name TEXT PRIMARY KEY, holder TEXT NOT NULL, epoch BIGINT NOT NULL, expires_at BIGINT NOT NULL,"
        " next_run_at BIGINT NOT NULL)",
    };
}

// 10: a re-sent upload is the upload it repeats. Each upload's key: its owner's bytes (SHA-256) with every option it
// was sent with; an upload whose key matches a recent episode of the same owner that has not failed is that episode.
std::vector<std::string> UploadKeyMigration() {
    return {
        "ALTER TABLE episodes ADD COLUMN upload_key TEXT NOT NULL DEFAULT ''",
        "CREATE INDEX episodes_by_upload_key ON episodes (owner_id, upload_key)",
    };
}

// 11: a recognition engine that answered 429 is paused for every worker until the time it asked for.
std::vector<std::string> EnginePauseMigration() {
    return {
        "CREATE TABLE engine_pauses (engine TEXT PRIMARY KEY, until_at BIGINT NOT NULL)",
    };
}

// 12: shows added by their RSS feed, and the items each feed lists (one row per guid), linked to the episode made of
// each once it is processed (at most one: the primary key and SetFeedItemEpisode's condition).
std::vector<std::string> ShowsMigration() {
    return {
        "CREATE TABLE shows ("
        " id TEXT PRIMARY KEY, owner_id TEXT NOT NULL, feed_url TEXT NOT NULL, title TEXT NOT NULL,"
        " image_url TEXT NOT NULL, etag TEXT NOT NULL, last_modified TEXT NOT NULL, auto_process INTEGER NOT NULL,"
        " poll_every_ms BIGINT NOT NULL, next_poll_at BIGINT NOT NULL, last_polled_at BIGINT NOT NULL,"
        " last_status TEXT NOT NULL, last_error TEXT NOT NULL, persons TEXT NOT NULL, settings TEXT NOT NULL,"
        " created_at BIGINT NOT NULL, UNIQUE (owner_id, feed_url))",
        "CREATE INDEX shows_by_next_poll ON shows (next_poll_at)",
        "CREATE TABLE feed_items ("
        " show_id TEXT NOT NULL, guid TEXT NOT NULL, title TEXT NOT NULL, published_at BIGINT NOT NULL,"
        " duration DOUBLE PRECISION NOT NULL, enclosure_url TEXT NOT NULL, enclosure_type TEXT NOT NULL,"
        " enclosure_bytes BIGINT NOT NULL, transcript_url TEXT NOT NULL, transcript_type TEXT NOT NULL,"
        " chapters_url TEXT NOT NULL, persons TEXT NOT NULL, episode_id TEXT NOT NULL, first_seen_at BIGINT NOT NULL,"
        " PRIMARY KEY (show_id, guid))",
        "CREATE INDEX feed_items_by_episode ON feed_items (episode_id)",
    };
}

// 13: word fixes to a transcript, kept as revisions with the words they replaced (the transcript as made can be had
// back).
std::vector<std::string> TranscriptRevisionsMigration() {
    return {
        "CREATE TABLE transcript_revisions ("
        " episode_id TEXT NOT NULL, revision INTEGER NOT NULL, created_at BIGINT NOT NULL, actor TEXT NOT NULL,"
        " edits TEXT NOT NULL, PRIMARY KEY (episode_id, revision))",
    };
}

// 14: a feed's new item that its show's automatic processing could not queue yet (the queue or the owner's quota
// was full): tried again at each read of the feed until it is queued.
std::vector<std::string> FeedItemPendingMigration() {
    return {"ALTER TABLE feed_items ADD COLUMN auto_pending INTEGER NOT NULL DEFAULT 0"};
}

const std::vector<std::vector<std::string>>& Migrations() {
    static const std::vector<std::vector<std::string>> m = {
        // 1: episodes, their transcript, clips, feedback and the job queue.
        {
            "CREATE TABLE episodes ("
            " id TEXT PRIMARY KEY, title TEXT NOT NULL, filename TEXT NOT NULL, audio_path TEXT NOT NULL,"
            " size_bytes BIGINT NOT NULL, checksum TEXT NOT NULL, format TEXT NOT NULL, has_video INTEGER NOT NULL,"
            " status TEXT NOT NULL, duration DOUBLE PRECISION, genre TEXT NOT NULL, detected_genre TEXT,"
            " platform TEXT NOT NULL, clip_count INTEGER NOT NULL, analysis TEXT, error TEXT,"
            " created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)",
            "CREATE INDEX episodes_by_created ON episodes (created_at)",
            "CREATE TABLE transcript_segments ("
            " episode_id TEXT NOT NULL, idx INTEGER NOT NULL, start_time DOUBLE PRECISION NOT NULL,"
            " end_time DOUBLE PRECISION NOT NULL, text TEXT NOT NULL, confidence DOUBLE PRECISION NOT NULL,"
            " words TEXT NOT NULL, engine TEXT NOT NULL, PRIMARY KEY (episode_id, idx))",
            "CREATE TABLE clips ("
            " id TEXT PRIMARY KEY, episode_id TEXT NOT NULL, clip_rank INTEGER NOT NULL,"
            " start_time DOUBLE PRECISION NOT NULL, end_time DOUBLE PRECISION NOT NULL,"
            " duration DOUBLE PRECISION NOT NULL, score DOUBLE PRECISION NOT NULL, display_score INTEGER NOT NULL,"
            " confidence TEXT NOT NULL, genre TEXT NOT NULL, platform TEXT NOT NULL, title TEXT NOT NULL,"
            " text TEXT NOT NULL, features TEXT NOT NULL, explanation TEXT NOT NULL, hashtags TEXT NOT NULL,"
            " file_path TEXT NOT NULL, created_at BIGINT NOT NULL)",
            "CREATE INDEX clips_by_episode ON clips (episode_id, clip_rank)",
            "CREATE TABLE feedback ("
            " id TEXT PRIMARY KEY, clip_id TEXT NOT NULL, episode_id TEXT NOT NULL, kind TEXT NOT NULL,"
            " rating INTEGER, comment TEXT, created_at BIGINT NOT NULL)",
            "CREATE INDEX feedback_by_clip ON feedback (clip_id)",
            "CREATE TABLE jobs ("
            " id TEXT PRIMARY KEY, episode_id TEXT NOT NULL, priority INTEGER NOT NULL, state TEXT NOT NULL,"
            " stage TEXT NOT NULL, progress DOUBLE PRECISION NOT NULL, checkpoint TEXT NOT NULL,"
            " attempts INTEGER NOT NULL, max_attempts INTEGER NOT NULL, error TEXT, lease_owner TEXT,"
            " lease_expires_at BIGINT NOT NULL, run_after BIGINT NOT NULL, cancel_requested INTEGER NOT NULL,"
            " stage_ms TEXT NOT NULL, created_at BIGINT NOT NULL, started_at BIGINT NOT NULL,"
            " finished_at BIGINT NOT NULL)",
            "CREATE INDEX jobs_by_state ON jobs (state, priority, created_at)",
            "CREATE INDEX jobs_by_episode ON jobs (episode_id)",
        },
        // 2: how an episode's clips are rendered (frame, caption style), and jobs of more than one kind
        // ("process" an episode, "render" a chosen span) with what the kind needs.
        {
            "ALTER TABLE episodes ADD COLUMN render_options TEXT NOT NULL DEFAULT '{}'",
            "ALTER TABLE jobs ADD COLUMN kind TEXT NOT NULL DEFAULT 'process'",
            "ALTER TABLE jobs ADD COLUMN payload TEXT NOT NULL DEFAULT '{}'",
        },
        // 3: the storage lifecycle (archived sources, starred clips kept past retention, expired clips whose
        // files were removed) and errors grouped by kind and stage.
        {
            "ALTER TABLE episodes ADD COLUMN archived_at BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE clips ADD COLUMN starred INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE clips ADD COLUMN expired_at BIGINT NOT NULL DEFAULT 0",
            "CREATE TABLE errors ("
            " kind TEXT NOT NULL, stage TEXT NOT NULL, count BIGINT NOT NULL, first_seen BIGINT NOT NULL,"
            " last_seen BIGINT NOT NULL, sample TEXT NOT NULL, PRIMARY KEY (kind, stage))",
        },
        // 4: speaker turns on transcript segments ("" when unknown).
        {
            "ALTER TABLE transcript_segments ADD COLUMN speaker TEXT NOT NULL DEFAULT ''",
        },
        // 5: sounds marked in imported transcripts ([laughter], (applause), [MUSIC]): laughter is a signal.
        {
            "CREATE TABLE transcript_events ("
            " episode_id TEXT NOT NULL, idx INTEGER NOT NULL, kind TEXT NOT NULL,"
            " start_time DOUBLE PRECISION NOT NULL, end_time DOUBLE PRECISION NOT NULL, PRIMARY KEY (episode_id, idx))",
        },
        AccountsMigration(),
        SignInLinksMigration(),
        LeaseEpochMigration(),
        LeaderLeaseMigration(),
        UploadKeyMigration(),
        EnginePauseMigration(),
        ShowsMigration(),
        TranscriptRevisionsMigration(),
        FeedItemPendingMigration(),
    };
    return m;
}
// NOLINTEND(bugprone-suspicious-missing-comma)

// PostgreSQL's notices (a WARNING such as "there is no transaction in progress" when SOCI rolls back a transaction
// that a failed COMMIT already ended) would go to stderr as bare text, among the JSON log lines: they are dropped.
void DropNotice(void* /*arg*/, const char* /*message*/) {}

void QuietNotices(soci::session& s) {
    auto* backend = static_cast<soci::postgresql_session_backend*>(s.get_backend());
    if (backend != nullptr && backend->conn_ != nullptr) PQsetNoticeProcessor(backend->conn_, DropNotice, nullptr);
}

// What every pooled PostgreSQL session is given when it is opened (and opened again).
void PreparePostgresSession(soci::session& s, std::chrono::seconds idle_transaction_limit) {
    QuietNotices(s);
    // As SQLite is: every transaction serializable, so a read that a concurrent commit made stale cannot be written on
    // (the transaction fails with 40001 and InTransaction runs it again).
    s << "SET default_transaction_isolation = 'serializable'";
    // A process frozen inside a transaction (SIGSTOP, a paused VM, a swap storm) would hold its row locks for as long
    // as it stays frozen, and every other host's write to those rows would wait as long. The server ends such a
    // session instead; the frozen process finds its connection gone when it wakes (its transaction rolled back).
    s << fmt::format("SET idle_in_transaction_session_timeout = '{}s'", idle_transaction_limit.count());
}

Status Unreachable(const std::string& what) {
    return Status::Unavailable("database unavailable: " + what).WithSlug("database_unavailable");
}

// `lost`: the session's connection was found dead after the failure.
Status FromException(const std::exception& e, bool lost = false) {
    const std::string what = e.what();
    if (lost) return Unreachable(what);
    if (dynamic_cast<const soci::soci_error*>(&e)) {
        const auto* se = dynamic_cast<const soci::soci_error*>(&e);
        if (se->get_error_category() == soci::soci_error::connection_error) return Unreachable(what);
    }
    return Status::Internal("database error: " + what);
}

}  // namespace

Database::Database(Kind kind, int pool_size, std::chrono::seconds idle_transaction_limit)
    : kind_(kind),
      pool_size_(pool_size),
      idle_transaction_limit_(idle_transaction_limit),
      pool_(std::make_unique<soci::connection_pool>(pool_size)) {}

Database::~Database() = default;

Result<std::unique_ptr<Database>> Database::Open(const std::string& url, int pool_size,
                                                 std::chrono::seconds idle_transaction_limit) {
    std::unique_ptr<Database> db;
    try {
        if (url.rfind("sqlite://", 0) == 0) {
            // SQLite's memory statistics take one process-wide mutex on every allocation, which serialises
            // all connections under load; nothing here reads them. Must be set before the first open.
            static const bool configured = [] {
                sqlite_api::sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
                return true;
            }();
            (void)configured;
            const std::string path = url.substr(std::string("sqlite://").size());
            if (path.empty()) return Status::InvalidInput("DATABASE_URL: sqlite:// needs a path");
            std::error_code ec;
            const fs::path parent = fs::path(path).parent_path();
            if (!parent.empty()) fs::create_directories(parent, ec);
            db.reset(new Database(Kind::kSqlite, pool_size, idle_transaction_limit));
            for (int i = 0; i < pool_size; ++i) {
                soci::session& s = db->pool_->at(static_cast<size_t>(i));
                // timeout: seconds a writer waits for another's lock before SQLITE_BUSY.
                s.open(soci::sqlite3, fmt::format("db=\"{}\" timeout=30", path));
                if (i == 0) s << "PRAGMA journal_mode=WAL";
                s << "PRAGMA synchronous=NORMAL";
                s << "PRAGMA foreign_keys=ON";
            }
        } else if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
            auto connect = PostgresConnectString(url);
            if (!connect.ok()) return connect.status();
            db.reset(new Database(Kind::kPostgres, pool_size, idle_transaction_limit));
            db->connect_ = *connect;
            for (int i = 0; i < pool_size; ++i) {
                soci::session& s = db->pool_->at(static_cast<size_t>(i));
                s.open(soci::postgresql, *connect);
                PreparePostgresSession(s, idle_transaction_limit);
            }
        } else {
            return Status::InvalidInput("DATABASE_URL: expected sqlite:///path or postgresql://...");
        }
    } catch (const std::exception& e) {
        return Status::Unavailable(std::string("cannot open the database: ") + e.what());
    }
    return db;
}

// A pooled PostgreSQL session whose connection libpq has seen fail (the server restarted, or the session was
// terminated) is opened again. Reading the status is local: nothing is sent. A session with no connection at all (a
// reconnection failed while the server was down: SOCI then keeps none) is opened again too.
bool Database::Revive(soci::session& s) {
    if (kind_ != Kind::kPostgres) return false;
    // (SOCI exports no type information for its backends: the kind says which this is.)
    auto* backend = static_cast<soci::postgresql_session_backend*>(s.get_backend());
    if (backend != nullptr && PQstatus(backend->conn_) == CONNECTION_OK) return false;
    try {
        s.reconnect();
        PreparePostgresSession(s, idle_transaction_limit_);
        ++reconnects_;
        return true;
    } catch (const std::exception&) {
        return false;  // still unreachable: the caller reports the first error
    }
}

bool Database::Connected(soci::session& s) const {
    if (kind_ != Kind::kPostgres) return true;
    auto* backend = static_cast<soci::postgresql_session_backend*>(s.get_backend());
    return backend != nullptr && PQstatus(backend->conn_) == CONNECTION_OK;
}

Status Database::With(const std::function<void(Tx&)>& fn) {
    for (int attempt = 0;; ++attempt) {
        soci::session s(*pool_);
        Revive(s);
        try {
            Tx tx(s);
            fn(tx);
            return Status::Ok();
        } catch (const std::exception& e) {
            const bool lost = !Connected(s);
            // A connection found dead is replaced and `fn` runs once more (it is safe to repeat: see the header).
            if (attempt == 0 && Revive(s)) continue;
            return FromException(e, lost);
        }
    }
}

namespace {

// What makes a transaction worth running again: SQLite's single writer was busy, or PostgreSQL found it could not be
// serialized with another (40001) or chose it to break a deadlock (40P01).
bool Contended(const std::string& what) {
    return what.find("database is locked") != std::string::npos ||
           what.find("could not serialize") != std::string::npos || what.find("deadlock detected") != std::string::npos;
}

}  // namespace

Status Database::InTransaction(const std::function<void(Tx&)>& fn, Isolation isolation) {
    for (int attempt = 0;; ++attempt) {
        soci::session s(*pool_);
        Revive(s);
        bool committing = false;
        try {
            soci::transaction tr(s);
            if (kind_ == Kind::kPostgres && isolation == Isolation::kReadCommitted) {
                s << "SET TRANSACTION ISOLATION LEVEL READ COMMITTED";
            }
            Tx tx(s);
            fn(tx);
            committing = true;
            tr.commit();
            ++write_version_;
            return Status::Ok();
        } catch (const std::exception& e) {
            const bool lost = !Connected(s);
            if (Contended(e.what()) && attempt < 20) {
                std::this_thread::sleep_for(std::chrono::milliseconds(20 * (attempt + 1)));
                continue;
            }
            // A connection lost before the commit was sent rolled the transaction back: run it again on a new one.
            // Lost during the commit, whether it committed is unknown, so it is reported, not repeated.
            if (!committing && attempt < 2 && Revive(s)) continue;
            if (committing) Revive(s);
            return FromException(e, lost);
        }
    }
}

Status Database::Ping() {
    return With([](Tx& tx) {
        soci::session& s = tx.sql();
        int one = 0;
        s << "SELECT 1", soci::into(one);
    });
}

Status Database::Notify(const std::string& channel, const std::string& payload) {
    if (kind_ != Kind::kPostgres) return Status::Ok();
    if (payload.size() > 7900) return Status::InvalidInput("a notice is at most 7900 bytes");
    return With([&](Tx& tx) { tx.sql() << "SELECT pg_notify(:c, :p)", soci::use(channel), soci::use(payload); });
}

namespace {

// LISTEN on one channel over a libpq connection of its own, on a thread of its own.
class PgListener final : public Database::Listener {
  public:
    PgListener(std::string connect, std::string channel, std::function<void(const std::string&)> on_notice,
               std::function<void(int64_t)> on_resumed)
        : connect_(std::move(connect)),
          channel_(std::move(channel)),
          on_notice_(std::move(on_notice)),
          on_resumed_(std::move(on_resumed)) {
        thread_ = std::thread([this] { Run(); });
    }
    ~PgListener() override {
        stop_ = true;
        thread_.join();
    }

  private:
    void Run() {
        int64_t lost_at = 0;  // when the last connection that listened failed; 0 before the first
        while (!stop_) {
            PGconn* conn = PQconnectdb(connect_.c_str());
            if (PQstatus(conn) == CONNECTION_OK && Subscribe(conn)) {
                if (lost_at != 0 && on_resumed_) on_resumed_(lost_at);
                Drain(conn);
                lost_at = NowEpochMs();
            }
            PQfinish(conn);
            for (int i = 0; i < 10 && !stop_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
    bool Subscribe(PGconn* conn) {
        char* quoted = PQescapeIdentifier(conn, channel_.c_str(), channel_.size());
        if (quoted == nullptr) return false;
        PGresult* r = PQexec(conn, (std::string("LISTEN ") + quoted).c_str());
        PQfreemem(quoted);
        const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        return ok;
    }
    // Until the connection fails or the listener stops.
    void Drain(PGconn* conn) {
        while (!stop_) {
            pollfd p{PQsocket(conn), POLLIN, 0};
            if (poll(&p, 1, 100) < 0 && errno != EINTR) return;
            if (PQconsumeInput(conn) == 0) return;
            while (PGnotify* n = PQnotifies(conn)) {
                const std::string payload = n->extra != nullptr ? n->extra : "";
                PQfreemem(n);
                on_notice_(payload);
            }
            if (PQstatus(conn) != CONNECTION_OK) return;
        }
    }
    std::string connect_, channel_;
    std::function<void(const std::string&)> on_notice_;
    std::function<void(int64_t)> on_resumed_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace

std::unique_ptr<Database::Listener> Database::Listen(const std::string& channel,
                                                     std::function<void(const std::string&)> on_notice,
                                                     std::function<void(int64_t)> on_resumed) {
    if (kind_ != Kind::kPostgres) return nullptr;
    return std::make_unique<PgListener>(connect_, channel, std::move(on_notice), std::move(on_resumed));
}

int Database::LatestVersion() { return static_cast<int>(Migrations().size()); }

Result<int> Database::SchemaVersion() {
    int version = 0;
    PODPROMO_RETURN_IF_ERROR(With([&](Tx& tx) {
        soci::session& s = tx.sql();
        s << "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)";
        soci::indicator ind = soci::i_null;
        s << "SELECT MAX(version) FROM schema_migrations", soci::into(version, ind);
        if (ind != soci::i_ok) version = 0;
    }));
    return version;
}

Result<int> Database::Migrate(int up_to) {
    auto current = SchemaVersion();
    if (!current.ok()) return current.status();
    int applied = 0;
    const auto& all = Migrations();
    for (int v = *current + 1; v <= std::min(up_to, static_cast<int>(all.size())); ++v) {
        bool done_by_other = false;
        const Status st = InTransaction([&](Tx& tx) {
            soci::session& s = tx.sql();
            // Another process may have applied it meanwhile: the primary key settles the race.
            int exists = 0;
            s << "SELECT COUNT(*) FROM schema_migrations WHERE version = :v", soci::use(v), soci::into(exists);
            if (exists > 0) {
                done_by_other = true;
                return;
            }
            for (const auto& stmt : all[static_cast<size_t>(v - 1)]) s << stmt;
            const int64_t now = NowEpochMs();
            s << "INSERT INTO schema_migrations (version, applied_at) VALUES (:v, :t)", soci::use(v), soci::use(now);
        });
        if (!st.ok()) return Status(st.code(), fmt::format("migration {} failed: {}", v, st.message()));
        if (!done_by_other) ++applied;
    }
    return applied;
}

namespace {

int HexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// %XX escapes decoded; nullopt for a broken one or a decoded NUL.
std::optional<std::string> PercentDecoded(std::string_view in) {
    std::string out;
    for (size_t i = 0; i < in.size(); ++i) {
        if (in[i] != '%') {
            out.push_back(in[i]);
            continue;
        }
        if (in.size() - i < 3) return std::nullopt;
        const int hi = HexValue(in[i + 1]);
        const int lo = HexValue(in[i + 2]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return std::nullopt;
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
    }
    return out;
}

// One libpq keyword='value' pair, with \ and ' escaped.
std::string ConnectPair(std::string_view key, const std::string& value) {
    std::string quoted;
    for (const char c : value) {
        if (c == '\\' || c == '\'') quoted.push_back('\\');
        quoted.push_back(c);
    }
    return fmt::format("{}='{}'", key, quoted);
}

}  // namespace

Result<std::string> PostgresConnectString(const std::string& url) {
    const auto bad = [&](std::string_view why) {
        return Status::InvalidInput(
            fmt::format("DATABASE_URL: {} (expected postgresql://user:pass@host:port/db)", why));
    };
    std::string_view rest = url;
    if (rest.substr(0, 13) == "postgresql://") {
        rest.remove_prefix(13);
    } else if (rest.substr(0, 11) == "postgres://") {
        rest.remove_prefix(11);
    } else {
        return bad("not a postgresql:// URL");
    }
    std::string_view query;
    if (const size_t q = rest.find('?'); q != std::string_view::npos) {
        query = rest.substr(q + 1);
        rest = rest.substr(0, q);
    }
    std::string_view path;
    if (const size_t slash = rest.find('/'); slash != std::string_view::npos) {
        path = rest.substr(slash + 1);
        rest = rest.substr(0, slash);
    }
    std::vector<std::pair<std::string, std::string_view>> parts;
    if (const size_t at = rest.rfind('@'); at != std::string_view::npos) {
        const std::string_view userinfo = rest.substr(0, at);
        rest = rest.substr(at + 1);
        const size_t colon = userinfo.find(':');
        parts.emplace_back("user", userinfo.substr(0, colon));
        if (colon != std::string_view::npos) parts.emplace_back("password", userinfo.substr(colon + 1));
    }
    // host, host:port, or [v6]:port
    std::string_view host = rest;
    std::string_view port;
    const size_t close = rest.rfind(']');
    const size_t colon = rest.rfind(':');
    if (colon != std::string_view::npos && (close == std::string_view::npos || colon > close)) {
        host = rest.substr(0, colon);
        port = rest.substr(colon + 1);
        if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos) {
            return bad("the port is not a number");
        }
    }
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    if (!host.empty()) parts.emplace_back("host", host);
    if (!port.empty()) parts.emplace_back("port", port);
    if (!path.empty()) parts.emplace_back("dbname", path);
    while (!query.empty()) {
        const size_t amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        const size_t eq = pair.find('=');
        const std::string_view key = pair.substr(0, eq);
        if (key.empty() || key.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") != std::string_view::npos) {
            return bad("a parameter name that libpq does not have");
        }
        parts.emplace_back(std::string(key), eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    }
    const bool timed =
        std::any_of(parts.begin(), parts.end(), [](const auto& p) { return p.first == "connect_timeout"; });
    const std::string default_timeout = std::to_string(kDefaultConnectSeconds);  // (parts holds views)
    if (!timed) parts.emplace_back("connect_timeout", default_timeout);
    std::string out;
    for (const auto& [key, raw] : parts) {
        const auto value = PercentDecoded(raw);
        if (!value) return bad(fmt::format("a broken %-escape in {}", key));
        if (!out.empty()) out += ' ';
        out += ConnectPair(key, *value);
    }
    return out;
}

}  // namespace podpromo
