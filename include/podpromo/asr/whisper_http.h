// Whisper-compatible recognition over HTTP: the OpenAI audio transcription API shape (OpenAI itself and the
// open-source OpenAI-compatible servers) and whisper.cpp's own server. The audio is sent in WAV chunks cut
// at pauses (each under the API's size limit), several in flight at once, and the words are stitched back
// with absolute times. 429, 5xx, connection failures and timeouts are retried with exponential backoff
// (honouring Retry-After); other refusals fail at once. Errors name the engine and the HTTP status and never
// contain the API key.
// Threads: a transcriber is used by one caller at a time (Transcriber's contract); it runs its chunks on threads
// of its own and joins them before returning.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "podpromo/asr/transcriber.h"
#include "podpromo/core/config.h"

namespace podpromo {

struct WhisperHttpConfig {
    AsrEngine engine =
        AsrEngine::kOpenai;  // openai: POST {url}/v1/audio/transcriptions; whisper-server: {url}/inference
    std::string url;         // scheme://host[:port][/prefix]
    std::string api_key;     // sent as "Authorization: Bearer"; never logged or reported
    std::string model = "whisper-1";
    std::string language;                 // ISO 639-1, empty: let the engine detect it
    std::string prompt;                   // vocabulary hint: title, show name, names and terms
    int concurrency = 3;                  // chunks in flight at once
    Ms chunk_target_ms = 10 * 60 * 1000;  // 10 min of 16 kHz s16 WAV is 19.2 MB: under OpenAI's 25 MB
    Ms chunk_max_ms = 12 * 60 * 1000;
    int max_attempts = 4;
    double backoff_seconds = 1.0;  // doubled after each retry
    long timeout_ms = 300000;      // per request
    // The service sets it: a 429 ends the run at once with RateLimited (slug "engine_rate_limited", the engine's
    // Retry-After, or the backoff, in retry_after_s), so that the queue pauses the engine for every worker instead of
    // each job waiting on its own. Otherwise (the one-shot command) a 429 is waited out and retried like a 5xx.
    bool rate_limit_ends_run = false;
    // Asked before each request when set, from the chunks' threads (so it must be thread-safe); a failure ends the run
    // with it (the service: the engine's shared pause).
    std::function<Status()> may_send;
};

// InvalidInput naming the setting when the engine or URL is unusable.
Status ValidateWhisperHttpConfig(const WhisperHttpConfig& config);

// The client configuration for the remote engine the settings name (the prompt left empty).
WhisperHttpConfig WhisperConfigFrom(const AsrSettings& asr);

std::unique_ptr<Transcriber> MakeWhisperHttpTranscriber(WhisperHttpConfig config);

// Words of one verbose_json answer (OpenAI's top-level "words", or words inside "segments"), in the chunk's
// own time. InvalidInput when the document has neither text nor words.
Result<std::vector<Word>> ParseWhisperAnswer(const std::string& body);

// The wait a server's Retry-After asks for, in whole seconds, at most kMaxRetryAfterSeconds (a hostile or broken
// server cannot park a job for a day); nullopt when it is not a whole number of seconds (an HTTP date is ignored:
// the backoff applies). Pure.
inline constexpr int kMaxRetryAfterSeconds = 300;
std::optional<int> RetryAfterSeconds(std::string_view value);

}  // namespace podpromo
