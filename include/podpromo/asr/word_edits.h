// Fixing a transcript's words by hand: replacing a run of words of one segment with what a person typed. Typing
// over a word, splitting one ("cannot" -> "can not") and merging several ("new york er" -> "New Yorker") are all
// the same edit. Each applied edit keeps the words it replaced (times included), so the original transcript can be
// had back by undoing the edits in reverse order. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "podpromo/core/status.h"
#include "podpromo/core/types.h"

namespace podpromo {

// Replace `count` words of segment `segment`, from its word `word`, with the words of `text` (split at spaces).
// `was`, when given, is what the editor saw there (the words, split at spaces): the edit applies only if they are
// still those words. A revision number alone cannot say so across a transcript imported again (the revisions start
// anew from 0), and an index into other words would fix the wrong word.
struct WordEdit {
    size_t segment = 0;
    size_t word = 0;
    size_t count = 1;
    std::string text;
    std::optional<std::string> was = std::nullopt;
};

// An edit as it was applied: where, and the words before and after (with their times).
struct AppliedEdit {
    size_t segment = 0;
    size_t word = 0;
    std::vector<Word> before, after;
};

// The bounds on one request's edits.
inline constexpr size_t kMaxWordEdits = 50;       // edits in one request
inline constexpr size_t kMaxEditedWords = 16;     // words replaced by one edit, and words it writes
inline constexpr size_t kMaxEditTextBytes = 300;  // the text of one edit

// The edits of a request body's "edits" array: InvalidInput naming the one at fault (not an array or empty, more than
// kMaxWordEdits, a field missing or of the wrong type, a count of 0 or more than kMaxEditedWords, text that is not
// UTF-8, blank, longer than kMaxEditTextBytes or of more than kMaxEditedWords words, or holding a control character;
// a `was` that is not text, not UTF-8 or longer than kMaxEditTextBytes).
Result<std::vector<WordEdit>> WordEditsFromJson(const nlohmann::json& edits);

// Applies `edit` to `t`: the new words share the replaced words' time, from the first one's start to the last one's
// end, in proportion to their length, with confidence 1 (a person wrote them); the segment's text becomes its words.
// InvalidInput when the segment or its words do not exist; with `was` given, FailedPrecondition "stale_revision" when
// they do not exist or are other words than `was`. `t` is unchanged on error.
Result<AppliedEdit> ApplyWordEdit(Transcript& t, const WordEdit& edit);

// Puts back what `applied` replaced (it must be the last edit applied to `t` that is not yet undone).
void UndoWordEdit(Transcript& t, const AppliedEdit& applied);

// The stored form of an applied edit: {"segment", "word", "before": [words], "after": [words]} with words as
// {"word", "start", "end", "confidence"} (seconds). FromJson: InvalidInput for anything else.
nlohmann::json AppliedEditToJson(const AppliedEdit& applied);
Result<AppliedEdit> AppliedEditFromJson(const nlohmann::json& j);

// The time the edit covers, in the episode (the replaced words' first start to last end).
inline std::pair<Ms, Ms> EditSpan(const AppliedEdit& a) {
    if (a.before.empty()) return {0, 0};
    return {a.before.front().start_ms, a.before.back().end_ms};
}

}  // namespace podpromo
