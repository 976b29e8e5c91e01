// Copying every row of one database into another (podpromo migrate --from): SQLite to PostgreSQL for a team that
// started on one machine. Generic over the columns, so a column a later migration adds is carried without a change
// here; a table it adds must join kTables (Store.CopyKnowsEveryTable fails until it does).
#include <fmt/format.h>
#include <soci/soci.h>

#include <deque>
#include <string>
#include <vector>

#include "podpromo/store/database.h"

namespace podpromo {
namespace {

// Every table of the schema but schema_migrations (the target has its own).
const std::vector<std::string>& Tables() {
    static const std::vector<std::string> t = {
        "users",
        "api_keys",
        "sessions",
        "sign_in_links",
        "audit_log",
        "episodes",
        "transcript_segments",
        "transcript_events",
        "transcript_revisions",
        "clips",
        "feedback",
        "jobs",
        "errors",
        "leader_leases",
        "engine_pauses",
        "shows",
        "feed_items",
    };
    return t;
}

// One row's values, kept alive while the INSERT that binds them runs.
struct BoundRow {
    std::deque<std::string> strings;
    std::deque<long long> integers;
    std::deque<double> doubles;
    std::deque<soci::indicator> indicators;
};

void BindColumn(const soci::row& r, size_t i, BoundRow* b, soci::statement* st) {
    const soci::indicator ind = r.get_indicator(i);
    b->indicators.push_back(ind);
    soci::indicator& kept = b->indicators.back();
    switch (r.get_properties(i).get_data_type()) {
        case soci::dt_double:
            b->doubles.push_back(ind == soci::i_ok ? r.get<double>(i) : 0.0);
            st->exchange(soci::use(b->doubles.back(), kept));
            break;
        case soci::dt_integer:
            b->integers.push_back(ind == soci::i_ok ? r.get<int>(i) : 0);
            st->exchange(soci::use(b->integers.back(), kept));
            break;
        case soci::dt_long_long:
        case soci::dt_unsigned_long_long:
            b->integers.push_back(ind == soci::i_ok ? r.get<long long>(i) : 0);
            st->exchange(soci::use(b->integers.back(), kept));
            break;
        default:
            b->strings.push_back(ind == soci::i_ok ? r.get<std::string>(i) : std::string());
            st->exchange(soci::use(b->strings.back(), kept));
            break;
    }
}

// Copies `table` row by row (the source is read as it is written: memory stays one row). Returns how many.
long long CopyTable(soci::session& from, soci::session& to, const std::string& table) {
    soci::row r;
    soci::statement read = (from.prepare << "SELECT * FROM " + table, soci::into(r));
    read.execute();
    long long copied = 0;
    std::string insert;
    while (read.fetch()) {
        if (insert.empty()) {
            std::string columns, params;
            for (size_t i = 0; i < r.size(); ++i) {
                columns += (i ? ", " : "") + r.get_properties(i).get_name();
                params += fmt::format("{}:p{}", i ? ", " : "", i);
            }
            insert = fmt::format("INSERT INTO {} ({}) VALUES ({})", table, columns, params);
        }
        BoundRow bound;
        soci::statement write(to);
        write.alloc();
        for (size_t i = 0; i < r.size(); ++i) BindColumn(r, i, &bound, &write);
        write.prepare(insert);
        write.define_and_bind();
        write.execute(true);
        ++copied;
    }
    return copied;
}

}  // namespace

Result<std::vector<std::pair<std::string, long long>>> CopyEveryRow(Database* from, Database* to) {
    std::vector<std::pair<std::string, long long>> counts;
    long long existing = 0;
    PODPROMO_RETURN_IF_ERROR(to->With([&](Tx& tx) {
        for (const auto& table : Tables()) {
            long long n = 0;
            tx.sql() << "SELECT COUNT(*) FROM " + table, soci::into(n);
            existing += n;
        }
    }));
    if (existing > 0) {
        return Status::FailedPrecondition(fmt::format(
            "the target database already holds {} rows: migrate into an empty one (before its first start)", existing));
    }
    // One transaction on each side: the target gets all or nothing, from one consistent view of the source.
    Status written;
    PODPROMO_RETURN_IF_ERROR(from->InTransaction([&](Tx& source) {
        written = to->InTransaction([&](Tx& target) {
            counts.clear();
            for (const auto& table : Tables()) counts.emplace_back(table, CopyTable(source.sql(), target.sql(), table));
        });
    }));
    PODPROMO_RETURN_IF_ERROR(written);
    return counts;
}

const std::vector<std::string>& CopiedTables() { return Tables(); }

}  // namespace podpromo
