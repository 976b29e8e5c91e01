#include "testsupport.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <soci/soci.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "podpromo/asr/transcript_io.h"
#include "podpromo/media/decode.h"
#include "podpromo/media/probe.h"

namespace podpromo::testing {

std::string PodpromoBinary() {
    const char* under_test = std::getenv("PODPROMO_UNDER_TEST");
    return under_test && *under_test ? under_test : PODPROMO_BINARY;
}
namespace fs = std::filesystem;

TempDir::TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base ? base : "/tmp") + "/podpromo-test-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
    path_ = buf.data();
}

TempDir::~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
}

double TestTimeScale() {
    const char* scale = std::getenv("PODPROMO_TEST_TIME_SCALE");
    const double v = scale ? std::atof(scale) : 1.0;
    return std::clamp(v, 1.0, 20.0);
}

ProcessOutput RunPodpromo(const std::vector<std::string>& args, long timeout_ms) {
    std::vector<std::string> argv = {PodpromoBinary()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = RunProcess(argv, nullptr, static_cast<long>(static_cast<double>(timeout_ms) * TestTimeScale()));
    if (!r.ok()) {
        ProcessOutput out;
        out.err = r.status().ToString();
        return out;
    }
    return *r;
}

void WriteWav(const Pcm& pcm, const fs::path& path) {
    std::ofstream out(path, std::ios::binary);
    auto u32 = [&](uint32_t v) { out.write(reinterpret_cast<const char*>(&v), 4); };
    auto u16 = [&](uint16_t v) { out.write(reinterpret_cast<const char*>(&v), 2); };
    const uint32_t data = static_cast<uint32_t>(pcm.samples.size() * 2);
    out.write("RIFF", 4);
    u32(36 + data);
    out.write("WAVEfmt ", 8);
    u32(16);
    u16(1);
    u16(1);
    u32(static_cast<uint32_t>(pcm.sample_rate));
    u32(static_cast<uint32_t>(pcm.sample_rate * 2));
    u16(2);
    u16(16);
    out.write("data", 4);
    u32(data);
    out.write(reinterpret_cast<const char*>(pcm.samples.data()), static_cast<std::streamsize>(data));
}

Pcm Tone(double seconds, double hz, double amplitude) {
    Pcm pcm;
    pcm.samples.resize(static_cast<size_t>(seconds * pcm.sample_rate));
    for (size_t i = 0; i < pcm.samples.size(); ++i) {
        pcm.samples[i] = static_cast<int16_t>(
            amplitude * std::sin(2 * M_PI * hz * static_cast<double>(i) / static_cast<double>(pcm.sample_rate)));
    }
    return pcm;
}

Result<std::vector<TimedLine>> SynthesizeEpisode(const std::vector<ScriptLine>& script, const fs::path& path) {
    std::vector<TimedLine> timeline;
    if (!ProgramExists("flite")) return Status::Unavailable("flite is not installed (scripts/setup installs it)");
    TempDir work;
    Pcm all;
    all.sample_rate = 16000;
    std::mt19937 rng(42);
    std::normal_distribution<double> noise(0.0, 12.0);  // about -68 dBFS of hiss
    auto add_quiet = [&](Ms ms) {
        for (Ms i = 0; i < ms * 16; ++i) all.samples.push_back(static_cast<int16_t>(noise(rng)));
    };
    add_quiet(500);
    for (size_t i = 0; i < script.size(); ++i) {
        const auto& line = script[i];
        const fs::path part = work / ("line" + std::to_string(i) + ".wav");
        auto r = RunProcess({"flite", "-voice", line.voice, "-t", line.text, "-o", part.string()});
        if (!r.ok() || r->exit_code != 0) return Status::Internal("flite failed for line " + std::to_string(i + 1));
        auto info = ProbeMedia(part);
        if (!info.ok()) return info.status();
        auto pcm = DecodeToPcm(part, *info);
        if (!pcm.ok()) return pcm.status();
        // Trim flite's own leading/trailing quiet so the timeline marks the speech itself.
        auto& s = pcm->samples;
        size_t a = 0, b = s.size();
        while (a < b && std::abs(s[a]) < 200) ++a;
        while (b > a && std::abs(s[b - 1]) < 200) --b;
        TimedLine tl{line, all.DurationMs(), 0};
        for (size_t k = a; k < b; ++k)
            all.samples.push_back(static_cast<int16_t>(std::clamp(s[k] + noise(rng), -32768.0, 32767.0)));
        tl.end_ms = all.DurationMs();
        timeline.push_back(tl);
        add_quiet(line.pause_ms);
    }
    WriteWav(all, path);
    return timeline;
}

void AddHiss(Pcm& pcm, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> noise(0.0, 12.0);  // about -68 dBFS, as SynthesizeEpisode's
    for (auto& x : pcm.samples) x = static_cast<int16_t>(std::clamp(x + noise(rng), -32768.0, 32767.0));
}

Result<Pcm> SpeakLine(const std::string& voice, const std::string& text, bool through_8khz) {
    if (!ProgramExists("flite")) return Status::Unavailable("flite is not installed (scripts/setup installs it)");
    TempDir work;
    const fs::path spoken = work / "spoken.wav", line = work / "line.wav";
    auto r = RunProcess({"flite", "-voice", voice, "-t", text, "-o", spoken.string()});
    if (!r.ok() || r->exit_code != 0) return Status::Internal("flite failed for voice " + voice);
    fs::path heard = spoken;
    if (through_8khz) {
        if (!FfmpegConvert({"-i", spoken.string(), "-ar", "8000", "-ac", "1", line.string()})) {
            return Status::Internal("ffmpeg could not resample to 8 kHz");
        }
        heard = line;
    }
    auto info = ProbeMedia(heard);
    if (!info.ok()) return info.status();
    return DecodeToPcm(heard, *info);
}

bool FfmpegConvert(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = RunProcess(argv, nullptr, 600000);
    return r.ok() && r->exit_code == 0;
}

Result<std::vector<ScriptLine>> LoadScript(const fs::path& path) {
    std::ifstream in(path);
    if (!in) return Status::NotFound("cannot read " + path.string());
    std::vector<ScriptLine> lines;
    std::string row;
    int n = 0;
    while (std::getline(in, row)) {
        ++n;
        if (row.empty() || row[0] == '#') continue;
        std::vector<std::string> cols;
        std::stringstream ss(row);
        std::string col;
        while (std::getline(ss, col, '\t')) cols.push_back(col);
        if (cols.size() != 4)
            return Status::InvalidInput(path.string() + ":" + std::to_string(n) + ": expected 4 tab-separated columns");
        lines.push_back({cols[0], cols[1], cols[3], std::stol(cols[2])});
    }
    return lines;
}

std::string JoinText(const std::vector<TimedLine>& lines) {
    std::string out;
    for (const auto& l : lines) out += (out.empty() ? "" : " ") + l.line.text;
    return out;
}

std::string ScriptSrt(const std::vector<TimedLine>& lines) {
    std::vector<Cue> cues;
    for (const auto& l : lines) cues.push_back({l.start_ms, l.end_ms, l.line.text, ""});
    return FormatSrt(cues);
}

fs::path SharedData() {
    const fs::path p = PODPROMO_SHARED_DATA;
    std::error_code ec;
    return fs::is_directory(p, ec) ? fs::canonical(p) : fs::path();
}

std::string ReadFile(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

Result<VideoProbe> ProbeVideo(const fs::path& path) {
    auto r = RunProcess({"ffprobe", "-v", "error", "-of", "json", "-show_streams", "-show_format", path.string()});
    if (!r.ok()) return r.status();
    if (r->exit_code != 0) return Status::InvalidInput("ffprobe failed: " + r->err);
    const auto j = nlohmann::json::parse(r->out, nullptr, false);
    if (j.is_discarded()) return Status::InvalidInput("ffprobe printed no JSON");
    VideoProbe p;
    for (const auto& st : j.value("streams", nlohmann::json::array())) {
        if (st.value("codec_type", "") == "video") {
            p.video_codec = st.value("codec_name", "");
            p.pix_fmt = st.value("pix_fmt", "");
            p.width = st.value("width", 0);
            p.height = st.value("height", 0);
        } else if (st.value("codec_type", "") == "audio") {
            p.audio_codec = st.value("codec_name", "");
        }
    }
    p.duration = std::stod(j["format"].value("duration", "0"));
    // Walk the top-level boxes: 32-bit size, 4-byte type (size 1: a 64-bit size follows).
    std::ifstream in(path, std::ios::binary);
    uint64_t at = 0;
    const uint64_t file_size = fs::file_size(path);
    while (at + 8 <= file_size) {
        unsigned char head[16];
        in.seekg(static_cast<std::streamoff>(at));
        in.read(reinterpret_cast<char*>(head), 16);
        uint64_t size = (uint64_t{head[0]} << 24) | (uint64_t{head[1]} << 16) | (uint64_t{head[2]} << 8) | head[3];
        const std::string type(reinterpret_cast<char*>(head) + 4, 4);
        if (size == 1) {
            size = 0;
            for (int k = 8; k < 16; ++k) size = (size << 8) | head[k];
        }
        if (type == "moov") {
            p.faststart = true;
            break;
        }
        if (type == "mdat" || size < 8) break;
        at += size;
    }
    return p;
}

Result<Loudness> MeasureLoudness(const fs::path& path) {
    auto r = RunProcess({"ffmpeg", "-nostdin", "-hide_banner", "-i", path.string(), "-vn", "-af", "ebur128=peak=true",
                         "-f", "null", "-"});
    if (!r.ok()) return r.status();
    const auto summary = r->err.rfind("Summary:");
    if (r->exit_code != 0 || summary == std::string::npos) return Status::InvalidInput("ebur128 failed: " + r->err);
    const auto i = r->err.find("I:", summary), tp = r->err.find("Peak:", summary);
    if (i == std::string::npos || tp == std::string::npos) return Status::InvalidInput("no loudness summary");
    return Loudness{std::stod(r->err.substr(i + 2)), std::stod(r->err.substr(tp + 5))};
}

Result<std::string> FrameRgb(const fs::path& path, double t, int width, int height) {
    std::vector<std::string> argv = {"ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error"};
    if (t > 0) argv.insert(argv.end(), {"-ss", std::to_string(t)});  // (a still picture cannot be sought in)
    argv.insert(argv.end(), {"-i", path.string(), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"});
    auto r = RunProcess(argv);
    if (!r.ok()) return r.status();
    if (r->exit_code != 0) return Status::InvalidInput("ffmpeg could not read a frame: " + r->err);
    if (r->out.size() != static_cast<size_t>(width) * height * 3) {
        return Status::InvalidInput("the frame is not " + std::to_string(width) + "x" + std::to_string(height));
    }
    return r->out;
}

void ExpectPostableVideo(const fs::path& video, int width, int height, double seconds) {
    auto p = ProbeVideo(video);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_EQ(p->video_codec, "h264");
    EXPECT_EQ(p->audio_codec, "aac");
    EXPECT_EQ(p->pix_fmt, "yuv420p");
    EXPECT_TRUE(p->faststart) << "the index must come first so players start at once";
    EXPECT_EQ(p->width, width);
    EXPECT_EQ(p->height, height);
    EXPECT_NEAR(p->duration, seconds, 0.1);
    auto loud = MeasureLoudness(video);
    ASSERT_TRUE(loud.ok()) << loud.status().ToString();
    EXPECT_NEAR(loud->integrated, -14.0, 1.0);
    EXPECT_LE(loud->true_peak, -1.0 + 0.3) << "true peak about -1 dBTP at most";
}

bool OnPostgres() {
    const char* state = std::getenv("PODPROMO_TEST_POSTGRES");
    return state != nullptr && *state != '\0';
}

std::string TestDatabaseUrl(const std::filesystem::path& file) {
    if (!OnPostgres()) return "sqlite://" + file.string();
    std::ifstream in(fs::path(std::getenv("PODPROMO_TEST_POSTGRES")) / "url");
    std::string admin_url;
    std::getline(in, admin_url);
    if (admin_url.empty()) {
        ADD_FAILURE() << "PODPROMO_TEST_POSTGRES is set but names no running cluster (tests/support/postgres.sh)";
        return "postgresql://nowhere.invalid/none";
    }
    // A name no other test (of this process or another) has: the process id and a random part.
    std::random_device rd;
    const std::string name = fmt::format("t_{}_{:08x}", getpid(), rd());
    auto admin = Database::Open(admin_url, 1);
    EXPECT_TRUE(admin.ok()) << admin.status().ToString();
    if (admin.ok()) {
        const Status made = (*admin)->With([&](Tx& tx) { tx.sql() << "CREATE DATABASE " + name; });
        EXPECT_TRUE(made.ok()) << made.ToString();
    }
    return admin_url.substr(0, admin_url.rfind('/') + 1) + name;
}

std::unique_ptr<Database> OpenTestDatabase(const std::filesystem::path& file, int pool_size) {
    auto db = Database::Open(TestDatabaseUrl(file), pool_size);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    if (!db.ok()) return nullptr;
    auto applied = (*db)->Migrate();
    EXPECT_TRUE(applied.ok()) << applied.status().ToString();
    return applied.ok() ? std::move(*db) : nullptr;
}

Status ExecSql(Database* db, const std::string& sql) {
    return db->InTransaction([&](Tx& tx) { tx.sql() << sql; });
}

}  // namespace podpromo::testing
