// From pipeline results to stored rows (typed; the API's documents are api/'s), and the vocabulary hint a process
// job keeps in its payload. Pure functions, but for RescoreClips, which scores.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "podpromo/jobs/pipeline.h"
#include "podpromo/store/repositories.h"

namespace podpromo {

// Copies duration, genres and the analysis summary (genre scores, sponsor reads, stage times, engine).
void FillEpisodeAnalysis(const EpisodeResult& result, EpisodeRow* row);
// The chapters the episode's analysis keeps (its feed's; none for an upload).
std::vector<Chapter> EpisodeChapters(const EpisodeRow& episode);
// The chosen clips as rows; file paths are `files_dir` (relative to the data directory) joined with the names.
std::vector<ClipRow> ClipRowsFromResult(const EpisodeResult& result, const std::string& files_dir);

// A process job's own vocabulary hint, kept in its payload: {"show", "terms"}, each only when the upload gave it
// (the service's SHOW_NAME and ASR_TERMS stand in for what is missing).
struct JobVocabulary {
    std::optional<std::string> show;
    std::optional<std::vector<std::string>> terms;
};
nlohmann::json JobVocabularyToPayload(const JobVocabulary& v);
JobVocabulary JobVocabularyOf(const JobRow& job);

// Re-ranks a stored episode for another platform or genre: the transcript and frames it kept, scored again
// (no recognition). Clips that coincide with stored ones are those (their ids, files and star); the others have
// an empty id and no files. InvalidInput for an unknown platform or genre, or when nothing fits.
Result<std::vector<ClipRow>> RescoreClips(const EpisodeRow& episode, const Transcript& transcript,
                                          const AudioFrames* frames, const std::string& platform,
                                          const std::string& genre, int limit, const std::vector<ClipRow>& stored);

}  // namespace podpromo
