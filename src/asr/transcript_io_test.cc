#include "podpromo/asr/transcript_io.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "podpromo/core/utf8.h"

namespace podpromo {
namespace {

TEST(ImportSrt, ParsesCuesAndSpreadsWordTimes) {
    const char* srt =
        "1\r\n00:00:01,000 --> 00:00:03,000\r\nHello there, world.\r\n\r\n"
        "2\n00:00:04,500 --> 00:00:06,000\n<i>- Second</i> line\ncontinues here\n\n";
    auto t = ParseTranscript(srt);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_EQ(t->engine, "import:srt");
    ASSERT_EQ(t->segments.size(), 2u);
    EXPECT_EQ(t->segments[0].start_ms, 1000);
    EXPECT_EQ(t->segments[0].end_ms, 3000);
    EXPECT_EQ(t->segments[1].text, "Second line continues here");
    const auto& w = t->segments[0].words;
    ASSERT_EQ(w.size(), 3u);
    EXPECT_EQ(w[0].text, "Hello");
    EXPECT_EQ(w[0].start_ms, 1000);
    EXPECT_EQ(w[2].end_ms, 3000 - 2000 / 20);  // ends before the spread's trailing space
    // Longer words get more time.
    EXPECT_GT(w[1].end_ms - w[1].start_ms, 0);
    EXPECT_LE(w[0].end_ms, w[1].start_ms);
}

// An "ANSI" subtitle file imports as the same words in UTF-8; a long speaker name in any script is cut between
// characters, never inside one (the stored transcript must stay valid UTF-8).
TEST(ImportSrt, Windows1252TextAndLongSpeakerNamesStayUtf8) {
    auto t = ParseTranscript(
        "1\n00:00:01,000 --> 00:00:03,000\nCaf\xE9 \x93ol\xE9\x94 costs \x80"
        "5.\n\n");
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_EQ(t->segments[0].text, "Café “olé” costs €5.");
    std::string name;
    for (int i = 0; i < 30; ++i) name += "é";  // 30 characters, 60 bytes
    auto v = ParseTranscript("WEBVTT\n\n00:01.000 --> 00:03.000\n<v " + name + name + ">Hello there.\n\n");
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_TRUE(IsValidUtf8(v->segments[0].speaker));
    EXPECT_EQ(Utf8Length(v->segments[0].speaker), 40u);
    auto j = ParseTranscript(R"({"segments":[{"speaker":")" + name + name +
                             R"(","startTime":1,"endTime":3,"body":"Hi."}]})");
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    EXPECT_EQ(Utf8Length(j->segments[0].speaker), 40u);
}

TEST(ImportVtt, SkipsHeaderNotesAndSettings) {
    const char* vtt =
        "WEBVTT - a title\nKind: captions\n\nNOTE this is a note\nspanning lines\n\n"
        "intro\n00:01.000 --> 00:02.500 align:start position:10%\nWhat if <b>you</b> could?\n\n"
        "01:00:00.000 --> 01:00:01.000\nLate line\n";
    auto t = ParseTranscript(vtt);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_EQ(t->engine, "import:vtt");
    ASSERT_EQ(t->segments.size(), 2u);
    EXPECT_EQ(t->segments[0].text, "What if you could?");
    EXPECT_EQ(t->segments[0].start_ms, 1000);
    EXPECT_EQ(t->segments[1].start_ms, 3600000);
}

TEST(ImportJson, WhisperSegmentsWithWords) {
    const char* json = R"({"text":"x","segments":[
        {"start":0.0,"end":2.0,"text":" Hi there","avg_logprob":-0.1,
         "words":[{"word":" Hi","start":0.1,"end":0.5,"probability":0.9},{"word":" there","start":0.6,"end":1.2}]},
        {"start":3.0,"end":4.0,"text":" No words here"}]})";
    auto t = ParseTranscript(json);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    ASSERT_EQ(t->segments.size(), 2u);
    ASSERT_EQ(t->segments[0].words.size(), 2u);
    EXPECT_EQ(t->segments[0].words[0].text, "Hi");
    EXPECT_EQ(t->segments[0].words[0].start_ms, 100);
    EXPECT_DOUBLE_EQ(t->segments[0].words[0].confidence, 0.9);
    EXPECT_EQ(t->segments[1].words.size(), 3u);  // spread
    EXPECT_EQ(t->segments[1].words.back().end_ms, 4000 - 1000 / 14);
}

// PodPromo's own transcript.json keeps the speakers it found; segments without one stay unmarked.
TEST(ImportJson, SpeakersSurviveExportAndImport) {
    Transcript t;
    t.engine = "pocketsphinx";
    t.segments.push_back({0, 1000, "hello there", 0.9, {{"hello", 0, 400, 0.9}, {"there", 500, 1000, 0.8}}, "S1"});
    t.segments.push_back({1500, 2000, "hi", 0.7, {{"hi", 1500, 2000, 0.7}}, "S2"});
    t.segments.push_back({2500, 3000, "um", 0.4, {{"um", 2500, 3000, 0.4}}, ""});
    auto back = ParseTranscript(TranscriptToJson(t).dump());
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    ASSERT_EQ(back->segments.size(), 3u);
    EXPECT_EQ(back->segments[0].speaker, "S1");
    EXPECT_EQ(back->segments[1].speaker, "S2");
    EXPECT_EQ(back->segments[2].speaker, "");
    EXPECT_FALSE(TranscriptToJson(t)["segments"][2].contains("speaker"));
}

TEST(ImportJson, WhisperCppAndWordsOnlyShapes) {
    auto cpp = ParseTranscript(R"({"transcription":[{"timestamps":{"from":"00:00:00,000","to":"00:00:02,000"},
        "offsets":{"from":0,"to":2000},"text":" One two three"}]})");
    ASSERT_TRUE(cpp.ok()) << cpp.status().ToString();
    EXPECT_EQ(cpp->segments[0].words.size(), 3u);
    auto words = ParseTranscript(R"({"words":[{"word":"a","start":0,"end":0.2},{"word":"b","start":0.3,"end":0.5},
        {"word":"c","start":2.0,"end":2.4}]})");
    ASSERT_TRUE(words.ok()) << words.status().ToString();
    ASSERT_EQ(words->segments.size(), 2u);  // split at the 1.5 s pause
    EXPECT_EQ(words->segments[1].text, "c");
}

TEST(ImportJson, OpenAiVerboseJsonKeepsItsWordTimesOverItsWordlessSegments) {
    // timestamp_granularities word + segment: segments without words, words at the top level.
    auto t = ParseTranscript(R"({"text":"so here is the thing",
        "segments":[{"start":0.0,"end":3.0,"text":"so here is the thing"}],
        "words":[{"word":"so","start":0.1,"end":0.3},{"word":"here","start":0.35,"end":0.6},
                 {"word":"is","start":0.62,"end":0.7},{"word":"the","start":2.0,"end":2.1},
                 {"word":"thing","start":2.15,"end":2.9}]})");
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    const auto words = t->AllWords();
    ASSERT_EQ(words.size(), 5u);
    EXPECT_EQ(words[3].start_ms, 2000) << "the engine's own time, not one spread over the segment";
    EXPECT_EQ(words[4].end_ms, 2900);
    ASSERT_EQ(t->segments.size(), 2u) << "segments cut at the pause";
    EXPECT_EQ(t->segments[1].text, "the thing");
}

TEST(ImportErrors, NameTheProblem) {
    auto bad_time = ParseTranscript("1\n00:00:01,000 --> 00:xx:02,000\nhello\n");
    ASSERT_FALSE(bad_time.ok());
    EXPECT_NE(bad_time.status().message().find("line 2"), std::string::npos) << bad_time.status().message();
    auto backwards = ParseTranscript("1\n00:00:05,000 --> 00:00:02,000\nhello\n");
    EXPECT_NE(backwards.status().message().find("ends before it starts"), std::string::npos);
    EXPECT_FALSE(ParseTranscript("").ok());
    EXPECT_FALSE(ParseTranscript("just some text").ok());
    EXPECT_FALSE(ParseTranscript("{\"segments\": [").ok());
    auto missing = ParseTranscript(R"({"segments":[{"text":"no times"}]})");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.status().code(), StatusCode::kInvalidInput);
    EXPECT_FALSE(ParseTranscript(R"({"foo": 1})").ok());
    // Numbers no timestamp has are refused, not overflowed (a 20-digit hour once threw out of the importer).
    EXPECT_FALSE(ParseTranscript("1\n99999999999999999999:00:01,000 --> 00:00:02,000\nhello\n").ok());
    EXPECT_FALSE(ParseTranscript(R"({"segments":[{"start":1e300,"end":2e300,"text":"far"}]})").ok());
}

TEST(Export, SrtAndVttRoundTrip) {
    std::vector<Word> words = {{"Here's", 10000, 10300}, {"the", 10300, 10450},   {"thing.", 10450, 10900},
                               {"Nobody", 12000, 12400}, {"tells", 12400, 12700}, {"you.", 12700, 13000}};
    const auto cues = CuesFromWords(words, 10000, 42, 4000);
    ASSERT_EQ(cues.size(), 2u);  // split at the 1.1 s pause
    EXPECT_EQ(cues[0].start_ms, 0);
    EXPECT_EQ(cues[1].text, "Nobody tells you.");
    const std::string srt = FormatSrt(cues);
    EXPECT_NE(srt.find("00:00:02,000 --> 00:00:03,000"), std::string::npos) << srt;
    auto back = ParseTranscript(srt);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->segments[1].text, "Nobody tells you.");
    auto back_vtt = ParseTranscript(FormatVtt(cues));
    ASSERT_TRUE(back_vtt.ok()) << back_vtt.status().ToString();
    EXPECT_EQ(back_vtt->segments[0].end_ms, 900);
}

// A transcript's export names its speakers: a WebVTT voice span on every cue (read back with them), "Name: " where a
// turn begins in SRT; a turn never shares a cue with the next one. Without speakers the export is the words' cues as
// before.
TEST(Export, ATranscriptsSpeakersAreNamedInItsSrtAndVtt) {
    Transcript t;
    t.segments.push_back(
        {0, 1000, "Welcome back.", 0.9, {{"Welcome", 0, 400, 0.9}, {"back.", 450, 1000, 0.9}}, "Ada Host"});
    t.segments.push_back({1100, 1600, "Thanks", 0.9, {{"Thanks", 1100, 1600, 0.9}}, "Ada Host"});
    t.segments.push_back(
        {1700,
         2400,
         "Glad to be here.",
         0.9,
         {{"Glad", 1700, 1900, 0.9}, {"to", 1900, 2000, 0.9}, {"be", 2000, 2100, 0.9}, {"here.", 2100, 2400, 0.9}},
         "Grace <Hopper>"});
    const auto cues = TranscriptCues(t);
    ASSERT_EQ(cues.size(), 2u) << "one cue per turn here: no pause, and a turn never shares a cue";
    EXPECT_EQ(cues[0].text, "Welcome back. Thanks");
    EXPECT_EQ(cues[1].speaker, "Grace <Hopper>");

    const std::string vtt = FormatVtt(cues);
    EXPECT_NE(vtt.find("\n<v Ada Host>Welcome back. Thanks\n"), std::string::npos) << vtt;
    EXPECT_NE(vtt.find("\n<v Grace Hopper>Glad to be here.\n"), std::string::npos) << vtt;
    auto back = ParseTranscript(vtt);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    ASSERT_EQ(back->segments.size(), 2u);
    EXPECT_EQ(back->segments[0].speaker, "Ada Host");
    EXPECT_EQ(back->segments[1].speaker, "Grace Hopper");
    EXPECT_EQ(back->segments[1].text, "Glad to be here.");

    t.segments[2].speaker = "Grace";
    const std::string srt = FormatSrt(TranscriptCues(t));
    EXPECT_NE(srt.find("\nAda Host: Welcome back. Thanks\n"), std::string::npos) << srt;
    EXPECT_NE(srt.find("\nGrace: Glad to be here.\n"), std::string::npos) << srt;

    for (auto& seg : t.segments) seg.speaker.clear();
    EXPECT_EQ(FormatVtt(TranscriptCues(t)), FormatVtt(CuesFromWords(t.AllWords())));
}

// Words and names come from strangers (an imported transcript, a feed's <podcast:person>, a word fix): whatever they
// hold, each cue stays one timing line and one text line, and a player reads back the same words.
TEST(Export, NoWordOrNameCanEndACueOrForgeATiming) {
    const std::vector<Cue> cues = {{0, 1000, "see --> 00:00:09.000 --> 00:00:10.000", "ANN\n\nLEE"},
                                   {1000, 2000, "AT&T you\n\n2\n00:00:05,000 --> 00:00:06,000\nforged", ""}};
    for (const std::string& file : {FormatSrt(cues), FormatVtt(cues)}) {
        // Two cues of one timing line and one text line each, nothing more (SRT: an index line before each; WebVTT:
        // its two header lines).
        size_t timings = 0;
        for (size_t at = 0; (at = file.find("-->", at)) != std::string::npos; at += 3) ++timings;
        EXPECT_EQ(timings, 2u) << file;
        EXPECT_EQ(std::count(file.begin(), file.end(), '\n'), 8) << file;
        auto back = ParseTranscript(file);
        ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << file;
        ASSERT_EQ(back->segments.size(), 2u) << file;
        EXPECT_EQ(back->segments[0].speaker, "ANN LEE") << file;
        EXPECT_EQ(back->segments[0].text, "see -> 00:00:09.000 -> 00:00:10.000") << file;
        EXPECT_EQ(back->segments[1].text, "AT&T you 2 00:00:05,000 -> 00:00:06,000 forged") << file;
        EXPECT_EQ(back->segments[1].start_ms, 1000);
    }
    // WebVTT reads '<' as a tag and '&' as a reference: both are escaped, in the text and in the voice's name.
    const std::string vtt = FormatVtt({{0, 1000, "AT&T <3 you", "Ann & <Co>"}});
    EXPECT_NE(vtt.find("\n<v Ann &amp; Co>AT&amp;T &lt;3 you\n"), std::string::npos) << vtt;
    auto back = ParseTranscript(vtt);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->segments[0].speaker, "Ann & Co");
    EXPECT_EQ(back->segments[0].text, "AT&T <3 you");
}

// Caption files escape what their markup would read: "&amp;", "&lt;", numeric references. The words are the
// characters meant, and what is not a reference stays as written.
TEST(ImportVtt, CharacterReferencesAreDecoded) {
    auto t = ParseTranscript(
        "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\n<v Beyonc&#233; &amp; Jay>Caf&#xE9; &lt;3 R&amp;D&nbsp;team\n\n"
        "00:00:02.000 --> 00:00:04.000\nFish &chips; &#0; &#xD800; &amp &#128512;&lrm;\n");
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    ASSERT_EQ(t->segments.size(), 2u);
    EXPECT_EQ(t->segments[0].speaker, "Beyonc\xC3\xA9 & Jay");
    EXPECT_EQ(t->segments[0].text, "Caf\xC3\xA9 <3 R&D team");
    EXPECT_EQ(t->segments[0].words.size(), 4u);
    EXPECT_EQ(t->segments[1].text, "Fish &chips; &#0; &#xD800; &amp \xF0\x9F\x98\x80");
    // A reference's name is at most 8 characters: a ';' further on ends none, and a run of '&' is text.
    EXPECT_EQ(DecodeCharacterReferences("&&&amp;&verylongname;&#1234567;&#x10FFFF;"),
              "&&&&verylongname;&#1234567;\xF4\x8F\xBF\xBF");
}

TEST(Export, LongRunsSplitIntoReadableCues) {
    std::vector<Word> words;
    words.reserve(40);
    for (int i = 0; i < 40; ++i) words.push_back({"word" + std::to_string(i), i * 300, i * 300 + 250});
    for (const auto& c : CuesFromWords(words)) {
        EXPECT_LE(c.text.size(), 42u);
        EXPECT_LE(c.end_ms - c.start_ms, 4000);
    }
}

TEST(Wer, NormalisesCaseAndPunctuationAndDigits) {
    EXPECT_DOUBLE_EQ(WordErrorRate("Hello, World!", "hello world"), 0.0);
    EXPECT_DOUBLE_EQ(WordErrorRate("we lost 300 customers", "we lost three hundred customers"), 0.0);
    EXPECT_DOUBLE_EQ(WordErrorRate("a b c d", "a x c"), 0.5);  // one substitution, one deletion
    EXPECT_DOUBLE_EQ(WordErrorRate("", ""), 0.0);
    EXPECT_EQ(NormalizeForWer("It's 21."), (std::vector<std::string>{"it's", "twenty", "one"}));
}

}  // namespace
}  // namespace podpromo
