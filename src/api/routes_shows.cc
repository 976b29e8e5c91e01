// Shows added by their RSS feed: thin adapters over App's show use cases (app/shows.cc).
#include <httplib.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "documents.h"
#include "http_common.h"
#include "podpromo/api/server.h"
#include "podpromo/app/app.h"
#include "podpromo/core/utf8.h"
#include "podpromo/media/render.h"
#include "server_state.h"

namespace podpromo {
using namespace http;  // NOLINT(google-build-using-namespace): the handlers' own helpers
using httplib::Request;
using httplib::Response;
using nlohmann::json;

namespace {

json BundleToJson(const ShowBundle& b) {
    json items = json::array();
    for (const auto& i : b.items) items.push_back(FeedItemRowToJson(i));
    return {{"show", ShowRowToJson(b.show)}, {"items", items}, {"item_count", b.item_count}};
}

// The show-level soundbite feed: an <item> per processed episode, holding its guid, title and soundbites.
std::string SoundbiteFeed(const ShowRow& show, const std::vector<App::ItemSoundbites>& items) {
    std::string x =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<rss version=\"2.0\" xmlns:podcast=\"https://podcastindex.org/namespace/1.0\">\n<channel>\n"
        "<title>" +
        EscapeXml(show.title) + "</title>\n<link>" + EscapeXml(show.feed_url) + "</link>\n";
    for (const auto& [item, clips] : items) {
        x += "<item>\n<guid isPermaLink=\"false\">" + EscapeXml(item.guid) + "</guid>\n<title>" +
             EscapeXml(item.title) + "</title>\n";
        for (const ClipRow& c : clips) x += SoundbiteXml(c) + "\n";
        x += "</item>\n";
    }
    return x + "</channel>\n</rss>\n";
}

// The new episodes' fields of POST /shows: genre, platform, clips and the render options, as text.
Result<std::map<std::string, std::string>> NewEpisodeSettings(const json& body) {
    std::vector<const char*> keys = {"genre", "platform", "clips"};
    keys.insert(keys.end(), std::begin(kRenderOptionKeys), std::end(kRenderOptionKeys));
    std::map<std::string, std::string> settings;
    for (const char* k : keys) {
        if (!body.contains(k)) continue;
        PODPROMO_ASSIGN_OR_RETURN(settings[k], OptionValueText(body[k], k));
    }
    return settings;
}

}  // namespace

void ApiServer::ShowRoutes() {
    auto& svr = *server_;

    svr.Get("/api/v1/shows", [this](const Request&, Response& res) {
        auto shows = app_->ListShows(CurrentCaller());
        if (!shows.ok()) return SendStatus(res, shows.status());
        json list = json::array();
        for (const auto& s : *shows) list.push_back(ShowRowToJson(s));
        SendJson(res, 200, {{"shows", list}});
    });

    // {"feed_url", "auto_process" (default true), and the new episodes' fields: genre, platform, clips and the render
    // options (pipeline.h's kRenderOptionKeys)}. The feed is read at once: 201 with the show and its items, 200 when
    // the caller had added it already.
    svr.Post("/api/v1/shows", [this](const Request& req, Response& res) {
        const json body = json::parse(req.body, nullptr, false);
        if (!body.is_object() || !body.contains("feed_url") || !body["feed_url"].is_string()) {
            return SendStatus(res, Status::InvalidInput("send {\"feed_url\": \"https://…/feed.xml\"}"));
        }
        auto settings = NewEpisodeSettings(body);
        if (!settings.ok()) return SendStatus(res, settings.status());
        const bool auto_process = !body.contains("auto_process") || body["auto_process"] == true;
        auto added = app_->AddShow(CurrentCaller(), body["feed_url"].get<std::string>(), auto_process, *settings);
        if (!added.ok()) return SendStatus(res, added.status());
        res.set_header("Location", "/api/v1/shows/" + added->bundle.show.id);
        SendJson(res, added->existed ? 200 : 201, BundleToJson(added->bundle));
    });

    svr.Get(R"(/api/v1/shows/([A-Za-z0-9_]+))", [this](const Request& req, Response& res) {
        const auto limit = ParseInt(Param(req, "limit", "100"));
        auto bundle = app_->GetShow(CurrentCaller(), req.matches[1], static_cast<int>(limit.value_or(100)));
        if (!bundle.ok()) return SendStatus(res, bundle.status());
        SendJson(res, 200, BundleToJson(*bundle));
    });

    svr.Delete(R"(/api/v1/shows/([A-Za-z0-9_]+))", [this](const Request& req, Response& res) {
        if (Status st = app_->DeleteShow(CurrentCaller(), req.matches[1]); !st.ok()) return SendStatus(res, st);
        res.status = 204;
    });

    // Reads the feed now: {"show", "changed", "new_items", "queued"}.
    svr.Post(R"(/api/v1/shows/([A-Za-z0-9_]+)/poll)", [this](const Request& req, Response& res) {
        auto polled = app_->PollShow(CurrentCaller(), req.matches[1]);
        if (!polled.ok()) return SendStatus(res, polled.status());
        SendJson(res, 200,
                 {{"show", ShowRowToJson(polled->show)},
                  {"changed", polled->changed},
                  {"new_items", polled->new_items},
                  {"queued", polled->processed}});
    });

    // {"guid"}: the item becomes an episode, downloaded and processed by a job. 202 with both.
    svr.Post(R"(/api/v1/shows/([A-Za-z0-9_]+)/items/process)", [this](const Request& req, Response& res) {
        const json body = json::parse(req.body, nullptr, false);
        if (!body.is_object() || !body.contains("guid") || !body["guid"].is_string()) {
            return SendStatus(res, Status::InvalidInput("send {\"guid\": \"the feed item's guid\"}"));
        }
        auto queued = app_->ProcessFeedItem(CurrentCaller(), req.matches[1], body["guid"].get<std::string>());
        if (!queued.ok()) return SendStatus(res, queued.status());
        res.set_header("Location", "/api/v1/jobs/" + queued->job.id);
        SendJson(res, 202, {{"episode", EpisodeRowToJson(queued->episode)}, {"job", JobRowToJson(queued->job)}});
    });

    // The show's soundbites as RSS items (guid, title, <podcast:soundbite> lines), for a host that merges them.
    svr.Get(R"(/api/v1/shows/([A-Za-z0-9_]+)/soundbites)", [this](const Request& req, Response& res) {
        auto show = app_->GetShow(CurrentCaller(), req.matches[1], 1);
        if (!show.ok()) return SendStatus(res, show.status());
        auto items = app_->ShowSoundbites(CurrentCaller(), req.matches[1]);
        if (!items.ok()) return SendStatus(res, items.status());
        res.set_content(SoundbiteFeed(show->show, *items), "application/rss+xml; charset=utf-8");
    });
}

// A show's look: its caption and background choices, its logo, and the fonts there are to choose from.
void ApiServer::LookRoutes() {
    auto& svr = *server_;

    // {"style", "font", "color", "highlight", "size", "outline", "position", "uppercase", "background"}, each optional
    // ("" resets it): the show's episodes take it. 200 with the show.
    svr.Patch(R"(/api/v1/shows/([A-Za-z0-9_]+)/look)", [this](const Request& req, Response& res) {
        const json body = json::parse(req.body, nullptr, false);
        auto show = app_->SetShowLook(CurrentCaller(), req.matches[1], body);
        if (!show.ok()) return SendStatus(res, show.status());
        SendJson(res, 200, {{"show", ShowRowToJson(*show)}});
    });

    // The logo: a picture as the body (PUT), kept as a PNG; DELETE removes it; GET gives it back.
    svr.Put(R"(/api/v1/shows/([A-Za-z0-9_]+)/logo)", [this](const Request& req, Response& res) {
        if (req.body.empty()) return SendStatus(res, Status::InvalidInput("send the picture as the request's body"));
        auto show = app_->SetShowLogo(CurrentCaller(), req.matches[1], req.body);
        if (!show.ok()) return SendStatus(res, show.status());
        SendJson(res, 200, {{"show", ShowRowToJson(*show)}});
    });
    svr.Delete(R"(/api/v1/shows/([A-Za-z0-9_]+)/logo)", [this](const Request& req, Response& res) {
        auto show = app_->SetShowLogo(CurrentCaller(), req.matches[1], "");
        if (!show.ok()) return SendStatus(res, show.status());
        SendJson(res, 200, {{"show", ShowRowToJson(*show)}});
    });
    svr.Get(R"(/api/v1/shows/([A-Za-z0-9_]+)/logo)", [this](const Request& req, Response& res) {
        auto logo = app_->ShowLogo(CurrentCaller(), req.matches[1]);
        if (!logo.ok()) return SendStatus(res, logo.status());
        res.set_header("Cache-Control", "private, no-cache");
        res.set_content(*logo, "image/png");
    });

    svr.Get("/api/v1/fonts", [](const Request&, Response& res) { SendJson(res, 200, {{"fonts", InstalledFonts()}}); });
}

}  // namespace podpromo
