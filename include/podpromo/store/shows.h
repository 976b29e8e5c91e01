// Shows (a podcast added by its RSS feed) and the items their feeds list, as rows: the SQL of feeds, beside
// repositories.h and under the same rules (functions over a Tx; errors thrown, turned into Status by the Database).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "podpromo/store/repositories.h"

namespace podpromo {

struct ShowRow {
    std::string id, owner_id, feed_url, title, image_url;
    std::string etag, last_modified;  // of the feed's last answer, sent back in the next poll's conditional request
    int auto_process = 1;             // new items are processed without a click
    DbInt poll_every_ms = 0;          // how often the feed is read
    DbInt next_poll_at = 0, last_polled_at = 0;
    std::string last_status;  // "", "ok", "not_modified" or "error"
    std::string last_error;
    std::string persons = "[]";   // JSON: the channel's people [{name, role, href}]
    std::string settings = "{}";  // JSON: the new episodes' genre, platform, clips and render options
    DbInt created_at = 0;
};

struct FeedItemRow {
    std::string show_id, guid, title;
    DbInt published_at = 0;
    double duration = 0;
    std::string enclosure_url, enclosure_type;
    DbInt enclosure_bytes = 0;
    std::string transcript_url, transcript_type, chapters_url;
    std::string persons = "[]";  // JSON [{name, role, href}]
    std::string episode_id;      // the episode made of it ("" until it is processed)
    DbInt first_seen_at = 0;
    // 1: found new by a read of a show that makes its new episodes by itself, and not queued yet (set when inserted;
    // cleared when an episode is made of it, or when it never can be).
    int auto_pending = 0;
};

void InsertShow(Tx& tx, const ShowRow& show);
std::optional<ShowRow> GetShow(Tx& tx, const std::string& id);
// The owner's shows (everyone's when not given), oldest first.
std::vector<ShowRow> ListShows(Tx& tx, const std::optional<std::string>& owner);
DbInt CountShows(Tx& tx, const std::string& owner);
// The owner's show of that feed, if they added it already.
std::optional<ShowRow> ShowWithFeed(Tx& tx, const std::string& owner, const std::string& feed_url);
// Shows whose next poll has come (at most `limit`, the most overdue first).
std::vector<ShowRow> ShowsDue(Tx& tx, DbInt now, int limit);
// Records a poll's outcome: everything ShowRow says of the last poll and of the feed (title, image, persons).
void UpdateShowPoll(Tx& tx, const ShowRow& show);
// The episode settings and automatic processing.
void UpdateShowSettings(Tx& tx, const std::string& id, int auto_process, DbInt poll_every_ms,
                        const std::string& settings);
// Removes the show and its items (not the episodes made of them).
void DeleteShow(Tx& tx, const std::string& id);

// Inserts the item, or (known already) updates what the feed says of it, keeping its episode and first_seen_at.
// True when it is new.
bool UpsertFeedItem(Tx& tx, const FeedItemRow& item);
std::optional<FeedItemRow> GetFeedItem(Tx& tx, const std::string& show_id, const std::string& guid);
// Newest first (by publication, then by when first seen).
std::vector<FeedItemRow> ListFeedItems(Tx& tx, const std::string& show_id, int limit);
DbInt CountFeedItems(Tx& tx, const std::string& show_id);
// The show's items still waiting for its automatic processing to queue them (auto_pending, no episode), oldest first.
std::vector<FeedItemRow> PendingFeedItems(Tx& tx, const std::string& show_id);
// The item is no longer waiting: it never can be queued.
void DropPendingFeedItem(Tx& tx, const std::string& show_id, const std::string& guid);
// Links the item to the episode made of it (no longer pending), only if it has none: false when another request made
// one first.
bool SetFeedItemEpisode(Tx& tx, const std::string& show_id, const std::string& guid, const std::string& episode_id);
// The item an episode was made of.
std::optional<FeedItemRow> FeedItemOfEpisode(Tx& tx, const std::string& episode_id);
// The ids of the episodes made of the show's items.
std::vector<std::string> EpisodesOfShow(Tx& tx, const std::string& show_id);
// Sets the episode's render options (JSON: pipeline.h's MediaOptionsToJson and its files' keys).
void SetEpisodeRenderOptions(Tx& tx, const std::string& episode_id, const std::string& render_options);

}  // namespace podpromo
