#include "podpromo/core/caption_words.h"

#include <gtest/gtest.h>

#include <sstream>

namespace podpromo {
namespace {

// `text` as words 100 ms apart, 80 ms long each.
std::vector<Word> Said(const std::string& text) {
    std::vector<Word> words;
    std::istringstream in(text);
    Ms t = 0;
    for (std::string w; in >> w; t += 100) words.push_back({w, t, t + 80, 0.9});
    return words;
}

std::string Shown(const std::string& text) {
    std::string out;
    for (const Word& w : CaptionWords(Said(text))) out += (out.empty() ? "" : " ") + w.text;
    return out;
}

TEST(CaptionWords, SpokenNumbersBecomeDigits) {
    EXPECT_EQ(Shown("revenue grew ten percent last year"), "revenue grew 10% last year");
    EXPECT_EQ(Shown("TEN PERCENT"), "10%");
    EXPECT_EQ(Shown("we had twenty five people"), "we had 25 people");
    EXPECT_EQ(Shown("twenty-five"), "25");
    EXPECT_EQ(Shown("one hundred and twenty listeners"), "120 listeners");
    EXPECT_EQ(Shown("twelve thousand downloads"), "12,000 downloads");
    EXPECT_EQ(Shown("three million four hundred thousand"), "3,400,000");
    EXPECT_EQ(Shown("we burned through two million dollars in eighteen months"),
              "we burned through 2 million dollars in 18 months");
    EXPECT_EQ(Shown("two thousand twenty four"), "2024");
    EXPECT_EQ(Shown("in nineteen ninety four and twenty twenty four"), "in 1994 and 2024");
    EXPECT_EQ(Shown("nineteen hundred"), "1900");
    EXPECT_EQ(Shown("three point five stars"), "3.5 stars");
    EXPECT_EQ(Shown("zero point two per cent"), "0.2%");
    EXPECT_EQ(Shown("one percent"), "1%");
}

TEST(CaptionWords, SmallNumbersAndOtherWordsStayAsTheyWere) {
    EXPECT_EQ(Shown("one of the best"), "one of the best");
    EXPECT_EQ(Shown("the two of us"), "the two of us");
    EXPECT_EQ(Shown("a million reasons"), "a million reasons");
    EXPECT_EQ(Shown("and then and there"), "and then and there");
    EXPECT_EQ(Shown("one hundred and the rest"), "100 and the rest") << "a trailing 'and' is the sentence's";
    EXPECT_EQ(Shown("i think i'm right"), "I think I'm right");
    EXPECT_EQ(Shown("the point is"), "the point is");
}

TEST(CaptionWords, PunctuationEndsANumberAndIsKept) {
    EXPECT_EQ(Shown("five, six, seven"), "five, six, seven");
    EXPECT_EQ(Shown("It was twenty, thirty people."), "It was 20, 30 people.");
    EXPECT_EQ(Shown("\"Fifty percent.\""), "\"50%.\"");
    EXPECT_EQ(Shown("ninety-nine. Twenty"), "99. 20");
}

TEST(CaptionWords, ANumberSpansItsWordsTimes) {
    const auto words = CaptionWords(Said("about twenty five percent of them"));
    ASSERT_EQ(words.size(), 4u);
    EXPECT_EQ(words[1].text, "25%");
    EXPECT_EQ(words[1].start_ms, 100);
    EXPECT_EQ(words[1].end_ms, 380) << "from 'twenty' to 'percent'";
    EXPECT_EQ(words[2].start_ms, 400);
    EXPECT_DOUBLE_EQ(words[1].confidence, 0.9);
}

}  // namespace
}  // namespace podpromo
