// A loopback web server for the feed tests: each path answers with a handler the test sets (and may change between
// requests), and every request is recorded. Thread-safe.
#pragma once

#include <httplib.h>

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace podpromo::testing {

// An item of a test feed; empty fields are left out of the XML.
struct TestFeedItem {
    TestFeedItem(std::string guid_, std::string title_, std::string pub_date_, std::string duration_,
                 std::string enclosure_url_, std::string enclosure_type_ = "audio/mpeg")
        : guid(std::move(guid_)),
          title(std::move(title_)),
          pub_date(std::move(pub_date_)),
          duration(std::move(duration_)),
          enclosure_url(std::move(enclosure_url_)),
          enclosure_type(std::move(enclosure_type_)) {}
    std::string guid, title, pub_date, duration;
    std::string enclosure_url, enclosure_type;
    std::string transcript_url, transcript_type;
    std::string chapters_url;
    std::vector<std::pair<std::string, std::string>> persons;  // (name, role)
};

// An RSS 2.0 feed with the iTunes and Podcasting 2.0 namespaces, items in the order given (newest first), and the
// show's artwork at `image_url` when given.
inline std::string PodcastFeed(const std::string& title, const std::vector<TestFeedItem>& items,
                               const std::string& image_url = "") {
    std::string x = R"(<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" xmlns:podcast="https://podcastindex.org/namespace/1.0">
<channel><title>)" + title +
                    R"(</title><link>https://example.com/show</link>
<podcast:person role="host">Ada Host</podcast:person>
)";
    if (!image_url.empty()) x += "<itunes:image href=\"" + image_url + "\"/>\n";
    for (const auto& it : items) {
        x += "<item><title>" + it.title + "</title>";
        if (!it.guid.empty()) x += "<guid isPermaLink=\"false\">" + it.guid + "</guid>";
        x += "<pubDate>" + it.pub_date + "</pubDate><itunes:duration>" + it.duration + "</itunes:duration>";
        if (!it.enclosure_url.empty()) {
            x += "<enclosure url=\"" + it.enclosure_url + "\" length=\"1000\" type=\"" + it.enclosure_type + "\"/>";
        }
        if (!it.transcript_url.empty()) {
            x += "<podcast:transcript url=\"" + it.transcript_url + "\" type=\"" + it.transcript_type + "\"/>";
        }
        if (!it.chapters_url.empty()) {
            x += "<podcast:chapters url=\"" + it.chapters_url + "\" type=\"application/json+chapters\"/>";
        }
        for (const auto& [name, role] : it.persons) {
            x += "<podcast:person role=\"" + role + "\">" + name + "</podcast:person>";
        }
        x += "</item>\n";
    }
    return x + "</channel></rss>\n";
}

class FeedServer {
  public:
    using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;
    struct Seen {
        std::string path, if_none_match, if_modified_since;
    };

    FeedServer() {
        server_.Get(".*", [this](const httplib::Request& req, httplib::Response& res) {
            Handler handler;
            {
                std::lock_guard<std::mutex> lock(mu_);
                seen_.push_back(
                    {req.path, req.get_header_value("If-None-Match"), req.get_header_value("If-Modified-Since")});
                const auto it = handlers_.find(req.path);
                if (it != handlers_.end()) handler = it->second;
            }
            if (handler) {
                handler(req, res);
            } else {
                res.status = 404;
            }
        });
        port_ = server_.bind_to_any_port("127.0.0.1");
        thread_ = std::thread([this] { server_.listen_after_bind(); });
        while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ~FeedServer() {
        server_.stop();
        thread_.join();
    }
    FeedServer(const FeedServer&) = delete;
    FeedServer& operator=(const FeedServer&) = delete;

    void On(const std::string& path, Handler handler) {
        std::lock_guard<std::mutex> lock(mu_);
        handlers_[path] = std::move(handler);
    }
    // A fixed body of `type`.
    void Serve(const std::string& path, std::string body, std::string type) {
        On(path, [body = std::move(body), type = std::move(type)](const httplib::Request&, httplib::Response& res) {
            res.set_content(body, type);
        });
    }
    // A redirect (302) to `to` (a path of this server, or a whole URL).
    void Redirect(const std::string& path, const std::string& to) {
        const std::string target = to.find("://") == std::string::npos ? url() + to : to;
        On(path, [target](const httplib::Request&, httplib::Response& res) { res.set_redirect(target); });
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    int port() const { return port_; }
    std::vector<Seen> seen() {
        std::lock_guard<std::mutex> lock(mu_);
        return seen_;
    }
    int Count(const std::string& path) {
        std::lock_guard<std::mutex> lock(mu_);
        int n = 0;
        for (const auto& s : seen_) n += s.path == path ? 1 : 0;
        return n;
    }

  private:
    httplib::Server server_;
    int port_ = 0;
    std::thread thread_;
    std::mutex mu_;
    std::map<std::string, Handler> handlers_;
    std::vector<Seen> seen_;
};

}  // namespace podpromo::testing
