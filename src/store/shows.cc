#include "podpromo/store/shows.h"

#include <soci/soci.h>

#include "fetch_all.h"

namespace podpromo {
namespace {
using soci::into;
using soci::use;

constexpr const char* kShowColumns =
    "id, owner_id, feed_url, title, image_url, etag, last_modified, auto_process, poll_every_ms, next_poll_at,"
    " last_polled_at, last_status, last_error, persons, settings, created_at";

struct ShowInto {
    ShowRow r;
    void Bind(soci::statement& st) {
        for (std::string* s : {&r.id, &r.owner_id, &r.feed_url, &r.title, &r.image_url, &r.etag, &r.last_modified}) {
            st.exchange(into(*s));
        }
        st.exchange(into(r.auto_process));
        for (DbInt* n : {&r.poll_every_ms, &r.next_poll_at, &r.last_polled_at}) st.exchange(into(*n));
        for (std::string* s : {&r.last_status, &r.last_error, &r.persons, &r.settings}) st.exchange(into(*s));
        st.exchange(into(r.created_at));
    }
    ShowRow Get() const { return r; }
};

constexpr const char* kItemColumns =
    "show_id, guid, title, published_at, duration, enclosure_url, enclosure_type, enclosure_bytes, transcript_url,"
    " transcript_type, chapters_url, persons, episode_id, first_seen_at, auto_pending";

struct ItemInto {
    FeedItemRow r;
    void Bind(soci::statement& st) {
        for (std::string* s : {&r.show_id, &r.guid, &r.title}) st.exchange(into(*s));
        st.exchange(into(r.published_at));
        st.exchange(into(r.duration));
        for (std::string* s : {&r.enclosure_url, &r.enclosure_type}) st.exchange(into(*s));
        st.exchange(into(r.enclosure_bytes));
        for (std::string* s : {&r.transcript_url, &r.transcript_type, &r.chapters_url, &r.persons, &r.episode_id}) {
            st.exchange(into(*s));
        }
        st.exchange(into(r.first_seen_at));
        st.exchange(into(r.auto_pending));
    }
    FeedItemRow Get() const { return r; }
};

std::vector<ShowRow> SelectShows(Tx& tx, const std::string& where, const std::function<void(soci::statement&)>& uses) {
    return FetchAll<ShowInto>(tx.sql(), std::string("SELECT ") + kShowColumns + " FROM shows " + where, uses);
}

std::vector<FeedItemRow> SelectItems(Tx& tx, const std::string& where,
                                     const std::function<void(soci::statement&)>& uses) {
    return FetchAll<ItemInto>(tx.sql(), std::string("SELECT ") + kItemColumns + " FROM feed_items " + where, uses);
}

}  // namespace

void InsertShow(Tx& tx, const ShowRow& r) {
    tx.sql() << "INSERT INTO shows (" << kShowColumns
             << ") VALUES (:id, :owner, :url, :title, :image, :etag, :modified, :auto, :every, :next, :last, :status,"
                " :error, :persons, :settings, :created)",
        use(r.id), use(r.owner_id), use(r.feed_url), use(r.title), use(r.image_url), use(r.etag), use(r.last_modified),
        use(r.auto_process), use(r.poll_every_ms), use(r.next_poll_at), use(r.last_polled_at), use(r.last_status),
        use(r.last_error), use(r.persons), use(r.settings), use(r.created_at);
}

std::optional<ShowRow> GetShow(Tx& tx, const std::string& id) {
    auto rows = SelectShows(tx, "WHERE id = :id", [&](soci::statement& st) { st.exchange(use(id)); });
    if (rows.empty()) return std::nullopt;
    return rows.front();
}

std::vector<ShowRow> ListShows(Tx& tx, const std::optional<std::string>& owner) {
    if (!owner) return SelectShows(tx, "ORDER BY created_at, id", [](soci::statement&) {});
    return SelectShows(tx, "WHERE owner_id = :o ORDER BY created_at, id",
                       [&](soci::statement& st) { st.exchange(use(*owner)); });
}

std::optional<ShowRow> ShowWithFeed(Tx& tx, const std::string& owner, const std::string& feed_url) {
    auto rows = SelectShows(tx, "WHERE owner_id = :o AND feed_url = :u", [&](soci::statement& st) {
        st.exchange(use(owner));
        st.exchange(use(feed_url));
    });
    if (rows.empty()) return std::nullopt;
    return rows.front();
}

std::vector<ShowRow> ShowsDue(Tx& tx, DbInt now, int limit) {
    return SelectShows(tx, "WHERE next_poll_at <= :n ORDER BY next_poll_at, id LIMIT :l", [&](soci::statement& st) {
        st.exchange(use(now));
        st.exchange(use(limit));
    });
}

void UpdateShowPoll(Tx& tx, const ShowRow& r) {
    tx.sql() << "UPDATE shows SET title = :title, image_url = :image, etag = :etag, last_modified = :modified,"
                " next_poll_at = :next, last_polled_at = :last, last_status = :status, last_error = :error,"
                " persons = :persons WHERE id = :id",
        use(r.title), use(r.image_url), use(r.etag), use(r.last_modified), use(r.next_poll_at), use(r.last_polled_at),
        use(r.last_status), use(r.last_error), use(r.persons), use(r.id);
}

void UpdateShowSettings(Tx& tx, const std::string& id, int auto_process, DbInt poll_every_ms,
                        const std::string& settings) {
    tx.sql() << "UPDATE shows SET auto_process = :a, poll_every_ms = :p, settings = :s WHERE id = :id",
        use(auto_process), use(poll_every_ms), use(settings), use(id);
}

void DeleteShow(Tx& tx, const std::string& id) {
    tx.sql() << "DELETE FROM feed_items WHERE show_id = :id", use(id);
    tx.sql() << "DELETE FROM shows WHERE id = :id", use(id);
}

bool UpsertFeedItem(Tx& tx, const FeedItemRow& r) {
    soci::session& s = tx.sql();
    soci::statement st =
        (s.prepare << "UPDATE feed_items SET title = :title, published_at = :pub, duration = :dur, enclosure_url = :eu,"
                      " enclosure_type = :et, enclosure_bytes = :eb, transcript_url = :tu, transcript_type = :tt,"
                      " chapters_url = :cu, persons = :persons WHERE show_id = :show AND guid = :guid",
         use(r.title), use(r.published_at), use(r.duration), use(r.enclosure_url), use(r.enclosure_type),
         use(r.enclosure_bytes), use(r.transcript_url), use(r.transcript_type), use(r.chapters_url), use(r.persons),
         use(r.show_id), use(r.guid));
    st.execute(true);
    if (st.get_affected_rows() == 1) return false;
    s << "INSERT INTO feed_items (" << kItemColumns
      << ") VALUES (:show, :guid, :title, :pub, :dur, :eu, :et, :eb, :tu, :tt, :cu, :persons, :episode, :seen,"
         " :pending)",
        use(r.show_id), use(r.guid), use(r.title), use(r.published_at), use(r.duration), use(r.enclosure_url),
        use(r.enclosure_type), use(r.enclosure_bytes), use(r.transcript_url), use(r.transcript_type),
        use(r.chapters_url), use(r.persons), use(r.episode_id), use(r.first_seen_at), use(r.auto_pending);
    return true;
}

std::optional<FeedItemRow> GetFeedItem(Tx& tx, const std::string& show_id, const std::string& guid) {
    auto rows = SelectItems(tx, "WHERE show_id = :s AND guid = :g", [&](soci::statement& st) {
        st.exchange(use(show_id));
        st.exchange(use(guid));
    });
    if (rows.empty()) return std::nullopt;
    return rows.front();
}

std::vector<FeedItemRow> ListFeedItems(Tx& tx, const std::string& show_id, int limit) {
    return SelectItems(tx, "WHERE show_id = :s ORDER BY published_at DESC, first_seen_at DESC, guid LIMIT :l",
                       [&](soci::statement& st) {
                           st.exchange(use(show_id));
                           st.exchange(use(limit));
                       });
}

DbInt CountShows(Tx& tx, const std::string& owner) {
    DbInt n = 0;
    tx.sql() << "SELECT COUNT(*) FROM shows WHERE owner_id = :o", use(owner), into(n);
    return n;
}

DbInt CountFeedItems(Tx& tx, const std::string& show_id) {
    DbInt n = 0;
    tx.sql() << "SELECT COUNT(*) FROM feed_items WHERE show_id = :s", use(show_id), into(n);
    return n;
}

bool SetFeedItemEpisode(Tx& tx, const std::string& show_id, const std::string& guid, const std::string& episode_id) {
    soci::session& s = tx.sql();
    soci::statement st = (s.prepare << "UPDATE feed_items SET episode_id = :e, auto_pending = 0"
                                       " WHERE show_id = :s AND guid = :g AND episode_id = ''",
                          use(episode_id), use(show_id), use(guid));
    st.execute(true);
    return st.get_affected_rows() == 1;
}

std::vector<FeedItemRow> PendingFeedItems(Tx& tx, const std::string& show_id) {
    return SelectItems(tx, "WHERE show_id = :s AND auto_pending = 1 AND episode_id = '' ORDER BY first_seen_at, guid",
                       [&](soci::statement& st) { st.exchange(use(show_id)); });
}

void DropPendingFeedItem(Tx& tx, const std::string& show_id, const std::string& guid) {
    tx.sql() << "UPDATE feed_items SET auto_pending = 0 WHERE show_id = :s AND guid = :g", use(show_id), use(guid);
}

std::optional<FeedItemRow> FeedItemOfEpisode(Tx& tx, const std::string& episode_id) {
    auto rows = SelectItems(tx, "WHERE episode_id = :e", [&](soci::statement& st) { st.exchange(use(episode_id)); });
    if (rows.empty()) return std::nullopt;
    return rows.front();
}

std::vector<std::string> EpisodesOfShow(Tx& tx, const std::string& show_id) {
    std::vector<std::string> ids;
    for (const FeedItemRow& item : SelectItems(tx, "WHERE show_id = :s AND episode_id <> ''",
                                               [&](soci::statement& st) { st.exchange(use(show_id)); })) {
        ids.push_back(item.episode_id);
    }
    return ids;
}

void SetEpisodeRenderOptions(Tx& tx, const std::string& episode_id, const std::string& render_options) {
    tx.sql() << "UPDATE episodes SET render_options = :o WHERE id = :id", use(render_options), use(episode_id);
}

}  // namespace podpromo
