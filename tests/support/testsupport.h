// Helpers for tests: temporary directories, running the podpromo binary, and synthesising episodes with
// flite so every test's data is made at test time with a known timeline.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "podpromo/core/status.h"
#include "podpromo/core/subprocess.h"
#include "podpromo/core/types.h"
#include "podpromo/store/database.h"

namespace podpromo::testing {

// The podpromo binary the black-box tests run: $PODPROMO_UNDER_TEST when set (scripts/test points it at the
// sanitizer build's to send the hostile-input tests to that), else the one built beside the tests.
std::string PodpromoBinary();

// A fresh directory under $TMPDIR removed on destruction.
class TempDir {
  public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

  private:
    std::filesystem::path path_;
};

// Runs the built podpromo binary with `args`.
// How much longer than usual the tests wait for work to end: PODPROMO_TEST_TIME_SCALE (1 to 20; 1 unless set).
// scripts/sanitize sets it, as the sanitized build at -O0 runs several times slower; the bars on speed that tests
// check do not scale.
double TestTimeScale();
// Runs the podpromo command (PodpromoBinary) with `args`; `timeout_ms` is scaled by TestTimeScale.
ProcessOutput RunPodpromo(const std::vector<std::string>& args, long timeout_ms = 600000);

// Writes 16-bit mono PCM as a WAV file.
void WriteWav(const Pcm& pcm, const std::filesystem::path& path);
// `seconds` of a steady tone of `hz` at `amplitude` (0: silence), 16 kHz mono.
Pcm Tone(double seconds, double hz = 220, double amplitude = 6000);

// One line of a synthetic episode: spoken by `voice` (a flite voice: kal, slt, rms, awb), tagged with
// `kind` ("filler", "strong", "ad", ...), followed by `pause_ms` of quiet.
struct ScriptLine {
    std::string voice;
    std::string kind;
    std::string text;
    Ms pause_ms = 600;
};

// Where a script line ended up in the synthesised audio.
struct TimedLine {
    ScriptLine line;
    Ms start_ms = 0;
    Ms end_ms = 0;
};

// Synthesises `script` with flite into a 16 kHz mono WAV at `path` (a little background noise keeps it
// realistic) and returns the timeline. Unavailable when flite is missing.
Result<std::vector<TimedLine>> SynthesizeEpisode(const std::vector<ScriptLine>& script,
                                                 const std::filesystem::path& path);

// `text` spoken by the flite `voice` and decoded to 16 kHz mono as the pipeline decodes. With `through_8khz` the
// speech first passes through an 8 kHz line (resampled by ffmpeg), as a phone call would carry it.
Result<Pcm> SpeakLine(const std::string& voice, const std::string& text, bool through_8khz = false);

// Adds the faint hiss SynthesizeEpisode's episodes have (Gaussian, about -68 dBFS), the same for the same seed.
void AddHiss(Pcm& pcm, unsigned seed);

// Converts with the ffmpeg program, e.g. to .mp3 or to an .mp4 with a video track. Returns false on failure.
bool FfmpegConvert(const std::vector<std::string>& args);

// Reads a script: one line per row, "voice<TAB>kind<TAB>pause_ms<TAB>text"; '#' starts a comment row.
Result<std::vector<ScriptLine>> LoadScript(const std::filesystem::path& path);

// The reference text of a set of lines, joined by spaces.
std::string JoinText(const std::vector<TimedLine>& lines);
// The lines' exact words as an SRT, one cue per line at its synthesised time: what an editor imports.
std::string ScriptSrt(const std::vector<TimedLine>& lines);

// ../shared/data when present ("" otherwise).
std::filesystem::path SharedData();

// Reads a whole file.
std::string ReadFile(const std::filesystem::path& path);

// What a person posting a rendered clip would check, read with ffprobe and from the file's top-level boxes.
struct VideoProbe {
    std::string video_codec, audio_codec, pix_fmt;
    int width = 0, height = 0;
    double duration = 0;     // seconds (the container's)
    bool faststart = false;  // the index ('moov') comes before the media data ('mdat')
};
Result<VideoProbe> ProbeVideo(const std::filesystem::path& path);

// Integrated loudness (LUFS) and true peak (dBTP) measured by ffmpeg's ebur128 filter.
struct Loudness {
    double integrated = 0, true_peak = 0;
};
Result<Loudness> MeasureLoudness(const std::filesystem::path& path);

// Every probe a posted clip must pass (gtest expectations): h264 + aac, yuv420p, faststart, the frame size,
// the duration ±0.1 s, -14 ±1 LUFS integrated and a true peak of at most about -1 dBTP.
void ExpectPostableVideo(const std::filesystem::path& video, int width, int height, double seconds);

// One frame at `t` seconds as packed RGB24 (width × height × 3 bytes).
Result<std::string> FrameRgb(const std::filesystem::path& path, double t, int width, int height);
// Whether an RGB24 pixel has the colour the "bold" caption style gives the word being spoken (FFD400: strong red and
// green, little blue), after video compression.
inline bool IsSpokenWordColour(const unsigned char* px) {
    return px[0] > 200 && px[1] > 170 && px[1] < 235 && px[2] < 90;
}

// A migrated database for one test (a gtest failure, and nullptr, when it cannot be made): SQLite in `file`, or,
// when PODPROMO_TEST_POSTGRES names a running test cluster's state directory (tests/support/postgres.sh, which the
// ctest fixture `postgres` starts), a new empty PostgreSQL database in that cluster. The same tests thus run on both
// backends (the `pg.` tests in ctest).
std::unique_ptr<Database> OpenTestDatabase(const std::filesystem::path& file, int pool_size = 2);
// The URL of a new empty database for one test: sqlite:// in `file`, or a new PostgreSQL database as above.
std::string TestDatabaseUrl(const std::filesystem::path& file);
// Whether the tests run on PostgreSQL (PODPROMO_TEST_POSTGRES is set).
bool OnPostgres();
// Runs one SQL statement as is: for a test that arranges a state no repository function makes (another
// worker's lease, say). The service itself writes SQL only in src/store/.
Status ExecSql(Database* db, const std::string& sql);

}  // namespace podpromo::testing
