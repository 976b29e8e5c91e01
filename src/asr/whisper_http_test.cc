// The Whisper-compatible HTTP client against a small server on loopback that speaks both request shapes
// (OpenAI's /v1/audio/transcriptions and whisper.cpp's /inference) and checks what the client sent.
#include "podpromo/asr/whisper_http.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "fake_whisper.h"
#include "podpromo/asr/segments.h"

namespace podpromo {
namespace {
using nlohmann::json;
using testing::FakeWhisper;
using testing::Seen;

// 20 s of audio with a pause every 4 s, so chunks of about 5 s are cut at pauses.
struct Episode {
    Pcm pcm;
    AudioFrames frames;
    Episode() {
        pcm.sample_rate = 16000;
        pcm.samples.assign(16000 * 20, 100);
        for (int f = 0; f < 2000; ++f) {
            const bool pause = f % 400 >= 370;
            frames.db.push_back(pause ? -70.f : -20.f);
            frames.f0_hz.push_back(0);
            frames.pause.push_back(pause ? 1 : 0);
        }
    }
};

// A verbose_json answer for a chunk of `seconds`: two words, at 0.5 s and 1.0 s into the chunk.
std::string OpenAiAnswer(double seconds) {
    return json{{"text", "hello there"},
                {"duration", seconds},
                {"segments", json::array({{{"start", 0.0}, {"end", seconds}, {"text", "hello there"}}})},
                {"words", json::array({{{"word", "hello"}, {"start", 0.5}, {"end", 0.9}},
                                       {{"word", "there"}, {"start", 1.0}, {"end", 1.4}}})}}
        .dump();
}

WhisperHttpConfig Config(const std::string& url) {
    WhisperHttpConfig c;
    c.url = url;
    c.api_key = "secret-key-123";
    c.prompt = "PodPromo, Kalinda Ortiz";
    c.language = "en";
    c.chunk_target_ms = 5000;
    c.chunk_max_ms = 8000;
    c.backoff_seconds = 0.01;
    c.max_attempts = 3;
    c.timeout_ms = 5000;
    return c;
}

TEST(WhisperHttp, OpenAiShapeSendsChunksAtPausesAndStitchesAbsoluteTimes) {
    FakeWhisper server([](int, const Seen& s, httplib::Response& res) {
        res.set_content(OpenAiAnswer(static_cast<double>(s.wav_bytes - 44) / 32000.0), "application/json");
    });
    Episode ep;
    const auto chunks = PlanChunks(ep.frames, 5000, 8000);
    ASSERT_GE(chunks.size(), 3u);
    auto engine = MakeWhisperHttpTranscriber(Config(server.url()));
    MemoryPcmSource pcm(ep.pcm);
    // Progress says "transcribe" from before the first request (a job waiting on a slow engine is not shown in the
    // stage before), and rises to 1 as chunks come back.
    std::mutex mu;
    std::vector<std::pair<double, size_t>> reported;  // fraction, requests seen by then
    auto progress = [&](Stage stage, double fraction) {
        std::lock_guard<std::mutex> lock(mu);
        EXPECT_EQ(stage, Stage::kTranscribe);
        reported.emplace_back(fraction, server.seen().size());
    };
    auto t = engine->Transcribe(pcm, ep.frames, progress, nullptr);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_EQ(t->engine, "openai:whisper-1");
    ASSERT_EQ(reported.size(), chunks.size() + 1);
    EXPECT_EQ(reported.front(), (std::pair<double, size_t>{0.0, 0u}));
    EXPECT_EQ(reported.back().first, 1.0);
    const auto seen = server.seen();
    ASSERT_EQ(seen.size(), chunks.size()) << "one request per chunk";
    for (const auto& s : seen) {
        EXPECT_EQ(s.path, "/v1/audio/transcriptions");
        EXPECT_EQ(s.auth, "Bearer secret-key-123");
        EXPECT_EQ(s.model, "whisper-1");
        EXPECT_EQ(s.format, "verbose_json");
        EXPECT_EQ(s.granularities, (std::vector<std::string>{"word", "segment"}));
        EXPECT_EQ(s.prompt, "PodPromo, Kalinda Ortiz");
        EXPECT_EQ(s.language, "en");
        EXPECT_LE(s.wav_bytes, 44u + 8 * 32000u) << "no chunk over the maximum";
    }
    // Each chunk's words land at its start plus their offset in it, in order.
    const auto words = t->AllWords();
    ASSERT_EQ(words.size(), 2 * chunks.size());
    for (size_t i = 0; i < chunks.size(); ++i) {
        EXPECT_EQ(words[2 * i].text, "hello");
        EXPECT_EQ(words[2 * i].start_ms, chunks[i].first + 500) << "chunk " << i;
        EXPECT_EQ(words[2 * i + 1].end_ms, chunks[i].first + 1400);
    }
}

// A server's Retry-After is honoured in whole seconds, but never for longer than five minutes.
TEST(WhisperHttp, RetryAfterIsBounded) {
    EXPECT_EQ(RetryAfterSeconds("0"), 0);
    EXPECT_EQ(RetryAfterSeconds("7"), 7);
    EXPECT_EQ(RetryAfterSeconds("86400"), kMaxRetryAfterSeconds);
    EXPECT_EQ(RetryAfterSeconds("99999999999999999999"), std::nullopt) << "out of range";
    EXPECT_EQ(RetryAfterSeconds("1e300"), std::nullopt);
    EXPECT_EQ(RetryAfterSeconds("-5"), std::nullopt);
    EXPECT_EQ(RetryAfterSeconds("Wed, 21 Oct 2026 07:28:00 GMT"), std::nullopt);
    EXPECT_EQ(RetryAfterSeconds(""), std::nullopt);
}

TEST(WhisperHttp, A429IsRetriedAfterItsRetryAfterThenSucceeds) {
    FakeWhisper server([](int n, const Seen&, httplib::Response& res) {
        if (n == 1) {
            res.status = 429;
            res.set_header("Retry-After", "0");
            res.set_content(R"({"error":{"message":"rate limited"}})", "application/json");
            return;
        }
        res.set_content(OpenAiAnswer(20), "application/json");
    });
    Episode ep;
    auto c = Config(server.url());
    c.chunk_target_ms = c.chunk_max_ms = 60000;  // one chunk
    MemoryPcmSource pcm(ep.pcm);
    auto t = MakeWhisperHttpTranscriber(c)->Transcribe(pcm, ep.frames, {}, nullptr);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_EQ(server.seen().size(), 2u);
    EXPECT_EQ(t->AllWords().size(), 2u);
}

// In the service a 429 ends the run at once, with the engine's Retry-After, for the queue to pause the engine for
// every worker (PipelineJobRunner); nothing is retried here.
TEST(WhisperHttp, InTheServiceA429EndsTheRunWithItsRetryAfter) {
    FakeWhisper server([](int, const Seen&, httplib::Response& res) {
        res.status = 429;
        res.set_header("Retry-After", "17");
        res.set_content(R"({"error":{"message":"rate limited"}})", "application/json");
    });
    Episode ep;
    auto c = Config(server.url());
    c.chunk_target_ms = c.chunk_max_ms = 60000;
    c.rate_limit_ends_run = true;
    MemoryPcmSource pcm(ep.pcm);
    auto t = MakeWhisperHttpTranscriber(c)->Transcribe(pcm, ep.frames, {}, nullptr);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.status().code(), StatusCode::kRateLimited);
    EXPECT_EQ(t.status().slug(), "engine_rate_limited");
    EXPECT_EQ(t.status().retry_after_s(), 17);
    EXPECT_EQ(server.seen().size(), 1u) << "not retried in the run";
}

TEST(WhisperHttp, AServerErrorForGoodNamesTheEngineAndStatusButNeverTheKey) {
    FakeWhisper server([](int, const Seen&, httplib::Response& res) {
        res.status = 500;
        res.set_content("upstream exploded", "text/plain");
    });
    Episode ep;
    MemoryPcmSource pcm(ep.pcm);
    auto t = MakeWhisperHttpTranscriber(Config(server.url()))->Transcribe(pcm, ep.frames, {}, nullptr);
    ASSERT_FALSE(t.ok());
    const std::string msg = t.status().message();
    EXPECT_NE(msg.find("openai"), std::string::npos) << msg;
    EXPECT_NE(msg.find("HTTP 500"), std::string::npos) << msg;
    EXPECT_NE(msg.find("3 attempts"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("secret-key-123"), std::string::npos) << "the key never appears";
}

TEST(WhisperHttp, ARefusalOtherThan429FailsAtOnce) {
    FakeWhisper server([](int, const Seen&, httplib::Response& res) {
        res.status = 401;
        res.set_content(R"({"error":{"message":"bad key"}})", "application/json");
    });
    Episode ep;
    auto c = Config(server.url());
    c.chunk_target_ms = c.chunk_max_ms = 60000;
    MemoryPcmSource pcm(ep.pcm);
    auto t = MakeWhisperHttpTranscriber(c)->Transcribe(pcm, ep.frames, {}, nullptr);
    ASSERT_FALSE(t.ok());
    EXPECT_NE(t.status().message().find("HTTP 401"), std::string::npos);
    EXPECT_EQ(server.seen().size(), 1u) << "not retried";
}

TEST(WhisperHttp, ASlowReplyTimesOutAndIsRetried) {
    FakeWhisper server([](int, const Seen&, httplib::Response& res) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
        res.set_content(OpenAiAnswer(20), "application/json");
    });
    Episode ep;
    auto c = Config(server.url());
    c.chunk_target_ms = c.chunk_max_ms = 60000;
    c.timeout_ms = 300;
    c.max_attempts = 2;
    MemoryPcmSource pcm(ep.pcm);
    auto t = MakeWhisperHttpTranscriber(c)->Transcribe(pcm, ep.frames, {}, nullptr);
    ASSERT_FALSE(t.ok());
    EXPECT_NE(t.status().message().find("no answer"), std::string::npos) << t.status().message();
    EXPECT_EQ(server.seen().size(), 2u);
}

// A cancelled job (or a service stopping) ends a recognition request the engine is still working on, instead of
// waiting for its answer (timeout_ms is 5 minutes by default).
TEST(WhisperHttp, ACancelEndsARequestTheEngineIsStillWorkingOn) {
    std::atomic<bool> released{false};
    FakeWhisper server([&](int, const Seen&, httplib::Response& res) {
        for (int i = 0; i < 1000 && !released; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        res.set_content(OpenAiAnswer(20), "application/json");
    });
    Episode ep;
    auto c = Config(server.url());
    c.chunk_target_ms = c.chunk_max_ms = 60000;
    c.timeout_ms = 60000;
    MemoryPcmSource pcm(ep.pcm);
    CancelToken cancel;
    std::thread canceller([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        cancel.Cancel();
    });
    const auto began = std::chrono::steady_clock::now();
    auto t = MakeWhisperHttpTranscriber(c)->Transcribe(pcm, ep.frames, {}, &cancel);
    const auto took = std::chrono::steady_clock::now() - began;
    canceller.join();
    released = true;
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.status().code(), StatusCode::kCancelled) << t.status().ToString();
    EXPECT_LT(took, std::chrono::milliseconds(1500)) << "the cancel waited for the engine's answer";
    EXPECT_EQ(server.seen().size(), 1u) << "not tried again";
}

TEST(WhisperHttp, WhisperCppServerShapeWithWordsInsideSegments) {
    FakeWhisper server([](int, const Seen& s, httplib::Response& res) {
        res.set_content(
            json{{"text", "one two"},
                 {"segments",
                  json::array(
                      {{{"start", 0.2},
                        {"end", 1.6},
                        {"text", "one two"},
                        {"words",
                         json::array({{{"word", "one"}, {"start", 0.2}, {"end", 0.6}, {"probability", 0.9}},
                                      {{"word", "two"}, {"start", 0.8}, {"end", 1.6}, {"probability", 0.4}}})}}})}}
                .dump(),
            "application/json");
    });
    Episode ep;
    auto c = Config(server.url());
    c.engine = AsrEngine::kWhisperServer;
    c.api_key.clear();
    c.chunk_target_ms = c.chunk_max_ms = 60000;
    MemoryPcmSource pcm(ep.pcm);
    auto t = MakeWhisperHttpTranscriber(c)->Transcribe(pcm, ep.frames, {}, nullptr);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_EQ(t->engine, "whisper-server");
    const auto seen = server.seen();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].path, "/inference");
    EXPECT_TRUE(seen[0].auth.empty());
    const auto words = t->AllWords();
    ASSERT_EQ(words.size(), 2u);
    EXPECT_EQ(words[1].text, "two");
    EXPECT_NEAR(words[1].confidence, 0.4, 1e-9);
}

TEST(WhisperHttp, ConfigurationIsChecked) {
    WhisperHttpConfig c;
    c.url = "ftp://x";
    EXPECT_EQ(ValidateWhisperHttpConfig(c).code(), StatusCode::kInvalidInput);
    c.url = "http://127.0.0.1:9/api";
    EXPECT_TRUE(ValidateWhisperHttpConfig(c).ok());
    c.engine = AsrEngine::kPocketsphinx;
    EXPECT_NE(ValidateWhisperHttpConfig(c).message().find("ASR_ENGINE"), std::string::npos);
}

}  // namespace
}  // namespace podpromo
