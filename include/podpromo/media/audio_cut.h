// Cutting a clip's audio for social posting with the ffmpeg program (one pass).
// Threads: each call runs its own ffmpeg process and may run beside others; a failed cut leaves no file.
#pragma once

#include <filesystem>

#include "podpromo/core/progress.h"
#include "podpromo/core/status.h"
#include "podpromo/core/types.h"

namespace podpromo {

// Writes [start_ms, end_ms) of `source` to `dest` as AAC in an .m4a, with 50 ms / 150 ms fades and
// loudness normalised to -14 LUFS (true peak -1.5 dBTP). `dest` appears only when complete. Errors:
// Unavailable without ffmpeg, IoError/NoSpace when the write fails, Cancelled.
Status CutAudio(const std::filesystem::path& source, Ms start_ms, Ms end_ms, const std::filesystem::path& dest,
                const CancelToken* cancel = nullptr);

}  // namespace podpromo
