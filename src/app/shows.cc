// Shows added by their RSS feed: reading the feed (at once, on request, and every interval on the leading host), its
// items, and queueing an item as an episode whose job downloads it (jobs/job_runner.cc).
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <string_view>
#include <thread>
#include <utility>

#include "podpromo/app/app.h"
#include "podpromo/core/secrets.h"
#include "podpromo/core/utf8.h"
#include "podpromo/files/atomic.h"
#include "podpromo/jobs/results.h"
#include "podpromo/media/render.h"
#include "podpromo/monitor/log.h"
#include "upload_options.h"

namespace podpromo {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int kShowsPolledAtOnce = 20;

std::string PersonsJson(const std::vector<FeedPerson>& persons) {
    json list = json::array();
    for (const auto& p : persons) list.push_back({{"name", p.name}, {"role", p.role}, {"href", p.href}});
    return DumpJson(list);
}

FeedItemRow ItemRow(const std::string& show_id, const FeedItem& it, DbInt now) {
    FeedItemRow r;
    r.show_id = show_id;
    r.guid = it.guid;
    r.title = it.title.empty() ? "Untitled episode" : TruncateUtf8(it.title, 200);
    r.published_at = it.published_ms;
    r.duration = it.duration_s;
    r.enclosure_url = it.enclosure_url;
    r.enclosure_type = it.enclosure_type;
    r.enclosure_bytes = it.enclosure_bytes;
    if (const FeedTranscriptLink* t = PreferredTranscript(it)) {
        r.transcript_url = t->url;
        r.transcript_type = t->type;
    }
    r.chapters_url = it.chapters_url;
    r.persons = PersonsJson(it.persons);
    r.first_seen_at = now;
    return r;
}

// Stores what `feed` lists of `show`'s items, read at `now`, and returns how many are new (none on the first read).
// A new one is owed to automatic processing when the show has it on; what the first read finds is the back
// catalogue, made only when asked for.
int StoreItems(Tx& tx, const ShowRow& show, const Feed& feed, bool first, DbInt now) {
    int fresh = 0;
    for (const FeedItem& it : feed.items) {
        if (it.guid.empty()) continue;
        FeedItemRow row = ItemRow(show.id, it, now);
        row.auto_pending = !first && show.auto_process != 0 && !row.enclosure_url.empty() ? 1 : 0;
        if (UpsertFeedItem(tx, row) && !first) ++fresh;
    }
    return fresh;
}

// The file name an enclosure is stored under: its URL's last path segment, made safe.
std::string EnclosureFileName(const std::string& url) {
    std::string path = url.substr(0, url.find_first_of("?#"));
    const auto slash = path.rfind('/');
    std::string name = slash == std::string::npos ? "" : path.substr(slash + 1);
    return SanitizeFileName(name.empty() || name.find('.') == std::string::npos ? "episode.mp3" : name);
}

std::map<std::string, std::string> SettingsMap(const std::string& settings) {
    std::map<std::string, std::string> out;
    const json j = ParseJsonOr(settings, json::object());
    for (const auto& [k, v] : j.items()) {
        if (v.is_string()) out[k] = v.get<std::string>();
    }
    return out;
}

// An episode's render options with the show's look (and logo) over them: `look` is the show's settings (every look
// key, "" for the style's own) and `logo` its logo's storage key ("" for none). The frame and the cover stay.
std::string WithLook(const std::string& render_options, const json& look, const std::string& logo) {
    json options = ParseJsonOr(render_options, json::object());
    for (const char* key : kRenderOptionKeys) {
        if (std::string_view(key) == "aspect") continue;
        if (look.contains(key) && look[key].is_string() && !look[key].get<std::string>().empty()) {
            options[key] = look[key];
        } else {
            options.erase(key);
        }
    }
    if (logo.empty()) {
        options.erase("logo");
    } else {
        options["logo"] = logo;
    }
    return DumpJson(options);
}

std::string LogoKey(const json& settings) {
    return settings.contains("logo") && settings["logo"].is_string() ? settings["logo"].get<std::string>() : "";
}

}  // namespace

// Stores the show's settings and gives its episodes its look, in one transaction.
Status App::StoreShowLook(const ShowRow& show) {
    const json settings = ParseJsonOr(show.settings, json::object());
    return deps_.db->InTransaction([&](Tx& tx) {
        UpdateShowSettings(tx, show.id, show.auto_process, show.poll_every_ms, show.settings);
        for (const std::string& id : EpisodesOfShow(tx, show.id)) {
            const auto episode = podpromo::GetEpisode(tx, id);
            if (!episode) continue;
            SetEpisodeRenderOptions(tx, id, WithLook(episode->render_options, settings, LogoKey(settings)));
        }
    });
}

Result<ShowRow> App::SetShowLook(const Caller& who, const std::string& show_id, const json& look) {
    if (!look.is_object()) return Status::InvalidInput("the look must be a JSON object");
    PODPROMO_ASSIGN_OR_RETURN(ShowRow show, VisibleShow(who, show_id));
    json settings = ParseJsonOr(show.settings, json::object());
    for (const auto& item : look.items()) {
        const std::string& key = item.key();
        const json& value = item.value();
        const bool known = std::any_of(std::begin(kRenderOptionKeys) + 1, std::end(kRenderOptionKeys),
                                       [&](const char* k) { return key == k; });
        if (!known) return Status::InvalidInput("'" + TruncateUtf8(key, 40) + "' is not part of a show's look");
        PODPROMO_ASSIGN_OR_RETURN(const std::string text, OptionValueText(value, key));
        if (text.empty()) {
            settings.erase(key);
        } else {
            settings[key] = text;
        }
    }
    if (settings.contains("font")) {
        const std::vector<std::string>& fonts = InstalledFonts();
        const std::string font = settings["font"].get<std::string>();
        if (!fonts.empty() && std::find(fonts.begin(), fonts.end(), font) == fonts.end()) {
            return Status::InvalidInput("the font '" + TruncateUtf8(font, 60) + "' is not installed here");
        }
    }
    PODPROMO_RETURN_IF_ERROR(ParseUploadOptions(SettingsMap(DumpJson(settings))).status());
    show.settings = DumpJson(settings);
    PODPROMO_RETURN_IF_ERROR(StoreShowLook(show));
    return show;
}

Result<ShowRow> App::SetShowLogo(const Caller& who, const std::string& show_id, const std::string& picture) {
    PODPROMO_ASSIGN_OR_RETURN(ShowRow show, VisibleShow(who, show_id));
    if (picture.size() > kMaxLogoBytes) {
        return Status::TooLarge(fmt::format("a logo is at most {} MB", kMaxLogoBytes >> 20));
    }
    json settings = ParseJsonOr(show.settings, json::object());
    const std::string key = "shows/" + show.id + "/logo.png";
    PODPROMO_ASSIGN_OR_RETURN(const fs::path dest, deps_.storage->Resolve(key));
    if (picture.empty()) {
        settings.erase("logo");
    } else {
        PODPROMO_RETURN_IF_ERROR(deps_.storage->CheckRoom(static_cast<int64_t>(picture.size())));
        PODPROMO_ASSIGN_OR_RETURN(auto file, UploadFile::Create(deps_.storage->tmp_dir(), deps_.storage->fs()));
        PODPROMO_RETURN_IF_ERROR(file->Write(picture.data(), picture.size()));
        PODPROMO_RETURN_IF_ERROR(CheckPicture(file.get(), "the logo", NormalizeLogo));
        PODPROMO_RETURN_IF_ERROR(file->Commit(dest));
        settings["logo"] = key;
    }
    show.settings = DumpJson(settings);
    PODPROMO_RETURN_IF_ERROR(StoreShowLook(show));
    if (picture.empty()) {
        std::error_code ec;
        fs::remove(dest, ec);
    }
    return show;
}

Result<std::string> App::ShowLogo(const Caller& who, const std::string& show_id) {
    PODPROMO_ASSIGN_OR_RETURN(const ShowRow show, VisibleShow(who, show_id));
    const std::string key = LogoKey(ParseJsonOr(show.settings, json::object()));
    if (key.empty()) return Status::NotFound("the show has no logo");
    PODPROMO_ASSIGN_OR_RETURN(const fs::path path, deps_.storage->Resolve(key));
    return ReadFileBytes(path);
}

Result<ShowRow> App::VisibleShow(const Caller& who, const std::string& show_id) {
    std::optional<ShowRow> show;
    PODPROMO_RETURN_IF_ERROR(deps_.db->With([&](Tx& tx) { show = podpromo::GetShow(tx, show_id); }));
    if (!show || !who.Sees(show->owner_id)) return Status::NotFound("no such show");
    return std::move(*show);
}

Result<App::ShowAdded> App::AddShow(const Caller& who, const std::string& feed_url, bool auto_process,
                                    const std::map<std::string, std::string>& settings) {
    PODPROMO_RETURN_IF_ERROR(CheckFetchUrl(feed_url));
    PODPROMO_RETURN_IF_ERROR(ParseUploadOptions(settings).status());
    std::optional<ShowRow> existing;
    PODPROMO_RETURN_IF_ERROR(deps_.db->With([&](Tx& tx) { existing = ShowWithFeed(tx, who.user_id, feed_url); }));
    if (existing) {
        PODPROMO_ASSIGN_OR_RETURN(ShowBundle bundle, GetShow(who, existing->id, 50));
        return ShowAdded{std::move(bundle), true};
    }
    Status room;
    PODPROMO_RETURN_IF_ERROR(deps_.db->With([&](Tx& tx) { room = RoomForShow(tx, who.user_id); }));
    PODPROMO_RETURN_IF_ERROR(room);  // (before the feed is read: a refused add costs no fetch)
    ShowRow show;
    show.id = NewId("show");
    show.owner_id = who.user_id;
    show.feed_url = feed_url;
    show.auto_process = auto_process ? 1 : 0;
    show.poll_every_ms = limits_.feed_poll_every_ms;
    json kept = json::object();
    for (const auto& [k, v] : settings) {
        if (!v.empty()) kept[k] = v;
    }
    show.settings = DumpJson(kept);
    show.created_at = deps_.clock->NowMs();
    PODPROMO_RETURN_IF_ERROR(Poll(show, /*first=*/true).status());
    PODPROMO_ASSIGN_OR_RETURN(ShowBundle bundle, GetShow(who, show.id, 50));
    return ShowAdded{std::move(bundle), false};
}

// Reads the feed and records what it found. The first read stores the show (and fails without storing anything);
// a later one records its outcome on the show whatever it was.
Result<ShowPolled> App::Poll(ShowRow show, bool first, const CancelToken* stop) {
    const DbInt now = deps_.clock->NowMs();
    FetchAsk ask;
    ask.url = show.feed_url;
    if (!first) ask.if_none_match = show.etag, ask.if_modified_since = show.last_modified;
    show.last_polled_at = now;
    show.next_poll_at = now + show.poll_every_ms;
    ShowPolled out;
    Result<Feed> feed = Feed{};  // (read only when the feed answered 200)
    auto fetched = FetchText(ask, limits_.feed_fetch, stop);
    if (fetched.status().code() == StatusCode::kCancelled) return fetched.status();  // (the service is stopping)
    Status failed = fetched.status();
    if (fetched.ok() && fetched->first.status == 200) {
        feed = ParseFeed(fetched->second);
        failed = feed.status();
    }
    if (first && !failed.ok()) return failed;
    int fresh = 0;
    std::vector<FeedItemRow> owed;  // items automatic processing owes the show: new ones, and ones refused before
    if (!failed.ok()) {
        show.last_status = "error";
        show.last_error = TruncateUtf8(failed.message(), 500);
    } else if (fetched->first.status == 304) {
        show.last_status = "not_modified";
        show.last_error.clear();
    } else {
        out.changed = true;
        show.last_status = "ok";
        show.last_error.clear();
        show.etag = fetched->first.etag;
        show.last_modified = fetched->first.last_modified;
        show.title = feed->title.empty() ? show.feed_url : TruncateUtf8(feed->title, 200);
        show.image_url = feed->image_url;
        show.persons = PersonsJson(feed->persons);
    }
    Status room;
    const Status stored = deps_.db->InTransaction([&](Tx& tx) {
        fresh = 0;
        if (first) {
            room = RoomForShow(tx, show.owner_id);
            if (!room.ok()) throw std::runtime_error("show refused: " + room.message());  // (rolls back)
            InsertShow(tx, show);
        } else {
            UpdateShowPoll(tx, show);
        }
        if (out.changed) fresh = StoreItems(tx, show, *feed, first, now);
        owed = show.auto_process != 0 ? PendingFeedItems(tx, show.id) : std::vector<FeedItemRow>{};
    });
    PODPROMO_RETURN_IF_ERROR(room);
    PODPROMO_RETURN_IF_ERROR(stored);
    out.new_items = fresh;
    out.processed = QueueOwedItems(show, owed);
    out.show = std::move(show);
    if (!failed.ok()) return failed;
    return out;
}

Status App::RoomForShow(Tx& tx, const std::string& owner_id) const {
    if (limits_.user_max_shows <= 0 || owner_id.empty()) return Status::Ok();
    const DbInt shows = CountShows(tx, owner_id);
    if (shows < limits_.user_max_shows) return Status::Ok();
    return Status::PermissionDenied(fmt::format("you follow {} shows, the most USER_MAX_SHOWS allows: remove one to "
                                                "follow another",
                                                shows))
        .WithSlug("user_shows");
}

int App::QueueOwedItems(const ShowRow& show, const std::vector<FeedItemRow>& owed) {
    int queued = 0;
    for (const FeedItemRow& item : owed) {
        auto q = QueueFeedItem(show, item, /*by_poll=*/true);
        if (q.ok()) {
            ++queued;
            continue;
        }
        const bool never = q.status().code() == StatusCode::kInvalidInput;  // its enclosure, or the show's settings
        LogIfFailed(q.status(), never ? "a new feed item cannot be made" : "a new feed item waits for the next read",
                    {{"show_id", show.id}, {"guid", item.guid}});
        if (!never) continue;
        LogIfFailed(deps_.db->InTransaction([&](Tx& tx) { DropPendingFeedItem(tx, show.id, item.guid); }),
                    "giving up a feed item", {{"show_id", show.id}, {"guid", item.guid}});
    }
    return queued;
}

Result<FeedItemQueued> App::QueueFeedItem(const ShowRow& show, const FeedItemRow& item, bool by_poll) {
    if (item.enclosure_url.empty()) {
        return Status::InvalidInput("the feed item has no audio or video enclosure").WithSlug("no_enclosure");
    }
    PODPROMO_RETURN_IF_ERROR(CheckFetchUrl(item.enclosure_url));
    PODPROMO_ASSIGN_OR_RETURN(UploadOptions options, ParseUploadOptions(SettingsMap(show.settings)));
    FeedItemQueued q;
    EpisodeRow& ep = q.episode;
    ep.id = NewId("ep");
    ep.owner_id = show.owner_id;
    ep.title = item.title;
    ep.filename = EnclosureFileName(item.enclosure_url);
    ep.duration = item.duration;
    ep.genre = options.pipeline.genre;
    ep.platform = options.pipeline.platform;
    ep.clip_count = options.pipeline.clips;
    const json settings = ParseJsonOr(show.settings, json::object());
    ep.render_options = WithLook(DumpJson(MediaOptionsToJson(options.media)), settings, LogoKey(settings));
    ep.created_at = ep.updated_at = deps_.clock->NowMs();
    // A new episode found by a poll is batch work; one a person asked for is theirs to wait for.
    q.job = NewJob(ep.id, JobKind::kProcess, by_poll ? 0 : options.priority, ep.created_at);
    json payload = JobVocabularyToPayload({show.title.empty() ? std::nullopt : std::optional(show.title), {}});
    payload["feed"] = {{"show_id", show.id},
                       {"guid", item.guid},
                       {"enclosure_url", item.enclosure_url},
                       {"enclosure_bytes", item.enclosure_bytes},
                       {"transcript_url", item.transcript_url},
                       {"transcript_type", item.transcript_type},
                       {"chapters_url", item.chapters_url},
                       {"image_url", show.image_url}};  // the show's artwork: its audiograms' cover
    q.job.payload = DumpJson(payload);
    Status room;
    bool taken = false;
    PODPROMO_RETURN_IF_ERROR(deps_.db->InTransaction([&](Tx& tx) {
        room = RoomIn(tx, ep.owner_id, {0, ep.duration});
        if (!room.ok()) return;
        taken = !SetFeedItemEpisode(tx, show.id, item.guid, ep.id);
        if (taken) return;
        InsertEpisode(tx, ep);
        InsertJob(tx, q.job);
    }));
    PODPROMO_RETURN_IF_ERROR(room);
    if (taken) {
        return Status::FailedPrecondition("this episode of the feed is already processed or queued")
            .WithSlug("already_processed");
    }
    deps_.events->Publish(JobEvent(q.job.id, ep.id, "queued", "queued", 0, ""));
    if (deps_.wake) deps_.wake();
    Log(LogLevel::kInfo, "a feed item is queued",
        {{"show_id", show.id}, {"episode_id", ep.id}, {"job_id", q.job.id}, {"by_poll", by_poll}});
    return q;
}

Result<std::vector<ShowRow>> App::ListShows(const Caller& who) {
    std::vector<ShowRow> shows;
    PODPROMO_RETURN_IF_ERROR(deps_.db->With(
        [&](Tx& tx) { shows = podpromo::ListShows(tx, who.sees_all ? std::nullopt : std::optional(who.user_id)); }));
    return shows;
}

Result<ShowBundle> App::GetShow(const Caller& who, const std::string& show_id, int item_limit) {
    PODPROMO_ASSIGN_OR_RETURN(ShowRow show, VisibleShow(who, show_id));
    ShowBundle b;
    PODPROMO_RETURN_IF_ERROR(deps_.db->With([&](Tx& tx) {
        b.items = ListFeedItems(tx, show_id, std::clamp(item_limit, 1, 1000));
        b.item_count = CountFeedItems(tx, show_id);
    }));
    b.show = std::move(show);
    return b;
}

Status App::DeleteShow(const Caller& who, const std::string& show_id) {
    PODPROMO_RETURN_IF_ERROR(VisibleShow(who, show_id).status());
    PODPROMO_RETURN_IF_ERROR(deps_.db->InTransaction([&](Tx& tx) { podpromo::DeleteShow(tx, show_id); }));
    // Its logo goes with it: its episodes' renders then go without (span_render.h's AttachEpisodeImages).
    if (auto folder = deps_.storage->Resolve("shows/" + show_id); folder.ok()) {
        std::error_code ec;
        fs::remove_all(*folder, ec);
    }
    return Status::Ok();
}

Result<ShowPolled> App::PollShow(const Caller& who, const std::string& show_id) {
    PODPROMO_ASSIGN_OR_RETURN(ShowRow show, VisibleShow(who, show_id));
    return Poll(std::move(show), /*first=*/false);
}

Result<int> App::PollDueShows(const CancelToken* stop) {
    std::vector<ShowRow> due;
    PODPROMO_RETURN_IF_ERROR(
        deps_.db->With([&](Tx& tx) { due = ShowsDue(tx, deps_.clock->NowMs(), kShowsPolledAtOnce); }));
    // Each reader takes the next show not yet taken, until none is left or the stop comes.
    std::atomic<size_t> next{0};
    std::atomic<int> read{0};
    auto reader = [&] {
        for (size_t i = next++; i < due.size() && !(stop && stop->cancelled()); i = next++) {
            ++read;
            if (PollOneDue(std::move(due[i]), stop).code() == StatusCode::kCancelled) return;
        }
    };
    const size_t threads = std::min(due.size(), static_cast<size_t>(std::max(1, limits_.feed_polls_at_once)));
    std::vector<std::thread> others;
    for (size_t t = 1; t < threads; ++t) others.emplace_back(reader);
    reader();
    for (auto& t : others) t.join();
    if (stop && stop->cancelled()) return Status::Cancelled();  // (stopping: not a failure)
    return read.load();
}

Status App::PollOneDue(ShowRow show, const CancelToken* stop) {
    const std::string id = show.id;
    auto polled = Poll(std::move(show), /*first=*/false, stop);
    if (polled.status().code() == StatusCode::kCancelled) return polled.status();
    if (!polled.ok()) {
        Log(LogLevel::kWarn, "a show's feed could not be read",
            {{"show_id", id}, {"error", polled.status().message()}});
    } else if (polled->new_items > 0) {
        Log(LogLevel::kInfo, "a show's feed has new items",
            {{"show_id", id}, {"new_items", polled->new_items}, {"queued", polled->processed}});
    }
    return Status::Ok();
}

Result<FeedItemQueued> App::ProcessFeedItem(const Caller& who, const std::string& show_id, const std::string& guid) {
    PODPROMO_ASSIGN_OR_RETURN(ShowRow show, VisibleShow(who, show_id));
    std::optional<FeedItemRow> item;
    PODPROMO_RETURN_IF_ERROR(deps_.db->With([&](Tx& tx) { item = GetFeedItem(tx, show_id, guid); }));
    if (!item) return Status::NotFound("the show's feed has no such item");
    if (!item->episode_id.empty()) {
        return Status::FailedPrecondition("this episode of the feed is already processed or queued")
            .WithSlug("already_processed");
    }
    return QueueFeedItem(show, *item, /*by_poll=*/false);
}

Result<std::vector<App::ItemSoundbites>> App::ShowSoundbites(const Caller& who, const std::string& show_id) {
    PODPROMO_ASSIGN_OR_RETURN(ShowRow show, VisibleShow(who, show_id));
    std::vector<FeedItemRow> items;
    PODPROMO_RETURN_IF_ERROR(deps_.db->With([&](Tx& tx) { items = ListFeedItems(tx, show_id, 1000); }));
    std::vector<ItemSoundbites> out;
    for (FeedItemRow& item : items) {
        if (item.episode_id.empty()) continue;
        auto clips = Soundbites(who, item.episode_id);
        if (!clips.ok() || clips->empty()) continue;  // (deleted, or not ready yet)
        out.push_back({std::move(item), std::move(*clips)});
    }
    return out;
}

}  // namespace podpromo
