#include "podpromo/feeds/rss.h"

#include <gtest/gtest.h>

#include "feed_server.h"

namespace podpromo {
namespace {

using testing::PodcastFeed;
using testing::TestFeedItem;

TEST(Rss, AFeedsItemsCarryTheirEnclosureTranscriptChaptersAndPeople) {
    TestFeedItem newest{"ep-3", "Three &amp; more", "Wed, 02 Dec 2026 09:30:00 +0100", "1:02:03",
                        "https://cdn.example.com/3.mp3"};
    newest.transcript_url = "https://example.com/3.vtt";
    newest.transcript_type = "text/vtt";
    newest.chapters_url = "https://example.com/3.chapters.json";
    newest.persons = {{"Grace Guest", "guest"}};
    TestFeedItem older{"", "Two", "Tue, 01 Dec 2026 10:00:00 GMT", "1800", "https://cdn.example.com/2.mp3"};
    auto feed = ParseFeed(PodcastFeed("The Show", {newest, older}));
    ASSERT_TRUE(feed.ok()) << feed.status().ToString();
    EXPECT_EQ(feed->title, "The Show");
    ASSERT_EQ(feed->persons.size(), 1u);
    EXPECT_EQ(feed->persons[0].name, "Ada Host");
    ASSERT_EQ(feed->items.size(), 2u);
    const FeedItem& a = feed->items[0];
    EXPECT_EQ(a.guid, "ep-3");
    EXPECT_EQ(a.title, "Three & more");
    EXPECT_EQ(a.published_ms, 1796200200000LL) << "09:30 at +0100 is 08:30 UTC on 2026-12-02";
    EXPECT_DOUBLE_EQ(a.duration_s, 3723);
    EXPECT_EQ(a.enclosure_url, "https://cdn.example.com/3.mp3");
    EXPECT_EQ(a.enclosure_type, "audio/mpeg");
    ASSERT_EQ(a.transcripts.size(), 1u);
    EXPECT_EQ(a.transcripts[0].type, "text/vtt");
    EXPECT_EQ(a.chapters_url, "https://example.com/3.chapters.json");
    ASSERT_EQ(a.persons.size(), 1u);
    EXPECT_EQ(a.persons[0].name, "Grace Guest");
    EXPECT_EQ(a.persons[0].role, "guest");
    const FeedItem& b = feed->items[1];
    EXPECT_EQ(b.guid, "https://cdn.example.com/2.mp3") << "an item without a guid is known by its enclosure";
    EXPECT_DOUBLE_EQ(b.duration_s, 1800);
    EXPECT_TRUE(b.transcripts.empty());
}

TEST(Rss, EntitiesDeepNestingAndWhatIsNotAFeedAreRefused) {
    const std::string laughs = R"(<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">
<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>
<rss><channel><title>&c;</title></channel></rss>)";
    auto r = ParseFeed(laughs);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().slug(), "invalid_feed");
    EXPECT_NE(r.status().message().find("entities"), std::string::npos) << r.status().ToString();

    const std::string external = R"(<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<rss><channel><title>&x;</title></channel></rss>)";
    EXPECT_FALSE(ParseFeed(external).ok());

    std::string deep = "<rss><channel><title>t</title>";
    for (int i = 0; i < 100; ++i) deep += "<x>";
    for (int i = 0; i < 100; ++i) deep += "</x>";
    deep += "</channel></rss>";
    auto d = ParseFeed(deep);
    ASSERT_FALSE(d.ok());
    EXPECT_NE(d.status().message().find("nest"), std::string::npos);

    auto html = ParseFeed("<html><body><p>Hello</p></body></html>");
    ASSERT_FALSE(html.ok());
    EXPECT_NE(html.status().message().find("not an RSS feed"), std::string::npos);
    auto broken = ParseFeed("<rss><channel><title>t</channel>");
    ASSERT_FALSE(broken.ok());
    EXPECT_NE(broken.status().message().find("line 1"), std::string::npos) << broken.status().ToString();
    EXPECT_FALSE(ParseFeed("").ok());
}

TEST(Rss, AHugeFeedKeepsItsNewestItemsAndLongTextIsCut) {
    std::vector<TestFeedItem> items;
    for (size_t i = 0; i < kMaxFeedItems + 5; ++i) {
        items.push_back({"g" + std::to_string(i), std::string(i == 0 ? 5000 : 5, 't'), "", "",
                         "https://cdn.example.com/" + std::to_string(i) + ".mp3"});
    }
    auto feed = ParseFeed(PodcastFeed("Big", items));
    ASSERT_TRUE(feed.ok()) << feed.status().ToString();
    ASSERT_EQ(feed->items.size(), kMaxFeedItems);
    EXPECT_EQ(feed->items_left_out, 5u);
    EXPECT_EQ(feed->items.front().guid, "g0");
    EXPECT_LE(feed->items.front().title.size(), 2000u);
    EXPECT_EQ(feed->items.front().published_ms, 0) << "no date";
}

TEST(Rss, TheTranscriptPreferredIsOneWithTimes) {
    FeedItem item;
    item.transcripts = {{"https://e.com/t.html", "text/html", "", ""},
                        {"https://e.com/t.srt", "application/srt", "", ""},
                        {"https://e.com/t.json", "application/json", "", ""},
                        {"https://e.com/t.vtt", "text/vtt", "", ""}};
    ASSERT_NE(PreferredTranscript(item), nullptr);
    EXPECT_EQ(PreferredTranscript(item)->url, "https://e.com/t.json");
    item.transcripts = {{"https://e.com/t.html", "text/html", "", ""}, {"https://e.com/t.txt", "text/plain", "", ""}};
    EXPECT_EQ(PreferredTranscript(item), nullptr);
}

TEST(Rss, ChaptersComeInTimeOrderAndBadOnesAreSkipped) {
    auto ch = ParseChapters(R"({"version":"1.2.0","chapters":[{"startTime":600.5,"title":"Second"},
        {"startTime":0,"title":"Intro"},{"title":"no time"},{"startTime":-5},"junk"]})");
    ASSERT_TRUE(ch.ok()) << ch.status().ToString();
    ASSERT_EQ(ch->size(), 2u);
    EXPECT_EQ((*ch)[0].start_ms, 0);
    EXPECT_EQ((*ch)[0].title, "Intro");
    EXPECT_EQ((*ch)[1].start_ms, 600500);
    EXPECT_FALSE(ParseChapters("[1,2]").ok());
    EXPECT_FALSE(ParseChapters("not json").ok());
}

TEST(Rss, DatesAndDurationsInTheFormsFeedsUse) {
    EXPECT_EQ(ParseRfc822Date("Tue, 01 Dec 2026 10:00:00 GMT"), 1796119200000LL);
    EXPECT_EQ(ParseRfc822Date("01 Dec 2026 10:00 GMT"), 1796119200000LL) << "no weekday, no seconds";
    EXPECT_EQ(ParseRfc822Date("Tue, 01 Dec 2026 05:00:00 EST"), 1796119200000LL);
    EXPECT_EQ(ParseRfc822Date("Tue, 01 Dec 26 10:00:00 +0000"), 1796119200000LL);
    EXPECT_EQ(ParseRfc822Date("yesterday"), 0);
    EXPECT_EQ(ParseRfc822Date("Tue, 41 Foo 2026 10:00:00 GMT"), 0);
    EXPECT_DOUBLE_EQ(ParseItunesDuration("3600"), 3600);
    EXPECT_DOUBLE_EQ(ParseItunesDuration("59:59"), 3599);
    EXPECT_DOUBLE_EQ(ParseItunesDuration(" 1:02:03 "), 3723);
    EXPECT_DOUBLE_EQ(ParseItunesDuration("1:2:3:4"), 0);
    EXPECT_DOUBLE_EQ(ParseItunesDuration("an hour"), 0);
    EXPECT_DOUBLE_EQ(ParseItunesDuration(""), 0);
}

}  // namespace
}  // namespace podpromo
