// The use cases without HTTP: a real SQLite database and storage in a temporary directory, a manual clock, and
// an event bus to listen on. What these check is what a client would be told and what an operator would find in
// the tables and the data directory afterwards.
#include "podpromo/app/app.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string_view>
#include <thread>

#include "feed_server.h"
#include "podpromo/asr/transcript_io.h"
#include "podpromo/core/utf8.h"
#include "podpromo/files/atomic.h"
#include "podpromo/jobs/events.h"
#include "podpromo/jobs/span_render.h"
#include "podpromo/media/probe.h"
#include "podpromo/media/render.h"
#include "podpromo/store/accounts.h"
#include "podpromo/store/repositories.h"
#include "testsupport.h"

namespace podpromo {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kStart = 1'800'000'000'000;
const Caller kAll = Caller::Everyone();

// A 440 Hz tone (or silence) of `seconds` as WAV bytes.
std::string WavBytes(double seconds, bool silent, const fs::path& scratch) {
    testing::WriteWav(testing::Tone(seconds, 440, silent ? 0 : 8000), scratch);
    return testing::ReadFile(scratch);
}

// One sentence every 4 s for `seconds`, as SRT.
std::string Srt(int seconds) {
    std::string srt;
    for (int i = 0, n = 1; i + 4 <= seconds; i += 4, ++n) {
        srt += fmt::format(
            "{}\n00:{:02}:{:02},000 --> 00:{:02}:{:02},500\nThe reason this works is that people "
            "remember stories number {}.\n\n",
            n, i / 60, i % 60, (i + 3) / 60, (i + 3) % 60, n);
    }
    return srt;
}

class AppTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("podpromo-app-" + std::to_string(getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        db_ = testing::OpenTestDatabase(dir_ / "db.sqlite");
        ASSERT_TRUE(db_);
        auto storage = Storage::Open(dir_ / "data", int64_t{1} << 30);
        ASSERT_TRUE(storage.ok()) << storage.status().ToString();
        storage_ = std::make_unique<Storage>(std::move(*storage));
        events_sub_ = events_.Subscribe();
        limits_.max_queue_size = 3;
        limits_.max_file_size_bytes = 50 * 1000 * 1000;
        limits_.max_episode_seconds = 3600;
        MakeApp();
    }
    void TearDown() override {
        app_.reset();
        db_.reset();
        fs::remove_all(dir_);
    }
    void MakeApp() {
        AppDeps deps;
        deps.db = db_.get();
        deps.storage = storage_.get();
        deps.events = &events_;
        deps.clock = &clock_;
        deps.wake = [this] { ++wakes_; };
        app_ = std::make_unique<App>(std::move(deps), limits_);
    }
    UploadRequest Upload(const std::string& bytes, std::map<std::string, std::string> fields = {}) {
        UploadRequest r;
        auto file = UploadFile::Create(storage_->tmp_dir());
        EXPECT_TRUE(file.ok());
        EXPECT_TRUE((*file)->Write(bytes.data(), bytes.size()).ok());
        r.file = std::move(*file);
        r.filename = "My Show #12.wav";
        r.fields = std::move(fields);
        return r;
    }
    // The events published since the last call.
    std::vector<nlohmann::json> Events() {
        std::vector<nlohmann::json> out;
        while (auto e = events_sub_->Next(0)) out.push_back(nlohmann::json::parse(*e));
        return out;
    }
    size_t FilesUnder(const fs::path& p) {
        size_t n = 0;
        std::error_code ec;
        for (auto it = fs::recursive_directory_iterator(p, ec); it != fs::recursive_directory_iterator(); ++it) {
            n += it->is_regular_file() ? 1 : 0;
        }
        return n;
    }
    // A ready episode with a 120 s transcript and no job running, owned by `owner`.
    std::string ReadyEpisode(const std::string& owner = "") {
        EpisodeRow ep;
        ep.id = NewId("ep");
        ep.owner_id = owner;
        ep.title = "Ready";
        ep.filename = "ready.wav";
        ep.status = EpisodeStatus::kReady;
        ep.duration = 120;
        ep.genre = "auto";
        ep.detected_genre = "education";
        ep.platform = "tiktok";
        ep.created_at = ep.updated_at = clock_.NowMs();
        auto t = ParseTranscript(Srt(120));
        EXPECT_TRUE(t.ok());
        EXPECT_TRUE(db_->InTransaction([&](Tx& tx) {
                           InsertEpisode(tx, ep);
                           ReplaceTranscript(tx, ep.id, *t);
                       })
                        .ok());
        return ep.id;
    }
    // A clip of `episode` with no files.
    static ClipRow AClip(const std::string& episode) {
        ClipRow clip;
        clip.id = episode + "_c1";
        clip.episode_id = episode;
        clip.file_path = "{}";
        return clip;
    }
    JobRow Job(const std::string& id) {
        auto j = app_->GetJob(kAll, id);
        EXPECT_TRUE(j.ok()) << j.status().ToString();
        return j.ok() ? *j : JobRow{};
    }

    fs::path dir_;
    std::unique_ptr<Database> db_;
    std::unique_ptr<Storage> storage_;
    EventBus events_;
    std::shared_ptr<EventBus::Subscription> events_sub_;
    ManualClock clock_{kStart};
    AppLimits limits_;
    std::unique_ptr<App> app_;
    int wakes_ = 0;
};

TEST_F(AppTest, AnUploadBecomesAnEpisodeWithItsJobQueuedAndAnnounced) {
    auto accepted = app_->AcceptUpload(Upload(WavBytes(15, false, dir_ / "tone.wav"),
                                              {{"title", "Episode 12"}, {"priority", "high"}, {"show", "The Show"}}));
    ASSERT_TRUE(accepted.ok()) << accepted.status().ToString();
    const EpisodeRow& ep = accepted->episode;
    EXPECT_EQ(ep.title, "Episode 12");
    EXPECT_EQ(ep.filename, "My Show _12.wav") << "the client's name, made safe";
    EXPECT_EQ(ep.created_at, kStart) << "the clock the App was given";
    EXPECT_TRUE(fs::is_regular_file(storage_->root() / ep.audio_path)) << "the file is in uploads/";
    EXPECT_EQ(FilesUnder(storage_->tmp_dir()), 0u) << "nothing left in tmp/";
    const JobRow job = Job(accepted->job.id);
    EXPECT_EQ(job.state, JobState::kQueued);
    EXPECT_EQ(job.priority, 2);
    EXPECT_EQ(job.run_after, kStart) << "released once the file is in place";
    EXPECT_NE(job.payload.find("The Show"), std::string::npos) << "the upload's vocabulary hint";
    const auto events = Events();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0]["state"], "queued");
    EXPECT_EQ(wakes_, 1);
}

TEST_F(AppTest, RefusedUploadsSayWhyAndLeaveNothing) {
    struct Case {
        std::string bytes;
        std::map<std::string, std::string> fields;
        StatusCode code;
        std::string slug;
    };
    const std::string tone = WavBytes(15, false, dir_ / "tone.wav");
    const Case cases[] = {
        {"not audio at all, just text", {}, StatusCode::kUnsupported, "unsupported_media"},
        {WavBytes(15, true, dir_ / "silent.wav"), {}, StatusCode::kUnprocessable, "unusable_media"},
        {WavBytes(5, false, dir_ / "short.wav"), {}, StatusCode::kUnprocessable, "unusable_media"},
        {tone, {{"platform", "myspace"}}, StatusCode::kInvalidInput, "invalid_input"},
        {tone, {{"priority", "urgent"}}, StatusCode::kInvalidInput, "invalid_input"},
        {tone, {{"clips", "5abc"}}, StatusCode::kInvalidInput, "invalid_input"},
        {tone, {{"title", "\xff\xfe"}}, StatusCode::kInvalidInput, "invalid_input"},
    };
    for (const Case& c : cases) {
        auto r = app_->AcceptUpload(Upload(c.bytes, c.fields));
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.status().code(), c.code) << r.status().ToString();
        EXPECT_EQ(r.status().slug(), c.slug) << r.status().ToString();
    }
    auto page = app_->ListEpisodes(kAll, 10, 0);
    ASSERT_TRUE(page.ok());
    EXPECT_EQ(page->total, 0) << "no rows";
    EXPECT_EQ(FilesUnder(storage_->root()), 0u) << "no files, in tmp/ or anywhere";
    EXPECT_TRUE(Events().empty());
}

// The capacity rule is one: uploads, imports and renders all stop at MAX_QUEUE_SIZE queued jobs.
// A client that sends an upload again (its connection broke before the answer came) gets the episode it already
// made, not a second run; a different episode (other options, another user, or after the first failed) is new.
TEST_F(AppTest, AResentUploadIsTheUploadItRepeats) {
    limits_.max_queue_size = 100;
    MakeApp();
    const std::string tone = WavBytes(15, false, dir_ / "tone.wav");
    auto first = app_->AcceptUpload(Upload(tone, {{"title", "Episode 12"}, {"clips", "2"}}));
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    EXPECT_FALSE(first->repeated);
    (void)Events();
    auto again = app_->AcceptUpload(Upload(tone, {{"title", "Episode 12"}, {"clips", "2"}, {"priority", "high"}}));
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_TRUE(again->repeated);
    EXPECT_EQ(again->episode.id, first->episode.id);
    EXPECT_EQ(again->job.id, first->job.id);
    EXPECT_TRUE(Events().empty()) << "nothing new was queued";
    EXPECT_EQ(FilesUnder(storage_->tmp_dir()), 0u) << "the copy's bytes are not kept";
    EXPECT_EQ(FilesUnder(storage_->root() / "uploads"), 1u);
    auto other_options = app_->AcceptUpload(Upload(tone, {{"title", "Episode 12"}, {"clips", "3"}}));
    ASSERT_TRUE(other_options.ok());
    EXPECT_FALSE(other_options->repeated);
    auto other_user = Upload(tone, {{"title", "Episode 12"}, {"clips", "2"}});
    other_user.owner_id = "u_bob";
    auto bobs = app_->AcceptUpload(std::move(other_user));
    ASSERT_TRUE(bobs.ok());
    EXPECT_FALSE(bobs->repeated) << "another user's copy is theirs";
    ASSERT_TRUE(db_->InTransaction([&](Tx& tx) {
                       FinishJob(tx, first->job.id, JobState::kFailed, "x", clock_.NowMs());
                       SetEpisodeStatus(tx, first->episode.id, EpisodeStatus::kFailed, "x");
                   })
                    .ok());
    auto retried = app_->AcceptUpload(Upload(tone, {{"title", "Episode 12"}, {"clips", "2"}}));
    ASSERT_TRUE(retried.ok());
    EXPECT_FALSE(retried->repeated) << "after a failure, sending it again is a new try";
    EXPECT_NE(retried->episode.id, first->episode.id);
    clock_.Advance(25LL * 3600 * 1000);
    auto next_day = app_->AcceptUpload(Upload(tone, {{"title", "Episode 12"}, {"clips", "2"}}));
    ASSERT_TRUE(next_day.ok());
    EXPECT_FALSE(next_day->repeated) << "a day later it is a new episode";
    // Copies sent at once (to two instances, say) make one episode.
    std::vector<UploadRequest> copies;
    for (int i = 0; i < 4; ++i) copies.push_back(Upload(tone, {{"title", "Episode 13"}}));
    std::vector<std::string> ids(copies.size());
    std::atomic<int> repeated{0};
    std::vector<std::thread> threads;
    for (size_t i = 0; i < copies.size(); ++i) {
        threads.emplace_back([&, i] {
            auto r = app_->AcceptUpload(std::move(copies[i]));
            ASSERT_TRUE(r.ok()) << r.status().ToString();
            ids[i] = r->episode.id;
            repeated += r->repeated ? 1 : 0;
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(repeated.load(), 3);
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 1u);
    EXPECT_EQ(app_->ListEpisodes(kAll, 10, 0)->total, 6);
}

TEST_F(AppTest, AFullQueueRefusesEveryKindOfNewWork) {
    const std::string ready = ReadyEpisode();
    const std::string tone = WavBytes(15, false, dir_ / "tone.wav");
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(app_->AcceptUpload(Upload(tone, {{"title", "Part " + std::to_string(i)}})).ok());
    }
    const Status room = app_->RoomInQueue("");
    EXPECT_EQ(room.code(), StatusCode::kResourceExhausted);
    EXPECT_EQ(room.slug(), "queue_full");
    EXPECT_EQ(room.retry_after_s(), 30);
    auto upload = app_->AcceptUpload(Upload(tone, {{"title", "Part 3"}}));
    EXPECT_EQ(upload.status().slug(), "queue_full");
    auto import = app_->ImportTranscript(kAll, ready, Srt(60));
    EXPECT_EQ(import.status().slug(), "queue_full");
    auto render = app_->RequestSpanRender(kAll, ready, SpanAsk{10, 40, std::nullopt, nlohmann::json::object()});
    EXPECT_EQ(render.status().slug(), "queue_full");
    auto page = app_->ListEpisodes(kAll, 10, 0);
    EXPECT_EQ(page->total, 4) << "the refused upload left no row (3 uploads and the ready episode)";
    EXPECT_EQ(FilesUnder(storage_->tmp_dir()), 0u);
}

TEST_F(AppTest, ImportingATranscriptQueuesScoringOnceTheEpisodeIsIdle) {
    auto accepted = app_->AcceptUpload(Upload(WavBytes(15, false, dir_ / "tone.wav")));
    ASSERT_TRUE(accepted.ok());
    const std::string id = accepted->episode.id;
    auto busy = app_->ImportTranscript(kAll, id, Srt(60));
    EXPECT_EQ(busy.status().slug(), "busy") << "its job is still queued";
    ASSERT_TRUE(
        db_->InTransaction([&](Tx& tx) { FinishJob(tx, accepted->job.id, JobState::kFailed, "x", clock_.NowMs()); })
            .ok());
    EXPECT_EQ(app_->ImportTranscript(kAll, id, "not a transcript \x01").status().slug(), "invalid_transcript");
    EXPECT_EQ(app_->ImportTranscript(kAll, "ep_nope", Srt(60)).status().code(), StatusCode::kNotFound);
    EXPECT_EQ(app_->ImportTranscript(kAll, id, std::string(51 * 1024 * 1024, 'a')).status().code(),
              StatusCode::kTooLarge);
    auto imported = app_->ImportTranscript(kAll, id, Srt(60));
    ASSERT_TRUE(imported.ok()) << imported.status().ToString();
    EXPECT_GT(imported->words, 100u);
    const JobRow job = Job(imported->job.id);
    EXPECT_EQ(job.checkpoint, Checkpoint::kTranscribed) << "recognition is skipped";
    EXPECT_EQ(job.priority, 2);
    auto t = app_->GetTranscript(kAll, id);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->transcript.WordCount(), imported->words);
    auto b = app_->GetEpisode(kAll, id, false);
    EXPECT_EQ(b->episode.status, EpisodeStatus::kQueued);
}

TEST_F(AppTest, ASpanRenderIsScoredQueuedOnceAndBounded) {
    const std::string id = ReadyEpisode();
    const SpanAsk ask{10, 40, std::nullopt, nlohmann::json::object()};
    auto first = app_->RequestSpanRender(kAll, id, ask);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    EXPECT_FALSE(first->already_pending);
    EXPECT_EQ(first->job.kind, JobKind::kRender);
    EXPECT_NEAR(static_cast<double>(first->preview.candidate.start_ms), 10000, 500) << "at the word nearest 10 s";
    EXPECT_FALSE(first->preview.explanation.empty()) << "explained before it is rendered";
    auto again = app_->RequestSpanRender(kAll, id, ask);
    ASSERT_TRUE(again.ok());
    EXPECT_TRUE(again->already_pending) << "a double click is the same render";
    EXPECT_EQ(again->clip_id, first->clip_id);
    EXPECT_EQ(again->job.id, first->job.id);
    EXPECT_EQ(Events().size(), 1u) << "announced once";
    limits_.max_queue_size = 100;
    MakeApp();
    for (double start : {50.0, 60.0, 70.0}) {
        ASSERT_TRUE(app_->RequestSpanRender(kAll, id, SpanAsk{start, start + 30, std::nullopt, {}}).ok());
    }
    auto fifth = app_->RequestSpanRender(kAll, id, SpanAsk{80, 110, std::nullopt, {}});
    EXPECT_EQ(fifth.status().code(), StatusCode::kRateLimited);
    EXPECT_EQ(fifth.status().slug(), "too_many_renders");
    EXPECT_EQ(app_->RequestSpanRender(kAll, id, SpanAsk{-1, 30, std::nullopt, {}}).status().code(),
              StatusCode::kInvalidInput);
    EXPECT_EQ(app_->RequestSpanRender(kAll, id, SpanAsk{10, 40, std::string("myspace"), {}}).status().code(),
              StatusCode::kInvalidInput);

    // Scoring alone (the editor's score while trimming) gives the render's score and queues nothing, even at the limit.
    auto scored = app_->ScoreSpan(kAll, id, ask);
    ASSERT_TRUE(scored.ok()) << scored.status().ToString();
    EXPECT_EQ(scored->display_score, first->preview.display_score);
    auto shorter = app_->ScoreSpan(kAll, id, SpanAsk{10, 25, std::nullopt, {}});
    ASSERT_TRUE(shorter.ok()) << shorter.status().ToString();
    EXPECT_NE(shorter->candidate.end_ms, scored->candidate.end_ms);
    EXPECT_EQ(app_->QueueStats()->by_state["queued"], 4);
    EXPECT_EQ(app_->ScoreSpan(Caller{"u_bob", false, "user:bob"}, id, ask).status().code(), StatusCode::kNotFound);
}

// The storage's quota stands in for a full disk: no render is queued that could not be written.
// A word fix is kept as a revision (the words as made can be read back), renders again only the rendered clips that
// hold the word, and is refused whole when it is stale, out of the transcript or without room in the queue.
TEST_F(AppTest, AWordFixIsARevisionThatRendersTheClipsHoldingTheWordAgain) {
    const std::string id = ReadyEpisode("u_alice");
    const Caller alice{"u_alice", false, "user:alice"};
    const auto clip = [&](const std::string& name, double start, double end, const std::string& files) {
        ClipRow c = AClip(id);
        c.id = id + name;
        c.start_time = start;
        c.end_time = end;
        c.platform = "tiktok";
        c.file_path = files;
        return c;
    };
    const std::string video = R"({"video": "episodes/)" + id + R"(/out/clip_01.mp4"})";
    ASSERT_TRUE(db_->InTransaction([&](Tx& tx) {
                       InsertClip(tx, clip("_early", 0, 30, video));   // holds the word: rendered again
                       InsertClip(tx, clip("_late", 60, 90, video));   // does not
                       InsertClip(tx, clip("_expired", 0, 30, "{}"));  // has no files to make again
                   })
                    .ok());
    const Transcript before = app_->GetTranscript(alice, id)->transcript;
    ASSERT_EQ(before.segments[1].words[1].text, "reason");
    // The early clip was rendered from a chosen span, square with clean captions: it is made again so.
    SpanRequest square;
    square.clip_id = id + "_early";
    square.end_ms = 30000;
    square.platform = "tiktok";
    square.media = *MediaOptionsFromJson({{"aspect", "1:1"}, {"style", "clean"}}, "tiktok");
    JobRow render;
    render.id = NewId("job");
    render.episode_id = id;
    render.kind = JobKind::kRender;
    render.state = JobState::kSucceeded;
    render.payload = DumpJson(SpanRequestToJson(square));
    ASSERT_TRUE(db_->InTransaction([&](Tx& tx) { InsertJob(tx, render); }).ok());

    auto fixed = app_->FixWords(alice, id, 0, {{1, 1, 1, "treason"}, {1, 3, 2, "works-is"}});
    ASSERT_TRUE(fixed.ok()) << fixed.status().ToString();
    EXPECT_EQ(fixed->revision, 1);
    EXPECT_EQ(fixed->transcript.segments[1].text.substr(0, 25), "The treason this works-is");
    ASSERT_EQ(fixed->clips, std::vector<std::string>{id + "_early"});
    ASSERT_EQ(fixed->jobs.size(), 1u);
    const nlohmann::json payload = nlohmann::json::parse(Job(fixed->jobs[0].id).payload);
    EXPECT_EQ(payload["clip_id"], id + "_early");
    EXPECT_EQ(payload["replace"], true);
    EXPECT_EQ(payload["stem"], "clip_01") << "its files keep their names";
    EXPECT_EQ(payload["start_ms"], 0);
    EXPECT_EQ(payload["end_ms"], 30000);
    EXPECT_EQ(payload["options"]["aspect"], "1:1") << "in the frame it was made in";
    EXPECT_EQ(payload["options"]["style"], "clean");
    EXPECT_EQ(Job(fixed->jobs[0].id).priority, 2) << "a person is waiting for it";

    // Read back: now, and as made.
    auto now = app_->GetTranscript(alice, id);
    EXPECT_EQ(now->revision, 1);
    EXPECT_EQ(now->transcript.segments[1].words[1].text, "treason");
    auto made = app_->GetTranscript(alice, id, 0);
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    EXPECT_EQ(made->transcript.segments[1].text, before.segments[1].text);
    EXPECT_EQ(made->transcript.WordCount(), before.WordCount());
    EXPECT_EQ(app_->GetTranscript(alice, id, 2).status().code(), StatusCode::kInvalidInput);
    auto revisions = app_->TranscriptRevisions(alice, id);
    ASSERT_EQ(revisions->size(), 1u);
    EXPECT_EQ(revisions->at(0).actor, "user:alice");
    EXPECT_NE(revisions->at(0).edits.find("\"reason\""), std::string::npos) << "the replaced words are kept";

    // Stale, outside the transcript, another user's: refused, nothing stored.
    EXPECT_EQ(app_->FixWords(alice, id, 0, {{1, 1, 1, "x"}}).status().slug(), "stale_revision");
    EXPECT_EQ(app_->FixWords(alice, id, 1, {{1, 0, 1, "ok"}, {999, 0, 1, "x"}}).status().code(),
              StatusCode::kInvalidInput);
    EXPECT_EQ(app_->FixWords(Caller{"u_bob", false, "user:bob"}, id, 1, {{1, 1, 1, "x"}}).status().code(),
              StatusCode::kNotFound);
    EXPECT_EQ(app_->GetTranscript(alice, id)->revision, 1);
    EXPECT_EQ(app_->GetTranscript(alice, id)->transcript.segments[1].words[0].text, "The");

    // The clip's render is still pending: a second fix is read by it, and queues nothing more.
    auto again = app_->FixWords(alice, id, 1, {{2, 0, 1, "A"}});
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_EQ(again->clips.size(), 1u);
    EXPECT_TRUE(again->jobs.empty());

    // A full queue refuses the fix whole.
    ASSERT_TRUE(
        db_->InTransaction([&](Tx& tx) { FinishJob(tx, fixed->jobs[0].id, JobState::kSucceeded, "", kStart); }).ok());
    const std::string tone = WavBytes(15, false, dir_ / "tone.wav");
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(app_->AcceptUpload(Upload(tone, {{"title", "Part " + std::to_string(i)}})).ok());
    }
    EXPECT_EQ(app_->FixWords(alice, id, 2, {{2, 1, 1, "x"}}).status().slug(), "queue_full");
    EXPECT_EQ(app_->GetTranscript(alice, id)->revision, 2) << "nothing of a refused fix is kept";
}

// A transcript imported again starts its revisions anew: an editor who read revision 0 of the old words would have
// sent revision 0 and an index into the new ones. With the words it saw (`was`) the fix is refused, not applied to
// another word.
TEST_F(AppTest, AWordFixReadBeforeAnImportIsRefusedNotAppliedToOtherWords) {
    const std::string id = ReadyEpisode("u_alice");
    const Caller alice{"u_alice", false, "user:alice"};
    const Transcript read = app_->GetTranscript(alice, id)->transcript;  // the editor's page
    ASSERT_EQ(read.segments[1].words[1].text, "reason");
    Transcript imported = read;
    imported.segments[1].words[1].text = "season";
    for (auto& seg : imported.segments) seg.text = "";  // (the segment's text is not what is compared)
    ASSERT_TRUE(db_->InTransaction([&](Tx& tx) { ReplaceTranscript(tx, id, imported); }).ok());
    ASSERT_EQ(app_->GetTranscript(alice, id)->revision, 0) << "an import starts the revisions anew";

    WordEdit fix{1, 1, 1, "treason"};
    fix.was = "reason";
    const auto refused = app_->FixWords(alice, id, 0, {fix});
    EXPECT_EQ(refused.status().slug(), "stale_revision") << refused.status().ToString();
    EXPECT_NE(refused.status().message().find("'season', not 'reason'"), std::string::npos)
        << refused.status().message();
    EXPECT_EQ(app_->GetTranscript(alice, id)->transcript.segments[1].words[1].text, "season") << "nothing applied";
    EXPECT_TRUE(app_->TranscriptRevisions(alice, id)->empty());

    fix.was = "season";  // read again: the same fix now applies
    auto fixed = app_->FixWords(alice, id, 0, {fix});
    ASSERT_TRUE(fixed.ok()) << fixed.status().ToString();
    EXPECT_EQ(fixed->transcript.segments[1].words[1].text, "treason");
}

// One span in several frames at once: a render each, all queued or none.
TEST_F(AppTest, OneSpanRendersInSeveralFramesAllOrNone) {
    limits_.max_queue_size = 100;
    MakeApp();
    const std::string id = ReadyEpisode();
    const auto in = [](const char* aspect) {
        return SpanAsk{10, 40, std::nullopt, nlohmann::json{{"aspect", aspect}}};
    };
    auto three = app_->RequestSpanRenders(kAll, id, {in("9:16"), in("1:1"), in("16:9")});
    ASSERT_TRUE(three.ok()) << three.status().ToString();
    ASSERT_EQ(three->size(), 3u);
    std::set<std::string> clips, aspects;
    for (const auto& r : *three) {
        clips.insert(r.clip_id);
        aspects.insert(nlohmann::json::parse(Job(r.job.id).payload)["options"]["aspect"].get<std::string>());
    }
    EXPECT_EQ(clips.size(), 3u) << "a clip each";
    EXPECT_EQ(aspects, (std::set<std::string>{"9:16", "1:1", "16:9"}));
    auto two_more = app_->RequestSpanRenders(kAll, id, {in("4:5"), SpanAsk{50, 80, std::nullopt, {}}});
    EXPECT_EQ(two_more.status().slug(), "too_many_renders");
    EXPECT_EQ(app_->QueueStats()->by_state["queued"], 3) << "nothing of a refused ask is queued";
    EXPECT_EQ(app_->RequestSpanRenders(kAll, id, {in("1:1"), in("nope")}).status().code(), StatusCode::kInvalidInput);
    EXPECT_EQ(app_->QueueStats()->by_state["queued"], 3);
}

TEST_F(AppTest, ASpanRenderNeedsRoomToWrite) {
    const std::string id = ReadyEpisode();
    auto tiny = Storage::Open(dir_ / "data", 1);
    ASSERT_TRUE(tiny.ok());
    storage_ = std::make_unique<Storage>(std::move(*tiny));
    fs::create_directories(storage_->EpisodeDir(id));
    std::ofstream(storage_->EpisodeDir(id) / "big") << std::string(4096, 'x');
    MakeApp();
    const Status full = app_->RequestSpanRender(kAll, id, SpanAsk{10, 40, std::nullopt, {}}).status();
    EXPECT_EQ(full.code(), StatusCode::kNoSpace) << full.ToString();
    auto q = app_->QueueStats();
    ASSERT_TRUE(q.ok());
    EXPECT_EQ(q->by_state["queued"], 0) << "nothing queued";
}

TEST_F(AppTest, ASpanOfAnEpisodeNotReadyIsRefused) {
    auto accepted = app_->AcceptUpload(Upload(WavBytes(15, false, dir_ / "tone.wav")));
    ASSERT_TRUE(accepted.ok());
    auto r = app_->RequestSpanRender(kAll, accepted->episode.id, SpanAsk{0, 13, std::nullopt, {}});
    EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(r.status().slug(), "not_ready");
}

TEST_F(AppTest, DeletingAskesARunningJobToStopFirst) {
    auto accepted = app_->AcceptUpload(Upload(WavBytes(15, false, dir_ / "tone.wav")));
    ASSERT_TRUE(accepted.ok());
    const std::string id = accepted->episode.id;
    ASSERT_TRUE(db_->InTransaction([&](Tx& tx) { ClaimNextJob(tx, "host:1:w", clock_.NowMs(), kStart + 60000); }).ok());
    const Status busy = app_->DeleteEpisode(kAll, id);
    EXPECT_EQ(busy.slug(), "busy");
    bool cancel = false;
    ASSERT_TRUE(db_->With([&](Tx& tx) { cancel = CancelRequested(tx, accepted->job.id); }).ok());
    EXPECT_TRUE(cancel) << "the running job was asked to stop";
    EXPECT_TRUE(fs::exists(storage_->root() / accepted->episode.audio_path));
    ASSERT_TRUE(
        db_->InTransaction([&](Tx& tx) { FinishJob(tx, accepted->job.id, JobState::kCancelled, "", clock_.NowMs()); })
            .ok());
    EXPECT_TRUE(app_->DeleteEpisode(kAll, id).ok());
    std::vector<AuditRow> audit;
    ASSERT_TRUE(db_->With([&](Tx& tx) { audit = ListAudit(tx, 5); }).ok());
    ASSERT_EQ(audit.size(), 1u);
    EXPECT_EQ(audit[0].action + " " + audit[0].target + " by " + audit[0].actor, "episode.delete " + id + " by cli");
    EXPECT_EQ(app_->GetEpisode(kAll, id, false).status().code(), StatusCode::kNotFound);
    EXPECT_FALSE(fs::exists(storage_->EpisodeDir(id)));
    EXPECT_FALSE(fs::exists(storage_->root() / accepted->episode.audio_path));
    EXPECT_EQ(app_->DeleteEpisode(kAll, id).code(), StatusCode::kNotFound);
}

TEST_F(AppTest, CancellingEndsAQueuedJobAndRefusesAnEndedOne) {
    auto accepted = app_->AcceptUpload(Upload(WavBytes(15, false, dir_ / "tone.wav")));
    ASSERT_TRUE(accepted.ok());
    Events();
    auto cancelled = app_->CancelJob(kAll, accepted->job.id);
    ASSERT_TRUE(cancelled.ok()) << cancelled.status().ToString();
    EXPECT_TRUE(cancelled->ended);
    EXPECT_EQ(cancelled->job.state, JobState::kCancelled);
    EXPECT_EQ(app_->GetEpisode(kAll, accepted->episode.id, false)->episode.status, EpisodeStatus::kCancelled);
    const auto events = Events();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0]["state"], "cancelled");
    const Status again = app_->CancelJob(kAll, accepted->job.id).status();
    EXPECT_EQ(again.code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(again.slug(), "finished");
    EXPECT_EQ(app_->CancelJob(kAll, "job_nope").status().code(), StatusCode::kNotFound);
}

// The soundbites offered for the feed: every clip in episode order, or only the starred ones once the editor starred
// any; another user's episode is not found.
TEST_F(AppTest, SoundbitesAreTheStarredClipsOrElseAllInEpisodeOrder) {
    const std::string episode = ReadyEpisode("u_alice");
    ASSERT_TRUE(db_->InTransaction([&](Tx& tx) {
                       for (const auto& [n, start] : {std::pair{1, 70.0}, std::pair{2, 10.0}, std::pair{3, 40.0}}) {
                           ClipRow c = AClip(episode);
                           c.id = episode + "_c" + std::to_string(n);
                           c.clip_rank = n;
                           c.start_time = start;
                           c.end_time = start + 25;
                           InsertClip(tx, c);
                       }
                   })
                    .ok());
    const Caller alice{"u_alice", false, "user:alice"}, bob{"u_bob", false, "user:bob"};
    auto ids = [&](const Caller& who) {
        std::vector<std::string> out;
        auto clips = app_->Soundbites(who, episode);
        if (!clips.ok()) return std::vector<std::string>{clips.status().ToString()};
        for (const auto& c : *clips) out.push_back(c.id.substr(episode.size()));
        return out;
    };
    EXPECT_EQ(ids(alice), (std::vector<std::string>{"_c2", "_c3", "_c1"})) << "all, in the order they come";
    ASSERT_TRUE(app_->StarClip(alice, episode + "_c1", true).ok());
    ASSERT_TRUE(app_->StarClip(alice, episode + "_c2", true).ok());
    EXPECT_EQ(ids(alice), (std::vector<std::string>{"_c2", "_c1"})) << "the editor's choice";
    EXPECT_EQ(app_->Soundbites(bob, episode).status().code(), StatusCode::kNotFound);
}

// Renaming: the title is kept trimmed and cut to 200 characters; blank or non-UTF-8 titles are refused; another
// user's episode is not found and keeps its name.
TEST_F(AppTest, AnEpisodeIsRenamedByItsOwnerOnly) {
    const std::string episode = ReadyEpisode("u_alice");
    const Caller alice{"u_alice", false, "user:alice"}, bob{"u_bob", false, "user:bob"};
    auto renamed = app_->RenameEpisode(alice, episode, "  Episode 12: the founders  ");
    ASSERT_TRUE(renamed.ok()) << renamed.status().ToString();
    EXPECT_EQ(renamed->title, "Episode 12: the founders");
    EXPECT_EQ(app_->GetEpisode(alice, episode, false)->episode.title, "Episode 12: the founders");
    EXPECT_EQ(app_->RenameEpisode(alice, episode, std::string(300, 'e'))->title, std::string(200, 'e'));
    EXPECT_EQ(app_->RenameEpisode(alice, episode, "   ").status().code(), StatusCode::kInvalidInput);
    EXPECT_EQ(app_->RenameEpisode(alice, episode, "caf\xE9").status().code(), StatusCode::kInvalidInput);
    EXPECT_EQ(app_->RenameEpisode(bob, episode, "mine now").status().code(), StatusCode::kNotFound);
    EXPECT_EQ(app_->GetEpisode(alice, episode, false)->episode.title, std::string(200, 'e'));
}

TEST_F(AppTest, FeedbackIsCheckedAndCounted) {
    const std::string episode = ReadyEpisode();
    const ClipRow clip = AClip(episode);
    ASSERT_TRUE(db_->InTransaction([&](Tx& tx) { InsertClip(tx, clip); }).ok());
    struct Case {
        FeedbackAsk ask;
        bool ok;
    };
    const Case cases[] = {
        {{"like", std::nullopt, ""}, true},
        {{"rating", 4, ""}, true},
        {{"comment", std::nullopt, std::string(5000, 'x')}, true},
        {{"like", 0, ""}, true},  // a stray rating on a like is ignored
        {{"love", std::nullopt, ""}, false},
        {{"rating", 6, ""}, false},
        {{"rating", std::nullopt, ""}, false},
        {{"comment", std::nullopt, ""}, false},
    };
    for (const Case& c : cases) {
        auto r = app_->RecordFeedback(kAll, clip.id, c.ask);
        EXPECT_EQ(r.ok(), c.ok) << c.ask.kind << ": " << r.status().ToString();
        if (!c.ok) {
            EXPECT_EQ(r.status().code(), StatusCode::kInvalidInput);
        }
        if (r.ok() && c.ask.kind == "comment") {
            EXPECT_EQ(r->row.comment.size(), 4000u);
        }
    }
    auto last = app_->RecordFeedback(kAll, clip.id, {"like", std::nullopt, ""});
    ASSERT_TRUE(last.ok());
    EXPECT_EQ(last->totals["like"], 3);
    EXPECT_EQ(last->totals["rating"], 1);
    EXPECT_EQ(last->row.episode_id, episode);
    EXPECT_EQ(app_->RecordFeedback(kAll, "nope", {"like", std::nullopt, ""}).status().code(), StatusCode::kNotFound);
}

// The archive of an episode's clips: each clip's files named by rank and a title made safe for any file system (two
// clips of one rank and title both kept), expired clips left out; another user's episode is not found.
TEST_F(AppTest, TheClipsArchiveNamesEveryFileSafelyAndOnce) {
    const std::string episode = ReadyEpisode("u_alice");
    auto write = [&](const std::string& rel) {
        const fs::path p = *storage_->Resolve(rel);
        fs::create_directories(p.parent_path());
        std::ofstream(p) << rel;
    };
    ASSERT_TRUE(db_->InTransaction([&](Tx& tx) {
                       for (int n = 1; n <= 3; ++n) {
                           ClipRow c = AClip(episode);
                           c.id = episode + "_c" + std::to_string(n);
                           c.clip_rank = 1;
                           c.title = "Why/we: quit?\n";
                           const std::string out = "episodes/" + episode + "/out/c" + std::to_string(n);
                           c.file_path = DumpJson({{"video", out + ".mp4"}, {"srt", out + ".srt"}});
                           write(out + ".mp4");
                           write(out + ".srt");
                           InsertClip(tx, c);
                       }
                       ExpireClip(tx, episode + "_c3", clock_.NowMs());
                   })
                    .ok());
    auto archive = app_->ArchiveClips(Caller{"u_alice", false, "user:alice"}, episode);
    ASSERT_TRUE(archive.ok()) << archive.status().ToString();
    std::string zip;
    ASSERT_TRUE(archive->zip->Read(0, archive->zip->size(), &zip).ok());
    for (const char* name : {"01 Why we  quit.mp4", "01 Why we  quit.srt", "01 Why we  quit (2).mp4"}) {
        EXPECT_NE(zip.find(name), std::string::npos) << name;
    }
    EXPECT_EQ(zip.find("/c3."), std::string::npos) << "the expired clip's files are left out";
    EXPECT_EQ(zip.find("(3)"), std::string::npos);
    EXPECT_EQ(archive->download_name, "Ready clips.zip");
    EXPECT_EQ(app_->ArchiveClips(Caller{"u_bob", false, "user:bob"}, episode).status().code(), StatusCode::kNotFound);
}

TEST_F(AppTest, AnExpiredClipsFilesAreGoneAndSaySo) {
    const std::string episode = ReadyEpisode();
    const ClipRow clip = AClip(episode);
    ASSERT_TRUE(db_->InTransaction([&](Tx& tx) {
                       InsertClip(tx, clip);
                       ExpireClip(tx, clip.id, clock_.NowMs());
                   })
                    .ok());
    const Status gone = app_->ClipFile(kAll, clip.id, "video").status();
    EXPECT_EQ(gone.code(), StatusCode::kGone);
    EXPECT_EQ(gone.slug(), "expired");
    EXPECT_NE(gone.message().find("render its span again"), std::string::npos);
    auto starred = app_->StarClip(kAll, clip.id, true);
    ASSERT_TRUE(starred.ok());
    EXPECT_EQ(starred->starred, 1);
    EXPECT_EQ(app_->StarClip(kAll, "nope", true).status().code(), StatusCode::kNotFound);
}

TEST_F(AppTest, RescoringKeepsTheStoredClipsOrScoresAgain) {
    const std::string id = ReadyEpisode();
    auto same = app_->Rescore(kAll, id, {});
    ASSERT_TRUE(same.ok());
    EXPECT_FALSE(same->rescored);
    auto linkedin = app_->Rescore(kAll, id, {std::string("linkedin"), std::nullopt, 3});
    ASSERT_TRUE(linkedin.ok()) << linkedin.status().ToString();
    EXPECT_TRUE(linkedin->rescored);
    EXPECT_EQ(linkedin->platform, "linkedin");
    ASSERT_FALSE(linkedin->clips.empty());
    for (const ClipRow& c : linkedin->clips) {
        EXPECT_EQ(c.platform, "linkedin");
        EXPECT_GE(c.duration, 20.0) << "LinkedIn's range";
        EXPECT_TRUE(c.id.empty()) << "nothing was rendered, so no clip is a stored one";
    }
    EXPECT_EQ(app_->Rescore(kAll, id, {std::string("myspace"), std::nullopt, std::nullopt}).status().code(),
              StatusCode::kInvalidInput);
}

// Each user sees and changes only their own episodes and what hangs off them; another's answers exactly as a missing
// one does, and an administrator sees everything.
TEST_F(AppTest, AnotherUsersEpisodeClipsAndJobsAreNotFound) {
    const Caller alice{"u_alice", false, "user:alice"}, bob{"u_bob", false, "user:bob"};
    const std::string mine = ReadyEpisode("u_alice");
    const ClipRow clip = AClip(mine);
    ASSERT_TRUE(db_->InTransaction([&](Tx& tx) { InsertClip(tx, clip); }).ok());
    auto imported = app_->ImportTranscript(alice, mine, Srt(60));
    ASSERT_TRUE(imported.ok()) << imported.status().ToString();
    const std::string job = imported->job.id;

    auto not_found = [](const Status& st) { return st.code() == StatusCode::kNotFound; };
    EXPECT_TRUE(not_found(app_->GetEpisode(bob, mine, true).status()));
    EXPECT_TRUE(not_found(app_->GetTranscript(bob, mine).status()));
    EXPECT_TRUE(not_found(app_->Rescore(bob, mine, {}).status()));
    EXPECT_TRUE(not_found(app_->ImportTranscript(bob, mine, Srt(60)).status()));
    EXPECT_TRUE(not_found(app_->RequestSpanRender(bob, mine, SpanAsk{10, 40, std::nullopt, {}}).status()));
    EXPECT_TRUE(not_found(app_->GetClip(bob, clip.id).status()));
    EXPECT_TRUE(not_found(app_->ClipFile(bob, clip.id, "video").status()));
    EXPECT_TRUE(not_found(app_->StarClip(bob, clip.id, true).status()));
    EXPECT_TRUE(not_found(app_->RecordFeedback(bob, clip.id, {"like", std::nullopt, ""}).status()));
    EXPECT_TRUE(not_found(app_->GetJob(bob, job).status()));
    EXPECT_TRUE(not_found(app_->CancelJob(bob, job).status()));
    EXPECT_TRUE(not_found(app_->DeleteEpisode(bob, mine)));
    EXPECT_FALSE(*app_->EpisodeVisible(bob, mine));
    // Nothing Bob tried changed anything.
    EXPECT_EQ(app_->GetClip(alice, clip.id)->first.starred, 0);
    EXPECT_TRUE(app_->GetClip(alice, clip.id)->second.empty());
    EXPECT_EQ(Job(job).state, JobState::kQueued);

    auto bobs = app_->ListEpisodes(bob, 10, 0);
    ASSERT_TRUE(bobs.ok());
    EXPECT_TRUE(bobs->episodes.empty());
    EXPECT_EQ(bobs->total, 0);
    auto alices = app_->ListEpisodes(alice, 10, 0);
    ASSERT_EQ(alices->episodes.size(), 1u);
    EXPECT_EQ(alices->episodes[0].id, mine);
    EXPECT_TRUE(*app_->EpisodeVisible(alice, mine));
    EXPECT_TRUE(app_->StarClip(alice, clip.id, true).ok());
    EXPECT_EQ(app_->ListEpisodes(kAll, 10, 0)->total, 1);
    // Nobody's caller (no user) sees nothing, not even an episode stored before accounts.
    const std::string unowned = ReadyEpisode("");
    EXPECT_TRUE(app_->ListEpisodes(Caller{}, 10, 0)->episodes.empty());
    EXPECT_TRUE(not_found(app_->GetEpisode(Caller{}, unowned, false).status()));
    EXPECT_TRUE(app_->GetEpisode(kAll, unowned, false).ok());
}

// Each user's share: their jobs queued or running, their uploads' bytes and their hours of audio a day. Parallel
// uploads from one user cannot pass it together, another user is unaffected, and each refusal names its limit.
TEST_F(AppTest, EachUsersShareHoldsUnderParallelUploads) {
    limits_.max_queue_size = 100;
    limits_.user_max_jobs = 2;
    MakeApp();
    const std::string tone = WavBytes(15, false, dir_ / "tone.wav");
    std::vector<UploadRequest> asks;
    for (int i = 0; i < 6; ++i) {
        asks.push_back(Upload(tone, {{"title", "Part " + std::to_string(i)}}));  // six episodes, not one sent six times
        asks.back().owner_id = "u_alice";
    }
    std::atomic<int> accepted{0}, refused{0};
    std::vector<std::thread> threads;
    for (auto& ask : asks) {
        threads.emplace_back([&, a = &ask] {
            auto r = app_->AcceptUpload(std::move(*a));
            if (r.ok()) ++accepted;
            if (!r.ok() && r.status().slug() == "user_jobs") ++refused;
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(accepted.load(), 2);
    EXPECT_EQ(refused.load(), 4);
    const Status full = app_->RoomInQueue("u_alice");
    EXPECT_EQ(full.code(), StatusCode::kRateLimited);
    EXPECT_NE(full.message().find("USER_MAX_JOBS"), std::string::npos) << full.message();
    EXPECT_GT(full.retry_after_s(), 0);
    auto bobs = Upload(tone);
    bobs.owner_id = "u_bob";
    EXPECT_TRUE(app_->AcceptUpload(std::move(bobs)).ok()) << "another user's share is their own";
    EXPECT_EQ(FilesUnder(storage_->tmp_dir()), 0u) << "refused uploads leave nothing";

    // Storage and hours: the 15 s tone is about 480 kB.
    limits_.user_max_jobs = 0;
    limits_.user_storage_bytes = 1'000'000;
    MakeApp();
    auto third = Upload(tone);
    third.owner_id = "u_alice";
    const Status storage = app_->AcceptUpload(std::move(third)).status();
    EXPECT_EQ(storage.slug(), "user_storage") << storage.ToString();
    EXPECT_NE(storage.message().find("USER_STORAGE_GB"), std::string::npos);
    limits_.user_storage_bytes = 0;
    limits_.user_audio_hours_per_day = 40.0 / 3600;  // 40 s a day: two 15 s uploads fit, a third does not
    MakeApp();
    auto fourth = Upload(tone);
    fourth.owner_id = "u_alice";
    const Status hours = app_->AcceptUpload(std::move(fourth)).status();
    EXPECT_EQ(hours.slug(), "user_audio_hours") << hours.ToString();
    EXPECT_GT(hours.retry_after_s(), 23 * 3600) << "the oldest counted upload was just now";
    clock_.Advance(DbInt{24} * 3600 * 1000 + 1000);
    auto later = Upload(tone);
    later.owner_id = "u_alice";
    EXPECT_TRUE(app_->AcceptUpload(std::move(later)).ok()) << "a day later the hours are free again";
}

// Shows are their owner's alone; a feed that cannot be read stores nothing when added and is recorded on the show
// when it later fails; an item is queued once, as an episode waiting for its download.
TEST_F(AppTest, AShowIsItsOwnersAndAFeedsFailuresAreNamedAndRecorded) {
    testing::FeedServer feed;
    std::atomic<int> answer{200};
    feed.On("/feed.xml", [&](const httplib::Request&, httplib::Response& res) {
        if (answer.load() == 200) {
            res.set_content(testing::PodcastFeed("Show", {{"a", "Episode A", "", "", feed.url() + "/a.mp3"}}),
                            "application/rss+xml");
        } else if (answer.load() == 500) {
            res.status = 500;
        } else {
            res.set_content("<html>not a feed</html>", "text/html");
        }
    });
    const Caller alice{"u_alice", false, "user:alice"}, bob{"u_bob", false, "user:bob"};
    // Loopback is refused until the operator allows it, and nothing is stored.
    auto refused = app_->AddShow(alice, feed.url() + "/feed.xml", true, {});
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().slug(), "address_refused");
    EXPECT_EQ(app_->AddShow(alice, "file:///etc/passwd", true, {}).status().slug(), "invalid_url");
    EXPECT_EQ(app_->AddShow(alice, "https://example.com/feed", true, {{"platform", "myspace"}}).status().code(),
              StatusCode::kInvalidInput);
    limits_.feed_fetch.allow_private = true;
    MakeApp();
    answer = 0;
    EXPECT_EQ(app_->AddShow(alice, feed.url() + "/feed.xml", true, {}).status().slug(), "invalid_feed");
    EXPECT_TRUE(app_->ListShows(alice)->empty()) << "a feed that could not be read is not stored";

    answer = 200;
    auto added = app_->AddShow(alice, feed.url() + "/feed.xml", true, {{"clips", "2"}});
    ASSERT_TRUE(added.ok()) << added.status().ToString();
    const std::string show_id = added->bundle.show.id;
    EXPECT_FALSE(added->existed);
    EXPECT_TRUE(app_->AddShow(alice, feed.url() + "/feed.xml", true, {})->existed);
    EXPECT_TRUE(app_->ListShows(bob)->empty());
    EXPECT_EQ(app_->GetShow(bob, show_id, 10).status().code(), StatusCode::kNotFound);
    EXPECT_EQ(app_->ProcessFeedItem(bob, show_id, "a").status().code(), StatusCode::kNotFound);
    EXPECT_EQ(app_->DeleteShow(bob, show_id).code(), StatusCode::kNotFound);

    auto queued = app_->ProcessFeedItem(alice, show_id, "a");
    ASSERT_TRUE(queued.ok()) << queued.status().ToString();
    EXPECT_EQ(queued->episode.owner_id, "u_alice");
    EXPECT_EQ(queued->episode.title, "Episode A");
    EXPECT_EQ(queued->episode.filename, "a.mp3");
    EXPECT_EQ(queued->episode.clip_count, 2) << "the show's settings";
    EXPECT_TRUE(queued->episode.audio_path.empty()) << "the job downloads it";
    EXPECT_EQ(app_->ProcessFeedItem(alice, show_id, "a").status().slug(), "already_processed");
    EXPECT_EQ(app_->ProcessFeedItem(alice, show_id, "nope").status().code(), StatusCode::kNotFound);

    answer = 500;
    clock_.Advance(1000);
    auto failed = app_->PollShow(alice, show_id);
    ASSERT_FALSE(failed.ok());
    auto show = app_->GetShow(alice, show_id, 10);
    ASSERT_TRUE(show.ok());
    EXPECT_EQ(show->show.last_status, "error");
    EXPECT_NE(show->show.last_error.find("500"), std::string::npos) << show->show.last_error;
    EXPECT_EQ(show->show.last_polled_at, kStart + 1000);
    EXPECT_EQ(show->show.next_poll_at, kStart + 1000 + limits_.feed_poll_every_ms);
    ASSERT_EQ(show->items.size(), 1u) << "what the feed listed before stays";
    EXPECT_EQ(show->items[0].episode_id, queued->episode.id);
    // Deleting the episode frees the item to be made again.
    ASSERT_TRUE(app_->DeleteEpisode(alice, queued->episode.id).ok());
    EXPECT_TRUE(app_->ProcessFeedItem(alice, show_id, "a").ok()) << "the deleted episode's item is free again";
    EXPECT_TRUE(app_->DeleteShow(alice, show_id).ok());
    EXPECT_EQ(app_->GetShow(alice, show_id, 10).status().code(), StatusCode::kNotFound);
}

// A new episode that automatic processing could not queue (the queue was full) is owed to its show: each later read
// of the feed tries again, one answered 304 too, until it is queued, once. The back catalogue never is, and an item
// that cannot be made (its enclosure is no web address) is no longer owed.
// Each show costs a feed read on the one poller's schedule: a user follows at most USER_MAX_SHOWS. The one past it is
// refused before its feed is read; the same feed again is still the show they have, and another user is not counted.
TEST_F(AppTest, AUserFollowsAtMostUserMaxShows) {
    testing::FeedServer feed;
    feed.On("/feed.xml", [&](const httplib::Request&, httplib::Response& res) {
        res.set_content(testing::PodcastFeed("Show", {{"a", "Episode A", "", "", feed.url() + "/a.mp3"}}),
                        "application/rss+xml");
    });
    const Caller alice{"u_alice", false, "user:alice"}, bob{"u_bob", false, "user:bob"};
    limits_.feed_fetch.allow_private = true;
    limits_.user_max_shows = 2;
    MakeApp();
    const auto add = [&](const Caller& who, const std::string& name) {
        return app_->AddShow(who, feed.url() + "/feed.xml?" + name, false, {});
    };
    ASSERT_TRUE(add(alice, "one").ok());
    ASSERT_TRUE(add(alice, "two").ok());
    const size_t reads = feed.seen().size();
    const auto third = add(alice, "three");
    ASSERT_FALSE(third.ok());
    EXPECT_EQ(third.status().code(), StatusCode::kPermissionDenied);
    EXPECT_EQ(third.status().slug(), "user_shows");
    EXPECT_NE(third.status().message().find("USER_MAX_SHOWS"), std::string::npos) << third.status().message();
    EXPECT_EQ(feed.seen().size(), reads) << "a refused show's feed is not read";
    EXPECT_EQ(app_->ListShows(alice)->size(), 2u);
    const auto again = add(alice, "two");
    ASSERT_TRUE(again.ok()) << "a feed they follow is the show they have: " << again.status().ToString();
    EXPECT_TRUE(again->existed);
    EXPECT_TRUE(add(bob, "one").ok()) << "each user has their own share";
}

TEST_F(AppTest, ANewFeedEpisodeTheQueueRefusedIsQueuedByALaterRead) {
    testing::FeedServer feed;
    std::atomic<int> version{1};
    feed.On("/feed.xml", [&](const httplib::Request& req, httplib::Response& res) {
        const std::string etag = "\"v" + std::to_string(version.load()) + "\"";
        res.set_header("ETag", etag);
        if (req.get_header_value("If-None-Match") == etag) {
            res.status = 304;
            return;
        }
        std::vector<testing::TestFeedItem> items = {{"a", "Episode A", "", "", feed.url() + "/a.mp3"}};
        if (version.load() >= 2) {
            items.insert(items.begin(), {"c", "Episode C", "", "", "ftp://example.com/c.mp3"});
            items.insert(items.begin(), {"b", "Episode B", "", "", feed.url() + "/b.mp3"});
        }
        res.set_content(testing::PodcastFeed("Show", items), "application/rss+xml");
    });
    const Caller alice{"u_alice", false, "user:alice"};
    limits_.feed_fetch.allow_private = true;
    limits_.max_queue_size = 0;  // full: nothing can be queued
    MakeApp();
    auto added = app_->AddShow(alice, feed.url() + "/feed.xml", /*auto_process=*/true, {});
    ASSERT_TRUE(added.ok()) << added.status().ToString();
    const std::string show_id = added->bundle.show.id;
    const auto item = [&](const std::string& guid) {
        const auto show = app_->GetShow(alice, show_id, 10);
        for (const FeedItemRow& i : show->items) {
            if (i.guid == guid) return i;
        }
        ADD_FAILURE() << "no item " << guid;
        return FeedItemRow{};
    };

    version = 2;  // B and C are published while the queue is full
    clock_.Advance(1000);
    auto polled = app_->PollShow(alice, show_id);
    ASSERT_TRUE(polled.ok()) << polled.status().ToString();
    EXPECT_EQ(polled->new_items, 2);
    EXPECT_EQ(polled->processed, 0);
    EXPECT_EQ(item("b").auto_pending, 1) << "owed: the next read tries again";
    EXPECT_EQ(item("c").auto_pending, 0) << "it never can be made";
    EXPECT_EQ(item("c").enclosure_url, "ftp://example.com/c.mp3");
    EXPECT_EQ(item("a").auto_pending, 0) << "the back catalogue is made only when asked for";

    limits_.max_queue_size = 100;  // room again; the feed has not changed since
    MakeApp();
    clock_.Advance(1000);
    polled = app_->PollShow(alice, show_id);
    ASSERT_TRUE(polled.ok()) << polled.status().ToString();
    EXPECT_FALSE(polled->changed) << "answered 304";
    EXPECT_EQ(polled->processed, 1);
    EXPECT_FALSE(item("b").episode_id.empty()) << "B is queued";
    EXPECT_EQ(item("b").auto_pending, 0);
    EXPECT_TRUE(item("a").episode_id.empty());
    EXPECT_TRUE(item("c").episode_id.empty());
    clock_.Advance(1000);
    EXPECT_EQ(app_->PollShow(alice, show_id)->processed, 0) << "queued once";
}

// A one-item feed at each of `paths`. A read for which `holds(path)` is true answers once `released` is (or after
// 10 s): a slow feed server.
void ServeSlowFeeds(testing::FeedServer* feed, std::initializer_list<const char*> paths,
                    const std::atomic<bool>* released, std::function<bool(std::string_view)> holds) {
    for (const char* path : paths) {
        feed->On(path, [feed, path, released, holds](const httplib::Request&, httplib::Response& res) {
            if (holds(path)) {
                for (int i = 0; i < 2000 && !released->load(); ++i)
                    std::this_thread::sleep_for(std::chrono::milliseconds(5));
            }
            res.set_content(testing::PodcastFeed(path, {{"a", "Episode A", "", "", feed->url() + "/a.mp3"}}),
                            "application/rss+xml");
        });
    }
}

// Stopping the poller (a service shutting down) ends its round of reads: the reads under way record nothing (their
// shows stay due) and no other show's feed is read.
TEST_F(AppTest, AStoppedRoundOfFeedReadsReadsNoFurtherFeed) {
    testing::FeedServer feed;
    std::atomic<bool> armed{false}, released{false};
    std::atomic<int> read_while_armed{0};
    // (A slow server once armed: it answers once the stop has come.)
    ServeSlowFeeds(&feed, {"/a.xml", "/b.xml", "/c.xml"}, &released, [&](std::string_view) {
        if (armed.load()) ++read_while_armed;
        return armed.load();
    });
    const Caller alice{"u_alice", false, "user:alice"};
    limits_.feed_fetch.allow_private = true;
    limits_.feed_polls_at_once = 2;
    MakeApp();
    for (const char* path : {"/a.xml", "/b.xml", "/c.xml"}) {
        ASSERT_TRUE(app_->AddShow(alice, feed.url() + path, true, {}).ok());
    }
    clock_.Advance(limits_.feed_poll_every_ms + 1000);  // all three are due

    armed = true;
    CancelToken stop;
    Result<int> round = 0;
    std::thread poller([&] { round = app_->PollDueShows(&stop); });
    for (int i = 0; i < 500 && read_while_armed.load() < 2; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    stop.Cancel();
    released = true;
    poller.join();
    EXPECT_EQ(read_while_armed.load(), 2) << "two reads at once; the third feed is not read after the stop";
    EXPECT_EQ(round.status().code(), StatusCode::kCancelled);
    const auto shows = app_->ListShows(alice);
    ASSERT_TRUE(shows.ok());
    for (const ShowRow& show : *shows) {
        EXPECT_EQ(show.last_polled_at, kStart) << "nothing recorded: each show is still due";
    }
    armed = false;
    EXPECT_EQ(*app_->PollDueShows(), 3) << "the next round reads all three";
}

// A feed server that takes its time holds one of the round's readers, not the round: the other shows' feeds are read
// and recorded while it is still answering.
TEST_F(AppTest, ASlowFeedServerDoesNotHoldTheOtherShowsFeeds) {
    testing::FeedServer feed;
    std::atomic<bool> released{false};
    ServeSlowFeeds(&feed, {"/slow.xml", "/b.xml", "/c.xml"}, &released,
                   [](std::string_view path) { return path == "/slow.xml"; });
    const Caller alice{"u_alice", false, "user:alice"};
    limits_.feed_fetch.allow_private = true;
    limits_.feed_polls_at_once = 2;
    MakeApp();
    released = true;  // (adding a show reads its feed once)
    ASSERT_TRUE(app_->AddShow(alice, feed.url() + "/slow.xml", false, {}).ok());
    clock_.Advance(1000);  // the slow show is due first, so one reader alone would be held by it
    for (const char* path : {"/b.xml", "/c.xml"}) {
        ASSERT_TRUE(app_->AddShow(alice, feed.url() + path, false, {}).ok());
    }
    released = false;
    clock_.Advance(limits_.feed_poll_every_ms + 1000);
    const int64_t round_time = clock_.NowMs();

    Result<int> round = 0;
    std::thread poller([&] { round = app_->PollDueShows(); });
    // While the slow server still holds its answer, the two others are read.
    auto polled = [&] {
        std::map<std::string, int64_t> at;
        const auto shows = app_->ListShows(alice);
        for (const ShowRow& show : shows.value())
            at[show.feed_url.substr(show.feed_url.rfind('/'))] = show.last_polled_at;
        return at;
    };
    std::map<std::string, int64_t> seen;
    for (int i = 0; i < 500; ++i) {
        seen = polled();
        if (seen["/b.xml"] == round_time && seen["/c.xml"] == round_time) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(seen["/b.xml"], round_time);
    EXPECT_EQ(seen["/c.xml"], round_time);
    EXPECT_NE(seen["/slow.xml"], round_time) << "the slow server has not answered yet";
    released = true;
    poller.join();
    ASSERT_TRUE(round.ok()) << round.status().ToString();
    EXPECT_EQ(*round, 3);
    EXPECT_EQ(polled()["/slow.xml"], round_time);
}

// Speakers found by their voices are named in the transcript, two at once or swapped, by the episode's owner only;
// a speaker the transcript does not have, or a name that is not one line of text, is refused and changes nothing.
TEST_F(AppTest, TheTranscriptsSpeakersAreNamedByItsOwner) {
    const std::string id = ReadyEpisode("u_alice");
    const Caller alice{"u_alice", false, "user:alice"}, bob{"u_bob", false, "user:bob"};
    Transcript t = app_->GetTranscript(alice, id)->transcript;
    ASSERT_GE(t.segments.size(), 3u);
    for (size_t i = 0; i < t.segments.size(); ++i) t.segments[i].speaker = i % 2 ? "S2" : "S1";
    ASSERT_TRUE(db_->InTransaction([&](Tx& tx) { ReplaceTranscript(tx, id, t); }).ok());

    auto named = app_->NameSpeakers(alice, id, {{"S1", "Ada Host"}, {"S2", "Grace Hopper"}});
    ASSERT_TRUE(named.ok()) << named.status().ToString();
    EXPECT_EQ(named->segments[0].speaker, "Ada Host");
    EXPECT_EQ(named->segments[1].speaker, "Grace Hopper");
    EXPECT_EQ(app_->GetTranscript(alice, id)->transcript.segments[2].speaker, "Ada Host") << "kept";
    // Swapped in one request: each takes the other's name.
    named = app_->NameSpeakers(alice, id, {{"Ada Host", "Grace Hopper"}, {"Grace Hopper", "Ada Host"}});
    ASSERT_TRUE(named.ok()) << named.status().ToString();
    EXPECT_EQ(named->segments[0].speaker, "Grace Hopper");
    EXPECT_EQ(named->segments[1].speaker, "Ada Host");

    for (const auto& bad :
         std::vector<std::map<std::string, std::string>>{{{"S1", "Someone"}},  // no such speaker any more
                                                         {{"Ada Host", ""}},   // no name
                                                         {{"Ada Host", std::string(41, 'a')}},     // too long
                                                         {{"Ada Host", "two\nlines"}},             // not one line
                                                         {{"Ada Host", std::string("\xC3\x28")}},  // not UTF-8
                                                         {}}) {
        EXPECT_EQ(app_->NameSpeakers(alice, id, bad).status().code(), StatusCode::kInvalidInput);
    }
    EXPECT_EQ(app_->NameSpeakers(bob, id, {{"Ada Host", "Bob"}}).status().code(), StatusCode::kNotFound);
    EXPECT_EQ(app_->GetTranscript(alice, id)->transcript.segments[1].speaker, "Ada Host") << "nothing changed";
}

// A show's look: checked option by option, kept on the show, given to the episodes it has and those it makes, and
// its logo stored as a PNG that their renders find, or removed; only its owner changes it.
TEST_F(AppTest, AShowsLookReachesItsEpisodesAndItsLogoIsAPictureOfItsOwn) {
    testing::FeedServer feed;
    feed.On("/feed.xml", [&](const httplib::Request&, httplib::Response& res) {
        res.set_content(testing::PodcastFeed("Show", {{"a", "Episode A", "", "", feed.url() + "/a.mp3"},
                                                      {"b", "Episode B", "", "", feed.url() + "/b.mp3"}}),
                        "application/rss+xml");
    });
    limits_.feed_fetch.allow_private = true;
    MakeApp();
    const Caller alice{"u_alice", false, "user:alice"}, bob{"u_bob", false, "user:bob"};
    auto added = app_->AddShow(alice, feed.url() + "/feed.xml", true, {{"style", "clean"}});
    ASSERT_TRUE(added.ok()) << added.status().ToString();
    const std::string show_id = added->bundle.show.id;
    auto before = app_->ProcessFeedItem(alice, show_id, "a");
    ASSERT_TRUE(before.ok()) << before.status().ToString();

    const nlohmann::json look = {{"style", "boxed"},   {"color", "FFEEDD"}, {"position", "top"},
                                 {"uppercase", false}, {"outline", 3},      {"background", "224466"}};
    auto set = app_->SetShowLook(alice, show_id, look);
    ASSERT_TRUE(set.ok()) << set.status().ToString();
    for (const auto& [bad, why] :
         std::vector<std::pair<nlohmann::json, std::string>>{{{{"position", "left"}}, "position"},
                                                             {{{"outline", 99}}, "outline"},
                                                             {{{"background", "blue"}}, "background"},
                                                             {{{"uppercase", "maybe"}}, "uppercase"},
                                                             {{{"font", "Comic Sans Nowhere"}}, "not installed"},
                                                             {{{"aspect", "1:1"}}, "look"},
                                                             {{{"genre", "comedy"}}, "look"}}) {
        const Status st = app_->SetShowLook(alice, show_id, bad).status();
        EXPECT_EQ(st.code(), StatusCode::kInvalidInput) << bad.dump();
        EXPECT_NE(st.message().find(why), std::string::npos) << st.message();
    }
    EXPECT_EQ(app_->SetShowLook(bob, show_id, look).status().code(), StatusCode::kNotFound);

    // Its episodes know the people its feed names, to name their speakers by.
    const auto with_people = app_->GetEpisode(alice, before->episode.id, /*with_content=*/true);
    ASSERT_TRUE(with_people.ok());
    EXPECT_NE(with_people->persons.find("Ada Host"), std::string::npos) << with_people->persons;
    // The episode it had, and the one it makes next, render with the look (the frame stays each episode's).
    auto after = app_->ProcessFeedItem(alice, show_id, "b");
    ASSERT_TRUE(after.ok());
    for (const std::string& id : {before->episode.id, after->episode.id}) {
        const auto bundle = app_->GetEpisode(alice, id, false);
        ASSERT_TRUE(bundle.ok());
        auto media = MediaOptionsFromJson(nlohmann::json::parse(bundle->episode.render_options), "tiktok");
        ASSERT_TRUE(media.ok()) << bundle->episode.render_options;
        EXPECT_EQ(media->style.name, "boxed");
        EXPECT_EQ(media->style.color, "FFEEDD");
        EXPECT_EQ(media->style.position, "top");
        EXPECT_FALSE(media->style.uppercase);
        EXPECT_EQ(media->style.outline, 3);
        EXPECT_EQ(media->background, "224466");
        EXPECT_EQ(media->aspect, "9:16");
    }

    // The logo: a picture becomes the show's PNG, which the episodes' renders find; anything else is refused.
    const fs::path png = storage_->root() / "logo-in.png";
    ASSERT_TRUE(testing::FfmpegConvert(
        {"-f", "lavfi", "-i", "color=c=red@0.5:s=900x300,format=rgba", "-frames:v", "1", png.string()}));
    std::string bytes = ReadFileBytes(png).value();
    EXPECT_EQ(app_->SetShowLogo(alice, show_id, "not a picture").status().slug(), "unsupported_media");
    EXPECT_EQ(app_->SetShowLogo(bob, show_id, bytes).status().code(), StatusCode::kNotFound);
    EXPECT_EQ(app_->SetShowLogo(alice, show_id, std::string(App::kMaxLogoBytes + 1, 'x')).status().code(),
              StatusCode::kTooLarge);
    ASSERT_TRUE(app_->SetShowLogo(alice, show_id, bytes).ok());
    const auto stored = app_->ShowLogo(alice, show_id);
    ASSERT_TRUE(stored.ok());
    EXPECT_EQ(stored->substr(1, 3), "PNG");
    const fs::path kept = storage_->root() / "shows" / show_id / "logo.png";
    auto info = ProbeImage(kept);
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->width, kLogoSide) << "made no larger than a logo needs";
    const auto episode = app_->GetEpisode(alice, before->episode.id, false)->episode;
    MediaOptions media;
    AttachEpisodeImages(*storage_, episode, &media);
    ASSERT_TRUE(media.logo.has_value()) << episode.render_options;
    EXPECT_EQ(fs::canonical(*media.logo), fs::canonical(kept));
    EXPECT_EQ(app_->ShowLogo(bob, show_id).status().code(), StatusCode::kNotFound);

    // Removed, the episodes render without it; a deleted show takes its logo along.
    ASSERT_TRUE(app_->SetShowLogo(alice, show_id, "").ok());
    EXPECT_FALSE(fs::exists(kept));
    MediaOptions without;
    AttachEpisodeImages(*storage_, app_->GetEpisode(alice, before->episode.id, false)->episode, &without);
    EXPECT_FALSE(without.logo.has_value());
    ASSERT_TRUE(app_->SetShowLogo(alice, show_id, bytes).ok());
    ASSERT_TRUE(app_->DeleteShow(alice, show_id).ok());
    EXPECT_FALSE(fs::exists(storage_->root() / "shows" / show_id));
}

}  // namespace
}  // namespace podpromo
