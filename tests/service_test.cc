// Black-box tests of `podpromo serve`: the real binary on a free loopback port with its own data directory,
// driven over HTTP as a client would.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "fake_whisper.h"
#include "feed_server.h"
#include "podpromo/core/clock.h"
#include "podpromo/core/secrets.h"
#include "podpromo/files/storage.h"
#include "podpromo/media/probe.h"
#include "podpromo/store/database.h"
#include "server_process.h"
#include "testsupport.h"

namespace podpromo::testing {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string ReadAll(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Files under `dir` (recursively), excluding the database.
std::vector<fs::path> FilesUnder(const fs::path& dir) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it); it.increment(ec)) {
        if (it->is_regular_file() && it->path().filename().string().rfind("podpromo.db", 0) != 0) {
            out.push_back(it->path());
        }
    }
    return out;
}

// A steady tone of `seconds` as a 16 kHz WAV: valid, audible audio with no speech.
std::string ToneWav(const fs::path& path, int seconds) {
    Pcm tone;
    for (int i = 0; i < 16000 * seconds; ++i) tone.samples.push_back(static_cast<int16_t>(3000 * std::sin(i * 0.05)));
    WriteWav(tone, path);
    return ReadAll(path);
}

class Service : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        signal(SIGPIPE, SIG_IGN);  // a server may close a connection mid-upload (413): that is an answer
        dir_ = new TempDir();
    }
    static void TearDownTestSuite() {
        delete dir_;
        dir_ = nullptr;
    }

    // A client with the first start's administrator's key.
    static httplib::Client Client(const ServerProcess& s) {
        httplib::Client c("127.0.0.1", s.port());
        c.set_bearer_token_auth(s.api_key());
        c.set_read_timeout(60, 0);
        c.set_write_timeout(60, 0);
        return c;
    }

    static httplib::Result Upload(const ServerProcess& s, const std::string& content, const std::string& filename,
                                  const std::map<std::string, std::string>& fields = {}) {
        auto c = Client(s);
        httplib::MultipartFormDataItems items = {{"file", content, filename, "application/octet-stream"}};
        for (const auto& [k, v] : fields) items.push_back({k, v, "", ""});
        return c.Post("/api/v1/episodes", items);
    }

    static json Get(const ServerProcess& s, const std::string& path, int expect = 200) {
        auto c = Client(s);
        auto r = c.Get(path);
        EXPECT_TRUE(r) << path;
        if (!r) return json();
        EXPECT_EQ(r->status, expect) << path << ": " << r->body;
        return json::parse(r->body, nullptr, false);
    }

    // Polls the job until `done` says so or `seconds` pass; returns the last job document.
    static json WaitJob(const ServerProcess& s, const std::string& job_id, const std::function<bool(const json&)>& done,
                        int seconds = 240) {
        json job;
        const auto until = Clock::now() + std::chrono::duration<double>(seconds * TestTimeScale());
        while (Clock::now() < until) {
            job = Get(s, "/api/v1/jobs/" + job_id);
            if (job.is_discarded() || done(job)) return job;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return job;
    }

    // A word fixed in the transcript reaches the clip (below, with the test of shows).
    static void FixAWordAndFindItInTheClip(const ServerProcess& server, const std::string& episode_id,
                                           const json& clip);

    static bool Ended(const json& j) {
        const std::string st = j.value("state", "");
        return st == "succeeded" || st == "failed" || st == "cancelled";
    }

    // The business interview's script lines `pick` (all when empty) synthesised into dir_/`name` on first use, with
    // their times in `timeline`: each test runs in a process of its own, and most need a shorter episode or none.
    static fs::path Synthesized(const std::string& name, const std::vector<size_t>& pick,
                                std::vector<TimedLine>* timeline) {
        const fs::path wav = *dir_ / name;
        if (fs::exists(wav)) return wav;
        auto script = LoadScript(fs::path(PODPROMO_TEST_DATA) / "business_interview.tsv");
        EXPECT_TRUE(script.ok()) << script.status().ToString();
        if (!script.ok()) return wav;
        std::vector<ScriptLine> lines = *script;
        if (!pick.empty()) {
            lines.clear();
            for (size_t i : pick) lines.push_back((*script)[i]);
        }
        auto tl = SynthesizeEpisode(lines, wav);
        EXPECT_TRUE(tl.ok()) << tl.status().ToString();
        if (tl.ok()) *timeline = *tl;
        return wav;
    }
    // The whole interview (about three minutes), its times in timeline_.
    static fs::path BusinessWav() { return Synthesized("business.wav", {}, &timeline_); }
    // 90 seconds of it (small talk and the three strong moments), its times in short_timeline_, for tests that need a
    // processed episode but not the whole interview.
    static fs::path ShortWav() { return Synthesized("short_episode.wav", {0, 4, 5, 11, 12, 15}, &short_timeline_); }

    static inline TempDir* dir_ = nullptr;
    static inline std::vector<TimedLine> timeline_, short_timeline_;
};

// Reads `GET path` as server-sent events on a thread of its own until Stop(); keeps each event's JSON.
class EventStream {
  public:
    EventStream(const ServerProcess& s, const std::string& path, std::string key = "")
        : port_(s.port()), key_(key.empty() ? s.api_key() : std::move(key)) {
        thread_ = std::thread([this, path] {
            httplib::Client c("127.0.0.1", port_);
            {
                std::lock_guard<std::mutex> lock(client_mu_);
                client_ = &c;
            }
            c.set_bearer_token_auth(key_);
            c.set_read_timeout(60, 0);
            std::string buffer;
            auto r = c.Get(path, [&](const char* data, size_t len) {
                connected_ = true;
                buffer.append(data, len);
                for (auto at = buffer.find("\n\n"); at != std::string::npos; at = buffer.find("\n\n")) {
                    const std::string block = buffer.substr(0, at);
                    buffer.erase(0, at + 2);
                    const auto d = block.find("data: ");
                    if (d == std::string::npos) continue;
                    std::lock_guard<std::mutex> lock(mu_);
                    events_.push_back(json::parse(block.substr(d + 6), nullptr, false));
                }
                return !stop_.load();
            });
            if (r) status_ = r->status;
            std::lock_guard<std::mutex> lock(client_mu_);
            client_ = nullptr;
        });
        for (int i = 0; i < 200 && !connected_; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    ~EventStream() { Stop(); }
    bool connected() const { return connected_; }
    std::vector<json> events() {
        std::lock_guard<std::mutex> lock(mu_);
        return events_;
    }
    // Asks the reader to end at the next bytes the server sends (an event or the keep-alive).
    void RequestStop() { stop_ = true; }
    // Ends the reader at once (its connection is shut down, as a client that goes away) and waits for it.
    void Stop() {
        stop_ = true;
        {
            std::lock_guard<std::mutex> lock(client_mu_);
            if (client_) client_->stop();
        }
        if (thread_.joinable()) thread_.join();
    }

  private:
    int port_;
    std::string key_;
    std::mutex client_mu_;  // guards client_, the reader's while it reads
    httplib::Client* client_ = nullptr;
    std::thread thread_;
    std::atomic<bool> connected_{false}, stop_{false};
    std::atomic<int> status_{0};
    std::mutex mu_;
    std::vector<json> events_;
};

TEST_F(Service, UploadEventsClipsFeedbackAndARestartLosesNothing) {
    TempDir work;
    const fs::path data = work / "data";
    const std::string episode_bytes = ReadAll(BusinessWav());
    ScriptEngine engine(timeline_);  // the interview's exact words: this test is about what comes after recognition
    auto server = std::make_unique<ServerProcess>(data, engine.Env());
    ASSERT_TRUE(server->Start()) << server->Log();

    // Listen to the progress stream from before the upload.
    EventStream stream(*server, "/api/v1/events");
    ASSERT_TRUE(stream.connected()) << "the event stream did not open";

    // Rendered square, in the clean style, over a cover image sent with it.
    ASSERT_TRUE(FfmpegConvert(
        {"-f", "lavfi", "-i", "color=c=0xE00000:s=2000x2000", "-frames:v", "1", (*dir_ / "cover.png").string()}));
    auto up = Upload(*server, episode_bytes, "Business Interview.wav",
                     {{"genre", "auto"},
                      {"platform", "tiktok"},
                      {"clips", "3"},
                      {"title", "Episode 12"},
                      {"aspect", "1:1"},
                      {"style", "clean"},
                      {"cover", ReadAll(*dir_ / "cover.png")}});
    ASSERT_TRUE(up);
    ASSERT_EQ(up->status, 202) << up->body;
    const json accepted = json::parse(up->body);
    const std::string episode_id = accepted["episode"]["id"], job_id = accepted["job"]["id"];
    EXPECT_EQ(accepted["episode"]["title"], "Episode 12");
    EXPECT_EQ(accepted["episode"]["render_options"]["style"], "clean");
    EXPECT_EQ(accepted["episode"]["render_options"]["aspect"], "1:1");
    EXPECT_EQ(accepted["episode"]["status"], "queued");
    EXPECT_EQ(accepted["episode"]["checksum"].get<std::string>().rfind("sha256:", 0), 0u);
    {  // The cover is kept normalised: a JPEG of at most 1440 px a side, whatever was sent (a 2000 px PNG here).
        auto cover = ProbeImage(data / "episodes" / episode_id / "cover");
        ASSERT_TRUE(cover.ok()) << cover.status().ToString();
        EXPECT_EQ(cover->format, "jpeg_pipe");
        EXPECT_EQ(cover->width, 1440);
        EXPECT_EQ(cover->height, 1440);
    }

    const json job = WaitJob(*server, job_id, Ended);
    ASSERT_EQ(job["state"], "succeeded") << job.dump() << server->Log();
    for (const char* stage : {"decode", "transcribe", "score", "render", "write"})
        EXPECT_TRUE(job["stage_ms"].contains(stage));

    // The stream told the story: queued, then running stages with rising progress, then succeeded.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    stream.RequestStop();  // the later requests' events end it
    {
        const std::vector<json> events = stream.events();
        std::vector<std::string> states;
        double last_progress = -1;
        bool monotonic = true, saw_transcribe = false;
        for (const auto& e : events) {
            if (e.is_discarded() || e["job_id"] != job_id) continue;
            states.push_back(e["state"]);
            if (e["state"] == "running") {
                monotonic &= e["progress"].get<double>() >= last_progress;
                last_progress = e["progress"];
                saw_transcribe |= e["stage"] == "transcribe";
            }
        }
        ASSERT_FALSE(states.empty());
        EXPECT_EQ(states.front(), "queued");
        EXPECT_EQ(states.back(), "succeeded");
        EXPECT_TRUE(saw_transcribe);
        EXPECT_TRUE(monotonic);
    }

    // The clips cover the planted strong moments and never the sponsor read.
    const json doc = Get(*server, "/api/v1/episodes/" + episode_id);
    EXPECT_EQ(doc["episode"]["status"], "ready");
    EXPECT_EQ(doc["episode"]["detected_genre"], "business");
    ASSERT_GE(doc["clips"].size(), 3u);
    int strong = 0;
    for (const auto& line : timeline_) {
        const double s = line.start_ms / 1000.0, e = line.end_ms / 1000.0;
        for (const auto& c : doc["clips"]) {
            const double overlap = std::min(e, c["end"].get<double>()) - std::max(s, c["start"].get<double>());
            if (line.line.kind == "ad") {
                EXPECT_LE(overlap, 0.0) << "clip " << c["id"] << " touches the sponsor read";
            }
            if (line.line.kind == "strong" && overlap >= 0.5 * (e - s)) {
                ++strong;
                break;
            }
        }
    }
    EXPECT_GE(strong, 3) << "the three strong moments are among the clips";
    ASSERT_FALSE(doc["transcript"].is_null());
    EXPECT_GT(doc["transcript"]["segments"].size(), 10u);

    // Media with Range, captions, feedback.
    const json clip = doc["clips"][0];
    const std::string clip_id = clip["id"];
    {
        auto c = Client(*server);
        auto r = c.Get(clip["files"]["audio"].get<std::string>(), {{"Range", "bytes=0-99"}});
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 206);
        EXPECT_EQ(r->body.size(), 100u);
        EXPECT_EQ(r->body.substr(4, 4), "ftyp") << "an MP4 audio file";
        // The rendered 9:16 video and its thumbnail.
        auto video = c.Get(clip["files"]["video"].get<std::string>(), {{"Range", "bytes=0-99"}});
        ASSERT_TRUE(video);
        EXPECT_EQ(video->status, 206);
        EXPECT_EQ(video->get_header_value("Content-Type"), "video/mp4");
        EXPECT_EQ(video->body.substr(4, 4), "ftyp");
        {
            // Rendered as the upload asked: square.
            TempDir tmp;
            std::ofstream(tmp / "ranked.mp4", std::ios::binary)
                << c.Get(clip["files"]["video"].get<std::string>())->body;
            auto probe = ProbeVideo(tmp / "ranked.mp4");
            ASSERT_TRUE(probe.ok()) << probe.status().ToString();
            EXPECT_EQ(probe->width, 1080);
            EXPECT_EQ(probe->height, 1080);
            auto frame = FrameRgb(tmp / "ranked.mp4", 1.0, 1080, 1080);
            ASSERT_TRUE(frame.ok()) << frame.status().ToString();
            const auto* px = reinterpret_cast<const unsigned char*>(frame->data()) + (430 * 1080 + 540) * 3;
            EXPECT_GT(px[0], 190) << "the uploaded cover is in the picture";
            EXPECT_LT(px[1], 60);
        }
        auto thumb = c.Get(clip["files"]["thumbnail"].get<std::string>());
        ASSERT_TRUE(thumb);
        EXPECT_EQ(thumb->status, 200);
        EXPECT_EQ(thumb->get_header_value("Content-Type"), "image/jpeg");
        auto srt = c.Get(clip["files"]["srt"].get<std::string>());
        ASSERT_TRUE(srt);
        EXPECT_EQ(srt->status, 200);
        EXPECT_NE(srt->body.find("00:00:00,"), std::string::npos) << "clip captions start at the clip's own zero";
        auto fb =
            c.Post("/api/v1/clips/" + clip_id + "/feedback", R"({"kind":"rating","rating":5})", "application/json");
        ASSERT_TRUE(fb);
        EXPECT_EQ(fb->status, 201) << fb->body;
        fb = c.Post("/api/v1/clips/" + clip_id + "/feedback", R"({"kind":"like"})", "application/json");
        EXPECT_EQ(fb->status, 201);
        fb = c.Post("/api/v1/clips/" + clip_id + "/feedback", R"({"kind":"rating","rating":9})", "application/json");
        EXPECT_EQ(fb->status, 400);
        EXPECT_NE(json::parse(fb->body)["error"]["message"].get<std::string>().find("1 to 5"), std::string::npos);
    }

    // A span the editor chose: the second strong moment, padded by a second on each side, rendered square
    // for LinkedIn in the boxed caption style.
    json chosen;
    for (const auto& line : timeline_) {
        if (line.line.kind == "strong")
            chosen = {{"start", line.start_ms / 1000.0 - 1},
                      {"end", line.end_ms / 1000.0 + 1},
                      {"platform", "linkedin"},
                      {"aspect", "1:1"},
                      {"style", "boxed"}};
    }
    {
        auto c = Client(*server);
        auto made = c.Post("/api/v1/episodes/" + episode_id + "/clips", chosen.dump(), "application/json");
        ASSERT_TRUE(made);
        // Scored at once, rendered by a worker as a high-priority render job.
        ASSERT_EQ(made->status, 202) << made->body;
        const json queued = json::parse(made->body);
        EXPECT_EQ(queued["job"]["kind"], "render");
        EXPECT_EQ(queued["job"]["priority"], "high");
        EXPECT_EQ(queued["job"]["clip_id"], queued["clip_id"]);
        EXPECT_FALSE(queued["clip"]["explanation"].empty());
        const json render_job = WaitJob(*server, queued["job"]["id"], Ended);
        ASSERT_EQ(render_job["state"], "succeeded") << render_job.dump() << server->Log();
        EXPECT_EQ(Get(*server, "/api/v1/episodes/" + episode_id)["episode"]["status"], "ready")
            << "a render job leaves the episode's state alone";
        const json span = Get(*server, queued["clip_url"].get<std::string>());
        EXPECT_EQ(span["rank"].get<size_t>(), doc["clips"].size() + 1) << "ranked after the stored clips";
        EXPECT_GE(span["start"].get<double>(), chosen["start"].get<double>());
        EXPECT_LE(span["end"].get<double>(), chosen["end"].get<double>());
        EXPECT_FALSE(span["explanation"].empty());
        auto audio = c.Get(span["files"]["audio"].get<std::string>());
        ASSERT_TRUE(audio);
        EXPECT_EQ(audio->status, 200);
        EXPECT_GT(audio->body.size(), 10000u);
        auto video = c.Get(span["files"]["video"].get<std::string>());
        ASSERT_TRUE(video);
        ASSERT_EQ(video->status, 200);
        TempDir tmp;
        {
            std::ofstream f(tmp / "span.mp4", std::ios::binary);
            f << video->body;
        }
        auto probe = ProbeVideo(tmp / "span.mp4");
        ASSERT_TRUE(probe.ok()) << probe.status().ToString();
        EXPECT_EQ(probe->width, 1080);
        EXPECT_EQ(probe->height, 1080) << "the square preset asked for";
        EXPECT_NEAR(probe->duration, span["duration"].get<double>(), 0.1);
        json bad_style = chosen;
        bad_style["style"] = "comic-sans";
        auto refused = c.Post("/api/v1/episodes/" + episode_id + "/clips", bad_style.dump(), "application/json");
        ASSERT_TRUE(refused);
        EXPECT_EQ(refused->status, 400);
        EXPECT_NE(refused->body.find("boxed"), std::string::npos) << "names the styles: " << refused->body;
        // A render cancelled while queued or running makes no clip.
        auto second = c.Post("/api/v1/episodes/" + episode_id + "/clips", chosen.dump(), "application/json");
        ASSERT_TRUE(second);
        ASSERT_EQ(second->status, 202);
        const json second_job = json::parse(second->body);
        // The same span asked again while it is pending is the same render; an episode has at most four pending.
        auto again = c.Post("/api/v1/episodes/" + episode_id + "/clips", chosen.dump(), "application/json");
        ASSERT_TRUE(again);
        ASSERT_EQ(again->status, 202) << again->body;
        EXPECT_EQ(json::parse(again->body)["job"]["id"], second_job["job"]["id"]);
        EXPECT_EQ(json::parse(again->body)["clip_id"], second_job["clip_id"]);
        std::vector<std::string> others;
        int too_many = 0;
        for (int i = 1; i <= 4; ++i) {
            json other = chosen;
            other["end"] = chosen["end"].get<double>() - 0.5 * i;
            auto r = c.Post("/api/v1/episodes/" + episode_id + "/clips", other.dump(), "application/json");
            ASSERT_TRUE(r);
            if (r->status == 202) others.push_back(json::parse(r->body)["job"]["id"]);
            too_many += r->status == 429 && r->body.find("too_many_renders") != std::string::npos;
        }
        EXPECT_EQ(others.size(), 3u);
        EXPECT_EQ(too_many, 1);
        for (const auto& other : others) (void)c.Post("/api/v1/jobs/" + other + "/cancel", "", "application/json");
        auto cancel =
            c.Post("/api/v1/jobs/" + second_job["job"]["id"].get<std::string>() + "/cancel", "", "application/json");
        ASSERT_TRUE(cancel);
        const json cancelled = WaitJob(*server, second_job["job"]["id"], Ended);
        EXPECT_EQ(cancelled["state"], "cancelled") << cancelled.dump();
        for (const auto& other : others) {  // a running one stops at its next check, later on a busy machine
            EXPECT_EQ(WaitJob(*server, other, Ended)["state"], "cancelled") << other;
        }
        Get(*server, second_job["clip_url"].get<std::string>(), 404);
        auto too_short =
            c.Post("/api/v1/episodes/" + episode_id + "/clips", R"({"start": 30, "end": 33})", "application/json");
        ASSERT_TRUE(too_short);
        EXPECT_EQ(too_short->status, 400) << too_short->body;
    }
    const json with_span = Get(*server, "/api/v1/episodes/" + episode_id);
    EXPECT_EQ(with_span["clips"].size(), doc["clips"].size() + 1);

    // Rescored for LinkedIn without recognising again: longer clips, within LinkedIn's range.
    const json linkedin = Get(*server, "/api/v1/episodes/" + episode_id + "/clips?platform=linkedin&genre=business");
    EXPECT_TRUE(linkedin["rescored"].get<bool>());
    ASSERT_FALSE(linkedin["items"].empty());
    for (const auto& c : linkedin["items"]) {
        EXPECT_GE(c["duration"].get<double>(), 20.0);
        EXPECT_LE(c["duration"].get<double>(), 60.0);
        EXPECT_EQ(c["platform"], "linkedin");
    }
    Get(*server, "/api/v1/episodes/" + episode_id + "/clips?platform=myspace", 400);

    // Metrics and operator endpoints reflect the work.
    {
        auto c = Client(*server);
        auto m = c.Get("/metrics");
        ASSERT_TRUE(m);
        // The episode's job and the span's render job succeeded; the second render and three others were cancelled.
        EXPECT_NE(m->body.find("podpromo_jobs{state=\"succeeded\"} 2"), std::string::npos) << m->body;
        EXPECT_NE(m->body.find("podpromo_jobs{state=\"cancelled\"} 4"), std::string::npos) << m->body;
        EXPECT_NE(m->body.find("podpromo_stage_duration_seconds_bucket{stage=\"transcribe\""), std::string::npos);
        EXPECT_NE(
            m->body.find("podpromo_http_request_duration_seconds_bucket{method=\"POST\",route=\"/api/v1/episodes\""),
            std::string::npos);
    }
    const json queue = Get(*server, "/queue/stats");
    EXPECT_EQ(queue["by_state"]["succeeded"], 2);
    EXPECT_EQ(queue["by_state"]["cancelled"], 4);
    const json storage = Get(*server, "/storage/stats");
    EXPECT_EQ(storage["files_by_kind"]["upload"], 1);
    EXPECT_GE(storage["files_by_kind"]["audio"].get<int>(), 3);

    // Restart: everything is still there.
    stream.Stop();
    const auto t0 = Clock::now();
    EXPECT_EQ(server->Terminate(10000), 0) << server->Log();
    EXPECT_LT(Clock::now() - t0, std::chrono::seconds(10));
    server = std::make_unique<ServerProcess>(data, engine.Env());
    ASSERT_TRUE(server->Start()) << server->Log();
    const json again = Get(*server, "/api/v1/episodes/" + episode_id);
    EXPECT_EQ(again["clips"], with_span["clips"]);
    EXPECT_EQ(again["transcript"], doc["transcript"]);
    const json fetched = Get(*server, "/api/v1/clips/" + clip_id);
    EXPECT_EQ(fetched["feedback"]["rating"], 1);
    EXPECT_EQ(fetched["feedback"]["rating_sum"], 5);
    EXPECT_EQ(fetched["feedback"]["like"], 1);
    const json list = Get(*server, "/api/v1/episodes?limit=1&offset=0");
    EXPECT_EQ(list["total"], 1);

    // Delete removes rows and files.
    auto c = Client(*server);
    auto del = c.Delete("/api/v1/episodes/" + episode_id);
    ASSERT_TRUE(del);
    EXPECT_EQ(del->status, 204);
    Get(*server, "/api/v1/episodes/" + episode_id, 404);
    EXPECT_TRUE(FilesUnder(data / "uploads").empty());
    EXPECT_TRUE(FilesUnder(data / "episodes").empty());
}

TEST_F(Service, BadUploadsAreRefusedAndLeaveNothingBehind) {
    TempDir work;
    const fs::path data = work / "data";
    ServerProcess server(data, {{"MAX_FILE_SIZE", "1000000"}});
    ASSERT_TRUE(server.Start()) << server.Log();
    auto expect_error = [&](const httplib::Result& r, int status, const std::string& code) {
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, status) << r->body;
        const json j = json::parse(r->body, nullptr, false);
        ASSERT_FALSE(j.is_discarded()) << r->body;
        EXPECT_EQ(j["error"]["code"], code) << r->body;
        EXPECT_FALSE(j["error"]["message"].get<std::string>().empty());
    };
    // 3 MB over a 1 MB limit: multipart, and raw with a declared length.
    const std::string big(3 * 1000 * 1000, 'x');
    expect_error(Upload(server, big, "big.wav"), 413, "too_large");
    {
        auto c = Client(server);
        expect_error(c.Post("/api/v1/episodes", {{"X-Filename", "big.wav"}}, big, "application/octet-stream"), 413,
                     "too_large");
    }
    // Not audio or video, whatever the name says.
    std::string png = "\x89PNG\r\n\x1a\n";
    png += std::string(5000, '\0');
    expect_error(Upload(server, png, "episode.mp3"), 415, "unsupported_media");
    expect_error(Upload(server, "just some text, not a recording\n", "notes.wav"), 415, "unsupported_media");
    // No file at all, and a bad option.
    {
        auto c = Client(server);
        httplib::MultipartFormDataItems only_fields = {{"genre", "auto", "", ""}};
        expect_error(c.Post("/api/v1/episodes", only_fields), 400, "no_file");
    }
    // Decodable only in part, silent, or too short to clip: refused at upload with the reason.
    const std::string wav = ToneWav(work / "tone.wav", 13);
    expect_error(Upload(server, wav.substr(0, wav.size() / 5), "liar.wav"), 415, "unsupported_media");
    ASSERT_TRUE(FfmpegConvert(
        {"-i", (work / "tone.wav").string(), "-c:a", "libmp3lame", "-b:a", "64k", (work / "tone.mp3").string()}));
    const std::string mp3 = ReadAll(work / "tone.mp3");
    auto truncated = Upload(server, mp3.substr(0, mp3.size() / 4), "truncated.mp3");
    expect_error(truncated, 415, "unsupported_media");
    EXPECT_NE(truncated->body.find("truncated"), std::string::npos) << truncated->body;
    Pcm quiet;
    quiet.samples.assign(16000 * 30, 0);
    WriteWav(quiet, work / "silence.wav");
    auto silent = Upload(server, ReadAll(work / "silence.wav"), "silence.wav");
    expect_error(silent, 422, "unusable_media");
    EXPECT_NE(silent->body.find("silent"), std::string::npos) << silent->body;
    expect_error(Upload(server, ToneWav(work / "short.wav", 3), "short.wav"), 422, "unusable_media");
    // A valid recording with a bad option.
    expect_error(Upload(server, wav, "tone.wav", {{"platform", "myspace"}}), 400, "invalid_input");
    expect_error(Upload(server, wav, "tone.wav", {{"priority", "urgent"}}), 400, "invalid_input");
    expect_error(Upload(server, wav, "tone.wav", {{"style", "comic"}}), 400, "invalid_input");
    expect_error(Upload(server, wav, "tone.wav", {{"aspect", "4:3"}}), 400, "invalid_input");
    expect_error(Upload(server, wav, "tone.wav", {{"cover", "not a picture at all"}}), 415, "unsupported_media");

    EXPECT_TRUE(FilesUnder(data).empty()) << "refused uploads leave no file";
    EXPECT_EQ(Get(server, "/api/v1/episodes")["total"], 0) << "and no row";

    // A hostile file name is stored under a safe name inside the data directory.
    auto ok = Upload(server, wav, "../../../etc/cron.d/evil;rm -rf ~.wav");
    ASSERT_TRUE(ok);
    ASSERT_EQ(ok->status, 202) << ok->body;
    const json ep = json::parse(ok->body)["episode"];
    EXPECT_EQ(Get(server, "/api/v1/episodes")["total"], 1) << "the list shows a new upload at once";
    const std::string name = ep["filename"];
    EXPECT_EQ(name.find('/'), std::string::npos);
    EXPECT_EQ(name.find(".."), std::string::npos);
    const auto files = FilesUnder(data / "uploads");
    ASSERT_EQ(files.size(), 1u);
    EXPECT_EQ(files[0].filename().string(), name);
    EXPECT_EQ(fs::weakly_canonical(files[0]).string().rfind(fs::weakly_canonical(data).string(), 0), 0u);
    // Sent again (the client never saw the answer): 200 with the same episode and job, and nothing new stored.
    auto again = Upload(server, wav, "../../../etc/cron.d/evil;rm -rf ~.wav");
    ASSERT_TRUE(again);
    ASSERT_EQ(again->status, 200) << again->body;
    const json repeat = json::parse(again->body);
    EXPECT_TRUE(repeat.value("repeated", false));
    EXPECT_EQ(repeat["episode"]["id"], ep["id"]);
    EXPECT_EQ(repeat["job"]["id"], json::parse(ok->body)["job"]["id"]);
    EXPECT_EQ(Get(server, "/api/v1/episodes")["total"], 1);
    EXPECT_EQ(FilesUnder(data / "uploads").size(), 1u);
    // Unknown ids are JSON 404s.
    const json missing = Get(server, "/api/v1/episodes/ep_nothere", 404);
    EXPECT_EQ(missing["error"]["code"], "not_found");
    Get(server, "/api/v1/no/such/endpoint", 404);
}

TEST_F(Service, EventStreamsAreFilteredByEpisodeAndLimitedInNumber) {
    TempDir work;
    ServerProcess server(work / "data", {{"MAX_EVENT_STREAMS", "2"}, {"MAX_CONCURRENT_JOBS", "1"}});
    ASSERT_TRUE(server.Start()) << server.Log();
    const std::string episode = ReadAll(BusinessWav());
    auto a = Upload(server, episode, "a.wav");
    ASSERT_TRUE(a);
    ASSERT_EQ(a->status, 202);
    const json ja = json::parse(a->body);
    const std::string ep_a = ja["episode"]["id"], job_a = ja["job"]["id"];
    EventStream only_a(server, "/api/v1/events?episode_id=" + ep_a);
    EventStream all(server, "/api/v1/events");
    ASSERT_TRUE(only_a.connected());
    ASSERT_TRUE(all.connected());
    {
        // A third stream is one too many; ordinary requests are still served while two are open.
        auto c = Client(server);
        auto third = c.Get("/api/v1/events");
        ASSERT_TRUE(third);
        EXPECT_EQ(third->status, 503);
        EXPECT_FALSE(third->get_header_value("Retry-After").empty());
        EXPECT_EQ(json::parse(third->body)["error"]["code"], "too_many_streams");
        auto health = c.Get("/health");
        ASSERT_TRUE(health);
        EXPECT_NE(health->status, 0);
        EXPECT_EQ(Get(server, "/api/v1/episodes")["total"], 1);
    }
    auto b = Upload(server, episode, "b.wav");
    ASSERT_TRUE(b);
    ASSERT_EQ(b->status, 202);
    const json jb = json::parse(b->body);
    const std::string ep_b = jb["episode"]["id"], job_b = jb["job"]["id"];
    for (const std::string& job : {job_b, job_a}) {
        auto c = Client(server);
        ASSERT_TRUE(c.Post("/api/v1/jobs/" + job + "/cancel", "", "application/json"));
        EXPECT_EQ(WaitJob(server, job, Ended, 60)["state"], "cancelled");
    }
    // Both cancellations are published; wait until the unfiltered stream has seen them.
    auto saw = [](const std::vector<json>& evs, const std::string& ep, const std::string& state) {
        return std::any_of(evs.begin(), evs.end(), [&](const json& e) {
            return !e.is_discarded() && e["episode_id"] == ep && e["state"] == state;
        });
    };
    for (int i = 0; i < 200 && !(saw(all.events(), ep_a, "cancelled") && saw(only_a.events(), ep_a, "cancelled"));
         ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_TRUE(saw(all.events(), ep_b, "queued"));
    EXPECT_TRUE(saw(all.events(), ep_b, "cancelled"));
    EXPECT_TRUE(saw(all.events(), ep_a, "cancelled"));
    const auto filtered = only_a.events();
    EXPECT_TRUE(saw(filtered, ep_a, "cancelled"));
    for (const auto& e : filtered) EXPECT_EQ(e["episode_id"], ep_a) << "only the asked episode: " << e.dump();
    // A closed stream frees its place.
    only_a.Stop();
    all.Stop();
    bool reopened = false;
    for (int i = 0; i < 100 && !reopened; ++i) {
        EventStream again(server, "/api/v1/events");
        reopened = again.connected();
        if (!reopened) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_TRUE(reopened);
    EXPECT_EQ(server.Terminate(), 0);
}

// `podpromo worker` beside an API-only serve (MAX_CONCURRENT_JOBS=0), sharing its data directory and database: the
// worker takes the upload's job and writes the clip that the serve then hands out; its status port answers /livez and,
// with the METRICS_TOKEN, /metrics counting the job; SIGTERM drains it.
TEST_F(Service, AWorkerHostRunsTheJobsAnApiOnlyServeQueues) {
    TempDir work;
    const fs::path data = work / "data";
    const std::string episode_bytes = ReadAll(ShortWav());
    ScriptEngine engine(short_timeline_);
    ServerProcess api(data, {{"MAX_CONCURRENT_JOBS", "0"}});
    ASSERT_TRUE(api.Start()) << api.Log();
    EventStream stream(api, "/api/v1/events");
    ASSERT_TRUE(stream.connected());
    auto up = Upload(api, episode_bytes, "worked elsewhere.wav", {{"clips", "1"}});
    ASSERT_TRUE(up && up->status == 202) << (up ? up->body : "no answer");
    const std::string episode_id = json::parse(up->body)["episode"]["id"];
    const std::string job_id = json::parse(up->body)["job"]["id"];
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    EXPECT_EQ(Get(api, "/api/v1/jobs/" + job_id)["state"], "queued") << "the API-only serve runs nothing";

    std::map<std::string, std::string> env =
        engine.With({{"MAX_CONCURRENT_JOBS", "1"}, {"METRICS_TOKEN", "worker-metrics-7"}});
    if (OnPostgres()) env["DATABASE_URL"] = ServerProcess::DatabaseFor(data);
    ServerProcess worker(data, env, ServerProcess::Kind::kWorker);
    ASSERT_TRUE(worker.Start()) << worker.Log();
    ASSERT_EQ(WaitJob(api, job_id, Ended)["state"], "succeeded") << worker.Log();
    if (OnPostgres()) {
        // The worker's progress reaches the serve's event stream (PostgreSQL's notices): every stage, then the end.
        // (On SQLite the processes share no notices: a stream sees the jobs its own process runs.)
        std::set<std::string> stages;
        bool ended = false;
        for (int i = 0; i < 100 && !ended; ++i) {
            for (const json& e : stream.events()) {
                if (e.value("job_id", "") != job_id) continue;
                stages.insert(e.value("stage", ""));
                ended = ended || e.value("state", "") == "succeeded";
            }
            if (!ended) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        EXPECT_TRUE(ended) << "the worker's success reached the serve's stream";
        EXPECT_TRUE(stages.count("transcribe") && stages.count("render")) << stages.size();
    }
    stream.Stop();
    const json doc = Get(api, "/api/v1/episodes/" + episode_id);
    ASSERT_EQ(doc["clips"].size(), 1u) << doc.dump();
    auto c = Client(api);
    auto video = c.Get("/api/v1/clips/" + doc["clips"][0]["id"].get<std::string>() + "/media/video");
    ASSERT_TRUE(video);
    EXPECT_EQ(video->status, 200) << "the worker's files, in the shared storage root, served by the API";
    EXPECT_GT(video->body.size(), 10000u);

    httplib::Client status("127.0.0.1", worker.port());
    auto live = status.Get("/livez");
    ASSERT_TRUE(live);
    EXPECT_EQ(live->status, 200);
    auto refused = status.Get("/metrics");
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 401);
    status.set_bearer_token_auth("worker-metrics-7");
    auto metrics = status.Get("/metrics");
    ASSERT_TRUE(metrics);
    EXPECT_EQ(metrics->status, 200);
    EXPECT_NE(metrics->body.find("podpromo_jobs_finished_total{outcome=\"succeeded\"} 1"), std::string::npos)
        << metrics->body;
    EXPECT_EQ(status.Get("/api/v1/episodes")->status, 404) << "a worker serves no API";
    EXPECT_EQ(worker.Terminate(), 0) << worker.Log();
}

TEST_F(Service, QueueLimitPriorityAndCancellation) {
    TempDir work;
    const fs::path data = work / "data";
    ServerProcess server(data, {{"MAX_QUEUE_SIZE", "1"}, {"MAX_CONCURRENT_JOBS", "1"}});
    ASSERT_TRUE(server.Start()) << server.Log();
    const std::string episode = ReadAll(BusinessWav());
    auto first = Upload(server, episode, "a.wav");
    ASSERT_TRUE(first);
    ASSERT_EQ(first->status, 202) << first->body;
    const std::string job_a = json::parse(first->body)["job"]["id"];
    const std::string ep_a = json::parse(first->body)["episode"]["id"];
    WaitJob(
        server, job_a, [](const json& j) { return j["state"] != "queued"; }, 30);
    auto second = Upload(server, episode, "b.wav", {{"priority", "low"}});
    ASSERT_TRUE(second);
    ASSERT_EQ(second->status, 202) << second->body;
    const std::string job_b = json::parse(second->body)["job"]["id"];
    auto third = Upload(server, episode, "c.wav");
    ASSERT_TRUE(third);
    EXPECT_EQ(third->status, 503) << third->body;
    EXPECT_FALSE(third->get_header_value("Retry-After").empty());
    EXPECT_EQ(json::parse(third->body)["error"]["code"], "queue_full");
    EXPECT_EQ(Get(server, "/queue/stats")["queued_by_priority"]["low"], 1);

    // Cancel the queued one (at once) and the running one (within a few seconds, its outputs removed).
    auto c = Client(server);
    const auto t0 = Clock::now();
    auto busy = c.Delete("/api/v1/episodes/" + ep_a);
    ASSERT_TRUE(busy);
    EXPECT_EQ(busy->status, 409) << "a running episode is not deleted under its worker";
    auto cancel_b = c.Post("/api/v1/jobs/" + job_b + "/cancel");
    ASSERT_TRUE(cancel_b);
    EXPECT_EQ(cancel_b->status, 202);
    EXPECT_EQ(Get(server, "/api/v1/jobs/" + job_b)["state"], "cancelled");
    // The delete above already asked the running job to stop, so by now it may have (409: it has ended).
    auto cancel_a = c.Post("/api/v1/jobs/" + job_a + "/cancel");
    ASSERT_TRUE(cancel_a);
    EXPECT_TRUE(cancel_a->status == 202 || cancel_a->status == 409) << cancel_a->status << " " << cancel_a->body;
    const json a = WaitJob(server, job_a, Ended, 30);
    EXPECT_EQ(a["state"], "cancelled") << a.dump();
    EXPECT_LT(Clock::now() - t0, std::chrono::seconds(8)) << "a running job stops within a few seconds";
    EXPECT_FALSE(fs::exists(data / "episodes" / ep_a / "out"));
    EXPECT_TRUE(FilesUnder(data / "tmp").empty());
    auto again = c.Post("/api/v1/jobs/" + job_a + "/cancel");
    EXPECT_EQ(again->status, 409);

    // Several clients upload at once: every upload is accepted once the queue has room.
    EXPECT_EQ(server.Terminate(), 0);
    ServerProcess roomy(data, {{"MAX_CONCURRENT_JOBS", "1"}});
    ASSERT_TRUE(roomy.Start()) << roomy.Log();
    std::vector<std::thread> clients;
    std::vector<int> statuses(6, 0);
    std::vector<std::string> ids(6);
    for (int i = 0; i < 6; ++i) {
        clients.emplace_back([&, i] {
            auto cl = Client(roomy);
            auto r = cl.Post("/api/v1/episodes", {{"X-Filename", "client" + std::to_string(i) + ".wav"}}, episode,
                             "application/octet-stream");
            if (!r) return;
            statuses[static_cast<size_t>(i)] = r->status;
            const json j = json::parse(r->body, nullptr, false);
            if (!j.is_discarded() && j.contains("episode")) ids[static_cast<size_t>(i)] = j["episode"]["id"];
        });
    }
    for (auto& t : clients) t.join();
    std::set<std::string> distinct;
    for (int i = 0; i < 6; ++i) {
        EXPECT_EQ(statuses[static_cast<size_t>(i)], 202);
        distinct.insert(ids[static_cast<size_t>(i)]);
    }
    EXPECT_EQ(distinct.size(), 6u);
    EXPECT_EQ(Get(roomy, "/api/v1/episodes?limit=100")["total"], 8);
    EXPECT_EQ(roomy.Terminate(), 0) << "SIGTERM while a job runs still exits 0";
}

TEST_F(Service, SigtermReleasesTheJobAndAKilledServerResumesAfterRecognition) {
    TempDir work;
    const fs::path data = work / "data";
    auto server = std::make_unique<ServerProcess>(data, std::map<std::string, std::string>{{"JOB_LEASE_SECONDS", "5"}});
    ASSERT_TRUE(server->Start()) << server->Log();
    auto up = Upload(*server, ReadAll(ShortWav()), "resume.wav", {{"clips", "1"}});
    ASSERT_TRUE(up);
    ASSERT_EQ(up->status, 202);
    const std::string job_id = json::parse(up->body)["job"]["id"];

    // SIGTERM during recognition: exit 0 within 10 s, the job back in the queue without a counted attempt.
    WaitJob(
        *server, job_id, [](const json& j) { return j["stage"] == "transcribe"; }, 60);
    const auto t0 = Clock::now();
    EXPECT_EQ(server->Terminate(10000), 0) << server->Log();
    EXPECT_LT(Clock::now() - t0, std::chrono::seconds(10));

    // Restart: it runs again; kill -9 once recognition is checkpointed.
    server = std::make_unique<ServerProcess>(data, std::map<std::string, std::string>{{"JOB_LEASE_SECONDS", "5"}});
    ASSERT_TRUE(server->Start()) << server->Log();
    const json checkpointed = WaitJob(
        *server, job_id, [](const json& j) { return j["checkpoint"] == "transcribed" || Ended(j); }, 240);
    ASSERT_EQ(checkpointed["state"], "running") << checkpointed.dump();
    EXPECT_EQ(checkpointed["attempts"], 1) << "the SIGTERM did not count as a failed attempt";
    server->Kill();

    // Restart after the crash: the job finishes, and recognition was not run again.
    server = std::make_unique<ServerProcess>(data, std::map<std::string, std::string>{{"JOB_LEASE_SECONDS", "5"}});
    ASSERT_TRUE(server->Start()) << server->Log();
    const json done = WaitJob(*server, job_id, Ended, 240);
    ASSERT_EQ(done["state"], "succeeded") << done.dump() << server->Log();
    EXPECT_LT(done["stage_ms"]["transcribe"].get<double>(), 1000) << "resumed after the stored transcript";
    const std::string episode_id = done["episode_id"];
    EXPECT_EQ(Get(*server, "/api/v1/episodes/" + episode_id)["clips"].size(), 1u);

    // An editor imports an exact transcript (SRT from the script): the episode is scored and rendered again
    // without recognition, and the clips now come from the imported words.
    const std::string srt = ScriptSrt(short_timeline_);
    auto c = Client(*server);
    auto bad = c.Put("/api/v1/episodes/" + episode_id + "/transcript", "1\n00:00:01,000 --> nonsense\nhi\n",
                     "application/x-subrip");
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->status, 400) << bad->body;
    auto put = c.Put("/api/v1/episodes/" + episode_id + "/transcript", srt, "application/x-subrip");
    ASSERT_TRUE(put);
    ASSERT_EQ(put->status, 202) << put->body;
    const std::string import_job = json::parse(put->body)["job"]["id"];
    const json imported = WaitJob(*server, import_job, Ended, 400);
    ASSERT_EQ(imported["state"], "succeeded") << imported.dump();
    EXPECT_LT(imported["stage_ms"]["transcribe"].get<double>(), 1000) << "no recognition for an import";
    const json after = Get(*server, "/api/v1/episodes/" + episode_id);
    EXPECT_EQ(after["transcript"]["engine"], "import:srt");
    // The clip quotes the imported, cased words (the recogniser's are lower case).
    ASSERT_EQ(after["clips"].size(), 1u);
    const std::string clip_text = after["clips"][0]["text"];
    EXPECT_TRUE(std::any_of(clip_text.begin(), clip_text.end(), [](char ch) {
        return std::isupper(static_cast<unsigned char>(ch)) != 0;
    })) << clip_text;
    EXPECT_NE(srt.find(clip_text.substr(0, 24)), std::string::npos) << clip_text;
    auto vtt = c.Get("/api/v1/episodes/" + episode_id + "/transcript?format=vtt");
    ASSERT_TRUE(vtt);
    EXPECT_EQ(vtt->body.rfind("WEBVTT", 0), 0u);
    auto srt_export = c.Get("/api/v1/episodes/" + episode_id + "/transcript?format=srt");
    ASSERT_TRUE(srt_export);
    EXPECT_EQ(srt_export->status, 200);
    EXPECT_EQ(srt_export->body.rfind("1\n", 0), 0u) << srt_export->body.substr(0, 80);
    EXPECT_NE(srt_export->body.find("Here's"), std::string::npos) << "the imported words, as SRT";
    auto doc = c.Get("/api/v1/episodes/" + episode_id + "/transcript?format=docx");
    ASSERT_TRUE(doc);
    EXPECT_EQ(doc->status, 400);
    EXPECT_EQ(server->Terminate(), 0);
}

// Issue 16, class 1: text that is not UTF-8 is refused before anything is stored; a length limit never cuts a
// character in two (a 200-character title ending in "é" once crashed every listing); and a job that kills its worker
// on every attempt ends failed with its reason instead of crash-looping the service at each restart.
TEST_F(Service, TextThatIsNotUtf8IsRefusedAndAJobThatKillsItsWorkerEndsFailed) {
    TempDir work;
    const fs::path data = work / "data";
    const std::map<std::string, std::string> env = {{"JOB_MAX_ATTEMPTS", "1"}, {"JOB_LEASE_SECONDS", "5"}};
    auto server = std::make_unique<ServerProcess>(data, env);
    ASSERT_TRUE(server->Start()) << server->Log();
    const std::string wav = ReadAll(ShortWav());
    for (const char* field : {"title", "show", "terms", "font"}) {
        auto bad = Upload(*server, wav, "latin1.wav", {{field, "caf\xE9"}});
        ASSERT_TRUE(bad) << field;
        EXPECT_EQ(bad->status, 400) << field << ": " << bad->body;
        EXPECT_EQ(json::parse(bad->body, nullptr, false)["error"]["code"], "invalid_input") << bad->body;
    }
    EXPECT_EQ(Get(*server, "/api/v1/episodes")["total"], 0) << "nothing stored";
    auto c = Client(*server);
    auto comment =
        c.Post("/api/v1/clips/clip_x/feedback", "{\"kind\":\"comment\",\"comment\":\"caf\xE9\"}", "application/json");
    ASSERT_TRUE(comment);
    EXPECT_EQ(comment->status, 400) << comment->body;

    // 199 letters, an "é" and one more: cut to 200 characters, the é whole.
    const std::string title = std::string(199, 'a') + "\xC3\xA9" + "b";
    auto up = Upload(*server, wav, "poison.wav", {{"title", title}, {"clips", "1"}});
    ASSERT_TRUE(up);
    ASSERT_EQ(up->status, 202) << up->body;
    const std::string job_id = json::parse(up->body)["job"]["id"];
    const json listed = Get(*server, "/api/v1/episodes");
    ASSERT_EQ(listed["items"].size(), 1u) << listed.dump();
    EXPECT_EQ(listed["items"][0]["title"], title.substr(0, 201));

    // The job's worker dies (kill -9) while running it, its only attempt: after the restart the job has failed with
    // the reason, and the service answers.
    const json running = WaitJob(
        *server, job_id, [](const json& j) { return j["state"] == "running" || Ended(j); }, 60);
    ASSERT_EQ(running["state"], "running") << running.dump();
    server->Kill();
    server = std::make_unique<ServerProcess>(data, env);
    ASSERT_TRUE(server->Start()) << server->Log();
    const json failed = WaitJob(*server, job_id, Ended, 30);
    EXPECT_EQ(failed["state"], "failed") << failed.dump();
    EXPECT_NE(failed.value("error", "").find("each of its 1 attempts"), std::string::npos) << failed.dump();
    const json episode = Get(*server, "/api/v1/episodes/" + failed["episode_id"].get<std::string>());
    EXPECT_EQ(episode["episode"]["status"], "failed") << episode.dump();
    EXPECT_EQ(Get(*server, "/api/v1/episodes")["total"], 1);
    auto live = Client(*server).Get("/livez");
    EXPECT_TRUE(live && live->status == 200);
    EXPECT_EQ(server->Terminate(), 0) << server->Log();
}

// What `fd` receives until the server closes it, `timeout` passes, or (`head_only`) a response head has come.
std::string Receive(int fd, std::chrono::milliseconds timeout, bool head_only) {
    std::string got;
    char buf[4096];
    const auto until = Clock::now() + timeout;
    while (Clock::now() < until && !(head_only && got.find("\r\n\r\n") != std::string::npos)) {
        pollfd pfd{fd, POLLIN, 0};
        if (::poll(&pfd, 1, 100) <= 0) continue;
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        got.append(buf, static_cast<size_t>(n));
    }
    return got;
}

// A raw request to `port`, for what a client library would not send; returns what came back before the server
// closed the connection or 3 s passed.
std::string RawExchange(int port, const std::string& request) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return "";
    (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    std::string got = Receive(fd, std::chrono::seconds(3), /*head_only=*/true);
    ::close(fd);
    return got;
}

// A connection from loopback address 127.0.0.`host` that has sent `sent`; -1 when it cannot connect.
int ConnectFrom(int port, int host, const std::string& sent) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in from{};
    from.sin_family = AF_INET;
    from.sin_addr.s_addr = htonl(INADDR_LOOPBACK - 1 + static_cast<uint32_t>(host));
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<uint16_t>(port));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0 ||
        ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
        ::close(fd);
        return -1;
    }
    (void)::send(fd, sent.data(), sent.size(), MSG_NOSIGNAL);
    return fd;
}

// Issue 16, class 4: HTTP a stranger sends to get round the limits gets a clean 4xx, and leaves nothing behind: no
// inflated or unbounded body is read, no metric series is made per made-up path or method.
TEST_F(Service, HostileHttpGetsCleanRefusalsAndAddsNoMetricSeries) {
    TempDir work;
    // Few workers, so the slow heads and bodies below outnumber them many times over; 2 s for a head, and for a body to
    // begin.
    ServerProcess server(work / "data", {{"EVENT_STREAMS_PER_CLIENT", "2"},
                                         {"HTTP_THREADS", "4"},
                                         {"MAX_EVENT_STREAMS", "4"},
                                         {"HTTP_HEAD_TIMEOUT_SECONDS", "2"}});
    ASSERT_TRUE(server.Start()) << server.Log();
    auto c = Client(server);
    {  // Request heads trickling in a byte at a time from 100 addresses hold no worker: the probe and an ordinary
       // request still answer at once.
        std::vector<int> slow;
        for (int i = 0; i < 200; ++i) slow.push_back(ConnectFrom(server.port(), 2 + i / 2, "GET /livez HTTP/1.1\r\n"));
        EXPECT_EQ(std::count(slow.begin(), slow.end(), -1), 0);
        double worst = 0;
        for (int round = 0; round < 10; ++round) {
            for (const char* path : {"/livez", "/api/v1/episodes"}) {
                const auto t0 = Clock::now();
                auto r = c.Get(path);
                worst = std::max(worst, std::chrono::duration<double>(Clock::now() - t0).count());
                EXPECT_TRUE(r && r->status == 200) << path;
            }
            for (int fd : slow) (void)::send(fd, "X", 1, MSG_NOSIGNAL);
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        EXPECT_LT(worst, 1.0) << "seconds for the slowest answer";
        for (int fd : slow) ::close(fd);
    }
    {  // Request bodies sent a byte at a time, on twice as many connections as there are workers, from 16 addresses,
       // to the one form a stranger may post (signing in): each is cut off 408 once it falls behind
       // HTTP_CLIENT_MIN_RATE, the head timeout after it began, and the service answers again at once.
        const std::string head =
            "POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Content-Length: 100000\r\n\r\n{";
        std::vector<int> slow;
        for (int i = 0; i < 16; ++i) slow.push_back(ConnectFrom(server.port(), 2 + i, head));
        const auto t0 = Clock::now();
        std::atomic<bool> dripping{true};
        std::thread drip([&] {
            while (dripping.load()) {
                for (int fd : slow) (void)::send(fd, " ", 1, MSG_NOSIGNAL);
                std::this_thread::sleep_for(std::chrono::milliseconds(200));
            }
        });
        for (int fd : slow) {
            const std::string answer = Receive(fd, std::chrono::seconds(8), /*head_only=*/false);
            EXPECT_EQ(answer.rfind("HTTP/1.1 408 ", 0), 0u) << answer.substr(0, 80);
            EXPECT_NE(answer.find("body_too_slow"), std::string::npos) << answer;
        }
        const double cut_after = std::chrono::duration<double>(Clock::now() - t0).count();
        EXPECT_GE(cut_after, 1.9) << "seconds: a body has the head timeout to begin";
        EXPECT_LT(cut_after, 5.0) << "seconds until every slow body was cut off";
        const auto t1 = Clock::now();
        auto r = c.Get("/api/v1/episodes");
        EXPECT_TRUE(r && r->status == 200);
        EXPECT_LT(std::chrono::duration<double>(Clock::now() - t1).count(), 1.0) << "seconds, once they were cut off";
        dripping = false;
        drip.join();
        for (int fd : slow) ::close(fd);
    }
    auto expect_error = [](const httplib::Result& r, int status, const std::string& code, const std::string& what) {
        ASSERT_TRUE(r) << what;
        EXPECT_EQ(r->status, status) << what << ": " << r->body;
        EXPECT_EQ(json::parse(r->body, nullptr, false)["error"]["code"], code) << what << ": " << r->body;
    };
    const std::string feedback = "/api/v1/clips/clip_x/feedback";
    expect_error(c.Post(feedback, {{"Content-Encoding", "gzip"}}, "\x1f\x8b not read", "application/json"), 415,
                 "unsupported_encoding", "a gzip body");
    expect_error(c.Post(
                     feedback,
                     [](size_t, httplib::DataSink& sink) {
                         sink.write("{}", 2);
                         sink.done();
                         return true;
                     },
                     "application/json"),
                 411, "length_required", "a chunked JSON body");
    auto form = c.Post(feedback, std::string(10000, 'a'), "application/x-www-form-urlencoded");
    expect_error(form, 413, "too_large", "a form body over 8 KB");
    EXPECT_NE(form ? form->body.find("form-encoded") : std::string::npos, std::string::npos);
    expect_error(c.Post(feedback, R"({"kind": 5})", "application/json"), 400, "invalid_input", "a number for a name");
    expect_error(c.Post("/api/v1/episodes/ep_x/clips", R"({"start": 1e300, "end": 2e300})", "application/json"), 400,
                 "invalid_input", "a time past any episode");
    const std::string headers = RawExchange(
        server.port(), "GET /livez HTTP/1.1\r\nHost: x\r\n" + [] {
            std::string h;
            for (int i = 0; i < 300; ++i) h += "X-" + std::to_string(i) + ": v\r\n";
            return h;
        }() + "\r\n");
    EXPECT_EQ(headers.rfind("HTTP/1.1 431 ", 0), 0u) << headers.substr(0, 80);

    // One address holds at most EVENT_STREAMS_PER_CLIENT event streams (the upload below wakes them to end).
    auto first = std::make_unique<EventStream>(server, "/api/v1/events");
    auto second = std::make_unique<EventStream>(server, "/api/v1/events");
    ASSERT_TRUE(first->connected() && second->connected());
    httplib::Client quick("127.0.0.1", server.port());
    quick.set_bearer_token_auth(server.api_key());
    quick.set_read_timeout(5, 0);
    expect_error(quick.Get("/api/v1/events"), 429, "too_many_streams", "a third event stream");
    first->RequestStop();
    second->RequestStop();

    // A Range that starts past the end is 416, with the length; a satisfiable one is 206.
    auto up = Upload(server, ToneWav(work / "tone.wav", 13), "tone.wav", {{"clips", "1"}});
    ASSERT_TRUE(up);
    ASSERT_EQ(up->status, 202) << up->body;
    const std::string audio =
        "/api/v1/episodes/" + json::parse(up->body)["episode"]["id"].get<std::string>() + "/audio";
    first.reset();
    second.reset();
    auto part = c.Get(audio, {{"Range", "bytes=0-9"}});
    ASSERT_TRUE(part);
    EXPECT_EQ(part->status, 206);
    EXPECT_EQ(part->body.size(), 10u);
    const std::string tone_size = std::to_string(fs::file_size(work / "tone.wav"));
    EXPECT_EQ(part->get_header_value("Content-Range"), "bytes 0-9/" + tone_size);
    // A Range on a JSON answer is ignored (httplib 0.11 cut any body to it, under a 200).
    auto listed = c.Get("/api/v1/episodes", {{"Range", "bytes=0-5"}});
    ASSERT_TRUE(listed);
    EXPECT_EQ(listed->status, 200);
    EXPECT_FALSE(json::parse(listed->body, nullptr, false).is_discarded()) << listed->body;
    EXPECT_FALSE(listed->has_header("Content-Range"));
    // Class 3: a playlist naming a file on the server's disk is not opened.
    std::ofstream(work / "list.m3u8") << "#EXTM3U\n#EXT-X-TARGETDURATION:30\n#EXTINF:30,\nfile:"
                                      << fs::absolute(work / "tone.wav").string() << "\n#EXT-X-ENDLIST\n";
    expect_error(Upload(server, ReadAll(work / "list.m3u8"), "list.m3u8"), 415, "unsupported_media",
                 "a playlist naming a local file");
    auto past = c.Get(audio, {{"Range", "bytes=99999999-"}});
    ASSERT_TRUE(past);
    EXPECT_EQ(past->status, 416) << past->body;
    EXPECT_EQ(past->get_header_value("Content-Range"), "bytes */" + tone_size);
    EXPECT_EQ(past->get_header_value_count("Content-Range"), 1u);
    EXPECT_EQ(json::parse(past->body, nullptr, false)["error"]["code"], "range_not_satisfiable") << past->body;

    // Made-up paths and methods are counted under "other": the series stay as many however many come.
    auto series = [&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a request is counted after its answer
        auto m = c.Get("/metrics");
        size_t n = 0;
        for (size_t at = 0; m && (at = m->body.find("\npodpromo_http_requests_total{", at)) != std::string::npos;
             ++at) {
            ++n;
        }
        return n;
    };
    auto made_up = [&](int from, int to) {
        for (int i = from; i < to; ++i) {
            (void)c.Get("/api/v1/episodes/ep_" + std::to_string(i) + "/nothing" + std::to_string(i));
            (void)c.Get("/no/such/path/" + std::to_string(i));
            (void)RawExchange(server.port(), "BREW" + std::to_string(i) + " /pot HTTP/1.1\r\nHost: x\r\n\r\n");
        }
    };
    made_up(0, 3);
    (void)series();  // the first look at /metrics is itself counted
    const size_t before = series();
    made_up(3, 40);
    EXPECT_EQ(series(), before);

    auto live = c.Get("/livez");
    EXPECT_TRUE(live && live->status == 200);
    EXPECT_EQ(server.Terminate(), 0) << server.Log();
}

// Issue 16, class 2: media whose shape would exhaust the machine (a sample rate or frame size no recording has, a
// cover image of absurd proportions, an episode past MAX_EPISODE_SECONDS) is refused at upload with its reason,
// and the server's memory stays bounded throughout.
TEST_F(Service, MediaShapesThatWouldExhaustTheMachineAreRefused) {
    TempDir work;
    ServerProcess server(work / "data", {{"MAX_EPISODE_SECONDS", "60"}});
    ASSERT_TRUE(server.Start()) << server.Log();
    auto refused = [&](const httplib::Result& r, const std::string& reason, const std::string& what) {
        ASSERT_TRUE(r) << what;
        EXPECT_EQ(r->status, 415) << what << ": " << r->body;
        EXPECT_NE(r->body.find(reason), std::string::npos) << what << ": " << r->body;
    };
    Pcm odd;
    odd.samples.assign(50000, 1000);
    for (const int rate : {2, 500000000}) {
        odd.sample_rate = rate;
        WriteWav(odd, work / "odd.wav");
        refused(Upload(server, ReadAll(work / "odd.wav"), "odd.wav"), " Hz in 1 channels",
                std::to_string(rate) + " Hz");
    }
    ASSERT_TRUE(FfmpegConvert({"-f", "lavfi", "-i", "color=s=2x240:r=5", "-f", "lavfi", "-i", "sine=d=13", "-t", "13",
                               "-c:v", "ffv1", "-c:a", "flac", (work / "thin.mkv").string()}));
    refused(Upload(server, ReadAll(work / "thin.mkv"), "thin.mkv"), "video frames of 2x240 pixels", "a thin video");
    ASSERT_TRUE(
        FfmpegConvert({"-f", "lavfi", "-i", "color=s=8000x2", "-frames:v", "1", (work / "strip.png").string()}));
    const std::string tone = ToneWav(work / "tone.wav", 13);
    auto c = Client(server);
    refused(c.Post("/api/v1/episodes",
                   httplib::MultipartFormDataItems{{"file", tone, "tone.wav", "audio/wav"},
                                                   {"cover", ReadAll(work / "strip.png"), "strip.png", "image/png"}}),
            "an image of 8000x2 pixels", "a cover 8000 pixels wide and 2 high");
    refused(Upload(server, ToneWav(work / "long.wav", 70), "long.wav"), "(MAX_EPISODE_SECONDS)", "70 s over 60 s");
    EXPECT_EQ(Get(server, "/api/v1/episodes")["total"], 0) << "nothing stored";
    EXPECT_LT(server.PeakMemoryBytes(), int64_t{1} << 30);
    EXPECT_EQ(server.Terminate(), 0) << server.Log();
}

TEST_F(Service, MissingFfmpegIsUnhealthyAndTransientFailuresRetryWithBackoff) {
    TempDir work;
    const fs::path data = work / "data";
    fs::create_directories(work / "empty-bin");
    // No ffmpeg on PATH: the audio cut cannot start, which is an environment failure worth retrying.
    ServerProcess server(
        data, {{"PATH", (work / "empty-bin").string()}, {"JOB_MAX_ATTEMPTS", "2"}, {"RETRY_BACKOFF_SECONDS", "0.2"}});
    ASSERT_TRUE(server.Start()) << server.Log();
    const json health = Get(server, "/health", 503);
    EXPECT_EQ(Get(server, "/readyz", 503)["status"], "not_ready") << "not ready without ffmpeg";
    EXPECT_EQ(Get(server, "/livez")["status"], "alive") << "but alive";
    EXPECT_EQ(health["status"], "unhealthy");
    EXPECT_FALSE(health["checks"]["ffmpeg"]["ok"].get<bool>());
    EXPECT_TRUE(health["checks"]["database"]["ok"].get<bool>());
    // A cover cannot be made ready without ffmpeg: that is the server's trouble, not the picture's (503, not 415),
    // and the upload keeps nothing.
    ASSERT_TRUE(FfmpegConvert({"-f", "lavfi", "-i", "color=s=64x64", "-frames:v", "1", (work / "c.png").string()}));
    auto with_cover = Upload(server, ToneWav(work / "tone.wav", 13), "tone.wav", {{"cover", ReadAll(work / "c.png")}});
    ASSERT_TRUE(with_cover);
    EXPECT_EQ(with_cover->status, 503) << with_cover->body;
    EXPECT_TRUE(with_cover->has_header("Retry-After"));
    EXPECT_EQ(Get(server, "/api/v1/episodes")["total"], 0);

    auto up = Upload(server, ReadAll(ShortWav()), "retry.wav");
    ASSERT_TRUE(up);
    ASSERT_EQ(up->status, 202) << up->body;
    const std::string job_id = json::parse(up->body)["job"]["id"];
    const json job = WaitJob(server, job_id, Ended, 240);
    EXPECT_EQ(job["state"], "failed") << job.dump();
    EXPECT_EQ(job["attempts"], 2) << "retried once, then given up";
    EXPECT_NE(job["error"].get<std::string>().find("ffmpeg"), std::string::npos) << job.dump();
    EXPECT_EQ(job["checkpoint"], "transcribed");
    EXPECT_LT(job["stage_ms"]["transcribe"].get<double>(), 1000) << "the retry reused the stored transcript";
    const json ep = Get(server, "/api/v1/episodes/" + job["episode_id"].get<std::string>());
    EXPECT_EQ(ep["episode"]["status"], "failed");
    EXPECT_FALSE(fs::exists(data / "episodes" / job["episode_id"].get<std::string>() / "out"))
        << "a failed render leaves no half-written outputs";
}

// ASR_ENGINE=openai in the service: each upload is transcribed by the engine (a loopback server speaking the
// OpenAI shape), its words are the episode's transcript, the vocabulary hint is the upload's own show and terms
// or else the service's SHOW_NAME and ASR_TERMS, /health names the engine, and the key never shows in the log.
TEST_F(Service, AWhisperEngineTranscribesWithTheVocabularyHintAndA429PausesItForAll) {
    TempDir work;
    std::mutex mu;
    std::set<std::string> returned;
    std::vector<Clock::time_point> asked;  // when each request came
    FakeWhisper engine([&](int n, const Seen&, httplib::Response& res) {
        std::lock_guard<std::mutex> lock(mu);
        asked.push_back(Clock::now());
        if (n == 1) {  // the first is told to wait 2 s: every worker waits, and no attempt is used
            res.status = 429;
            res.set_header("Retry-After", "2");
            res.set_content(R"({"error":{"message":"rate limited"}})", "application/json");
            return;
        }
        // 40 s of words in sentences of 8 with a pause after each.
        json words = json::array();
        double t = 0.2;
        for (int k = 0; k < 72; ++k) {
            const std::string text = "r" + std::to_string(n) + "w" + std::to_string(k);
            words.push_back({{"word", text}, {"start", t}, {"end", t + 0.35}});
            returned.insert(text);
            t += (k % 8 == 7) ? 1.0 : 0.45;
        }
        res.set_content(json{{"text", "..."}, {"words", words}}.dump(), "application/json");
    });
    ServerProcess server(work / "data", {{"ASR_ENGINE", "openai"},
                                         {"ASR_URL", engine.url()},
                                         {"ASR_API_KEY", "sk-test-secret-17"},
                                         {"SHOW_NAME", "The Ops Hour"},
                                         {"ASR_TERMS", "etcd, Zalando"}});
    ASSERT_TRUE(server.Start()) << server.Log();
    const std::string tone = ToneWav(work / "tone.wav", 40);
    // (One clip each: the renders are not this test's subject.)
    auto own = Upload(server, tone, "ep7.wav",
                      {{"title", "Episode 7 with Siobhan"}, {"terms", "Siobhan Okonkwo; Kubernetes"}, {"clips", "1"}});
    // The second upload comes once the engine has asked to wait: its job must not send anything before 2 s are up.
    for (int i = 0; i < 600 && engine.seen().empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto plain = Upload(server, tone, "Scaling Day.wav", {{"priority", "low"}, {"clips", "1"}});
    ASSERT_TRUE(own && plain);
    ASSERT_EQ(own->status, 202) << own->body;
    ASSERT_EQ(plain->status, 202) << plain->body;
    for (const auto* up : {&own, &plain}) {
        const json accepted = json::parse((*up)->body);
        const json job = WaitJob(server, accepted["job"]["id"], Ended);
        ASSERT_EQ(job["state"], "succeeded") << job.dump() << server.Log();
        EXPECT_EQ(job["attempts"], 1) << "the 429 used no attempt";
        const json t = Get(server, "/api/v1/episodes/" + accepted["episode"]["id"].get<std::string>() + "/transcript");
        EXPECT_EQ(t["engine"], "openai:whisper-1");
        size_t words = 0;
        for (const auto& seg : t["segments"]) {
            for (const auto& w : seg["words"]) {
                EXPECT_TRUE(returned.count(w["word"].get<std::string>())) << "not the engine's word: " << w;
                ++words;
            }
        }
        EXPECT_EQ(words, 72u);
    }
    const auto seen = engine.seen();
    ASSERT_EQ(seen.size(), 3u) << "the 429, then each episode once";
    {
        // Nothing was sent in the 2 s the engine asked for, by either job.
        std::lock_guard<std::mutex> lock(mu);
        for (size_t k = 1; k < asked.size(); ++k) {
            EXPECT_GE(asked[k] - asked[0], std::chrono::milliseconds(1900)) << "request " << k + 1;
        }
    }
    std::set<std::string> prompts;
    for (const auto& s : seen) {
        EXPECT_EQ(s.auth, "Bearer sk-test-secret-17");
        prompts.insert(s.prompt);
    }
    EXPECT_EQ(prompts, (std::set<std::string>{"The Ops Hour. Episode 7 with Siobhan. Siobhan Okonkwo, Kubernetes.",
                                              "The Ops Hour. Scaling Day. etcd, Zalando."}));
    const json health = Get(server, "/health");
    EXPECT_NE(health["checks"]["speech_model"]["detail"].get<std::string>().find("openai at " + engine.url()),
              std::string::npos)
        << health.dump();
    EXPECT_EQ(server.Log().find("sk-test-secret-17"), std::string::npos);
}

// A team that started on SQLite moves to this run's backend (its own PostgreSQL database in the pg. run, another SQLite
// file otherwise) with `podpromo migrate --from`: the users, keys, episodes and queue come along, and a second copy
// into the now full database is refused.
TEST_F(Service, MigrateFromSqliteCarriesUsersKeysEpisodesAndTheQueue) {
    TempDir work;
    const fs::path data = work / "data";
    const std::string old_url = "sqlite://" + (work / "started-small.db").string();
    std::string key, episode_id, job_id;
    {
        ServerProcess old(data, {{"DATABASE_URL", old_url}});
        ASSERT_TRUE(old.Start()) << old.Log();
        key = old.api_key();
        auto up = Upload(old, ReadAll(ShortWav()), "moved show.wav", {{"clips", "1"}});
        ASSERT_TRUE(up && up->status == 202) << (up ? up->body : "no answer");
        episode_id = json::parse(up->body)["episode"]["id"];
        job_id = json::parse(up->body)["job"]["id"];
        EXPECT_EQ(old.Terminate(), 0) << "its job goes back to the queue";
    }
    const std::string new_url =
        OnPostgres() ? ServerProcess::DatabaseFor(work / "moved") : "sqlite://" + (work / "moved.db").string();
    const auto migrate = [&] {
        return RunProcess({"env", "DATABASE_URL=" + new_url, PodpromoBinary(), "migrate", "--from", old_url,
                           "--data-dir", data.string()},
                          nullptr, 60000);
    };
    auto moved_rows = migrate();
    ASSERT_TRUE(moved_rows.ok());
    ASSERT_EQ(moved_rows->exit_code, 0) << moved_rows->err;
    EXPECT_NE(moved_rows->out.find("episodes                      1"), std::string::npos) << moved_rows->out;
    EXPECT_NE(moved_rows->out.find("api_keys                      1"), std::string::npos) << moved_rows->out;
    auto twice = migrate();
    ASSERT_TRUE(twice.ok());
    EXPECT_EQ(twice->exit_code, 1);
    EXPECT_NE(twice->err.find("already holds"), std::string::npos) << twice->err;

    ServerProcess moved(data, {{"DATABASE_URL", new_url}});
    ASSERT_TRUE(moved.Start()) << moved.Log();
    EXPECT_TRUE(moved.sign_in_link().empty()) << "not a first start: the administrator came along";
    httplib::Client c("127.0.0.1", moved.port());
    c.set_bearer_token_auth(key);
    auto episode = c.Get("/api/v1/episodes/" + episode_id);
    ASSERT_TRUE(episode);
    EXPECT_EQ(episode->status, 200) << "the key made before the move still works: " << episode->body;
    EXPECT_EQ(json::parse(episode->body)["episode"]["title"], "moved show");
    auto job = c.Get("/api/v1/jobs/" + job_id);
    ASSERT_TRUE(job);
    ASSERT_EQ(job->status, 200);
    const std::string state = json::parse(job->body)["state"];
    EXPECT_TRUE(state == "queued" || state == "running") << state;
    auto cancel = c.Post("/api/v1/jobs/" + job_id + "/cancel", "", "application/json");
    ASSERT_TRUE(cancel);
    EXPECT_TRUE(cancel->status == 200 || cancel->status == 202) << cancel->status << " " << cancel->body;
    EXPECT_EQ(WaitJob(moved, job_id, Ended)["state"], "cancelled");
}

TEST(ServiceCommand, MigrateAloneAndBadConfigurationIsNamed) {
    TempDir work;
    auto r = RunPodpromo({"migrate", "--data-dir", (work / "data").string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find(fmt::format("schema version {}", Database::LatestVersion())), std::string::npos) << r.out;
    EXPECT_TRUE(fs::exists(work / "data" / "podpromo.db"));
    r = RunPodpromo({"migrate", "--data-dir", (work / "data").string()});
    EXPECT_EQ(r.exit_code, 0) << "running it again changes nothing";
    auto bad = RunProcess({"env", "MAX_QUEUE_SIZE=lots", PodpromoBinary(), "serve", "--port", "0", "--data-dir",
                           (work / "data").string()},
                          nullptr, 30000);
    ASSERT_TRUE(bad.ok());
    EXPECT_EQ(bad->exit_code, 2);
    EXPECT_NE(bad->err.find("MAX_QUEUE_SIZE"), std::string::npos) << bad->err;
}

TEST_F(Service, LivenessReadinessAndRequestIds) {
    TempDir work;
    ServerProcess server(work / "data");
    ASSERT_TRUE(server.Start()) << server.Log();
    EXPECT_EQ(Get(server, "/livez")["status"], "alive");
    EXPECT_EQ(Get(server, "/readyz")["status"], "ready");
    auto c = Client(server);
    // The caller's id comes back; without one (or with an unusable one) each request gets its own.
    auto given = c.Get("/api/v1/episodes", {{"X-Request-Id", "trace-42.a_b"}});
    ASSERT_TRUE(given);
    EXPECT_EQ(given->get_header_value("X-Request-Id"), "trace-42.a_b");
    auto one = c.Get("/api/v1/episodes"), two = c.Get("/health");
    ASSERT_TRUE(one && two);
    EXPECT_FALSE(one->get_header_value("X-Request-Id").empty());
    EXPECT_NE(one->get_header_value("X-Request-Id"), two->get_header_value("X-Request-Id"));
    auto odd = c.Get("/livez", {{"X-Request-Id", "not <ok> at all"}});
    ASSERT_TRUE(odd);
    EXPECT_NE(odd->get_header_value("X-Request-Id"), "not <ok> at all");
    EXPECT_FALSE(odd->get_header_value("X-Request-Id").empty());
    auto missing = c.Get("/api/v1/episodes/ep_none");
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->status, 404);
    EXPECT_FALSE(missing->get_header_value("X-Request-Id").empty()) << "errors carry it too";
    EXPECT_EQ(server.Terminate(), 0);
}

TEST_F(Service, StorageQuotaGives507AndKeepsNothing) {
    TempDir work;
    const fs::path data = work / "data";
    ServerProcess server(data, {{"MAX_STORAGE_GB", "0.0006"}});  // 600 kB
    ASSERT_TRUE(server.Start()) << server.Log();
    const std::string wav = ToneWav(work / "tone.wav", 13);  // 416 kB
    auto first = Upload(server, wav, "first.wav");
    ASSERT_TRUE(first);
    EXPECT_EQ(first->status, 202) << first->body;
    auto second = Upload(server, wav, "second.wav");
    ASSERT_TRUE(second);
    EXPECT_EQ(second->status, 507) << second->body;
    EXPECT_EQ(json::parse(second->body)["error"]["code"], "insufficient_storage");
    EXPECT_EQ(Get(server, "/api/v1/episodes")["total"], 1);
    EXPECT_EQ(FilesUnder(data / "uploads").size(), 1u);
    EXPECT_TRUE(FilesUnder(data / "tmp").empty());
}

// Issue 16, class 5: the quota is held while uploads stream. Four slow uploads at once under a quota with room for
// one: one streams and is stored; the others are refused before their bodies are written, not after each has
// filled the disk.
TEST_F(Service, ParallelUploadsCannotEachPassTheQuota) {
    TempDir work;
    const fs::path data = work / "data";
    ServerProcess server(data, {{"MAX_STORAGE_GB", "0.0006"}});  // 600 kB
    ASSERT_TRUE(server.Start()) << server.Log();
    const std::string wav = ToneWav(work / "tone.wav", 13);  // 416 kB
    std::vector<int> statuses(4, 0);
    std::vector<std::thread> uploads;
    for (size_t i = 0; i < statuses.size(); ++i) {
        uploads.emplace_back([&, i] {
            auto c = Client(server);
            // The raw body with its length declared, sent in 16 pieces over about a second.
            auto r = c.Post(
                "/api/v1/episodes", {{"X-Filename", "tone.wav"}}, wav.size(),
                [&](size_t offset, size_t length, httplib::DataSink& sink) {
                    std::this_thread::sleep_for(std::chrono::milliseconds(60));
                    const size_t n = std::min(length, wav.size() / 16 + 1);
                    sink.write(wav.data() + offset, n);
                    return true;
                },
                "application/octet-stream");
            statuses[i] = r ? r->status : -1;
        });
    }
    for (auto& t : uploads) t.join();
    EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 202), 1);
    EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 507), 3);
    EXPECT_EQ(Get(server, "/api/v1/episodes")["total"], 1);
    EXPECT_TRUE(FilesUnder(data / "tmp").empty());
}

void SetOld(const fs::path& p, size_t bytes) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << std::string(bytes, 'x');
    fs::last_write_time(p, fs::file_time_type::clock::now() - std::chrono::hours(48));
}

json PostJson(const ServerProcess& s, const std::string& path, const json& body, int expect) {
    httplib::Client c("127.0.0.1", s.port());
    c.set_bearer_token_auth(s.api_key());
    c.set_read_timeout(120, 0);
    auto r = c.Post(path, body.dump(), "application/json");
    EXPECT_TRUE(r) << path;
    if (!r) return json();
    EXPECT_EQ(r->status, expect) << path << ": " << r->body;
    return json::parse(r->body, nullptr, false);
}

int CountActions(const json& report, const std::string& action, const std::string& episode_id = "") {
    int n = 0;
    for (const auto& a : report["actions"]) {
        if (a["action"] == action && (episode_id.empty() || a.value("episode_id", "") == episode_id)) ++n;
    }
    return n;
}

// Bar: a cleanup dry run and a real run on a data directory with old, active and orphaned files.
TEST_F(Service, CleanupArchivesOldSourcesLeavesActiveJobsAloneAndRemovesOrphans) {
    TempDir work;
    const fs::path data = work / "data";
    const std::string episode_bytes = ReadAll(ShortWav());
    ScriptEngine engine(short_timeline_);
    // Retention of about a second, so the episode processed here is "old" by the time cleanup runs.
    ServerProcess server(data, engine.With({{"SOURCE_RETENTION_DAYS", "0.00001"},
                                            {"CLIP_RETENTION_DAYS", "0.00001"},
                                            {"CLEANUP_INTERVAL_HOURS", "0"},
                                            {"MAX_CONCURRENT_JOBS", "2"}}));
    ASSERT_TRUE(server.Start()) << server.Log();
    auto up = Upload(server, episode_bytes, "old show.wav", {{"clips", "2"}});
    ASSERT_TRUE(up && up->status == 202) << (up ? up->body : "no answer");
    const std::string old_id = json::parse(up->body)["episode"]["id"];
    ASSERT_EQ(WaitJob(server, json::parse(up->body)["job"]["id"], Ended)["state"], "succeeded") << server.Log();
    json doc = Get(server, "/api/v1/episodes/" + old_id);
    ASSERT_EQ(doc["clips"].size(), 2u) << doc.dump();
    const std::string kept_clip = doc["clips"][0]["id"], expiring_clip = doc["clips"][1]["id"];
    EXPECT_EQ(PostJson(server, "/api/v1/clips/" + kept_clip + "/star", json::object(), 200)["starred"], true);

    // A file of no episode, a stray file in the old episode's outputs, a render folder of a dead process.
    SetOld(data / "uploads" / "ep_ghost" / "lost.mp3", 5000);
    SetOld(data / "episodes" / old_id / "out" / "stray.mp4", 700);
    // The active episode: another one, held in recognition while cleanup runs.
    engine.Hold();
    auto busy = Upload(server, episode_bytes, "busy.wav", {{"clips", "1"}});
    ASSERT_TRUE(busy && busy->status == 202);
    const std::string busy_id = json::parse(busy->body)["episode"]["id"];
    const std::string busy_job = json::parse(busy->body)["job"]["id"];
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // past the retention
    const auto busy_upload = FilesUnder(data / "uploads" / busy_id);
    ASSERT_EQ(busy_upload.size(), 1u);

    const json stats = Get(server, "/storage/stats");
    EXPECT_GT(stats["next_cleanup"]["bytes_freed"].get<int64_t>(), 0) << stats.dump();
    EXPECT_TRUE(stats["next_cleanup"]["at"].is_null()) << "scheduled cleanup is off";
    const int64_t uploads_before = stats["areas"]["bytes"]["uploads"];
    const auto old_source = FilesUnder(data / "uploads" / old_id);
    ASSERT_EQ(old_source.size(), 1u);
    const auto old_source_bytes = static_cast<int64_t>(fs::file_size(old_source[0]));

    const json dry = PostJson(server, "/api/v1/admin/cleanup", {{"dry_run", true}, {"remove_orphans", true}}, 200);
    EXPECT_EQ(CountActions(dry, "archive_source", old_id), 1) << dry.dump(2);
    EXPECT_EQ(CountActions(dry, "expire_clip", old_id), 1) << "the starred clip stays";
    EXPECT_EQ(CountActions(dry, "orphan"), 2) << dry.dump(2);
    for (const auto& a : dry["actions"]) {
        EXPECT_NE(a.value("episode_id", ""), busy_id) << "nothing of the episode being processed";
        EXPECT_NE(a.value("clip_id", ""), kept_clip);
        EXPECT_FALSE(a["done"].get<bool>());
    }
    EXPECT_NE(std::find(dry["skipped_episodes"].begin(), dry["skipped_episodes"].end(), busy_id),
              dry["skipped_episodes"].end());
    EXPECT_TRUE(fs::exists(old_source[0])) << "a dry run changes nothing";
    EXPECT_TRUE(fs::exists(data / "uploads" / "ep_ghost" / "lost.mp3"));

    const json real = PostJson(server, "/api/v1/admin/cleanup", {{"dry_run", false}, {"remove_orphans", true}}, 200);
    EXPECT_EQ(real["bytes_freed"], dry["bytes_freed"]) << "frees what the dry run predicted\n" << real.dump(2);
    for (const auto& a : real["actions"]) EXPECT_TRUE(a["done"].get<bool>()) << a.dump();
    const json after = Get(server, "/storage/stats");
    EXPECT_EQ(uploads_before - after["areas"]["bytes"]["uploads"].get<int64_t>(), old_source_bytes + 5000)
        << "the old source and the orphan upload are gone, nothing else";
    EXPECT_EQ(after["areas"]["bytes"]["archive"], real["archive_bytes"]);
    EXPECT_LT(real["archive_bytes"].get<int64_t>() * 4, old_source_bytes) << "the archive is compact";
    EXPECT_FALSE(fs::exists(data / "uploads" / "ep_ghost"));
    EXPECT_FALSE(fs::exists(data / "episodes" / old_id / "out" / "stray.mp4"));
    EXPECT_EQ(FilesUnder(data / "uploads" / busy_id), busy_upload) << "the active upload is untouched";

    // The old episode is archived; its starred clip kept its files, the other's are gone (410).
    doc = Get(server, "/api/v1/episodes/" + old_id);
    EXPECT_EQ(doc["episode"]["archived"], true);
    auto c = Client(server);
    auto kept = c.Get("/api/v1/clips/" + kept_clip + "/media/video");
    ASSERT_TRUE(kept);
    EXPECT_EQ(kept->status, 200);
    auto gone = c.Get("/api/v1/clips/" + expiring_clip + "/media/video");
    ASSERT_TRUE(gone);
    EXPECT_EQ(gone->status, 410) << gone->body;
    EXPECT_EQ(Get(server, "/api/v1/clips/" + expiring_clip)["expired"], true);

    // Still re-clippable from the archive: a span rendered from the Opus source.
    const double start = doc["clips"][0]["start"], end = doc["clips"][0]["end"];
    const json made = PostJson(server, "/api/v1/episodes/" + old_id + "/clips", {{"start", start}, {"end", end}}, 202);
    ASSERT_TRUE(made.contains("job")) << made.dump();
    ASSERT_EQ(WaitJob(server, made["job"]["id"], Ended)["state"], "succeeded") << server.Log();
    auto video = c.Get(made["clip_url"].get<std::string>() + "/media/video");
    ASSERT_TRUE(video);
    EXPECT_EQ(video->status, 200);
    std::ofstream(work / "reclip.mp4", std::ios::binary) << video->body;
    auto probe = ProbeVideo(work / "reclip.mp4");
    ASSERT_TRUE(probe.ok()) << probe.status().ToString();
    EXPECT_EQ(probe->width, 1080);
    EXPECT_EQ(probe->height, 1920);

    // The busy episode finishes normally, its source where it was.
    EXPECT_EQ(Get(server, "/api/v1/jobs/" + busy_job)["stage"], "transcribe") << "it was active throughout";
    engine.Release();
    EXPECT_EQ(WaitJob(server, busy_job, Ended)["state"], "succeeded") << server.Log();
    EXPECT_TRUE(fs::exists(busy_upload[0]));
    EXPECT_EQ(server.Terminate(), 0);

    // The command line sees the same data directory: the busy episode is now old, so a dry run would archive it.
    const auto cli = server.Command({"cleanup", "--dry-run", "--json", "--data-dir", data.string()});
    ASSERT_EQ(cli.exit_code, 0) << cli.err;
    const json cli_report = json::parse(cli.out, nullptr, false);
    ASSERT_FALSE(cli_report.is_discarded()) << cli.out;
    EXPECT_EQ(cli_report["dry_run"], true);
    EXPECT_EQ(cli_report["counts"].value("archive_source", 0), 1) << cli.out;
}

// Bar: after processing, /metrics parses with a Prometheus parser and its counters agree with the database;
// errors are aggregated; logs are JSON lines carrying the request id.
TEST_F(Service, MetricsParseAndAgreeWithTheDatabaseErrorsAreGroupedAndLogsAreJson) {
    TempDir work;
    const fs::path data = work / "data";
    const std::string episode_bytes = ReadAll(ShortWav());
    ScriptEngine engine(short_timeline_);
    ServerProcess server(data, engine.With({{"LOG_FORMAT", "json"}, {"LOG_LEVEL", "debug"}}));
    ASSERT_TRUE(server.Start()) << server.Log();
    auto up = Upload(server, episode_bytes, "show.wav", {{"clips", "1"}});
    ASSERT_TRUE(up && up->status == 202);
    const std::string episode_id = json::parse(up->body)["episode"]["id"];
    const std::string job_id = json::parse(up->body)["job"]["id"];
    ASSERT_EQ(WaitJob(server, job_id, Ended)["state"], "succeeded") << server.Log();
    const json doc = Get(server, "/api/v1/episodes/" + episode_id);
    const std::string clip_id = doc["clips"][0]["id"];
    {
        // The clips as Podcasting 2.0 soundbites for the feed: JSON, or the lines alone.
        const json bites = Get(server, "/api/v1/episodes/" + episode_id + "/soundbites");
        ASSERT_EQ(bites["soundbites"].size(), doc["clips"].size()) << bites.dump();
        EXPECT_EQ(bites["soundbites"][0]["clip_id"], clip_id);
        auto c = Client(server);
        auto lines = c.Get("/api/v1/episodes/" + episode_id + "/soundbites?format=xml");
        ASSERT_TRUE(lines);
        EXPECT_EQ(lines->status, 200);
        EXPECT_EQ(lines->body, bites["xml"].get<std::string>());
        EXPECT_EQ(lines->body.rfind("<podcast:soundbite startTime=\"", 0), 0u) << lines->body;
        Get(server, "/api/v1/episodes/ep_missing/soundbites", 404);
        // A download is named by the clip's title, not its id.
        auto audio = c.Get("/api/v1/clips/" + clip_id + "/media/audio");
        ASSERT_TRUE(audio);
        const std::string named = audio->get_header_value("Content-Disposition");
        EXPECT_NE(named.find("filename*=UTF-8''"), std::string::npos) << named;
        EXPECT_EQ(named.find(clip_id), std::string::npos) << named;
        EXPECT_NE(named.find(".m4a"), std::string::npos) << named;
        // The same clips for a video editor. The EDL's first event is the clip, at its frame on the 30 fps timeline of
        // an audio-only episode; the FCPXML and OpenTimelineIO documents come too, saved under the episode's title.
        const std::string base = "/api/v1/episodes/" + episode_id + "/export?format=";
        auto edl = c.Get(base + "edl");
        ASSERT_TRUE(edl);
        ASSERT_EQ(edl->status, 200) << edl->body;
        EXPECT_NE(edl->get_header_value("Content-Disposition").find("attachment; filename=\"show.edl\""),
                  std::string::npos)
            << edl->get_header_value("Content-Disposition");
        const auto tc = [](double seconds) {
            const long long f = std::llround(seconds * 30);
            return fmt::format("{:02d}:{:02d}:{:02d}:{:02d}", f / 108000, f / 1800 % 60, f / 30 % 60, f % 30);
        };
        const std::string event = "001  AX       AA    C        " + tc(doc["clips"][0]["start"].get<double>()) + " " +
                                  tc(doc["clips"][0]["end"].get<double>()) + " 01:00:00:00 ";
        EXPECT_NE(edl->body.find(event), std::string::npos) << event << "\n" << edl->body;
        EXPECT_NE(edl->body.find("* FROM CLIP NAME: show.wav"), std::string::npos) << edl->body;
        auto fcpxml = c.Get(base + "fcpxml");
        ASSERT_TRUE(fcpxml);
        EXPECT_EQ(fcpxml->status, 200);
        EXPECT_EQ(fcpxml->get_header_value("Content-Type"), "application/xml; charset=utf-8");
        EXPECT_NE(fcpxml->body.find("<asset-clip ref=\"r2\""), std::string::npos);
        const json otio = json::parse(c.Get(base + "otio")->body, nullptr, false);
        ASSERT_FALSE(otio.is_discarded());
        EXPECT_EQ(otio["tracks"]["children"][0]["children"].size(), doc["clips"].size());
        EXPECT_EQ(c.Get(base + "aaf")->status, 400);
        EXPECT_EQ(c.Get("/api/v1/episodes/ep_missing/export?format=edl")->status, 404);
        // All of the clips' files as one ZIP, each named by rank and title.
        auto zip = c.Get("/api/v1/episodes/" + episode_id + "/archive");
        ASSERT_TRUE(zip);
        ASSERT_EQ(zip->status, 200) << zip->body;
        EXPECT_EQ(zip->get_header_value("Content-Type"), "application/zip");
        EXPECT_NE(zip->get_header_value("Content-Disposition").find("attachment; filename=\"show clips.zip\""),
                  std::string::npos);
        TempDir unpacked;
        std::ofstream(unpacked / "clips.zip", std::ios::binary) << zip->body;
        const auto listed = RunProcess({"python3", "-c",
                                        "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\n"
                                        "assert z.testzip() is None\nprint('\\n'.join(z.namelist()))",
                                        (unpacked / "clips.zip").string()});
        ASSERT_TRUE(listed.ok() && listed->exit_code == 0) << (listed.ok() ? listed->err : "");
        std::set<std::string> names;
        std::istringstream entries(listed->out);
        for (std::string name; std::getline(entries, name);) {
            EXPECT_EQ(name.rfind("01 ", 0), 0u) << name;
            names.insert(fs::path(name).extension().string());
        }
        EXPECT_EQ(names.size(), doc["clips"][0]["files"].size()) << listed->out;
        EXPECT_TRUE(names.count(".mp4") && names.count(".m4a") && names.count(".srt")) << listed->out;
        EXPECT_EQ(c.Get("/api/v1/episodes/ep_missing/archive")->status, 404);
    }
    PostJson(server, "/api/v1/clips/" + clip_id + "/feedback", {{"kind", "like"}}, 201);
    PostJson(server, "/api/v1/clips/" + clip_id + "/feedback", {{"kind", "rating"}, {"rating", 4}}, 201);
    PostJson(server, "/api/v1/clips/" + clip_id + "/feedback", {{"kind", "like"}}, 201);
    {
        auto c = Client(server);
        auto traced = c.Get("/api/v1/episodes/ep_missing", {{"X-Request-Id", "trace-metrics-7"}});
        ASSERT_TRUE(traced);
        EXPECT_EQ(traced->status, 404);
    }
    // A job that fails: the episode's source vanishes before a render of it runs.
    for (const auto& f : FilesUnder(data / "uploads" / episode_id)) fs::remove(f);
    const json render = PostJson(server, "/api/v1/episodes/" + episode_id + "/clips",
                                 {{"start", doc["clips"][0]["start"]}, {"end", doc["clips"][0]["end"]}}, 202);
    EXPECT_EQ(WaitJob(server, render["job"]["id"], Ended, 120)["state"], "failed");

    auto c = Client(server);
    auto r = c.Get("/metrics");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
    std::ofstream(work / "metrics.txt") << r->body;
    const auto check =
        RunProcess({"/usr/bin/python3", (fs::path(PODPROMO_TEST_DATA).parent_path() / "promcheck.py").string(),
                    (work / "metrics.txt").string()});
    ASSERT_TRUE(check.ok()) << check.status().ToString();
    ASSERT_EQ(check->exit_code, 0) << check->err << "\n" << r->body;
    const json m = json::parse(check->out);
    auto metric = [&](const std::string& key) {
        EXPECT_TRUE(m.contains(key)) << key << " missing from\n" << r->body;
        return m.contains(key) ? m[key].get<double>() : -1.0;
    };
    // Counters agree with what the database says through the API.
    EXPECT_EQ(metric("podpromo_episodes_processed_total{}"), 1);
    EXPECT_EQ(metric("podpromo_episodes{status=ready}"), 1);
    EXPECT_EQ(metric("podpromo_clips_generated_total{}"), static_cast<double>(doc["clips"].size()));
    EXPECT_EQ(metric("podpromo_clips{}"), static_cast<double>(doc["clips"].size()));
    const json totals = Get(server, "/api/v1/clips/" + clip_id)["feedback"];
    EXPECT_EQ(metric("podpromo_feedback_total{kind=like}"), totals["like"].get<double>());
    EXPECT_EQ(metric("podpromo_feedback_total{kind=rating}"), totals["rating"].get<double>());
    EXPECT_EQ(metric("podpromo_jobs_finished_total{outcome=succeeded}"), 1);
    EXPECT_EQ(metric("podpromo_jobs_finished_total{outcome=failed}"), 1);
    EXPECT_EQ(metric("podpromo_http_requests_total{method=POST,route=/api/v1/episodes,status=202}"), 1);
    for (const char* stage : {"decode", "transcribe", "score", "render"}) {
        EXPECT_GE(metric(fmt::format("podpromo_stage_duration_seconds_count{{stage={}}}", stage)), 1) << stage;
    }
    EXPECT_EQ(metric("podpromo_asr_real_time_factor_count{}"), 1);
    EXPECT_GT(metric("podpromo_asr_real_time_factor_sum{}"), 0);
    EXPECT_GT(metric("process_resident_memory_bytes{}"), 1e6);
    EXPECT_GT(metric("process_open_fds{}"), 3);
    EXPECT_GT(metric("process_cpu_seconds_total{}"), 0);
    EXPECT_GT(metric("podpromo_system_memory_total_bytes{}"), 1e8);
    EXPECT_GT(metric("podpromo_storage_disk_total_bytes{}"), 0);
    EXPECT_EQ(metric("podpromo_errors_total{kind=not_found,stage=render}"), 1);

    // The failure is grouped with its stage, count, times and message.
    const json errors = Get(server, "/api/v1/admin/errors");
    ASSERT_EQ(errors["errors"].size(), 1u) << errors.dump();
    const json& g = errors["errors"][0];
    EXPECT_EQ(g["kind"], "not_found");
    EXPECT_EQ(g["stage"], "render");
    EXPECT_EQ(g["count"], 1);
    EXPECT_LE(g["first_seen"].get<int64_t>(), g["last_seen"].get<int64_t>());
    EXPECT_FALSE(g["sample"].get<std::string>().empty());

    // Every log line is a JSON object with time, level and message; the traced request and the jobs are there.
    EXPECT_EQ(server.Terminate(), 0);
    std::istringstream log(server.Log());
    bool traced = false, job_finished = false;
    int lines = 0;
    for (std::string line; std::getline(log, line);) {
        if (line.rfind("PodPromo is serving", 0) == 0 || line.empty()) continue;
        const json j = json::parse(line, nullptr, false);
        ASSERT_TRUE(j.is_object()) << "not a JSON line: " << line;
        ++lines;
        EXPECT_TRUE(j.contains("time") && j.contains("level") && j.contains("message")) << line;
        if (j.value("request_id", "") == "trace-metrics-7") {
            traced = true;
            EXPECT_EQ(j["status"], 404);
            EXPECT_TRUE(j.contains("duration_ms"));
        }
        if (j["message"] == "job finished" && j.value("job_id", "") == job_id) {
            job_finished = true;
            EXPECT_EQ(j["episode_id"], episode_id);
            EXPECT_EQ(j["outcome"], "succeeded");
            EXPECT_GT(j["duration_ms"].get<int64_t>(), 0);
        }
    }
    EXPECT_GT(lines, 5);
    EXPECT_TRUE(traced) << "the request log line carries the caller's X-Request-Id";
    EXPECT_TRUE(job_finished);
}

// Bar: a data directory on a small filesystem that fills during processing.
TEST_F(Service, AFullDiskFailsTheJobCleanlyAndTheServiceKeepsAnswering) {
    if (geteuid() != 0) GTEST_SKIP() << "mounting a small filesystem needs root";
    TempDir work;
    const fs::path mnt = work / "small";
    fs::create_directories(mnt);
    if (std::system(("mount -t tmpfs -o size=12m tmpfs '" + mnt.string() + "'").c_str()) != 0) {
        GTEST_SKIP() << "cannot mount a tmpfs here";
    }
    struct Unmount {
        fs::path p;
        ~Unmount() { (void)std::system(("umount -l '" + p.string() + "'").c_str()); }
    } unmount{mnt};
    const fs::path data = mnt / "data";
    const std::string episode_bytes = ReadAll(ShortWav());
    ScriptEngine engine(short_timeline_);
    // The database lives elsewhere, as it would on its own volume: what fills is the media storage.
    ServerProcess server(data, engine.With({{"DATABASE_URL", "sqlite://" + (work / "podpromo.db").string()}}));
    ASSERT_TRUE(server.Start()) << server.Log();
    engine.Hold();
    auto up = Upload(server, episode_bytes, "show.wav", {{"clips", "2"}});
    ASSERT_TRUE(up && up->status == 202) << (up ? up->body : "no answer");
    const std::string job_id = json::parse(up->body)["job"]["id"];
    // Something else fills the disk while the episode is recognised: 2 MB stay free, enough for the decoded
    // audio but not for the renders.
    struct statvfs vfs {};
    ASSERT_EQ(statvfs(mnt.c_str(), &vfs), 0);
    const int64_t free_bytes = static_cast<int64_t>(vfs.f_bavail) * static_cast<int64_t>(vfs.f_frsize);
    std::ofstream(mnt / "filler", std::ios::binary) << std::string(static_cast<size_t>(free_bytes - 2'000'000), 'f');
    engine.Release();

    const json job = WaitJob(server, job_id, Ended);
    EXPECT_EQ(job["state"], "failed") << job.dump();
    EXPECT_EQ(job["attempts"], 1) << "a full disk fails at once, without retries";
    EXPECT_NE(job.value("error", "").find("space"), std::string::npos) << job.dump();
    // No partial file anywhere: no hidden .part/.tmp files, no clip outputs, nothing left in work/.
    for (const auto& f : FilesUnder(data)) {
        const std::string name = f.filename().string();
        EXPECT_FALSE(name.find(".part") != std::string::npos || name.find(".tmp-") != std::string::npos) << f;
        EXPECT_NE(f.extension(), ".mp4") << f;
    }
    EXPECT_TRUE(FilesUnder(data / "work").empty());
    // The service still answers, and says its disk is degraded.
    EXPECT_EQ(Get(server, "/api/v1/episodes")["total"], 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // the health thread's next round
    auto c = Client(server);
    auto health = c.Get("/health");
    ASSERT_TRUE(health);
    EXPECT_EQ(health->status, 200) << health->body;
    const json h = json::parse(health->body);
    EXPECT_EQ(h["status"], "degraded") << h.dump();
    EXPECT_FALSE(h["checks"]["disk"]["ok"].get<bool>());
    EXPECT_NE(h["checks"]["disk"]["detail"].get<std::string>().find("lack of space"), std::string::npos);
    const json errors = Get(server, "/api/v1/admin/errors");
    ASSERT_FALSE(errors["errors"].empty());
    EXPECT_EQ(errors["errors"][0]["kind"], "no_space");
    EXPECT_EQ(server.Terminate(), 0);
}

// The scheduled cleanup runs by itself, and the health thresholds come from the environment.
TEST_F(Service, ScheduledCleanupRemovesLeftoversAndHealthThresholdsAreConfigurable) {
    TempDir work;
    const fs::path data = work / "data";
    ServerProcess server(data, {{"CLEANUP_INTERVAL_HOURS", "0.0005"},  // 1.8 s
                                {"HEALTH_MIN_FREE_DISK_PERCENT", "100"}});
    ASSERT_TRUE(server.Start()) << server.Log();
    // A render folder of a process of this host that is gone (pid 2^22+1 cannot exist), left untouched
    // for two days.
    char host[256] = {0};
    gethostname(host, sizeof(host) - 1);
    const fs::path scratch = data / "work" / ("podpromo-render." + SanitizeFileName(host) + ".4194305.xyz");
    SetOld(scratch / "captions.ass", 300);
    fs::last_write_time(scratch, fs::file_time_type::clock::now() - std::chrono::hours(48));
    const json stats = Get(server, "/storage/stats");
    EXPECT_FALSE(stats["next_cleanup"]["at"].is_null());
    EXPECT_EQ(stats["next_cleanup"]["bytes_freed"], 300) << stats.dump();
    EXPECT_EQ(stats["areas"]["bytes"]["work"], 300);
    const auto until = Clock::now() + std::chrono::seconds(30);
    while (fs::exists(scratch) && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_FALSE(fs::exists(scratch)) << "the scheduled cleanup removed it\n" << server.Log();
    // The disk threshold of 100% cannot be met: degraded (not unhealthy), with the threshold in the detail.
    auto c = Client(server);
    auto health = c.Get("/health");
    ASSERT_TRUE(health);
    EXPECT_EQ(health->status, 200);
    const json h = json::parse(health->body);
    EXPECT_EQ(h["status"], "degraded");
    EXPECT_FALSE(h["checks"]["disk"]["ok"].get<bool>());
    EXPECT_NE(h["checks"]["disk"]["detail"].get<std::string>().find("degraded under 100%"), std::string::npos);
    EXPECT_TRUE(h["checks"]["memory"]["ok"].get<bool>()) << h.dump();
    // The pass is counted when it has ended, which is after its removals (and, on PostgreSQL, after its audit rows
    // are written): wait for the count rather than read it the moment the folder is gone.
    bool counted = false;
    while (!counted && Clock::now() < until) {
        auto metrics = c.Get("/metrics");
        counted = metrics && metrics->body.find("podpromo_cleanup_runs_total{mode=\"real\"}") != std::string::npos;
        if (!counted) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    EXPECT_TRUE(counted) << "the scheduled pass is counted in /metrics\n" << server.Log();
    EXPECT_EQ(server.Terminate(), 0);
}

// What a browser is told, with CORS_ORIGINS listing one studio: every answer (the app, the API, a 404) carries the
// security headers; the listed origin's preflight is answered and its requests may be read; a page of any other origin
// can neither preflight nor change anything: its upload is refused before a byte is stored, and its DELETE before the
// handler runs (403, not the 404 of an unknown episode). The app's own pages (same origin) and clients that send no
// Origin are unaffected.
TEST_F(Service, BrowsersGetSecurityHeadersAndOtherOriginsCannotChangeAnything) {
    TempDir work;
    ServerProcess server(work / "data", {{"CORS_ORIGINS", "https://studio.example.com"}});
    ASSERT_TRUE(server.Start()) << server.Log();
    auto c = Client(server);
    for (const char* path : {"/", "/api/v1/episodes", "/api/v1/no-such-thing", "/livez"}) {
        auto r = c.Get(path);
        ASSERT_TRUE(r) << path;
        EXPECT_NE(r->get_header_value("Content-Security-Policy").find("frame-ancestors 'none'"), std::string::npos)
            << path;
        EXPECT_EQ(r->get_header_value("X-Content-Type-Options"), "nosniff") << path;
        EXPECT_FALSE(r->has_header("Access-Control-Allow-Origin")) << path;
    }
    auto preflight = c.Options("/api/v1/episodes",
                               {{"Origin", "https://studio.example.com"}, {"Access-Control-Request-Method", "POST"}});
    ASSERT_TRUE(preflight);
    EXPECT_EQ(preflight->status, 204);
    EXPECT_EQ(preflight->get_header_value("Access-Control-Allow-Origin"), "https://studio.example.com");
    auto listed = c.Get("/api/v1/episodes", {{"Origin", "https://studio.example.com"}});
    ASSERT_TRUE(listed);
    EXPECT_EQ(listed->get_header_value("Access-Control-Allow-Credentials"), "true");

    const httplib::Headers evil = {{"Origin", "https://evil.example"}};
    auto evil_preflight =
        c.Options("/api/v1/episodes", {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "POST"}});
    ASSERT_TRUE(evil_preflight);
    EXPECT_EQ(evil_preflight->status, 403);
    EXPECT_FALSE(evil_preflight->has_header("Access-Control-Allow-Origin"));
    auto upload = Client(server).Post("/api/v1/episodes", evil, std::string(100000, 'x'), "audio/wav");
    ASSERT_TRUE(upload);
    EXPECT_EQ(upload->status, 403);
    EXPECT_EQ(json::parse(upload->body)["error"]["code"], "cross_origin");
    EXPECT_TRUE(fs::is_empty(work / "data" / "tmp")) << "nothing of its body was stored";
    auto del = Client(server).Delete("/api/v1/episodes/ep_unknown", evil);
    ASSERT_TRUE(del);
    EXPECT_EQ(del->status, 403) << "refused before the handler looks the episode up";
    EXPECT_EQ(Get(server, "/api/v1/episodes")["total"], 0) << "no episode was made";

    const httplib::Headers self = {{"Origin", "http://" + server.host_port()}};
    auto own = Client(server).Delete("/api/v1/episodes/ep_unknown", self);
    ASSERT_TRUE(own);
    EXPECT_EQ(own->status, 404) << "the app's own page reaches the handler";
    auto no_origin = Client(server).Delete("/api/v1/episodes/ep_unknown");
    ASSERT_TRUE(no_origin);
    EXPECT_EQ(no_origin->status, 404);
}

// A browser's session: its cookie and CSRF token, from signing in.
struct Session {
    std::string cookie, csrf;
    httplib::Headers Headers(bool with_csrf = true) const {
        httplib::Headers h = {{"Cookie", cookie}};
        if (with_csrf) h.emplace("X-CSRF-Token", csrf);
        return h;
    }
};

Session SignIn(const ServerProcess& s, const json& body, int expect = 200) {
    httplib::Client c("127.0.0.1", s.port());
    auto r = c.Post("/api/v1/session", body.dump(), "application/json");
    EXPECT_TRUE(r);
    if (!r) return {};
    EXPECT_EQ(r->status, expect) << r->body;
    if (r->status != 200) return {};
    const std::string set = r->get_header_value("Set-Cookie");
    EXPECT_NE(set.find("HttpOnly"), std::string::npos) << set;
    EXPECT_NE(set.find("SameSite=Lax"), std::string::npos) << set;
    return {set.substr(0, set.find(';')), json::parse(r->body)["csrf_token"]};
}

// A new key of the signed-in user, made through their session.
std::string MakeKey(const ServerProcess& s, const Session& session, const std::string& scopes) {
    httplib::Client c("127.0.0.1", s.port());
    auto r = c.Post("/api/v1/keys", session.Headers(), json{{"name", scopes}, {"scopes", scopes}}.dump(),
                    "application/json");
    EXPECT_TRUE(r && r->status == 201) << (r ? r->body : "no answer");
    return r && r->status == 201 ? json::parse(r->body)["key"].get<std::string>() : "";
}

int StatusOf(const ServerProcess& s, const std::string& method, const std::string& path, const httplib::Headers& h,
             const std::string& body = "{}") {
    httplib::Client c("127.0.0.1", s.port());
    c.set_read_timeout(30, 0);
    httplib::Request req;
    req.method = method;
    req.path = path;
    req.headers = h;
    if (method != "GET" && method != "HEAD") {
        req.body = body;
        req.set_header("Content-Type", "application/json");
    }
    auto r = c.send(req);
    return r ? r->status : -1;
}

// Bars of issue 18: nothing private answers without credentials; two users see and touch only their own (every
// endpoint and method on one user's episode, clip, job, media and events answers the other 404, exactly as a missing
// one); scopes limit keys; sessions need their CSRF token and end on sign-out; a revoked key stops at once; the first
// start's link signs in once; /metrics takes METRICS_TOKEN.
TEST_F(Service, AccountsIsolateUsersScopesLimitKeysAndSessionsNeedTheirToken) {
    TempDir work;
    const std::string metrics_token = "prometheus-scrape-token-1234";
    const std::string episode_bytes = ReadAll(ShortWav());
    ScriptEngine engine(short_timeline_);
    ServerProcess server(work / "data", engine.With({{"METRICS_TOKEN", metrics_token}}));
    ASSERT_TRUE(server.Start()) << server.Log();
    ASSERT_FALSE(server.api_key().empty()) << server.Log();
    const httplib::Headers nobody;
    auto bearer = [](const std::string& key) { return httplib::Headers{{"Authorization", "Bearer " + key}}; };

    // Without credentials: only the probes, the app and sign-in answer.
    for (const auto& [method, path] :
         std::vector<std::pair<std::string, std::string>>{{"GET", "/api/v1/episodes"},
                                                          {"POST", "/api/v1/episodes"},
                                                          {"GET", "/api/v1/events"},
                                                          {"GET", "/metrics"},
                                                          {"GET", "/queue/stats"},
                                                          {"GET", "/storage/stats"},
                                                          {"POST", "/api/v1/admin/cleanup"},
                                                          {"GET", "/api/v1/me"},
                                                          {"GET", "/api/v1/jobs/job_x"},
                                                          {"GET", "/api/v1/no-such-thing"}}) {
        EXPECT_EQ(StatusOf(server, method, path, nobody), 401) << method << " " << path;
        EXPECT_EQ(StatusOf(server, method, path, bearer("pp_aaaaaaaa_" + std::string(32, 'b'))), 401) << path;
    }
    EXPECT_EQ(StatusOf(server, "GET", "/livez", nobody), 200);
    const json open_health = json::parse(httplib::Client("127.0.0.1", server.port()).Get("/health")->body);
    EXPECT_TRUE(open_health.contains("status") && !open_health.contains("checks")) << open_health.dump();
    EXPECT_TRUE(Get(server, "/health").contains("checks")) << "an administrator sees the details";
    EXPECT_EQ(StatusOf(server, "GET", "/metrics", bearer(metrics_token)), 200);

    // The first start's link signs the administrator in once.
    const std::string link = server.sign_in_link();
    ASSERT_NE(link.find("/signin?token="), std::string::npos) << link;
    const std::string link_token = link.substr(link.find('=') + 1);
    const Session admin = SignIn(server, {{"link", link_token}});
    SignIn(server, {{"link", link_token}}, 401);
    EXPECT_EQ(StatusOf(server, "PUT", "/api/v1/me/password", admin.Headers(),
                       json{{"password", "correct horse battery"}}.dump()),
              200)
        << "a first start's administrator sets a password without a current one";

    // Two users, each signed in with a password and holding a key made through the session.
    for (const char* name : {"alice", "bob"}) {
        PostJson(server, "/api/v1/users", {{"name", name}, {"password", std::string(name) + "-password-1"}}, 201);
    }
    const Session alice = SignIn(server, {{"name", "alice"}, {"password", "alice-password-1"}});
    const Session bob = SignIn(server, {{"name", "bob"}, {"password", "bob-password-1"}});
    SignIn(server, {{"name", "alice"}, {"password", "wrong-password-1"}}, 401);
    SignIn(server, {{"name", "nobody"}, {"password", "wrong-password-1"}}, 401);
    {
        // Three failures from this address (the used link and two wrong passwords): the next attempt waits, whatever
        // the password, and says for how long.
        httplib::Client c("127.0.0.1", server.port());
        auto throttled =
            c.Post("/api/v1/session", json{{"name", "bob"}, {"password", "bob-password-1"}}.dump(), "application/json");
        ASSERT_TRUE(throttled);
        EXPECT_EQ(throttled->status, 429) << throttled->body;
        EXPECT_EQ(throttled->get_header_value("Retry-After"), "1");
    }
    EXPECT_EQ(
        StatusOf(server, "POST", "/api/v1/keys", alice.Headers(/*with_csrf=*/false), json{{"scopes", "read"}}.dump()),
        403)
        << "a session's change needs its CSRF token";
    const std::string alice_key = MakeKey(server, alice, "read,write,render");
    const std::string alice_read = MakeKey(server, alice, "read");
    const std::string bob_key = MakeKey(server, bob, "read,write,render");
    ASSERT_FALSE(alice_key.empty() || bob_key.empty());

    // Alice's episode, with a clip and its files.
    httplib::Client as_alice("127.0.0.1", server.port());
    as_alice.set_bearer_token_auth(alice_key);
    as_alice.set_read_timeout(60, 0);
    httplib::MultipartFormDataItems items = {{"file", episode_bytes, "alice.wav", "audio/wav"}, {"clips", "1", "", ""}};
    auto up = as_alice.Post("/api/v1/episodes", items);
    ASSERT_TRUE(up && up->status == 202) << (up ? up->body : "");
    const std::string ep = json::parse(up->body)["episode"]["id"], job = json::parse(up->body)["job"]["id"];
    ASSERT_EQ(WaitJob(server, job, Ended)["state"], "succeeded") << server.Log();
    const json doc = json::parse(as_alice.Get("/api/v1/episodes/" + ep)->body);
    ASSERT_FALSE(doc["clips"].empty()) << doc.dump();
    const std::string clip = doc["clips"][0]["id"];

    // Everything of Alice's answers Bob 404, as if it did not exist, and changes nothing.
    httplib::Headers bobs = bearer(bob_key);
    bobs.emplace("Range", "bytes=0-99");
    const std::string e = "/api/v1/episodes/" + ep, c = "/api/v1/clips/" + clip;
    const std::vector<std::pair<std::string, std::string>> matrix = {{"GET", e},
                                                                     {"DELETE", e},
                                                                     {"PATCH", e},
                                                                     {"GET", e + "/audio"},
                                                                     {"GET", e + "/soundbites"},
                                                                     {"GET", e + "/export?format=edl"},
                                                                     {"GET", e + "/archive"},
                                                                     {"GET", e + "/peaks"},
                                                                     {"GET", e + "/transcript"},
                                                                     {"PUT", e + "/transcript"},
                                                                     {"GET", e + "/clips"},
                                                                     {"POST", e + "/clips"},
                                                                     {"GET", c},
                                                                     {"POST", c + "/star"},
                                                                     {"DELETE", c + "/star"},
                                                                     {"POST", c + "/feedback"},
                                                                     {"GET", "/api/v1/jobs/" + job},
                                                                     {"POST", "/api/v1/jobs/" + job + "/cancel"}};
    for (const auto& [method, path] : matrix) {
        const bool transcript = path.ends_with("/transcript");
        EXPECT_EQ(StatusOf(server, method, path, bobs,
                           transcript          ? "1\n00:00:01,000 --> 00:00:04,000\nA story with a payoff.\n"
                           : method == "PATCH" ? R"({"title":"Bob's now"})"
                                               : R"({"kind":"like","start":1,"end":20})"),
                  404)
            << method << " " << path;
    }
    for (const char* kind : {"video", "audio", "thumbnail", "srt", "vtt", "post"}) {
        EXPECT_EQ(StatusOf(server, "GET", c + "/media/" + kind, bobs), 404) << kind;
        EXPECT_EQ(StatusOf(server, "GET", c + "/media/" + kind, bearer(alice_key)), 200) << kind;
    }
    httplib::Client as_bob("127.0.0.1", server.port());
    as_bob.set_bearer_token_auth(bob_key);
    EXPECT_EQ(json::parse(as_bob.Get("/api/v1/episodes")->body)["total"], 0);
    EXPECT_EQ(json::parse(as_alice.Get("/api/v1/episodes")->body)["total"], 1);
    EXPECT_EQ(Get(server, "/api/v1/episodes")["total"], 1) << "the administrator sees all";
    const json after = json::parse(as_alice.Get(c)->body);
    EXPECT_EQ(after["starred"], false);
    EXPECT_TRUE(after["feedback"].empty()) << after.dump();

    // Event streams carry only the caller's jobs: Alice's render reaches her stream, not Bob's.
    EventStream bob_events(server, "/api/v1/events", bob_key), alice_events(server, "/api/v1/events", alice_key);
    ASSERT_TRUE(bob_events.connected() && alice_events.connected());
    // (A 15 s span of the clip: any render shows where its events go, and a short one costs CI less.)
    const double span_start = doc["clips"][0]["start"].get<double>();
    const double span_end = std::min(doc["clips"][0]["end"].get<double>(), span_start + 15);
    auto render =
        as_alice.Post(e + "/clips", json{{"start", span_start}, {"end", span_end}}.dump(), "application/json");
    ASSERT_TRUE(render && render->status == 202) << (render ? render->body : "");
    const std::string render_job = json::parse(render->body)["job"]["id"];
    EXPECT_EQ(WaitJob(server, render_job, Ended)["state"], "succeeded");
    auto alice_saw_the_end = [&] {
        for (const json& ev : alice_events.events()) {
            if (ev.value("job_id", "") == render_job && ev.value("state", "") == "succeeded") return true;
        }
        return false;
    };
    for (int i = 0; i < 100 && !alice_saw_the_end(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_TRUE(alice_saw_the_end());
    EXPECT_TRUE(bob_events.events().empty()) << bob_events.events().size() << " of Alice's events reached Bob";

    // Scopes: a read key reads but cannot write, render or administer; a key cannot manage keys.
    EXPECT_EQ(StatusOf(server, "GET", e, bearer(alice_read)), 200);
    EXPECT_EQ(StatusOf(server, "POST", c + "/feedback", bearer(alice_read), R"({"kind":"like"})"), 403);
    EXPECT_EQ(StatusOf(server, "POST", e + "/clips", bearer(alice_read), R"({"start":1,"end":20})"), 403);
    EXPECT_EQ(StatusOf(server, "DELETE", e, bearer(alice_read)), 403);
    EXPECT_EQ(StatusOf(server, "GET", "/queue/stats", bearer(alice_key)), 403);
    EXPECT_EQ(StatusOf(server, "GET", "/metrics", bearer(alice_key)), 403);
    EXPECT_EQ(StatusOf(server, "GET", "/api/v1/keys", bearer(alice_key)), 403);
    EXPECT_EQ(StatusOf(server, "POST", "/api/v1/users", alice.Headers(), R"({"name":"eve","password":"x"})"), 403);

    // Revoking a key and signing out take effect at once.
    const std::string read_prefix = alice_read.substr(3, 8);
    EXPECT_EQ(StatusOf(server, "DELETE", "/api/v1/keys/" + read_prefix, bob.Headers()), 404) << "not Bob's key";
    EXPECT_EQ(StatusOf(server, "DELETE", "/api/v1/keys/" + read_prefix, alice.Headers()), 204);
    EXPECT_EQ(StatusOf(server, "GET", e, bearer(alice_read)), 401);
    EXPECT_EQ(StatusOf(server, "GET", "/api/v1/me", alice.Headers()), 200);
    httplib::Headers from_elsewhere = alice.Headers();
    from_elsewhere.emplace("Origin", "https://evil.example");
    EXPECT_EQ(StatusOf(server, "DELETE", e, from_elsewhere), 403) << "another site's page, even with the cookie";
    EXPECT_EQ(StatusOf(server, "GET", e, bearer(alice_key)), 200);
    EXPECT_EQ(StatusOf(server, "DELETE", "/api/v1/session", alice.Headers()), 204);
    EXPECT_EQ(StatusOf(server, "GET", "/api/v1/me", alice.Headers()), 401);
    EXPECT_EQ(StatusOf(server, "GET", e, bearer(alice_key)), 200) << "signing out ends the session, not the keys";

    // The audit log has the story, for administrators.
    const json audit = Get(server, "/api/v1/admin/audit?limit=200");
    std::set<std::string> actions;
    for (const auto& a : audit["items"])
        actions.insert(a["action"].get<std::string>() + ":" + a["outcome"].get<std::string>());
    for (const char* want : {"sign_in_link:ok", "sign_in_link:refused", "sign_in:ok", "sign_in:refused", "user.add:ok",
                             "key.create:ok", "key.revoke:ok", "user.passwd:ok"}) {
        EXPECT_TRUE(actions.count(want)) << want;
    }
    EXPECT_EQ(server.Terminate(), 0);
}

// Bar: 429s carry Retry-After and the IETF RateLimit fields, every limited answer carries them too, each key has its
// own bucket, requests without credentials are limited by address, heavy requests cost more (parallel uploads cannot
// overdraw), the rate recovers, and the refusals are counted in /metrics.
TEST_F(Service, RateLimitsAnswer429WithTheirFieldsAndRecover) {
    TempDir work;
    ServerProcess server(work / "data", {{"RATE_LIMIT_REQUESTS", "5"},
                                         {"RATE_LIMIT_ANONYMOUS_REQUESTS", "3"},
                                         {"RATE_LIMIT_WINDOW_SECONDS", "5"},
                                         {"RATE_LIMIT_HEAVY_COST", "3"}});
    ASSERT_TRUE(server.Start()) << server.Log();
    auto c = Client(server);
    for (int remaining = 4; remaining >= 0; --remaining) {
        auto r = c.Get("/api/v1/episodes");
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 200);
        EXPECT_EQ(r->get_header_value("RateLimit-Policy"), "\"user\";q=5;w=5");
        EXPECT_EQ(r->get_header_value("RateLimit").substr(0, 10), "\"user\";r=" + std::to_string(remaining));
    }
    auto over = c.Get("/api/v1/episodes");
    ASSERT_TRUE(over);
    EXPECT_EQ(over->status, 429);
    EXPECT_EQ(over->get_header_value("Retry-After"), "1");
    EXPECT_EQ(over->get_header_value("RateLimit").substr(0, 10), "\"user\";r=0");
    EXPECT_EQ(json::parse(over->body)["error"]["code"], "rate_limited");
    EXPECT_EQ(c.Get("/livez")->status, 200) << "probes are not limited";

    // Another key has its own bucket; parallel heavy requests (3 each of its 5) cannot overdraw it.
    const ProcessOutput made = server.Command(
        {"key", "create", "--user", "admin", "--scopes", "read,write,render", "--data-dir", (work / "data").string()});
    ASSERT_EQ(made.exit_code, 0) << made.err;
    const std::string other = made.out.substr(0, made.out.find('\n'));
    std::atomic<int> limited{0}, passed{0};
    std::vector<std::thread> uploads;
    for (int i = 0; i < 4; ++i) {
        uploads.emplace_back([&] {
            httplib::Client u("127.0.0.1", server.port());
            u.set_bearer_token_auth(other);
            auto r = u.Post("/api/v1/episodes", {{"X-Filename", "a.wav"}}, std::string(1000, 'x'), "audio/wav");
            (r && r->status == 429 ? limited : passed) += 1;
        });
    }
    for (auto& t : uploads) t.join();
    EXPECT_EQ(passed.load(), 1) << "5 units pay for one upload of 3";
    EXPECT_EQ(limited.load(), 3);

    // Without credentials: by address, and a refused credential counts there too.
    httplib::Client anonymous("127.0.0.1", server.port());
    for (int i = 0; i < 3; ++i) EXPECT_EQ(anonymous.Get("/api/v1/episodes")->status, 401);
    auto anon_over = anonymous.Get("/api/v1/episodes");
    EXPECT_EQ(anon_over->status, 429);
    EXPECT_EQ(anon_over->get_header_value("RateLimit-Policy"), "\"address\";q=3;w=5");

    // One second later the first key has a request again.
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    EXPECT_EQ(c.Get("/api/v1/episodes")->status, 200);
    const std::string metrics = c.Get("/metrics")->body;
    EXPECT_NE(metrics.find("podpromo_rate_limited_total{caller=\"key\"} 4"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("podpromo_rate_limited_total{caller=\"anonymous\"} 1"), std::string::npos);
    EXPECT_NE(metrics.find("podpromo_rate_limit_quota{caller=\"signed_in\"} 5"), std::string::npos);
    EXPECT_EQ(server.Terminate(), 0);
}

// ALERT_WEBHOOK_URL: a team's own endpoint hears each change of /health's state, signed as Standard Webhooks says. Here
// the queue check fails once a job waits over a second with no worker to take it, and passes again when it is
// cancelled.
TEST_F(Service, HealthChangesReachTheAlertWebhookSigned) {
    struct Call {
        std::string id, timestamp, signature, body;
    };
    std::mutex mu;
    std::vector<Call> calls;
    httplib::Server receiver;
    receiver.Post("/hooks/podpromo", [&](const httplib::Request& req, httplib::Response& res) {
        std::lock_guard<std::mutex> lock(mu);
        calls.push_back({req.get_header_value("webhook-id"), req.get_header_value("webhook-timestamp"),
                         req.get_header_value("webhook-signature"), req.body});
        res.status = calls.size() == 1 ? 500 : 204;  // the first call is refused once: it is tried again
    });
    const int receiver_port = receiver.bind_to_any_port("127.0.0.1");
    std::thread serving([&] { receiver.listen_after_bind(); });
    const std::string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    TempDir work;
    ServerProcess server(work / "data",
                         {{"MAX_CONCURRENT_JOBS", "0"},
                          {"HEALTH_MAX_QUEUE_AGE_SECONDS", "1"},
                          {"ALERT_WEBHOOK_URL", fmt::format("http://127.0.0.1:{}/hooks/podpromo", receiver_port)},
                          {"ALERT_WEBHOOK_SECRET", secret}});
    ASSERT_TRUE(server.Start()) << server.Log();
    const auto wait_calls = [&](size_t n) {
        const auto until = Clock::now() + std::chrono::seconds(20);
        while (Clock::now() < until) {
            {
                std::lock_guard<std::mutex> lock(mu);
                if (calls.size() >= n) return true;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return false;
    };
    auto up = Upload(server, ToneWav(work / "tone.wav", 13), "waiting.wav");
    ASSERT_TRUE(up && up->status == 202) << (up ? up->body : "no answer");
    ASSERT_TRUE(wait_calls(2)) << "healthy to degraded, tried twice\n" << server.Log();
    EXPECT_EQ(PostJson(server, "/api/v1/jobs/" + json::parse(up->body)["job"]["id"].get<std::string>() + "/cancel",
                       json::object(), 202)["state"],
              "cancelled");
    ASSERT_TRUE(wait_calls(3)) << "degraded to healthy\n" << server.Log();
    receiver.stop();
    serving.join();
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(calls[0].id, calls[1].id) << "a retry is the same message";
    for (const Call& c : calls) {
        EXPECT_EQ(c.signature, WebhookSignature(secret, c.id, std::stoll(c.timestamp), c.body)) << c.body;
        EXPECT_LE(std::abs(std::stoll(c.timestamp) - NowEpochMs() / 1000), 60);
    }
    const json degraded = json::parse(calls[1].body);
    EXPECT_EQ(degraded["type"], "health.changed");
    EXPECT_EQ(degraded["data"]["from"], "healthy");
    EXPECT_EQ(degraded["data"]["to"], "degraded");
    EXPECT_TRUE(degraded["data"]["checks"].contains("queue")) << degraded.dump();
    EXPECT_EQ(degraded["data"]["instance"], server.host_port());
    const json healthy = json::parse(calls[2].body);
    EXPECT_EQ(healthy["data"]["from"], "degraded");
    EXPECT_EQ(healthy["data"]["to"], "healthy");
    EXPECT_TRUE(healthy["data"]["checks"].empty());
    EXPECT_EQ(server.Log().find(secret), std::string::npos);
}

// Fencing, end to end: a worker paused (SIGSTOP) past its lease while it recognises loses the job to another worker,
// which finishes it; woken (SIGCONT), the first stops, counts its refused write and changes nothing: the job stays the
// second's, and the episode's files and clips are exactly what the second wrote.
TEST_F(Service, AWorkerPausedPastItsLeaseChangesNothingWhenItWakes) {
    TempDir work;
    const fs::path data = work / "data";
    ServerProcess api(data, {{"MAX_CONCURRENT_JOBS", "0"}, {"JOB_LEASE_SECONDS", "2"}});
    ASSERT_TRUE(api.Start()) << api.Log();
    const std::string episode_bytes = ReadAll(ShortWav());
    ScriptEngine engine(short_timeline_);
    std::map<std::string, std::string> env =
        engine.With({{"MAX_CONCURRENT_JOBS", "1"}, {"JOB_LEASE_SECONDS", "2"}, {"METRICS_TOKEN", "worker-metrics-7"}});
    if (OnPostgres()) env["DATABASE_URL"] = ServerProcess::DatabaseFor(data);
    ServerProcess paused(data, env, ServerProcess::Kind::kWorker);
    ASSERT_TRUE(paused.Start()) << paused.Log();
    engine.Hold();  // the first worker is caught recognising
    auto up = Upload(api, episode_bytes, "paused.wav", {{"clips", "1"}});
    ASSERT_TRUE(up && up->status == 202) << (up ? up->body : "no answer");
    const std::string episode_id = json::parse(up->body)["episode"]["id"];
    const std::string job_id = json::parse(up->body)["job"]["id"];
    const json recognising =
        WaitJob(api, job_id, [](const json& j) { return j.value("stage", "") == "transcribe" || Ended(j); });
    ASSERT_EQ(recognising["state"], "running") << recognising.dump();
    paused.Signal(SIGSTOP);
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // past its lease
    engine.Release();                                              // (the stopped worker's answer waits in its socket)

    ServerProcess rescuer(data, env, ServerProcess::Kind::kWorker);
    ASSERT_TRUE(rescuer.Start()) << rescuer.Log();
    const json done = WaitJob(api, job_id, Ended);
    ASSERT_EQ(done["state"], "succeeded") << rescuer.Log();
    EXPECT_EQ(done["attempts"], 2) << "the rescue counted the paused attempt";
    const auto files = FilesUnder(data / "episodes" / episode_id);
    const json before = Get(api, "/api/v1/episodes/" + episode_id);
    ASSERT_EQ(before["clips"].size(), 1u);

    paused.Signal(SIGCONT);
    httplib::Client status("127.0.0.1", paused.port());
    status.set_bearer_token_auth("worker-metrics-7");
    std::string metrics;
    for (int i = 0; i < 200; ++i) {
        auto r = status.Get("/metrics");
        if (r && r->body.find("podpromo_fenced_writes_total{") != std::string::npos &&
            r->body.find("podpromo_workers_busy 0") != std::string::npos) {
            metrics = r->body;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_NE(metrics.find("podpromo_fenced_writes_total{"), std::string::npos)
        << "the woken worker counted its refused write and stopped\n"
        << paused.Log();
    EXPECT_EQ(metrics.find("podpromo_jobs_finished_total{outcome=\"succeeded\"}"), std::string::npos) << metrics;
    const json after = Get(api, "/api/v1/jobs/" + job_id);
    EXPECT_EQ(after["state"], "succeeded");
    EXPECT_EQ(after["attempts"], 2);
    EXPECT_EQ(Get(api, "/api/v1/episodes/" + episode_id)["clips"], before["clips"]) << "the clips are the rescuer's";
    EXPECT_EQ(FilesUnder(data / "episodes" / episode_id), files) << "no file added, none removed";
    EXPECT_EQ(paused.Terminate(), 0);
    EXPECT_EQ(rescuer.Terminate(), 0);
}

// The timeline as WebVTT, as a show's own transcript would be.
std::string TimelineVtt(const std::vector<TimedLine>& timeline) {
    const auto stamp = [](Ms ms) {
        return fmt::format("{:02}:{:02}:{:02}.{:03}", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60, ms % 1000);
    };
    std::string vtt = "WEBVTT\n\n";
    for (const auto& l : timeline) vtt += stamp(l.start_ms) + " --> " + stamp(l.end_ms) + "\n" + l.line.text + "\n\n";
    return vtt;
}

// A show added by its feed: the feed's own transcript replaces recognition, an item that appears between polls is
// processed with no click, the poll is conditional, the soundbites come back as a feed, and a feed on an address
// the operator did not allow is refused.
// The word the spoken-word colour is drawn for, counted in pixels over one frame of `video` at `t` seconds.
size_t SpokenWordPixels(const fs::path& video, double t) {
    auto info = ProbeMedia(video);
    EXPECT_TRUE(info.ok()) << info.status().ToString();
    if (!info.ok()) return 0;
    auto rgb = FrameRgb(video, t, info->width, info->height);
    EXPECT_TRUE(rgb.ok()) << rgb.status().ToString();
    if (!rgb.ok()) return 0;
    size_t n = 0;
    for (size_t i = 0; i + 2 < rgb->size(); i += 3)
        n += IsSpokenWordColour(reinterpret_cast<const unsigned char*>(rgb->data() + i)) ? 1 : 0;
    return n;
}

// The share of a frame of `video` (1 s in) that is clearly red.
double RedShare(const fs::path& video) {
    auto info = ProbeMedia(video);
    auto rgb = info.ok() ? FrameRgb(video, 1.0, info->width, info->height) : Result<std::string>(info.status());
    EXPECT_TRUE(rgb.ok()) << rgb.status().ToString();
    if (!rgb.ok() || rgb->empty()) return 0;
    size_t red = 0;
    for (size_t i = 0; i + 2 < rgb->size(); i += 3) {
        const auto* p = reinterpret_cast<const unsigned char*>(rgb->data() + i);
        red += p[0] > 150 && p[1] < 90 && p[2] < 90 ? 1 : 0;
    }
    return static_cast<double>(red) / static_cast<double>(rgb->size() / 3);
}

// Fixes a short word inside `clip` to a long one through the API, as the editor's transcript does, and checks the clip
// is rendered again with it: in its captions file and burned into its video (the spoken word's highlight at that
// moment is far wider), with its rank and id kept, and the transcript as made still readable.
void Service::FixAWordAndFindItInTheClip(const ServerProcess& server, const std::string& episode_id, const json& clip) {
    const json transcript = Get(server, "/api/v1/episodes/" + episode_id + "/transcript");
    const double start = clip["start"].get<double>(), end = clip["end"].get<double>();
    json where;
    for (size_t s = 0; s < transcript["segments"].size() && where.is_null(); ++s) {
        const json& words = transcript["segments"][s]["words"];
        for (size_t w = 0; w < words.size() && where.is_null(); ++w) {
            const double at = words[w]["start"].get<double>();
            const std::string text = words[w]["word"];
            if (at > start + 1 && at < end - 2 && text.size() <= 4 &&
                std::isalpha(static_cast<unsigned char>(text[0]))) {
                where = {{"segment", s}, {"word", w}, {"at", at - start}, {"was", text}};
            }
        }
    }
    ASSERT_FALSE(where.is_null()) << "no short word inside the clip";
    TempDir dir;
    const auto video_now = [&](const std::string& name) {
        auto c = Client(server);
        auto r = c.Get("/api/v1/clips/" + clip["id"].get<std::string>() + "/media/video");
        EXPECT_TRUE(r && r->status == 200);
        std::ofstream(dir / name, std::ios::binary) << (r ? r->body : "");
        return dir / name;
    };
    const size_t before = SpokenWordPixels(video_now("before.mp4"), where["at"].get<double>() + 0.1);

    auto c = Client(server);
    const json body = {
        {"revision", transcript["revision"]},
        {"edits", {{{"segment", where["segment"]}, {"word", where["word"]}, {"text", "Extraordinarily"}}}}};
    auto r = c.Patch("/api/v1/episodes/" + episode_id + "/transcript", body.dump(), "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const json fixed = json::parse(r->body);
    EXPECT_EQ(fixed["revision"], transcript["revision"].get<int>() + 1);
    ASSERT_FALSE(fixed["jobs"].empty()) << r->body;
    for (const auto& job : fixed["jobs"]) {
        const json done = WaitJob(server, job["id"], Ended);
        ASSERT_EQ(done["state"], "succeeded") << done.dump() << server.Log();
    }
    auto srt = c.Get("/api/v1/clips/" + clip["id"].get<std::string>() + "/media/srt");
    ASSERT_TRUE(srt && srt->status == 200);
    EXPECT_NE(srt->body.find("Extraordinarily"), std::string::npos) << srt->body;
    const size_t after = SpokenWordPixels(video_now("after.mp4"), where["at"].get<double>() + 0.1);
    EXPECT_GT(after, before * 2 + 500) << "the fixed word is burned in where \"" << where["was"].get<std::string>()
                                       << "\" was (" << before << " -> " << after << " highlighted pixels)";
    const json again = Get(server, "/api/v1/clips/" + clip["id"].get<std::string>());
    EXPECT_EQ(again["rank"], clip["rank"]) << "the clip keeps its place";
    const json made = Get(server, "/api/v1/episodes/" + episode_id + "/transcript?revision=0");
    EXPECT_EQ(made["segments"], transcript["segments"]) << "the transcript as made is kept";
}

TEST_F(Service, AShowsFeedIsFollowedAndItsNewEpisodeIsProcessedWithoutAClick) {
    TempDir work;
    const std::string wav = ReadAll(ShortWav());
    ScriptEngine engine(short_timeline_);
    FeedServer feed;
    TestFeedItem with_transcript{"ep-2", "Episode two",           "Tue, 01 Dec 2026 10:00:00 GMT",
                                 "1:30", feed.url() + "/ep2.mp3", "audio/wav"};
    with_transcript.transcript_url = feed.url() + "/ep2.vtt";
    with_transcript.transcript_type = "text/vtt";
    with_transcript.persons = {{"Grace Guest", "guest"}};
    with_transcript.chapters_url = feed.url() + "/ep2.chapters.json";
    TestFeedItem older{"ep-1", "Episode one",           "Mon, 30 Nov 2026 10:00:00 GMT",
                       "1:30", feed.url() + "/ep1.wav", "audio/wav"};
    std::atomic<int> version{1};
    feed.On("/feed.xml", [&](const httplib::Request& req, httplib::Response& res) {
        const std::string etag = "\"v" + std::to_string(version.load()) + "\"";
        if (req.get_header_value("If-None-Match") == etag) {
            res.status = 304;
            return;
        }
        std::vector<TestFeedItem> items = {with_transcript, older};
        if (version.load() == 2) {
            items.insert(items.begin(), {"ep-3", "Episode three", "Wed, 02 Dec 2026 10:00:00 GMT", "1:30",
                                         feed.url() + "/ep3.wav", "audio/wav"});
        }
        res.set_header("ETag", etag);
        res.set_content(PodcastFeed("The Business Hour", items, feed.url() + "/art.png"), "application/rss+xml");
    });
    // The show's artwork: all red, so its audiograms show whether they have it.
    ASSERT_TRUE(
        FfmpegConvert({"-f", "lavfi", "-i", "color=c=red:s=400x400", "-frames:v", "1", (work / "art.png").string()}));
    feed.Serve("/art.png", ReadAll(work / "art.png"), "image/png");
    feed.Redirect("/ep2.mp3", "/media/ep2.wav");  // an enclosure behind one redirect, as CDNs serve them
    for (const char* path : {"/media/ep2.wav", "/ep1.wav", "/ep3.wav"}) feed.Serve(path, wav, "audio/wav");
    feed.Serve("/ep2.vtt", TimelineVtt(short_timeline_), "text/vtt");
    feed.Serve(
        "/ep2.chapters.json",
        R"({"version": "1.2.0", "chapters": [{"startTime": 0, "title": "Hello"}, {"startTime": 45, "title": "Money"}]})",
        "application/json+chapters");

    ServerProcess server(work / "data", engine.With({{"FEED_PRIVATE_HOSTS", "127.0.0.1"}, {"FEED_POLL_SECONDS", "2"}}));
    ASSERT_TRUE(server.Start()) << server.Log();
    // The same machine by another name is not among the allowed hosts.
    const json refused = PostJson(server, "/api/v1/shows",
                                  {{"feed_url", "http://localhost:" + std::to_string(feed.port()) + "/feed.xml"}}, 403);
    EXPECT_EQ(refused["error"]["code"], "address_refused") << refused.dump();

    const json added = PostJson(server, "/api/v1/shows", {{"feed_url", feed.url() + "/feed.xml"}, {"clips", "1"}}, 201);
    const std::string show_id = added["show"]["id"];
    EXPECT_EQ(added["show"]["title"], "The Business Hour");
    EXPECT_EQ(added["show"]["persons"][0]["name"], "Ada Host");
    ASSERT_EQ(added["items"].size(), 2u) << added.dump();
    EXPECT_EQ(added["items"][0]["guid"], "ep-2");
    EXPECT_DOUBLE_EQ(added["items"][0]["duration"].get<double>(), 90);
    EXPECT_EQ(added["items"][0]["persons"][0]["name"], "Grace Guest");
    EXPECT_TRUE(added["items"][0]["episode_id"].is_null()) << "the back catalogue is not processed by itself";
    PostJson(server, "/api/v1/shows", {{"feed_url", feed.url() + "/feed.xml"}}, 200);  // the same feed again

    // The item with a transcript: downloaded through its redirect, and not recognised.
    const json queued = PostJson(server, "/api/v1/shows/" + show_id + "/items/process", {{"guid", "ep-2"}}, 202);
    const std::string episode_id = queued["episode"]["id"];
    const json job = WaitJob(server, queued["job"]["id"], Ended);
    ASSERT_EQ(job["state"], "succeeded") << job.dump() << server.Log();
    EXPECT_EQ(engine.requests(), 0u) << "the feed's transcript was used instead of recognition";
    EXPECT_TRUE(job["stage_ms"].contains("download")) << "the download is a stage of its own: " << job.dump();
    const json transcript = Get(server, "/api/v1/episodes/" + episode_id + "/transcript");
    EXPECT_EQ(transcript["engine"], "feed:import:vtt") << transcript.dump().substr(0, 300);
    const json episode = Get(server, "/api/v1/episodes/" + episode_id);
    EXPECT_EQ(episode["episode"]["title"], "Episode two");
    EXPECT_EQ(episode["episode"]["size_bytes"], static_cast<int64_t>(wav.size()));
    ASSERT_EQ(episode["episode"]["chapters"].size(), 2u) << episode["episode"].dump();  // scored as topic boundaries
    EXPECT_EQ(episode["episode"]["chapters"][1]["title"], "Money");
    EXPECT_EQ(episode["episode"]["chapters"][1]["start"], 45);
    ASSERT_FALSE(episode["clips"].empty());
    PostJson(server, "/api/v1/shows/" + show_id + "/items/process", {{"guid", "ep-2"}}, 409);
    // The show's artwork is its audiograms' cover.
    EXPECT_TRUE(episode["episode"]["render_options"].value("cover", json()).is_string()) << episode["episode"].dump();
    auto video = Client(server).Get("/api/v1/clips/" + episode["clips"][0]["id"].get<std::string>() + "/media/video");
    ASSERT_TRUE(video && video->status == 200);
    std::ofstream(work / "clip.mp4", std::ios::binary) << video->body;
    EXPECT_GT(RedShare(work / "clip.mp4"), 0.05) << "the artwork is in the clip's picture";
    // Its captions: a word fixed in the transcript reaches the clip.
    FixAWordAndFindItInTheClip(server, episode_id, episode["clips"][0]);

    // A new item between polls is processed by itself (and recognised: it has no transcript).
    version = 2;
    json item3;
    const auto until = Clock::now() + std::chrono::seconds(static_cast<int>(60 * TestTimeScale()));
    while (Clock::now() < until && (item3.is_null() || item3["episode_id"].is_null())) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        // The episode list counts the clips each episode has, not the number asked for.
        for (const auto& listed : Get(server, "/api/v1/episodes")["items"]) {
            if (listed["id"] == episode_id) {
                EXPECT_EQ(listed["clips_made"], episode["clips"].size()) << listed.dump();
            }
        }
        const json show = Get(server, "/api/v1/shows/" + show_id);
        for (const auto& it : show["items"]) {
            if (it["guid"] == "ep-3") item3 = it;
        }
    }
    ASSERT_FALSE(item3.is_null() || item3["episode_id"].is_null()) << "the new item was not queued";
    const json episodes = Get(server, "/api/v1/episodes/" + item3["episode_id"].get<std::string>());
    const json job3 = WaitJob(server, episodes["job"]["id"], Ended);
    EXPECT_EQ(job3["state"], "succeeded") << job3.dump() << server.Log();
    EXPECT_GT(engine.requests(), 0u) << "an item without a transcript is recognised";
    bool conditional = false;
    for (const auto& seen : feed.seen()) conditional |= seen.path == "/feed.xml" && !seen.if_none_match.empty();
    EXPECT_TRUE(conditional) << "polls send the ETag they were given";
    const json show = Get(server, "/api/v1/shows/" + show_id);
    EXPECT_TRUE(show["show"]["last_status"] == "ok" || show["show"]["last_status"] == "not_modified") << show.dump();
    EXPECT_EQ(show["item_count"], 3);

    // The soundbites of both processed episodes, as one feed a host can merge.
    auto c = Client(server);
    auto bites = c.Get("/api/v1/shows/" + show_id + "/soundbites");
    ASSERT_TRUE(bites);
    ASSERT_EQ(bites->status, 200);
    EXPECT_NE(bites->body.find("<guid isPermaLink=\"false\">ep-2</guid>"), std::string::npos) << bites->body;
    size_t lines = 0;
    for (size_t at = bites->body.find("<podcast:soundbite "); at != std::string::npos;
         at = bites->body.find("<podcast:soundbite ", at + 1)) {
        ++lines;
    }
    EXPECT_EQ(lines, episode["clips"].size() +
                         Get(server, "/api/v1/episodes/" + item3["episode_id"].get<std::string>())["clips"].size());
}

}  // namespace
}  // namespace podpromo::testing
