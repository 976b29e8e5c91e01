#include "podpromo/asr/word_edits.h"

#include <gtest/gtest.h>

namespace podpromo {
namespace {

using nlohmann::json;

// "we flew to houston apollo" and "then back", as a recogniser might have heard them.
Transcript Heard() {
    Transcript t;
    t.engine = "pocketsphinx";
    Segment a{0,
              3000,
              "",
              0.6,
              {{"we", 0, 400, 0.9},
               {"flew", 400, 900, 0.8},
               {"to", 900, 1000, 0.9},
               {"who's", 1000, 1600, 0.3},
               {"ton", 1600, 2000, 0.2},
               {"a", 2000, 2200, 0.4},
               {"polo", 2200, 3000, 0.3}},
              ""};
    Segment b{4000, 5000, "then back", 0.9, {{"then", 4000, 4400, 0.9}, {"back", 4400, 5000, 0.9}}, ""};
    t.segments = {a, b};
    return t;
}

TEST(WordEdits, TypingMergingAndSplittingKeepTheTimesAndCanBeUndone) {
    Transcript t = Heard();
    const Transcript original = t;
    // Merge "who's ton" into one word: it takes both words' time.
    auto merged = ApplyWordEdit(t, {0, 3, 2, "Houston"});
    ASSERT_TRUE(merged.ok()) << merged.status().ToString();
    ASSERT_EQ(t.segments[0].words.size(), 6u);
    EXPECT_EQ(t.segments[0].words[3].text, "Houston");
    EXPECT_EQ(t.segments[0].words[3].start_ms, 1000);
    EXPECT_EQ(t.segments[0].words[3].end_ms, 2000);
    EXPECT_DOUBLE_EQ(t.segments[0].words[3].confidence, 1.0) << "a person wrote it";
    EXPECT_EQ(t.segments[0].text, "we flew to Houston a polo");
    // Merge "a polo" into "Apollo," then split "flew" into two words sharing its time.
    auto apollo = ApplyWordEdit(t, {0, 4, 2, "Apollo,"});
    ASSERT_TRUE(apollo.ok());
    auto split = ApplyWordEdit(t, {0, 1, 1, "flew  off"});
    ASSERT_TRUE(split.ok());
    const auto& w = t.segments[0].words;
    ASSERT_EQ(w.size(), 6u);
    EXPECT_EQ(t.segments[0].text, "we flew off to Houston Apollo,");
    EXPECT_EQ(w[1].start_ms, 400);
    EXPECT_EQ(w[2].end_ms, 900);
    EXPECT_LT(w[1].end_ms, w[2].end_ms);
    EXPECT_EQ(w[1].end_ms, w[2].start_ms);
    EXPECT_EQ(t.segments[1].text, "then back") << "other segments are untouched";

    // Stored and read back, then undone newest first: the recogniser's words exactly as they were.
    std::vector<AppliedEdit> stored;
    for (const auto* a : {&*merged, &*apollo, &*split}) {
        auto back = AppliedEditFromJson(json::parse(AppliedEditToJson(*a).dump()));
        ASSERT_TRUE(back.ok()) << back.status().ToString();
        stored.push_back(*back);
    }
    for (auto it = stored.rbegin(); it != stored.rend(); ++it) UndoWordEdit(t, *it);
    ASSERT_EQ(t.segments[0].words.size(), original.segments[0].words.size());
    for (size_t i = 0; i < original.segments[0].words.size(); ++i) {
        EXPECT_EQ(t.segments[0].words[i].text, original.segments[0].words[i].text);
        EXPECT_EQ(t.segments[0].words[i].start_ms, original.segments[0].words[i].start_ms);
        EXPECT_DOUBLE_EQ(t.segments[0].words[i].confidence, original.segments[0].words[i].confidence);
    }
    const auto [from, to] = EditSpan(*merged);
    EXPECT_EQ(from, 1000);
    EXPECT_EQ(to, 2000);
}

TEST(WordEdits, EditsOutsideTheTranscriptOrHostileTextAreRefused) {
    Transcript t = Heard();
    EXPECT_FALSE(ApplyWordEdit(t, {2, 0, 1, "x"}).ok()) << "no third segment";
    EXPECT_FALSE(ApplyWordEdit(t, {1, 1, 2, "x"}).ok()) << "past the segment's last word";
    EXPECT_FALSE(ApplyWordEdit(t, {1, 5, 1, "x"}).ok());
    EXPECT_EQ(t.segments[1].text, "then back") << "unchanged after a refusal";

    const auto bad = [](const std::string& edits) { return WordEditsFromJson(json::parse(edits)).status(); };
    EXPECT_FALSE(bad("[]").ok());
    EXPECT_FALSE(bad("{}").ok());
    EXPECT_FALSE(bad(R"([{"segment": -1, "word": 0, "text": "x"}])").ok());
    EXPECT_FALSE(bad(R"([{"segment": 0, "word": 0, "text": "   "}])").ok()) << "blank";
    EXPECT_FALSE(bad(R"([{"segment": 0, "word": 0, "text": "a\nb"}])").ok()) << "a control character";
    EXPECT_FALSE(bad(R"([{"segment": 0, "word": 0, "count": 0, "text": "x"}])").ok());
    EXPECT_FALSE(bad(R"([{"segment": 0, "word": 0, "count": 17, "text": "x"}])").ok());
    EXPECT_FALSE(bad(R"([{"segment": 0, "word": 0, "text": "a b c d e f g h i j k l m n o p q"}])").ok());
    EXPECT_FALSE(bad(R"([{"segment": 0, "word": 0, "text": ")" + std::string(301, 'a') + R"("}])").ok());
    json not_utf8 = json::array({json::object()});
    not_utf8[0]["segment"] = 0;
    not_utf8[0]["word"] = 0;
    not_utf8[0]["text"] = std::string("caf\xC3");
    EXPECT_FALSE(WordEditsFromJson(not_utf8).ok()) << "not UTF-8";
    const auto status = bad(R"([{"segment": 0, "word": 0, "text": "ok"}, {"segment": "1"}])");
    EXPECT_NE(status.message().find("edits[1].segment"), std::string::npos) << status.message();
    json many = json::array();
    for (int i = 0; i < 51; ++i) many.push_back(json::parse(R"({"segment": 0, "word": 0, "text": "x"})"));
    EXPECT_FALSE(WordEditsFromJson(many).ok());

    EXPECT_FALSE(bad(R"([{"segment": 0, "word": 0, "text": "x", "was": 3}])").ok()) << "was is text";
    EXPECT_FALSE(bad(R"([{"segment": 0, "word": 0, "text": "x", "was": ")" + std::string(301, 'a') + R"("}])").ok());

    // `was`: the words the editor saw there, or the edit is stale (and nothing changes).
    for (const char* was : {"then back", "back", "Then", "x"}) {  // (the edit replaces the one word "then")
        WordEdit stale{1, 0, 1, "x"};
        stale.was = was;
        const auto r = ApplyWordEdit(t, stale);
        ASSERT_FALSE(r.ok()) << was;
        EXPECT_EQ(r.status().slug(), "stale_revision") << was;
        EXPECT_EQ(t.segments[1].text, "then back") << was;
    }
    WordEdit gone{5, 0, 1, "x"};
    gone.was = "then";
    EXPECT_EQ(ApplyWordEdit(t, gone).status().slug(), "stale_revision") << "a segment the transcript no longer has";

    auto good = WordEditsFromJson(
        json::parse(R"([{"segment": 1, "word": 0, "count": 2, "text": "Then back.", "was": " then  back "}])"));
    ASSERT_TRUE(good.ok()) << good.status().ToString();
    ASSERT_TRUE(ApplyWordEdit(t, good->at(0)).ok());
    EXPECT_EQ(t.segments[1].text, "Then back.");
}

}  // namespace
}  // namespace podpromo
