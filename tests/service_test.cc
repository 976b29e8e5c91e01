// Black-box tests of `podpromo serve`: the real binary on a free loopback port with its own data directory,
// driven over HTTP as a client would.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

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
        auto script = LoadScript(fs::path(PODPROMO_TEST_DATA) / "business_interview.tsv");
        ASSERT_TRUE(script.ok()) << script.status().ToString();
        auto tl = SynthesizeEpisode(*script, *dir_ / "business.wav");
        ASSERT_TRUE(tl.ok()) << tl.status().ToString();
        timeline_ = *tl;
    }
    static void TearDownTestSuite() {
        delete dir_;
        dir_ = nullptr;
    }

    static httplib::Client Client(const ServerProcess& s) {
        httplib::Client c("127.0.0.1", s.port());
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
        const auto until = Clock::now() + std::chrono::seconds(seconds);
        while (Clock::now() < until) {
            job = Get(s, "/api/v1/jobs/" + job_id);
            if (job.is_discarded() || done(job)) return job;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return job;
    }

    static bool Ended(const json& j) {
        const std::string st = j.value("state", "");
        return st == "succeeded" || st == "failed" || st == "cancelled";
    }

    static inline TempDir* dir_ = nullptr;
    static inline std::vector<TimedLine> timeline_;
};

// Reads `GET path` as server-sent events on a thread of its own until Stop(); keeps each event's JSON.
class EventStream {
  public:
    EventStream(const ServerProcess& s, const std::string& path) : port_(s.port()) {
        thread_ = std::thread([this, path] {
            httplib::Client c("127.0.0.1", port_);
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
    // Ends the reader and waits for it.
    void Stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }

  private:
    int port_;
    std::thread thread_;
    std::atomic<bool> connected_{false}, stop_{false};
    std::atomic<int> status_{0};
    std::mutex mu_;
    std::vector<json> events_;
};

TEST_F(Service, UploadEventsClipsFeedbackAndARestartLosesNothing) {
    TempDir work;
    const fs::path data = work / "data";
    auto server = std::make_unique<ServerProcess>(data);
    ASSERT_TRUE(server->Start()) << server->Log();

    // Listen to the progress stream from before the upload.
    EventStream stream(*server, "/api/v1/events");
    ASSERT_TRUE(stream.connected()) << "the event stream did not open";

    // Rendered square, in the clean style, over a cover image sent with it.
    ASSERT_TRUE(FfmpegConvert(
        {"-f", "lavfi", "-i", "color=c=0xE00000:s=800x800", "-frames:v", "1", (*dir_ / "cover.png").string()}));
    auto up = Upload(*server, ReadAll(*dir_ / "business.wav"), "Business Interview.wav",
                     {{"genre", "auto"},
                      {"platform", "tiktok"},
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
        auto cancel =
            c.Post("/api/v1/jobs/" + second_job["job"]["id"].get<std::string>() + "/cancel", "", "application/json");
        ASSERT_TRUE(cancel);
        const json cancelled = WaitJob(*server, second_job["job"]["id"], Ended);
        EXPECT_EQ(cancelled["state"], "cancelled") << cancelled.dump();
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
        // The episode's job and the span's render job succeeded; the second render was cancelled.
        EXPECT_NE(m->body.find("podpromo_jobs{state=\"succeeded\"} 2"), std::string::npos) << m->body;
        EXPECT_NE(m->body.find("podpromo_jobs{state=\"cancelled\"} 1"), std::string::npos) << m->body;
        EXPECT_NE(m->body.find("podpromo_stage_duration_seconds_bucket{stage=\"transcribe\""), std::string::npos);
        EXPECT_NE(
            m->body.find("podpromo_http_request_duration_seconds_bucket{method=\"POST\",route=\"/api/v1/episodes\""),
            std::string::npos);
    }
    const json queue = Get(*server, "/queue/stats");
    EXPECT_EQ(queue["by_state"]["succeeded"], 2);
    EXPECT_EQ(queue["by_state"]["cancelled"], 1);
    const json storage = Get(*server, "/storage/stats");
    EXPECT_EQ(storage["files_by_kind"]["upload"], 1);
    EXPECT_GE(storage["files_by_kind"]["audio"].get<int>(), 3);

    // Restart: everything is still there.
    stream.Stop();
    const auto t0 = Clock::now();
    EXPECT_EQ(server->Terminate(10000), 0) << server->Log();
    EXPECT_LT(Clock::now() - t0, std::chrono::seconds(10));
    server = std::make_unique<ServerProcess>(data);
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
    // Unknown ids are JSON 404s.
    const json missing = Get(server, "/api/v1/episodes/ep_nothere", 404);
    EXPECT_EQ(missing["error"]["code"], "not_found");
    Get(server, "/api/v1/no/such/endpoint", 404);
}

TEST_F(Service, EventStreamsAreFilteredByEpisodeAndLimitedInNumber) {
    TempDir work;
    ServerProcess server(work / "data", {{"MAX_EVENT_STREAMS", "2"}, {"MAX_CONCURRENT_JOBS", "1"}});
    ASSERT_TRUE(server.Start()) << server.Log();
    const std::string episode = ReadAll(*dir_ / "business.wav");
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

TEST_F(Service, QueueLimitPriorityAndCancellation) {
    TempDir work;
    const fs::path data = work / "data";
    ServerProcess server(data, {{"MAX_QUEUE_SIZE", "1"}, {"MAX_CONCURRENT_JOBS", "1"}});
    ASSERT_TRUE(server.Start()) << server.Log();
    const std::string episode = ReadAll(*dir_ / "business.wav");
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
    auto busy = c.Delete("/api/v1/episodes/" + ep_a);
    ASSERT_TRUE(busy);
    EXPECT_EQ(busy->status, 409) << "a running episode is not deleted under its worker";
    auto cancel_b = c.Post("/api/v1/jobs/" + job_b + "/cancel");
    ASSERT_TRUE(cancel_b);
    EXPECT_EQ(cancel_b->status, 202);
    EXPECT_EQ(Get(server, "/api/v1/jobs/" + job_b)["state"], "cancelled");
    const auto t0 = Clock::now();
    auto cancel_a = c.Post("/api/v1/jobs/" + job_a + "/cancel");
    ASSERT_TRUE(cancel_a);
    EXPECT_EQ(cancel_a->status, 202);
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
    auto up = Upload(*server, ReadAll(*dir_ / "business.wav"), "resume.wav");
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
    EXPECT_GE(Get(*server, "/api/v1/episodes/" + episode_id)["clips"].size(), 3u);

    // An editor imports an exact transcript (SRT from the script): the episode is scored and rendered again
    // without recognition, and the clips now come from the imported words.
    std::string srt;
    int cue = 0;
    for (const auto& line : timeline_) {
        auto clock = [](Ms ms) {
            return fmt::format("{:02}:{:02}:{:02},{:03}", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60, ms % 1000);
        };
        srt += fmt::format("{}\n{} --> {}\n{}\n\n", ++cue, clock(line.start_ms), clock(line.end_ms), line.line.text);
    }
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
    std::string clip_text;
    for (const auto& clip : after["clips"]) clip_text += clip["text"].get<std::string>() + " ";
    EXPECT_NE(clip_text.find("Here's"), std::string::npos) << "clips quote the imported, cased words: " << clip_text;
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

    auto up = Upload(server, ReadAll(*dir_ / "business.wav"), "retry.wav");
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

TEST(ServiceCommand, MigrateAloneAndBadConfigurationIsNamed) {
    TempDir work;
    auto r = RunPodpromo({"migrate", "--data-dir", (work / "data").string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("schema version 3"), std::string::npos) << r.out;
    EXPECT_TRUE(fs::exists(work / "data" / "podpromo.db"));
    r = RunPodpromo({"migrate", "--data-dir", (work / "data").string()});
    EXPECT_EQ(r.exit_code, 0) << "running it again changes nothing";
    auto bad = RunProcess(
        {"env", "MAX_QUEUE_SIZE=lots", PODPROMO_BINARY, "serve", "--port", "0", "--data-dir", (work / "data").string()},
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

}  // namespace
}  // namespace podpromo::testing
