// UTF-8 checks and cuts: what a hostile or merely old-fashioned client sends.
#include "podpromo/core/utf8.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace podpromo {
namespace {

TEST(Utf8, WellFormedTextPassesAndEveryKindOfBadSequenceFails) {
    EXPECT_TRUE(IsValidUtf8(""));
    EXPECT_TRUE(IsValidUtf8("plain ascii"));
    EXPECT_TRUE(IsValidUtf8("Café — naïve 日本 🎙️"));
    EXPECT_FALSE(IsValidUtf8("caf\xE9"));           // Latin-1 é
    EXPECT_FALSE(IsValidUtf8("caf\xC3"));           // cut in two
    EXPECT_FALSE(IsValidUtf8("\x80start"));         // stray continuation byte
    EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong '/'
    EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // a surrogate
    EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // past U+10FFFF
    EXPECT_FALSE(IsValidUtf8("\xF0\x9F\x8E"));      // four-byte sequence missing its last byte
    EXPECT_FALSE(
        IsValidUtf8(std::string("a\xFF"
                                "b")));  // never valid
}

TEST(Utf8, CutsOnCodePointsNeverInsideACharacter) {
    const std::string title = std::string(199, 'a') + "é";  // 201 bytes, 200 code points
    EXPECT_EQ(TruncateUtf8(title, 200), title);
    EXPECT_EQ(TruncateUtf8(title, 199), std::string(199, 'a'));
    EXPECT_EQ(Utf8Length(TruncateUtf8("日本語テキスト", 3)), 3u);
    EXPECT_EQ(TruncateUtf8("日本語テキスト", 3), "日本語");
    EXPECT_TRUE(IsValidUtf8(TruncateUtf8("🎙️🎙️🎙️", 2)));
    EXPECT_EQ(TruncateUtf8("", 5), "");
}

TEST(Utf8, Windows1252BecomesTheSameTextInUtf8) {
    EXPECT_EQ(Cp1252ToUtf8("caf\xE9 \x93quoted\x94 \x80"
                           "5 \x85"),
              "café “quoted” €5 …");
    EXPECT_TRUE(IsValidUtf8(Cp1252ToUtf8(std::string("\x81\x8D\x8F\x90\x9D\xFF", 6))));
}

TEST(Utf8, JsonWithABadByteIsWrittenNotThrown) {
    const nlohmann::json j = {{"title", std::string("caf\xE9")}};
    EXPECT_THROW((void)j.dump(), nlohmann::json::type_error) << "what the library does by default";
    EXPECT_EQ(DumpJson(j), "{\"title\":\"caf\xEF\xBF\xBD\"}");
    EXPECT_EQ(DumpJson(nlohmann::json{{"a", 1}}, 2), "{\n  \"a\": 1\n}");
}

}  // namespace
}  // namespace podpromo

namespace podpromo {
namespace {

// Captions write the pronoun as English does, whatever case the recogniser wrote it in; nothing else changes.
TEST(CaptionWord, ThePronounIGetsItsCapital) {
    for (const char* w : {"i", "i,", "i?", "i'm", "i'll", "i'd", "i've", "i\xE2\x80\x99m"}) {
        const std::string out = CaptionWord(w);
        EXPECT_EQ(out[0], 'I') << w;
        EXPECT_EQ(out.substr(1), std::string(w).substr(1)) << w;
    }
    for (const char* w : {"it", "in", "idea", "is", "i.e.", "I", "", "ice-cream", "\xC3\xADndice"}) {
        EXPECT_EQ(CaptionWord(w), w) << w;
    }
}

}  // namespace
}  // namespace podpromo
