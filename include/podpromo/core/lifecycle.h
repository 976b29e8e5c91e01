// The typed vocabulary of jobs, episodes and clips: a job's state, kind, checkpoint and stages, an episode's status
// and a clip's confidence. Code
// works with these enums; they become strings only at the database (store/) and JSON (api/, jobs/results) edges,
// through Name() and Parse<E>(). Pure; thread-safe.
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace podpromo {

// A job's life: queued -> running -> succeeded | failed | cancelled (running -> queued again on a retry or a
// release).
enum class JobState { kQueued, kRunning, kSucceeded, kFailed, kCancelled };
// What a job does: process an episode (recognise, score, render its clips) or render one chosen span of it.
enum class JobKind { kProcess, kRender };
// The last stage a process job completed and stored, where a retry resumes.
enum class Checkpoint { kNone, kTranscribed };
// An episode as its list shows it.
enum class EpisodeStatus { kQueued, kProcessing, kReady, kFailed, kCancelled };

// How sure the ranker is that a clip stands on its own (strong features, words heard clearly).
enum class Confidence { kLow, kMedium, kHigh };

// The stages of a job, in their order, as progress reports name them.
// (kDownload: a show's episode fetched from its feed before anything else.)
enum class Stage { kDownload, kProbe, kDecode, kAnalyze, kTranscribe, kScore, kRender, kWrite };

// Each enum's names, in the order of its values (the strings stored and sent).
template <typename E>
struct EnumNames;
template <>
struct EnumNames<JobState> {
    static constexpr std::array<std::string_view, 5> kNames = {"queued", "running", "succeeded", "failed", "cancelled"};
};
template <>
struct EnumNames<JobKind> {
    static constexpr std::array<std::string_view, 2> kNames = {"process", "render"};
};
template <>
struct EnumNames<Checkpoint> {
    static constexpr std::array<std::string_view, 2> kNames = {"", "transcribed"};
};
template <>
struct EnumNames<EpisodeStatus> {
    static constexpr std::array<std::string_view, 5> kNames = {"queued", "processing", "ready", "failed", "cancelled"};
};

template <>
struct EnumNames<Confidence> {
    static constexpr std::array<std::string_view, 3> kNames = {"Low", "Medium", "High"};
};
template <>
struct EnumNames<Stage> {
    static constexpr std::array<std::string_view, 8> kNames = {"download",   "probe", "decode", "analyze",
                                                               "transcribe", "score", "render", "write"};
};

// The value's name, as stored and sent.
template <typename E>
constexpr std::string_view Name(E value) {
    return EnumNames<E>::kNames[static_cast<size_t>(value)];
}

// The value named `name`, or nullopt for a name it does not have.
template <typename E>
constexpr std::optional<E> Parse(std::string_view name) {
    for (size_t i = 0; i < EnumNames<E>::kNames.size(); ++i) {
        if (EnumNames<E>::kNames[i] == name) return static_cast<E>(i);
    }
    return std::nullopt;
}

// A job state that no worker will change again.
constexpr bool IsFinal(JobState s) {
    return s == JobState::kSucceeded || s == JobState::kFailed || s == JobState::kCancelled;
}

}  // namespace podpromo
