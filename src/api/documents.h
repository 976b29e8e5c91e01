// The API's documents (DESIGN.md §4) for the stored rows: files as the API paths that serve them (null when not made),
// enums by name, JSON columns parsed. Pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include "podpromo/store/repositories.h"
#include "podpromo/store/shows.h"

namespace podpromo::http {

nlohmann::json ClipRowToJson(const ClipRow& clip);
// A clip scored again for another platform or genre: as ClipRowToJson, with a null id when it is not a stored clip.
nlohmann::json RescoredClipToJson(const ClipRow& clip);
nlohmann::json EpisodeRowToJson(const EpisodeRow& episode);
nlohmann::json JobRowToJson(const JobRow& job);
// The clip as a Podcasting 2.0 soundbite, ready to paste into the episode's <item>:
// <podcast:soundbite startTime="12.5" duration="31.25">Title</podcast:soundbite> (seconds to the millisecond; the
// title XML-escaped and cut to the namespace's recommended 128 characters).
std::string SoundbiteXml(const ClipRow& clip);
// {"soundbites": [{"clip_id", "start", "duration", "title", "xml"}], "xml": every line}.
nlohmann::json SoundbitesToJson(const std::vector<ClipRow>& clips);

// A show (its feed's last read: last_status "ok", "not_modified" or "error" with last_error; times in ms since the
// epoch) and a feed item (episode_id null until it is processed).
nlohmann::json ShowRowToJson(const ShowRow& show);
nlohmann::json FeedItemRowToJson(const FeedItemRow& item);

}  // namespace podpromo::http
