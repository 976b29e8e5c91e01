#include "podpromo/asr/word_edits.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "podpromo/core/utf8.h"
#include "podpromo/core/word_json.h"

namespace podpromo {

using nlohmann::json;

namespace {

std::vector<std::string> SplitWords(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

Status CheckText(const std::string& text, const std::string& at) {
    if (!IsValidUtf8(text)) return Status::InvalidInput(at + ".text is not UTF-8");
    if (text.size() > kMaxEditTextBytes) {
        return Status::InvalidInput(fmt::format("{}.text is longer than {} bytes", at, kMaxEditTextBytes));
    }
    for (const unsigned char c : text) {
        if (c < 0x20 && c != ' ' && c != '\t') return Status::InvalidInput(at + ".text holds a control character");
        if (c == 0x7F) return Status::InvalidInput(at + ".text holds a control character");
    }
    const size_t words = SplitWords(text).size();
    if (words == 0) return Status::InvalidInput(at + ".text is blank: type the word as it was said");
    if (words > kMaxEditedWords) {
        return Status::InvalidInput(fmt::format("{}.text has more than {} words", at, kMaxEditedWords));
    }
    return Status::Ok();
}

Result<size_t> Index(const json& e, const char* key, const std::string& at) {
    if (!e.contains(key) || !e[key].is_number_unsigned()) {
        return Status::InvalidInput(fmt::format("{}.{} must be a whole number of 0 or more", at, key));
    }
    return e[key].get<size_t>();
}

void Rejoin(Segment& seg) {
    seg.text.clear();
    for (const auto& w : seg.words) seg.text += (seg.text.empty() ? "" : " ") + w.text;
}

void Splice(Segment& seg, size_t at, size_t count, const std::vector<Word>& words) {
    seg.words.erase(seg.words.begin() + static_cast<std::ptrdiff_t>(at),
                    seg.words.begin() + static_cast<std::ptrdiff_t>(at + count));
    seg.words.insert(seg.words.begin() + static_cast<std::ptrdiff_t>(at), words.begin(), words.end());
    Rejoin(seg);
}

Status WordsChanged(const WordEdit& edit, const std::string& now) {
    return Status::FailedPrecondition(fmt::format("segment {} word {} is now '{}', not '{}': the transcript changed "
                                                  "since it was read; load it again and redo the fix",
                                                  edit.segment, edit.word, now.substr(0, 200),
                                                  edit.was->substr(0, 200)))
        .WithSlug("stale_revision");
}

// Whether the words the edit replaces are still those its editor saw (always, without `was`).
Status CheckWas(const Transcript& t, const WordEdit& edit) {
    if (!edit.was) return Status::Ok();
    if (edit.segment >= t.segments.size()) return WordsChanged(edit, "");
    const auto& words = t.segments[edit.segment].words;
    std::vector<std::string> now;
    for (size_t k = edit.word; k < words.size() && k - edit.word < edit.count; ++k) now.push_back(words[k].text);
    if (now == SplitWords(*edit.was)) return Status::Ok();
    std::string shown;
    for (const auto& w : now) shown += (shown.empty() ? "" : " ") + w;
    return WordsChanged(edit, shown);
}

}  // namespace

Result<std::vector<WordEdit>> WordEditsFromJson(const json& edits) {
    if (!edits.is_array() || edits.empty()) return Status::InvalidInput("edits must be a list of at least one edit");
    if (edits.size() > kMaxWordEdits) {
        return Status::InvalidInput(fmt::format("at most {} edits at once", kMaxWordEdits));
    }
    std::vector<WordEdit> out;
    for (size_t i = 0; i < edits.size(); ++i) {
        const std::string at = fmt::format("edits[{}]", i);
        const json& e = edits[i];
        if (!e.is_object()) return Status::InvalidInput(at + " is not an object");
        WordEdit edit;
        PODPROMO_ASSIGN_OR_RETURN(edit.segment, Index(e, "segment", at));
        PODPROMO_ASSIGN_OR_RETURN(edit.word, Index(e, "word", at));
        if (e.contains("count")) {
            PODPROMO_ASSIGN_OR_RETURN(edit.count, Index(e, "count", at));
        }
        if (edit.count == 0 || edit.count > kMaxEditedWords) {
            return Status::InvalidInput(fmt::format("{}.count must be 1 to {}", at, kMaxEditedWords));
        }
        if (!e.contains("text") || !e["text"].is_string()) return Status::InvalidInput(at + ".text must be text");
        edit.text = e["text"].get<std::string>();
        PODPROMO_RETURN_IF_ERROR(CheckText(edit.text, at));
        if (e.contains("was")) {
            if (!e["was"].is_string() || !IsValidUtf8(e["was"].get<std::string>()) ||
                e["was"].get<std::string>().size() > kMaxEditTextBytes) {
                return Status::InvalidInput(fmt::format(
                    "{}.was must be the words the edit replaces, as text of at most {} bytes", at, kMaxEditTextBytes));
            }
            edit.was = e["was"].get<std::string>();
        }
        out.push_back(std::move(edit));
    }
    return out;
}

Result<AppliedEdit> ApplyWordEdit(Transcript& t, const WordEdit& edit) {
    PODPROMO_RETURN_IF_ERROR(CheckWas(t, edit));
    if (edit.segment >= t.segments.size()) {
        return Status::InvalidInput(fmt::format("the transcript has no segment {}", edit.segment));
    }
    Segment& seg = t.segments[edit.segment];
    if (edit.count == 0 || edit.word >= seg.words.size() || seg.words.size() - edit.word < edit.count) {
        return Status::InvalidInput(
            fmt::format("segment {} has no words {} to {}", edit.segment, edit.word, edit.word + edit.count - 1));
    }
    AppliedEdit applied{edit.segment, edit.word, {}, {}};
    const auto first = seg.words.begin() + static_cast<std::ptrdiff_t>(edit.word);
    applied.before.assign(first, first + static_cast<std::ptrdiff_t>(edit.count));
    const std::vector<std::string> texts = SplitWords(edit.text);
    const Ms start = applied.before.front().start_ms;
    const Ms end = std::max(applied.before.back().end_ms, start);
    size_t chars = 0;
    for (const auto& w : texts) chars += Utf8Length(w) + 1;
    size_t done = 0;
    for (const auto& w : texts) {
        const auto at = [&](size_t c) {
            return start + static_cast<Ms>(std::llround(static_cast<double>(end - start) * static_cast<double>(c) /
                                                        static_cast<double>(chars)));
        };
        const Ms from = at(done);
        done += Utf8Length(w) + 1;
        applied.after.push_back({w, from, done == chars ? end : at(done), 1.0});
    }
    Splice(seg, edit.word, edit.count, applied.after);
    return applied;
}

void UndoWordEdit(Transcript& t, const AppliedEdit& applied) {
    if (applied.segment >= t.segments.size()) return;
    Segment& seg = t.segments[applied.segment];
    if (applied.word > seg.words.size() || seg.words.size() - applied.word < applied.after.size()) return;
    Splice(seg, applied.word, applied.after.size(), applied.before);
}

json AppliedEditToJson(const AppliedEdit& a) {
    return {
        {"segment", a.segment}, {"word", a.word}, {"before", WordsToJson(a.before)}, {"after", WordsToJson(a.after)}};
}

Result<AppliedEdit> AppliedEditFromJson(const json& j) {
    if (!j.is_object() || !j.contains("segment") || !j["segment"].is_number_unsigned() || !j.contains("word") ||
        !j["word"].is_number_unsigned() || !j.contains("before") || !j.contains("after")) {
        return Status::InvalidInput("a stored word edit is incomplete");
    }
    AppliedEdit a;
    a.segment = j["segment"].get<size_t>();
    a.word = j["word"].get<size_t>();
    PODPROMO_ASSIGN_OR_RETURN(a.before, WordsFromJson(j["before"]));
    PODPROMO_ASSIGN_OR_RETURN(a.after, WordsFromJson(j["after"]));
    return a;
}

}  // namespace podpromo
