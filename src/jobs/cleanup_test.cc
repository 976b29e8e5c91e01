// Cleanup and reconciliation on a real SQLite database and a real storage root: old, active and orphaned
// files, dry runs that change nothing, real runs that free what they predicted, and two runs at once.
#include "podpromo/jobs/cleanup.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <thread>

#include "podpromo/jobs/housekeeper.h"
#include "podpromo/media/probe.h"
#include "podpromo/store/accounts.h"
#include "podpromo/store/repositories.h"
#include "testsupport.h"

namespace podpromo {
namespace {
namespace fs = std::filesystem;

constexpr DbInt kDay = 24LL * 3600 * 1000;

void WriteBytes(const fs::path& p, size_t n, bool old = true) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << std::string(n, 'x');
    if (old) fs::last_write_time(p, fs::file_time_type::clock::now() - std::chrono::hours(48));
}

int64_t SizeOf(const fs::path& p) {
    std::error_code ec;
    return static_cast<int64_t>(fs::file_size(p, ec));
}

class CleanupTest : public ::testing::Test {
  protected:
    void SetUp() override {
        db_ = testing::OpenTestDatabase(dir_ / "t.db");
        ASSERT_TRUE(db_);
        auto storage = Storage::Open(dir_ / "data", int64_t{1} << 40);
        ASSERT_TRUE(storage.ok());
        storage_ = std::make_unique<Storage>(std::move(*storage));
    }

    // An episode `days_old` with a 20 s spoken-range tone as its source and `clips` clips of 3 files each.
    EpisodeRow AddEpisode(const std::string& id, double days_old, int clips, bool active = false) {
        const fs::path source = storage_->UploadPath(id, "show.wav");
        fs::create_directories(source.parent_path());
        EXPECT_TRUE(testing::FfmpegConvert(
            {"-f", "lavfi", "-i", "sine=frequency=220:duration=20", "-ar", "16000", "-ac", "1", source.string()}));
        fs::last_write_time(source, fs::file_time_type::clock::now() - std::chrono::hours(48));
        EpisodeRow e;
        e.id = id;
        e.title = e.filename = "show.wav";
        e.audio_path = fs::relative(source, storage_->root()).string();
        e.checksum = "c";
        e.format = "wav";
        e.status = EpisodeStatus::kReady;
        e.genre = "general";
        e.platform = "tiktok";
        e.duration = 20;
        e.created_at = e.updated_at = NowEpochMs() - static_cast<DbInt>(days_old * kDay);
        const fs::path out = storage_->EpisodeDir(id) / "out";
        WriteBytes(storage_->EpisodeDir(id) / "frames.bin", 100);
        WriteBytes(out / "result.json", 10);
        (void)db_->InTransaction([&](Tx& s) {
            InsertEpisode(s, e);
            for (int i = 1; i <= clips; ++i) {
                ClipRow c;
                c.id = id + "_clip" + std::to_string(i);
                c.episode_id = id;
                c.clip_rank = i;
                c.genre = c.platform = c.title = c.text = "x";
                c.features = c.explanation = c.hashtags = "{}";
                nlohmann::json files;
                for (const char* ext : {"mp4", "m4a", "srt"}) {
                    const fs::path f = out / (c.id + "." + ext);
                    WriteBytes(f, 1000 * static_cast<size_t>(i));
                    files[ext == std::string("mp4")   ? "video"
                          : ext == std::string("m4a") ? "audio"
                                                      : "srt"] = fs::relative(f, storage_->root()).string();
                }
                c.file_path = files.dump();
                c.created_at = e.created_at;
                InsertClip(s, c);
            }
            if (active) {
                JobRow j;
                j.id = "job_" + id;
                j.episode_id = id;
                j.created_at = NowEpochMs();
                InsertJob(s, j);
            }
        });
        return e;
    }

    CleanupPolicy Policy(bool remove_orphans) const {
        CleanupPolicy p;
        p.source_retention_days = 30;
        p.clip_retention_days = 7;
        p.remove_orphans = remove_orphans;
        return p;
    }

    testing::TempDir dir_;
    std::unique_ptr<Database> db_;
    std::unique_ptr<Storage> storage_;
};

int Count(const CleanupReport& r, const std::string& action) {
    int n = 0;
    for (const auto& a : r.actions) n += a.action == action ? 1 : 0;
    return n;
}

TEST_F(CleanupTest, DryRunChangesNothingAndTheRealRunFreesWhatItPredicted) {
    AddEpisode("ep_old", 40, 2);
    AddEpisode("ep_busy", 40, 1, /*active=*/true);
    AddEpisode("ep_new", 1, 1);
    ASSERT_TRUE(db_->InTransaction([&](Tx& s) { SetClipStarred(s, "ep_old_clip2", true); }).ok());
    // Orphans and leftovers: a folder of no episode, a stray file, a half-written render, a dead process's
    // scratch folder (pid 2^22+1 cannot exist here), and a fresh unknown file that might still be landing.
    WriteBytes(storage_->root() / "uploads" / "ep_ghost" / "lost.mp3", 5000);
    WriteBytes(storage_->EpisodeDir("ep_old") / "out" / "stray.mp4", 700);
    WriteBytes(storage_->EpisodeDir("ep_old") / "out" / ".ep_old_clip1.mp4.part", 300);
    char host[256] = {0};
    gethostname(host, sizeof(host) - 1);
    const fs::path scratch = storage_->work_dir() / ("podpromo-render." + SanitizeFileName(host) + ".4194305.abc");
    WriteBytes(scratch / "captions.ass", 200);
    WriteBytes(storage_->root() / "uploads" / "ep_landing" / "new.mp3", 400, /*old=*/false);
    WriteBytes(storage_->EpisodeDir("ep_busy") / "out" / ".ep_busy_clip1.mp4.part", 300);

    const int64_t used_before = storage_->UsedBytes();
    auto dry = RunCleanup(db_.get(), *storage_, Policy(true), /*dry_run=*/true);
    ASSERT_TRUE(dry.ok()) << dry.status().ToString();
    EXPECT_EQ(storage_->UsedBytes(), used_before) << "a dry run changes nothing";
    EXPECT_EQ(Count(*dry, "archive_source"), 1) << dry->ToJson().dump(2);
    EXPECT_EQ(Count(*dry, "expire_clip"), 1) << "the starred clip and the new episode's clip stay";
    EXPECT_EQ(Count(*dry, "orphan"), 2) << dry->ToJson().dump(2);
    EXPECT_EQ(Count(*dry, "remove_work"), 2) << dry->ToJson().dump(2);
    EXPECT_EQ(dry->skipped_episodes, std::vector<std::string>{"ep_busy"});
    for (const auto& a : dry->actions) {
        EXPECT_NE(a.episode_id, "ep_busy") << "nothing of an episode with a queued job is touched";
        EXPECT_NE(a.episode_id, "ep_new");
        EXPECT_FALSE(a.done);
        EXPECT_EQ(a.path.find("ep_landing"), std::string::npos) << "files younger than the grace period stay";
    }
    const int64_t old_source = SizeOf(storage_->UploadPath("ep_old", "show.wav"));
    const int64_t expected = old_source + 3000 /*clip 1*/ + 5000 + 700 + 300 + 200;
    EXPECT_EQ(dry->bytes_freed, expected);

    auto real = RunCleanup(db_.get(), *storage_, Policy(true), /*dry_run=*/false);
    ASSERT_TRUE(real.ok()) << real.status().ToString();
    for (const auto& a : real->actions) EXPECT_TRUE(a.done) << a.action << " " << a.path << ": " << a.error;
    EXPECT_EQ(real->bytes_freed, dry->bytes_freed) << "frees what the dry run predicted";
    EXPECT_EQ(storage_->UsedBytes(), used_before - real->bytes_freed + real->archive_bytes);
    EXPECT_NEAR(static_cast<double>(real->archive_bytes), static_cast<double>(dry->archive_bytes),
                0.25 * static_cast<double>(dry->archive_bytes))
        << "the archive estimate is close";

    // The old source is archived: a small Opus file of the same length that the episode now points at.
    std::optional<EpisodeRow> old;
    std::optional<ClipRow> clip1, clip2;
    ASSERT_TRUE(db_->With([&](Tx& s) {
                       old = GetEpisode(s, "ep_old");
                       clip1 = GetClip(s, "ep_old_clip1");
                       clip2 = GetClip(s, "ep_old_clip2");
                   })
                    .ok());
    EXPECT_EQ(old->audio_path, "archive/ep_old/source.opus");
    EXPECT_GT(old->archived_at, 0);
    EXPECT_FALSE(fs::exists(storage_->UploadPath("ep_old", "show.wav")));
    auto info = ProbeMedia(storage_->root() / old->audio_path);
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    EXPECT_NEAR(static_cast<double>(info->duration_ms), 20000, 200);
    EXPECT_LT(real->archive_bytes * 5, old_source) << "Opus is far smaller than the WAV";
    // The unstarred old clip expired (row kept, files gone); the starred one kept its files.
    EXPECT_GT(clip1->expired_at, 0);
    EXPECT_EQ(clip1->file_path, "{}");
    EXPECT_FALSE(fs::exists(storage_->EpisodeDir("ep_old") / "out" / "ep_old_clip1.mp4"));
    EXPECT_TRUE(fs::exists(storage_->EpisodeDir("ep_old") / "out" / "ep_old_clip2.mp4"));
    EXPECT_EQ(clip2->expired_at, 0);
    // The busy episode and the landing upload are untouched; the orphans and leftovers are gone.
    EXPECT_TRUE(fs::exists(storage_->UploadPath("ep_busy", "show.wav")));
    EXPECT_TRUE(fs::exists(storage_->EpisodeDir("ep_busy") / "out" / ".ep_busy_clip1.mp4.part"));
    EXPECT_TRUE(fs::exists(storage_->root() / "uploads" / "ep_landing" / "new.mp3"));
    EXPECT_FALSE(fs::exists(storage_->root() / "uploads" / "ep_ghost"));
    EXPECT_FALSE(fs::exists(scratch));
    EXPECT_TRUE(fs::exists(storage_->EpisodeDir("ep_old") / "out" / "result.json")) << "episode outputs are known";

    auto again = RunCleanup(db_.get(), *storage_, Policy(true), /*dry_run=*/true);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->bytes_freed, 0) << again->ToJson().dump(2);

    // The real run, and only it, is in the audit log, with who asked and what it did.
    std::vector<AuditRow> audit;
    ASSERT_TRUE(db_->With([&](Tx& tx) { audit = ListAudit(tx, 10); }).ok());
    ASSERT_EQ(audit.size(), 1u);
    EXPECT_EQ(audit[0].action, "cleanup.run");
    EXPECT_EQ(audit[0].actor, "scheduled");
    EXPECT_EQ(audit[0].outcome, "ok");
    EXPECT_NE(audit[0].detail.find(std::to_string(real->bytes_freed) + " bytes freed"), std::string::npos)
        << audit[0].detail;
}

TEST_F(CleanupTest, OrphansAreOnlyReportedWithoutTheFlag) {
    AddEpisode("ep_a", 1, 1);
    WriteBytes(storage_->root() / "archive" / "ep_gone" / "source.opus", 900);
    auto r = RunCleanup(db_.get(), *storage_, Policy(false), /*dry_run=*/false);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(Count(*r, "orphan"), 1) << r->ToJson().dump(2);
    EXPECT_FALSE(r->actions[0].removes);
    EXPECT_EQ(r->bytes_freed, 0);
    EXPECT_TRUE(fs::exists(storage_->root() / "archive" / "ep_gone" / "source.opus"));
}

TEST_F(CleanupTest, RowsWhoseFilesAreMissingAreReportedAndRemovedWithTheFlag) {
    AddEpisode("ep_a", 1, 2);
    AddEpisode("ep_b", 1, 1);
    fs::remove(storage_->EpisodeDir("ep_a") / "out" / "ep_a_clip1.m4a");
    fs::remove(storage_->UploadPath("ep_b", "show.wav"));
    auto report = RunCleanup(db_.get(), *storage_, Policy(false), /*dry_run=*/false);
    ASSERT_TRUE(report.ok());
    EXPECT_EQ(Count(*report, "missing_file"), 2) << report->ToJson().dump(2);
    auto fix = RunCleanup(db_.get(), *storage_, Policy(true), /*dry_run=*/false);
    ASSERT_TRUE(fix.ok());
    std::optional<ClipRow> gone_clip, kept_clip;
    std::optional<EpisodeRow> gone_episode;
    ASSERT_TRUE(db_->With([&](Tx& s) {
                       gone_clip = GetClip(s, "ep_a_clip1");
                       kept_clip = GetClip(s, "ep_a_clip2");
                       gone_episode = GetEpisode(s, "ep_b");
                   })
                    .ok());
    EXPECT_FALSE(gone_clip.has_value());
    EXPECT_TRUE(kept_clip.has_value());
    EXPECT_FALSE(gone_episode.has_value());
    EXPECT_FALSE(fs::exists(storage_->EpisodeDir("ep_a") / "out" / "ep_a_clip1.mp4")) << "its other files go too";
    EXPECT_FALSE(fs::exists(storage_->EpisodeDir("ep_b")));
}

TEST_F(CleanupTest, TwoRunsAtOnceDoEachThingOnce) {
    AddEpisode("ep_a", 40, 2);
    AddEpisode("ep_b", 40, 2);
    auto predicted = RunCleanup(db_.get(), *storage_, Policy(true), /*dry_run=*/true);
    ASSERT_TRUE(predicted.ok());
    Result<CleanupReport> first = Status::Internal("not run"), second = Status::Internal("not run");
    std::thread a([&] { first = RunCleanup(db_.get(), *storage_, Policy(true), false); });
    std::thread b([&] { second = RunCleanup(db_.get(), *storage_, Policy(true), false); });
    a.join();
    b.join();
    ASSERT_TRUE(first.ok() && second.ok());
    EXPECT_EQ(first->bytes_freed + second->bytes_freed, predicted->bytes_freed);
    EXPECT_EQ(Count(*first, "archive_source") + Count(*second, "archive_source"), 2);
    for (const auto* r : {&*first, &*second}) {
        for (const auto& a : r->actions) EXPECT_TRUE(a.error.empty()) << a.action << ": " << a.error;
    }
    for (const char* id : {"ep_a", "ep_b"}) {
        EXPECT_TRUE(fs::exists(storage_->ArchiveDir(id) / "source.opus"));
    }
}

TEST_F(CleanupTest, AStarredClipCannotBeExpiredAndAnArchiveWaitsForAQueuedJob) {
    AddEpisode("ep_a", 40, 1);
    bool expired = true, archived = true;
    ASSERT_TRUE(db_->InTransaction([&](Tx& s) {
                       SetClipStarred(s, "ep_a_clip1", true);
                       expired = ExpireClip(s, "ep_a_clip1", NowEpochMs());
                       JobRow j;
                       j.id = "job_late";
                       j.episode_id = "ep_a";
                       InsertJob(s, j);
                       archived = ArchiveEpisodeSource(s, "ep_a", "uploads/ep_a/show.wav", "archive/ep_a/source.opus",
                                                       NowEpochMs());
                   })
                    .ok());
    EXPECT_FALSE(expired);
    EXPECT_FALSE(archived);
}

}  // namespace
}  // namespace podpromo

namespace podpromo {
namespace {

// The scheduled cleanup passes a Housekeeper made (its metrics' count of real runs).
int RealRuns(const Metrics& m) {
    std::smatch match;
    const std::string text = m.Render();
    static const std::regex re(R"re(podpromo_cleanup_runs_total\{mode="real"\} (\d+))re");
    return std::regex_search(text, match, re) ? std::stoi(match[1]) : 0;
}

// Three instances share one database: the scheduled cleanup runs on one of them at a time, on the one schedule, and a
// clean stop of that one hands the duty to another.
TEST_F(CleanupTest, OneInstanceOfManyRunsTheScheduledCleanup) {
    ServiceConfig config;
    config.cleanup_interval_hours = 0.5 / 3600;  // every half second
    config.job_lease_seconds = 1;
    struct Instance {
        Metrics metrics;
        std::unique_ptr<ErrorAggregator> errors;
        std::unique_ptr<Housekeeper> keeper;
    };
    std::vector<Instance> all(3);
    for (auto& i : all) {
        i.errors = std::make_unique<ErrorAggregator>(db_.get(), &i.metrics, 24);
        i.keeper = std::make_unique<Housekeeper>(config, db_.get(), storage_.get(), &i.metrics, i.errors.get());
        i.keeper->Start(std::chrono::milliseconds(100));
    }
    auto leaders = [&] {
        std::vector<size_t> out;
        for (size_t k = 0; k < all.size(); ++k) {
            if (all[k].keeper && all[k].keeper->leading()) out.push_back(k);
        }
        return out;
    };
    std::this_thread::sleep_for(std::chrono::milliseconds(2600));
    ASSERT_EQ(leaders().size(), 1u);
    const size_t first = leaders()[0];
    int runs = 0;
    for (size_t k = 0; k < all.size(); ++k) {
        runs += RealRuns(all[k].metrics);
        if (k != first) {
            EXPECT_EQ(RealRuns(all[k].metrics), 0) << "instance " << k << " does not hold the lease";
        }
    }
    // A run each half second from the first one's start: four or five in 2.6 s, never one per instance.
    EXPECT_GE(runs, 3);
    EXPECT_LE(runs, 6);
    all[first].keeper->Stop();
    all[first].keeper.reset();
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    ASSERT_EQ(leaders().size(), 1u) << "another took the duty over";
    EXPECT_GE(RealRuns(all[leaders()[0]].metrics), 1) << "and runs it";
    for (auto& i : all) {
        if (i.keeper) i.keeper->Stop();
    }
}

}  // namespace
}  // namespace podpromo
