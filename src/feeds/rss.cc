#include "podpromo/feeds/rss.h"

#include <expat.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>
#include <optional>

#include "podpromo/core/types.h"
#include "podpromo/core/utf8.h"

namespace podpromo {

namespace {

constexpr size_t kMaxDepth = 64;
constexpr size_t kMaxText = 2000;  // bytes kept of any element's text
constexpr size_t kMaxUrl = 2000;
constexpr size_t kMaxPersons = 50;
constexpr size_t kMaxTranscripts = 10;

// Namespace-qualified names come as "uri|local".
constexpr std::string_view kItunes = "http://www.itunes.com/dtds/podcast-1.0.dtd|";
bool IsPodcast(std::string_view name, std::string_view local) {
    const auto bar = name.rfind('|');
    if (bar == std::string_view::npos || name.substr(bar + 1) != local) return false;
    const std::string_view uri = name.substr(0, bar);
    return uri == "https://podcastindex.org/namespace/1.0" ||
           uri == "https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md";
}
bool IsItunes(std::string_view name, std::string_view local) {
    return name.size() == kItunes.size() + local.size() && name.substr(0, kItunes.size()) == kItunes &&
           name.substr(kItunes.size()) == local;
}

std::string Trimmed(std::string_view s, size_t limit) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return TruncateUtf8(std::string(s), limit);
}

std::string Attr(const XML_Char** attrs, std::string_view name, size_t limit = kMaxUrl) {
    for (size_t i = 0; attrs[i] != nullptr && attrs[i + 1] != nullptr; i += 2) {
        if (name == attrs[i]) return Trimmed(attrs[i + 1], limit);
    }
    return "";
}

struct Reader {
    Feed feed;
    std::vector<std::string> path;  // the open elements' names
    std::optional<FeedItem> item;   // the open <item>
    std::optional<FeedPerson> person;
    std::string text;
    bool refused = false;
    std::string why;
    XML_Parser parser = nullptr;

    void Refuse(std::string reason) {
        if (refused) return;
        refused = true;
        why = std::move(reason);
        XML_StopParser(parser, XML_FALSE);
    }

    bool InChannel() const { return path.size() >= 2 && path[path.size() - 2] == "channel"; }

    void Start(const std::string& name, const XML_Char** attrs);
    void End(const std::string& name);
    void StartInItem(const std::string& name, const XML_Char** attrs);
    void EndItem(const std::string& name, const std::string& value);
};

void Reader::Start(const std::string& name, const XML_Char** attrs) {
    text.clear();
    if (name == "item" && path.size() >= 1 && path.back() == "channel") {
        item.emplace();
    } else if (item) {
        StartInItem(name, attrs);
    } else if (IsPodcast(name, "person") && path.size() >= 1 && path.back() == "channel") {
        person = FeedPerson{"", Attr(attrs, "role", 50), Attr(attrs, "href")};
    } else if (IsItunes(name, "image") && path.size() >= 1 && path.back() == "channel" && feed.image_url.empty()) {
        feed.image_url = Attr(attrs, "href");
    }
    path.push_back(name);
}

void Reader::StartInItem(const std::string& name, const XML_Char** attrs) {
    FeedItem& it = *item;
    if (name == "enclosure" && it.enclosure_url.empty()) {
        it.enclosure_url = Attr(attrs, "url");
        it.enclosure_type = Attr(attrs, "type", 100);
        it.enclosure_bytes = ParseInt(Attr(attrs, "length", 20)).value_or(0);
    } else if (IsPodcast(name, "transcript") && it.transcripts.size() < kMaxTranscripts) {
        it.transcripts.push_back(
            {Attr(attrs, "url"), Attr(attrs, "type", 100), Attr(attrs, "language", 20), Attr(attrs, "rel", 50)});
    } else if (IsPodcast(name, "chapters") && it.chapters_url.empty()) {
        it.chapters_url = Attr(attrs, "url");
    } else if (IsPodcast(name, "person")) {
        person = FeedPerson{"", Attr(attrs, "role", 50), Attr(attrs, "href")};
    }
}

void Reader::EndItem(const std::string& name, const std::string& value) {
    FeedItem& it = *item;
    if (name == "title") {
        it.title = value;
    } else if (name == "guid") {
        it.guid = TruncateUtf8(value, kMaxUrl);
    } else if (name == "pubDate") {
        it.published_ms = ParseRfc822Date(value);
    } else if (IsItunes(name, "duration")) {
        it.duration_s = ParseItunesDuration(value);
    } else if (IsPodcast(name, "person") && person) {
        person->name = value;
        if (person->role.empty()) person->role = "host";
        if (!person->name.empty() && it.persons.size() < kMaxPersons) it.persons.push_back(std::move(*person));
        person.reset();
    }
}

void Reader::End(const std::string& name) {
    const std::string value = Trimmed(text, kMaxText);
    text.clear();
    if (!path.empty()) path.pop_back();
    if (item && name == "item" && path.size() >= 1 && path.back() == "channel") {
        if (item->guid.empty()) item->guid = item->enclosure_url;
        if (feed.items.size() < kMaxFeedItems) {
            feed.items.push_back(std::move(*item));
        } else {
            ++feed.items_left_out;
        }
        item.reset();
    } else if (item) {
        if (path.size() >= 1 && path.back() == "item") EndItem(name, value);
    } else if (InChannel() || (path.size() >= 1 && path.back() == "channel")) {
        if (name == "title" && path.back() == "channel") feed.title = value;
        if (name == "link" && path.back() == "channel" && feed.link.empty()) feed.link = TruncateUtf8(value, kMaxUrl);
        if (name == "url" && path.back() == "image" && feed.image_url.empty()) feed.image_url = value;
        if (IsPodcast(name, "person") && person) {
            person->name = value;
            if (person->role.empty()) person->role = "host";
            if (!person->name.empty() && feed.persons.size() < kMaxPersons) feed.persons.push_back(std::move(*person));
            person.reset();
        }
    }
}

struct ParserDeleter {
    void operator()(XML_Parser p) const { XML_ParserFree(p); }
};

}  // namespace

Result<Feed> ParseFeed(std::string_view xml) {
    std::unique_ptr<XML_ParserStruct, ParserDeleter> parser(XML_ParserCreateNS(nullptr, '|'));
    if (!parser) return Status::Internal("cannot make an XML parser");
    XML_Parser p = parser.get();
    Reader r;
    r.parser = p;
    XML_SetUserData(p, &r);
    XML_SetParamEntityParsing(p, XML_PARAM_ENTITY_PARSING_NEVER);
    XML_SetEntityDeclHandler(
        p, [](void* data, const XML_Char*, int, const XML_Char*, int, const XML_Char*, const XML_Char*, const XML_Char*,
              const XML_Char*) { static_cast<Reader*>(data)->Refuse("it declares entities"); });
    XML_SetStartElementHandler(p, [](void* data, const XML_Char* name, const XML_Char** attrs) {
        auto* reader = static_cast<Reader*>(data);
        if (reader->path.size() >= kMaxDepth) {
            reader->Refuse(fmt::format("its elements nest deeper than {}", kMaxDepth));
            return;
        }
        reader->Start(name, attrs);
    });
    XML_SetEndElementHandler(p, [](void* data, const XML_Char* name) { static_cast<Reader*>(data)->End(name); });
    XML_SetCharacterDataHandler(p, [](void* data, const XML_Char* s, int len) {
        auto* reader = static_cast<Reader*>(data);
        if (reader->text.size() < kMaxText * 2) reader->text.append(s, static_cast<size_t>(std::max(0, len)));
    });
    // Fed in slices, so a refusal (set by a handler) stops the parse within one slice.
    constexpr size_t kSlice = 64 * 1024;
    for (size_t at = 0; at <= xml.size(); at += kSlice) {
        const size_t n = std::min(kSlice, xml.size() - at);
        const bool last = at + n >= xml.size();
        if (XML_Parse(p, xml.data() + at, static_cast<int>(n), last ? XML_TRUE : XML_FALSE) != XML_STATUS_OK &&
            !r.refused) {
            return Status::InvalidInput(fmt::format("the feed is not well-formed XML (line {}: {})",
                                                    XML_GetCurrentLineNumber(p), XML_ErrorString(XML_GetErrorCode(p))))
                .WithSlug("invalid_feed");
        }
        if (r.refused) return Status::InvalidInput("the feed is refused: " + r.why).WithSlug("invalid_feed");
        if (last) break;
    }
    if (r.feed.title.empty() && r.feed.items.empty()) {
        return Status::InvalidInput("the document is not an RSS feed (no channel title or items)")
            .WithSlug("invalid_feed");
    }
    return std::move(r.feed);
}

const FeedTranscriptLink* PreferredTranscript(const FeedItem& item) {
    const auto rank = [](const FeedTranscriptLink& t) {
        std::string type = t.type;
        std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return std::tolower(c); });
        if (type == "application/json") return 0;
        if (type == "text/vtt") return 1;
        if (type == "application/srt" || type == "application/x-subrip" || type == "text/srt") return 2;
        return -1;
    };
    const FeedTranscriptLink* best = nullptr;
    for (const auto& t : item.transcripts) {
        const int r = rank(t);
        if (r >= 0 && !t.url.empty() && (best == nullptr || r < rank(*best))) best = &t;
    }
    return best;
}

Result<std::vector<Chapter>> ParseChapters(std::string_view json) {
    constexpr size_t kMaxChapters = 500;
    const auto doc = nlohmann::json::parse(json, nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("chapters") || !doc["chapters"].is_array()) {
        return Status::InvalidInput("not a Podcasting 2.0 chapters document (no \"chapters\" list)")
            .WithSlug("invalid_chapters");
    }
    std::vector<Chapter> out;
    for (const auto& c : doc["chapters"]) {
        if (out.size() >= kMaxChapters) break;
        if (!c.is_object() || !c.contains("startTime") || !c["startTime"].is_number()) continue;
        const double start = c["startTime"].get<double>();
        if (!(start >= 0 && start < 1e7)) continue;
        Chapter ch;
        ch.start_ms = static_cast<int64_t>(start * 1000.0);
        if (c.contains("title") && c["title"].is_string()) ch.title = Trimmed(c["title"].get<std::string>(), 200);
        out.push_back(std::move(ch));
    }
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.start_ms < b.start_ms; });
    return out;
}

namespace {

std::optional<int> MonthOf(std::string_view name) {
    static constexpr std::array<std::string_view, 12> kMonths = {"jan", "feb", "mar", "apr", "may", "jun",
                                                                 "jul", "aug", "sep", "oct", "nov", "dec"};
    if (name.size() < 3) return std::nullopt;
    std::string lower(name.substr(0, 3));
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    for (size_t i = 0; i < kMonths.size(); ++i) {
        if (kMonths[i] == lower) return static_cast<int>(i);
    }
    return std::nullopt;
}

// "+0100", "-0530", "GMT", "UTC", "Z", "EST"…: minutes east of UTC (0 for what is not known).
int ZoneMinutes(std::string_view zone) {
    if (zone.size() == 5 && (zone[0] == '+' || zone[0] == '-')) {
        const auto hhmm = ParseInt(std::string(zone.substr(1)));
        if (!hhmm) return 0;
        const int minutes = static_cast<int>(*hhmm / 100 * 60 + *hhmm % 100);
        return zone[0] == '-' ? -minutes : minutes;
    }
    static const std::array<std::pair<std::string_view, int>, 8> kZones = {{{"EST", -300},
                                                                            {"EDT", -240},
                                                                            {"CST", -360},
                                                                            {"CDT", -300},
                                                                            {"MST", -420},
                                                                            {"MDT", -360},
                                                                            {"PST", -480},
                                                                            {"PDT", -420}}};
    for (const auto& [name, minutes] : kZones) {
        if (zone == name) return minutes;
    }
    return 0;
}

}  // namespace

int64_t ParseRfc822Date(std::string_view text) {
    std::string s(text.substr(0, 100));
    if (const auto comma = s.find(','); comma != std::string::npos) s = s.substr(comma + 1);
    char month[16] = {0};
    char zone[16] = {0};
    int day = 0, year = 0, hh = 0, mm = 0, ss = 0;
    // "01 Dec 2026 10:00:00 GMT" or without seconds.
    int got = std::sscanf(s.c_str(), " %d %15s %d %d:%d:%d %15s", &day, month, &year, &hh, &mm, &ss, zone);
    if (got < 6) {
        ss = 0;
        got = std::sscanf(s.c_str(), " %d %15s %d %d:%d %15s", &day, month, &year, &hh, &mm, zone);
        if (got < 5) return 0;
    }
    const auto mon = MonthOf(month);
    if (!mon || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60) return 0;
    if (year < 100) year += year < 70 ? 2000 : 1900;
    if (year < 1970 || year > 9999) return 0;
    std::tm tm{};
    tm.tm_year = year - 1900;
    tm.tm_mon = *mon;
    tm.tm_mday = day;
    tm.tm_hour = hh;
    tm.tm_min = mm;
    tm.tm_sec = ss;
    const time_t t = timegm(&tm);
    if (t < 0) return 0;
    return (static_cast<int64_t>(t) - ZoneMinutes(zone) * 60LL) * 1000;
}

double ParseItunesDuration(std::string_view text) {
    std::string s = Trimmed(text, 40);
    double total = 0;
    int parts = 0;
    size_t at = 0;
    while (at <= s.size()) {
        const size_t colon = std::min(s.find(':', at), s.size());
        const std::string part = s.substr(at, colon - at);
        if (part.empty() || part.size() > 12 || part.find_first_not_of("0123456789.") != std::string::npos) return 0;
        total = total * 60 + std::strtod(part.c_str(), nullptr);
        if (++parts > 3) return 0;
        at = colon + 1;
    }
    return total >= 0 && total < 1e7 ? total : 0;
}

}  // namespace podpromo
