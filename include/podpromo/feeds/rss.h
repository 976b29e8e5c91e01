// A podcast's RSS feed, read: the show and its items with what PodPromo uses of them (the enclosure, and the
// Podcasting 2.0 namespace's transcript, chapters and person tags). Pure: no I/O.
//
// Hostile input is ordinary input: the caller bounds the document's bytes (feeds/fetch.h), and the parser bounds what
// it keeps (kMaxFeedItems items, each text cut to its limit, at most 64 nested elements). A document that declares
// entities or a DTD subset is refused (no entity is ever expanded), as is one that is not well-formed XML.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "podpromo/core/status.h"
#include "podpromo/core/types.h"

namespace podpromo {

inline constexpr size_t kMaxFeedItems = 3000;  // the newest (a feed lists newest first); the rest are left out

struct FeedPerson {
    std::string name, role, href;  // role as the feed says ("host", "guest"; "host" when it says none)
};
struct FeedTranscriptLink {
    std::string url, type, language, rel;  // type: a MIME type ("application/json", "text/vtt", "application/srt")
};
struct FeedItem {
    std::string guid;  // the item's <guid>, else its enclosure's URL
    std::string title;
    int64_t published_ms = 0;  // <pubDate> (RFC 822); 0 when absent or unreadable
    double duration_s = 0;     // <itunes:duration> (seconds, MM:SS or HH:MM:SS); 0 when absent
    std::string enclosure_url, enclosure_type;
    int64_t enclosure_bytes = 0;  // as the feed states it (often wrong: never trusted as a limit)
    std::vector<FeedTranscriptLink> transcripts;
    std::string chapters_url;  // <podcast:chapters url=…> (JSON chapters)
    std::vector<FeedPerson> persons;
};
struct Feed {
    std::string title, link, image_url;
    std::vector<FeedPerson> persons;  // the channel's own (its hosts)
    std::vector<FeedItem> items;      // in the feed's order
    size_t items_left_out = 0;        // past kMaxFeedItems
};

// InvalidInput "invalid_feed" (naming the line) for what is not an RSS document.
Result<Feed> ParseFeed(std::string_view xml);

// The transcript to use of an item's: JSON (Podcasting 2.0 or Whisper), then WebVTT, then SRT; null when none is of
// a kind PodPromo reads (HTML and plain text are not: they carry no times).
const FeedTranscriptLink* PreferredTranscript(const FeedItem& item);

// Podcasting 2.0 JSON chapters ({"chapters": [{"startTime": s, "title": …}]}): their start times in milliseconds
// and titles, in time order, at most 500. InvalidInput for what is not such a document.
Result<std::vector<Chapter>> ParseChapters(std::string_view json);

// "Tue, 01 Dec 2026 10:00:00 GMT" (and numeric zones) as milliseconds since the epoch; 0 when unreadable.
int64_t ParseRfc822Date(std::string_view text);
// "3600", "59:59", "1:02:03" as seconds; 0 when unreadable.
double ParseItunesDuration(std::string_view text);

}  // namespace podpromo
