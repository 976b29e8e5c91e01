// The API's documents (DESIGN.md §4) for the stored rows: files as the API paths that serve them (null when not made),
// enums by name, JSON columns parsed. Pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include "podpromo/store/repositories.h"

namespace podpromo::http {

nlohmann::json ClipRowToJson(const ClipRow& clip);
// A clip scored again for another platform or genre: as ClipRowToJson, with a null id when it is not a stored clip.
nlohmann::json RescoredClipToJson(const ClipRow& clip);
nlohmann::json EpisodeRowToJson(const EpisodeRow& episode);
nlohmann::json JobRowToJson(const JobRow& job);

}  // namespace podpromo::http
