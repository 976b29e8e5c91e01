// Words as captions show them. Recognisers write numbers out in words ("ten percent", "twenty twenty four"), which
// read slowly on a phone and take a line's room; captions write them as digits, as editors do. Pure; thread-safe.
#pragma once

#include <vector>

#include "podpromo/core/types.h"

namespace podpromo {

// `words` with each spoken number as one word of digits, timed from its first word's start to its last word's end:
// "ten percent" -> "10%", "twenty five" -> "25", "one hundred and twenty" -> "120", "three point five" -> "3.5",
// "twelve thousand" -> "12,000", "two million" -> "2 million", and years: "nineteen ninety four" -> "1994",
// "twenty twenty four" -> "2024". Numbers below ten said as one word stay words ("one of the best", "two of us"),
// unless a percentage or decimal. A number ends at punctuation, which it keeps ("twenty," -> "20,"); hyphenated
// numbers ("twenty-five") count. Every other word is as CaptionWord shows it ("i" -> "I").
std::vector<Word> CaptionWords(const std::vector<Word>& words);

}  // namespace podpromo
