// Caption lines as podcasters' transcripts write them: speaker marks and sound tags are not words.
#include "podpromo/asr/cue_text.h"

#include <gtest/gtest.h>

#include "podpromo/asr/transcript_io.h"

namespace podpromo {
namespace {

TEST(CueLine, SpeakerMarksBecomeSpeakers) {
    auto l = ParseCueLine("Speaker 1: So where were we?");
    EXPECT_EQ(l.speaker, "Speaker 1");
    EXPECT_TRUE(l.speaker_certain);
    EXPECT_EQ(l.text, "So where were we?");
    l = ParseCueLine("JOHN: Right.");
    EXPECT_EQ(l.speaker, "JOHN");
    EXPECT_TRUE(l.speaker_certain);
    EXPECT_EQ(l.text, "Right.");
    l = ParseCueLine("<v Ann Lee>I was there.</v>");
    EXPECT_EQ(l.speaker, "Ann Lee");
    EXPECT_EQ(l.text, "I was there.");
    l = ParseCueLine(">> We're back.");
    EXPECT_TRUE(l.new_turn);
    EXPECT_EQ(l.speaker, "");
    EXPECT_EQ(l.text, "We're back.");
    l = ParseCueLine("Mary Smith: hello");
    EXPECT_EQ(l.speaker, "Mary Smith");
    EXPECT_FALSE(l.speaker_certain) << "a capitalised word before a colon may be prose";
    // Not speakers: times, links, a lower-case word, a long clause.
    for (const char* prose :
         {"at 10:30 we met", "see http://x.com", "note: it works", "The Thing We Talked About Before: yes"}) {
        EXPECT_EQ(ParseCueLine(prose).speaker, "") << prose;
    }
}

TEST(CueLine, SoundTagsBecomeEventsNotWords) {
    auto l = ParseCueLine("That's the joke. [LAUGHTER] Anyway (laughs) go on \xE2\x99\xAA");
    EXPECT_EQ(l.text, "That's the joke. Anyway go on");
    ASSERT_EQ(l.sounds.size(), 3u);
    EXPECT_EQ(l.sounds[0].kind, "laughter");
    EXPECT_EQ(l.sounds[0].offset, 17u);
    EXPECT_EQ(l.sounds[1].kind, "laughter");
    EXPECT_EQ(l.sounds[2].kind, "music");
    EXPECT_EQ(ParseCueLine("[Applause]").sounds[0].kind, "applause");
    EXPECT_EQ(ParseCueLine("[inaudible] word").sounds[0].kind, "sound");
    // Parentheses hold prose too: only known sounds are tags.
    l = ParseCueLine("the team (and I mean everyone) agreed");
    EXPECT_EQ(l.text, "the team (and I mean everyone) agreed");
    EXPECT_TRUE(l.sounds.empty());
}

TEST(ImportCues, SpeakersSoundsAndTurnsFromRealWorldSrt) {
    const char* srt =
        "\xEF\xBB\xBF"
        "1\r\n0:00:01,000 --> 0:00:04,000\r\nSpeaker 1: Welcome back to the show.\r\n\r\n"
        "2\r\n0:00:04,000 --> 0:00:08,000\r\nSpeaker 2: Thanks. So I told him\r\nthe whole story [laughter]\r\n\r\n"
        "3\r\n0:00:08,000 --> 0:00:08,000\r\n\r\n"
        "4\r\n0:00:08,000 --> 0:00:12,000\r\n- Really?\r\n- Really.\r\n\r\n"
        "5\r\n0:00:11,000 --> 0:00:13,000\r\nWell: that is prose.\r\n\r\n";
    auto t = ParseTranscript(srt);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    ASSERT_GE(t->segments.size(), 4u);
    EXPECT_EQ(t->segments[0].speaker, "Speaker 1");
    EXPECT_EQ(t->segments[0].text, "Welcome back to the show.");
    EXPECT_EQ(t->segments[1].speaker, "Speaker 2");
    EXPECT_EQ(t->segments[1].text, "Thanks. So I told him the whole story");
    ASSERT_EQ(t->events.size(), 1u);
    EXPECT_EQ(t->events[0].kind, "laughter");
    EXPECT_NEAR(static_cast<double>(t->events[0].start_ms), 8000, 100) << "at the end of its cue";
    EXPECT_EQ(t->segments[2].text, "Really?");
    EXPECT_EQ(t->segments[3].text, "Really.");
    EXPECT_LE(t->segments[2].end_ms, t->segments[3].start_ms) << "the cue's time is shared between the turns";
    EXPECT_EQ(t->segments.back().text, "Well: that is prose.") << "a name seen once is not a speaker";
    for (const auto& w : t->AllWords()) {
        EXPECT_EQ(w.text.find("Speaker"), std::string::npos);
        EXPECT_EQ(w.text.find('['), std::string::npos);
    }
}

TEST(ImportJson, PodcastingTwoPointZeroSegments) {
    const char* doc = R"J({"version": "1.0.0", "segments": [
        {"speaker": "Alice", "startTime": 0.5, "endTime": 2.0, "body": "Hello there."},
        {"speaker": "Bob", "startTime": 2.0, "endTime": 3.5, "body": "Hi! (laughs)"}]})J";
    auto t = ParseTranscript(doc);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    ASSERT_EQ(t->segments.size(), 2u);
    EXPECT_EQ(t->segments[0].speaker, "Alice");
    EXPECT_EQ(t->segments[0].start_ms, 500);
    EXPECT_EQ(t->segments[1].text, "Hi!");
    EXPECT_EQ(t->segments[1].end_ms, 3500);
    ASSERT_EQ(t->events.size(), 1u);
    // Exported and read back, the events survive.
    auto again = ParseTranscript(TranscriptToJson(*t).dump());
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    ASSERT_EQ(again->events.size(), 1u);
    EXPECT_EQ(again->events[0].kind, "laughter");
    EXPECT_EQ(again->segments[1].speaker, "Bob");
}

}  // namespace
}  // namespace podpromo
