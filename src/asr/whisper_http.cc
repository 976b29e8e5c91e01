#include "podpromo/asr/whisper_http.h"

#include <fmt/format.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "podpromo/asr/segments.h"
#include "podpromo/asr/transcript_io.h"
#include "podpromo/core/request_watch.h"

namespace podpromo {
namespace {
using nlohmann::json;

// The WAV file (16-bit mono PCM) of samples [from, to) of `pcm`.
std::string WavChunk(const PcmSource& pcm, size_t from, size_t to) {
    const size_t n = to > from ? to - from : 0;
    std::string out(44 + n * 2, '\0');
    auto put32 = [&](size_t at, uint32_t v) {
        for (int i = 0; i < 4; ++i) out[at + static_cast<size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
    };
    auto put16 = [&](size_t at, uint16_t v) {
        out[at] = static_cast<char>(v & 0xff);
        out[at + 1] = static_cast<char>(v >> 8);
    };
    const auto rate = static_cast<uint32_t>(pcm.sample_rate());
    out.replace(0, 4, "RIFF");
    put32(4, static_cast<uint32_t>(36 + n * 2));
    out.replace(8, 8, "WAVEfmt ");
    put32(16, 16);
    put16(20, 1);
    put16(22, 1);
    put32(24, rate);
    put32(28, rate * 2);
    put16(32, 2);
    put16(34, 16);
    out.replace(36, 4, "data");
    put32(40, static_cast<uint32_t>(n * 2));
    std::vector<int16_t> samples(n);
    const size_t got = pcm.Read(from, n, samples.data());
    for (size_t i = 0; i < got; ++i) put16(44 + 2 * i, static_cast<uint16_t>(samples[i]));
    return out;
}

struct Endpoint {
    std::string origin;  // scheme://host:port
    std::string path;    // the request path
};

Result<Endpoint> EndpointOf(const WhisperHttpConfig& c) {
    if (c.engine == AsrEngine::kPocketsphinx)
        return Status::InvalidInput("ASR_ENGINE=pocketsphinx is not a Whisper engine");
    PODPROMO_RETURN_IF_ERROR(ValidateAsrEngine(c.engine, c.url));
    const auto scheme_end = c.url.find("://");
    const auto slash = c.url.find('/', scheme_end + 3);
    Endpoint e;
    e.origin = c.url.substr(0, slash);
    std::string prefix = slash == std::string::npos ? "" : c.url.substr(slash);
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
    e.path = prefix + (c.engine == AsrEngine::kOpenai ? "/v1/audio/transcriptions" : "/inference");
    return e;
}

class WhisperHttpTranscriber final : public Transcriber {
  public:
    explicit WhisperHttpTranscriber(WhisperHttpConfig c) : c_(std::move(c)) {}
    std::string Name() const override {
        return c_.engine == AsrEngine::kOpenai ? "openai:" + c_.model : std::string(podpromo::Name(c_.engine));
    }

    Result<Transcript> Transcribe(const PcmSource& pcm, const AudioFrames& frames, const ProgressFn& progress,
                                  const CancelToken* cancel) override {
        auto endpoint = EndpointOf(c_);
        if (!endpoint.ok()) return endpoint.status();
        auto chunks = PlanChunks(frames, c_.chunk_target_ms, c_.chunk_max_ms);
        if (chunks.empty()) return Transcript{Name(), {}, {}};
        Report(progress, Stage::kTranscribe, 0);  // the first answer may be minutes away
        std::vector<std::vector<Word>> words(chunks.size());
        std::atomic<size_t> next{0}, done{0};
        std::mutex mu;
        Status failure;
        auto worker = [&] {
            for (size_t i = next++; i < chunks.size(); i = next++) {
                {
                    std::lock_guard<std::mutex> lock(mu);
                    if (!failure.ok()) return;
                }
                auto got = SendChunk(*endpoint, pcm, chunks[i], cancel);
                std::lock_guard<std::mutex> lock(mu);
                if (!got.ok()) {
                    if (failure.ok()) failure = got.status();
                    return;
                }
                for (Word& w : *got) {
                    w.start_ms = std::min(w.start_ms + chunks[i].first, chunks[i].second);
                    w.end_ms = std::clamp(w.end_ms + chunks[i].first, w.start_ms, chunks[i].second);
                }
                words[i] = std::move(*got);
                Report(progress, Stage::kTranscribe, static_cast<double>(++done) / static_cast<double>(chunks.size()));
            }
        };
        std::vector<std::thread> threads;
        const int n = std::max(1, std::min<int>(c_.concurrency, static_cast<int>(chunks.size())));
        threads.reserve(static_cast<size_t>(n));
        for (int t = 0; t < n; ++t) threads.emplace_back(worker);
        for (auto& t : threads) t.join();
        if (!failure.ok()) return failure;
        std::vector<Word> all;
        for (auto& w : words) all.insert(all.end(), w.begin(), w.end());
        Transcript t;
        t.engine = Name();
        t.segments = GroupWordsIntoSegments(all);
        return t;
    }

  private:
    Result<std::vector<Word>> SendChunk(const Endpoint& e, const PcmSource& pcm, std::pair<Ms, Ms> span,
                                        const CancelToken* cancel) {
        const auto rate = static_cast<size_t>(pcm.sample_rate());
        const std::string wav = WavChunk(pcm, static_cast<size_t>(span.first) * rate / 1000,
                                         static_cast<size_t>(span.second) * rate / 1000);
        httplib::MultipartFormDataItems form = {{"file", wav, "chunk.wav", "audio/wav"},
                                                {"response_format", "verbose_json", "", ""}};
        if (c_.engine == AsrEngine::kOpenai) {
            form.push_back({"model", c_.model, "", ""});
            form.push_back({"timestamp_granularities[]", "word", "", ""});
            form.push_back({"timestamp_granularities[]", "segment", "", ""});
        } else {
            form.push_back({"word_timestamps", "true", "", ""});
        }
        if (!c_.language.empty()) form.push_back({"language", c_.language, "", ""});
        if (!c_.prompt.empty()) form.push_back({"prompt", c_.prompt, "", ""});
        httplib::Headers headers;
        if (!c_.api_key.empty()) headers.emplace("Authorization", "Bearer " + c_.api_key);
        std::string last;
        for (int attempt = 1; attempt <= c_.max_attempts; ++attempt) {
            if (cancel && cancel->cancelled()) return Status::Cancelled("recognition cancelled");
            if (c_.may_send) PODPROMO_RETURN_IF_ERROR(c_.may_send());
            httplib::Client client(e.origin);
            const auto secs = c_.timeout_ms / 1000, usecs = (c_.timeout_ms % 1000) * 1000;
            client.set_connection_timeout(10, 0);
            client.set_read_timeout(secs, usecs);
            client.set_write_timeout(secs, usecs);
            // (The request ends at its time limit however the server spreads its answer, and at once on a cancel.)
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(c_.timeout_ms);
            auto [res, ended_from_outside] =
                Watched(client, cancel, deadline, [&] { return client.Post(e.path, headers, form); });
            if (cancel && cancel->cancelled()) return Status::Cancelled("recognition cancelled");
            double wait = c_.backoff_seconds * std::pow(2.0, attempt - 1);
            if (ended_from_outside) {
                last = fmt::format("{} at {}: no answer in {} ms", podpromo::Name(c_.engine), e.origin, c_.timeout_ms);
            } else if (!res) {
                last = fmt::format("{} at {}: no answer ({})", podpromo::Name(c_.engine), e.origin,
                                   httplib::to_string(res.error()));
            } else if (res->status == 200) {
                auto words = ParseWhisperAnswer(res->body);
                if (!words.ok()) {
                    return Status::Unavailable(
                        fmt::format("{}: unusable answer: {}", podpromo::Name(c_.engine), words.status().message()));
                }
                return words;
            } else {
                last = fmt::format("{} at {}: HTTP {}: {}", podpromo::Name(c_.engine), e.origin, res->status,
                                   res->body.substr(0, 200));
                if (res->status != 429 && res->status < 500) return Status::Unavailable(last);
                if (auto asked = RetryAfterSeconds(res->get_header_value("Retry-After"))) {
                    wait = std::max(wait, static_cast<double>(*asked));
                }
                if (res->status == 429 && c_.rate_limit_ends_run) {
                    return Status::RateLimited(last)
                        .WithSlug("engine_rate_limited")
                        .WithRetryAfter(static_cast<int>(std::ceil(wait)));
                }
            }
            if (attempt == c_.max_attempts) break;
            const auto until =
                std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<long>(wait * 1000));
            while (std::chrono::steady_clock::now() < until) {
                if (cancel && cancel->cancelled()) return Status::Cancelled("recognition cancelled");
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
        }
        return Status::Unavailable(fmt::format("{} (gave up after {} attempts)", last, c_.max_attempts));
    }

    WhisperHttpConfig c_;
};

}  // namespace

Status ValidateWhisperHttpConfig(const WhisperHttpConfig& config) { return EndpointOf(config).status(); }

WhisperHttpConfig WhisperConfigFrom(const AsrSettings& asr) {
    WhisperHttpConfig w;
    w.engine = asr.engine;
    w.url = asr.url;
    w.api_key = asr.api_key;
    w.model = asr.model;
    w.language = asr.language;
    return w;
}

std::unique_ptr<Transcriber> MakeWhisperHttpTranscriber(WhisperHttpConfig config) {
    return std::make_unique<WhisperHttpTranscriber>(std::move(config));
}

std::optional<int> RetryAfterSeconds(std::string_view value) {
    const std::optional<int64_t> s = ParseInt(value);
    if (!s || *s < 0) return std::nullopt;
    return static_cast<int>(std::min<int64_t>(*s, kMaxRetryAfterSeconds));
}

Result<std::vector<Word>> ParseWhisperAnswer(const std::string& body) {
    auto t = ParseTranscript(body);
    if (t.ok()) return t->AllWords();
    // Silence: an answer with empty text and nothing else is valid and has no words.
    const json doc = json::parse(body, nullptr, false);
    if (doc.is_object() && doc.contains("text") && doc["text"].is_string() &&
        doc["text"].get<std::string>().find_first_not_of(" \n") == std::string::npos) {
        return std::vector<Word>{};
    }
    return t.status();
}

}  // namespace podpromo
