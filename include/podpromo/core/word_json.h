// Words in their stored form: a JSON list of [text, start_ms, end_ms, confidence], as the transcript's segments keep
// their words (store/) and a word fix keeps the words it replaced (asr/word_edits.h). One form, read and written
// here only. Pure; thread-safe; nothing here throws.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <vector>

#include "podpromo/core/status.h"
#include "podpromo/core/types.h"

namespace podpromo {

// The confidence is kept to three decimals.
nlohmann::json WordsToJson(const std::vector<Word>& words);

// InvalidInput for anything but a list of [text, start, end, confidence] with whole-number times.
Result<std::vector<Word>> WordsFromJson(const nlohmann::json& list);

}  // namespace podpromo
