// A small Whisper-compatible server on loopback for tests: it speaks the request shapes of OpenAI's
// /v1/audio/transcriptions and whisper.cpp's /inference, records what each request carried, and answers
// with whatever the test's function says.
#pragma once

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "testsupport.h"

namespace podpromo::testing {

struct Seen {
    std::string path, auth, model, format, prompt, language;
    std::vector<std::string> granularities;
    size_t wav_bytes = 0;
};

// A loopback server whose answer to each request is `answer(request number, seen, response)`.
class FakeWhisper {
  public:
    explicit FakeWhisper(std::function<void(int, const Seen&, httplib::Response&)> answer)
        : answer_(std::move(answer)) {
        auto handle = [this](const httplib::Request& req, httplib::Response& res) {
            Seen s;
            s.path = req.path;
            s.auth = req.get_header_value("Authorization");
            auto field = [&](const char* name) { return req.has_file(name) ? req.get_file_value(name).content : ""; };
            s.model = field("model");
            s.format = field("response_format");
            s.prompt = field("prompt");
            s.language = field("language");
            const auto range = req.files.equal_range("timestamp_granularities[]");
            for (auto it = range.first; it != range.second; ++it) s.granularities.push_back(it->second.content);
            s.wav_bytes = req.has_file("file") ? req.get_file_value("file").content.size() : 0;
            int n = 0;
            {
                std::lock_guard<std::mutex> lock(mu_);
                seen_.push_back(s);
                n = static_cast<int>(seen_.size());
            }
            answer_(n, s, res);
        };
        server_.Post("/v1/audio/transcriptions", handle);
        server_.Post("/inference", handle);
        port_ = server_.bind_to_any_port("127.0.0.1");
        thread_ = std::thread([this] { server_.listen_after_bind(); });
        while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ~FakeWhisper() {
        server_.stop();
        thread_.join();
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    std::vector<Seen> seen() {
        std::lock_guard<std::mutex> lock(mu_);
        return seen_;
    }

  private:
    std::function<void(int, const Seen&, httplib::Response&)> answer_;
    httplib::Server server_;
    int port_ = 0;
    std::thread thread_;
    std::mutex mu_;
    std::vector<Seen> seen_;
};

// A Whisper engine (whisper.cpp's server) whose every answer is a script's exact words at their synthesised times, each
// line's words spread evenly over the line: for the service's black-box tests whose subject is not recognition, which
// then spend no CPU on it. (Recognition in the service is tested with the built-in engine by Service.Sigterm... and
// Service.MissingFfmpeg..., and on its own by the ASR tests.) Every request gets the same words, so an episode must fit
// one request (under ASR_CHUNK_SECONDS). While Hold() is in force, answers wait (a minute at most) until Release(): a
// test can catch a job in its transcribe stage. Thread-safe.
class ScriptEngine {
  public:
    explicit ScriptEngine(const std::vector<TimedLine>& timeline)
        : answer_(WordsJson(timeline)), fake_([this](int, const Seen&, httplib::Response& res) { Answer(res); }) {}
    ~ScriptEngine() { Release(); }  // before fake_ stops: it waits for the answers being given
    void Hold() {
        std::lock_guard<std::mutex> lock(mu_);
        held_ = true;
    }
    void Release() {
        {
            std::lock_guard<std::mutex> lock(mu_);
            held_ = false;
        }
        released_.notify_all();
    }
    // The service's settings that make this its engine.
    std::map<std::string, std::string> Env() const {
        return {{"ASR_ENGINE", "whisper-server"}, {"ASR_URL", fake_.url()}};
    }
    // `env` with this engine's settings added.
    std::map<std::string, std::string> With(std::map<std::string, std::string> env) const {
        env.merge(Env());
        return env;
    }
    size_t requests() { return fake_.seen().size(); }

  private:
    void Answer(httplib::Response& res) {
        std::unique_lock<std::mutex> lock(mu_);
        released_.wait_for(lock, std::chrono::seconds(60), [this] { return !held_; });
        res.set_content(answer_, "application/json");
    }
    static std::string WordsJson(const std::vector<TimedLine>& timeline) {
        nlohmann::json words = nlohmann::json::array();
        std::string text;
        for (const auto& l : timeline) {
            std::istringstream in(l.line.text);
            std::vector<std::string> line_words;
            for (std::string w; in >> w;) line_words.push_back(w);
            const double start = l.start_ms / 1000.0, step = (l.end_ms - l.start_ms) / 1000.0 / line_words.size();
            for (size_t i = 0; i < line_words.size(); ++i) {
                words.push_back(
                    {{"word", line_words[i]}, {"start", start + i * step}, {"end", start + (i + 1) * step}});
            }
            text += l.line.text + " ";
        }
        return nlohmann::json{{"text", text}, {"words", words}}.dump();
    }

    const std::string answer_;
    std::mutex mu_;
    std::condition_variable released_;
    bool held_ = false;
    FakeWhisper fake_;  // last: it is the first to stop, while what its answers use still exists
};

}  // namespace podpromo::testing
