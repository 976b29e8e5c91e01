// A small Whisper-compatible server on loopback for tests: it speaks the request shapes of OpenAI's
// /v1/audio/transcriptions and whisper.cpp's /inference, records what each request carried, and answers
// with whatever the test's function says.
#pragma once

#include <httplib.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

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

}  // namespace podpromo::testing
