// Accounts against a real SQLite database in a temporary folder: what an operator and an attacker would try.
#include "podpromo/app/accounts.h"

#include <gtest/gtest.h>

#include "podpromo/core/secrets.h"
#include "podpromo/store/accounts.h"
#include "testsupport.h"

namespace podpromo {
namespace {

constexpr const char* kPassword = "a long enough passphrase";

class AccountsTest : public ::testing::Test {
  protected:
    void SetUp() override {
        db_ = testing::OpenTestDatabase(dir_ / "db.sqlite");
        ASSERT_TRUE(db_);
        accounts_ = std::make_unique<Accounts>(db_.get(), &clock_);
    }
    UserRow Add(const std::string& name, bool admin = false) {
        auto u = accounts_->AddUser(name, kPassword, admin, "cli");
        EXPECT_TRUE(u.ok()) << u.status().ToString();
        return u.ok() ? *u : UserRow{};
    }
    std::string OwnerOf(const std::string& episode_id) {
        std::optional<EpisodeRow> e;
        EXPECT_TRUE(db_->With([&](Tx& tx) { e = GetEpisode(tx, episode_id); }).ok());
        return e ? e->owner_id : "(no episode)";
    }

    testing::TempDir dir_;
    std::unique_ptr<Database> db_;
    ManualClock clock_{1'800'000'000'000};
    std::unique_ptr<Accounts> accounts_;
};

TEST_F(AccountsTest, UsersHaveSafeNamesLongPasswordsAndOnlyTheirHashIsStored) {
    for (const std::string& bad :
         std::vector<std::string>{"", "Alice", "-alice", "al ice", "alice/..", std::string(65, 'a'), "ålice"}) {
        EXPECT_EQ(accounts_->AddUser(bad, kPassword, false, "cli").status().code(), StatusCode::kInvalidInput) << bad;
    }
    for (const std::string& bad : std::vector<std::string>{"short", "elevenchars", std::string(1025, 'x'),
                                                           std::string("\xff\xfe", 2) + "0123456789ab"}) {
        EXPECT_EQ(accounts_->AddUser("alice", bad, false, "cli").status().code(), StatusCode::kInvalidInput) << bad;
    }
    const UserRow alice = Add("alice");
    EXPECT_TRUE(accounts_->AddUser("bob.smith-2_", "twelve chars", false, "cli").ok()) << "12 characters is enough";
    const auto again = accounts_->AddUser("alice", kPassword, false, "cli");
    EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(again.status().slug(), "name_taken");
    std::optional<UserRow> stored;
    ASSERT_TRUE(db_->With([&](Tx& tx) { stored = GetUserByName(tx, "alice"); }).ok());
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->id, alice.id);
    EXPECT_EQ(stored->password_hash.find(kPassword), std::string::npos);
    EXPECT_TRUE(VerifyPassword(stored->password_hash, kPassword));

    ASSERT_TRUE(accounts_->SetPassword("alice", "another long passphrase", "cli").ok());
    ASSERT_TRUE(db_->With([&](Tx& tx) { stored = GetUserByName(tx, "alice"); }).ok());
    EXPECT_TRUE(VerifyPassword(stored->password_hash, "another long passphrase"));
    EXPECT_FALSE(VerifyPassword(stored->password_hash, kPassword));
    EXPECT_EQ(accounts_->SetPassword("nobody", kPassword, "cli").code(), StatusCode::kNotFound);
    EXPECT_EQ(accounts_->SetPassword("alice", "short", "cli").code(), StatusCode::kInvalidInput);
}

// A service that ran before accounts: its episodes go to the first administrator, and to no one after.
TEST_F(AccountsTest, TheFirstAdministratorIsGivenTheEarlierEpisodes) {
    for (const char* id : {"ep_old1", "ep_old2"}) {
        EpisodeRow e;
        e.id = id;
        e.title = e.filename = e.audio_path = e.checksum = e.format = e.genre = e.platform = "x";
        ASSERT_TRUE(db_->InTransaction([&](Tx& tx) { InsertEpisode(tx, e); }).ok());
    }
    EXPECT_EQ(OwnerOf("ep_old1"), "");
    Add("editor");  // not an administrator: claims nothing
    EXPECT_EQ(OwnerOf("ep_old1"), "");
    const UserRow admin = Add("admin", true);
    EXPECT_EQ(OwnerOf("ep_old1"), admin.id);
    EXPECT_EQ(OwnerOf("ep_old2"), admin.id);
    EpisodeRow later;
    later.id = "ep_later";
    later.title = later.filename = later.audio_path = later.checksum = later.format = later.genre = later.platform =
        "x";
    ASSERT_TRUE(db_->InTransaction([&](Tx& tx) { InsertEpisode(tx, later); }).ok());
    Add("second-admin", true);
    EXPECT_EQ(OwnerOf("ep_later"), "") << "only the first administrator claims";
}

TEST_F(AccountsTest, AKeyIsShownOnceStoredAsAHashAndWorksUntilRevoked) {
    Add("alice");
    auto key = accounts_->CreateKey("alice", "read, write", "laptop", "cli");
    ASSERT_TRUE(key.ok()) << key.status().ToString();
    EXPECT_TRUE(key->token.starts_with("pp_" + key->row.prefix + "_")) << key->token;
    EXPECT_EQ(key->token.size(), 3u + 8 + 1 + 32);
    const std::string secret = key->token.substr(12);
    auto listed = accounts_->Keys("alice");
    ASSERT_TRUE(listed.ok());
    ASSERT_EQ(listed->size(), 1u);
    EXPECT_EQ((*listed)[0].secret_hash, Sha256Hex(secret));
    EXPECT_EQ((*listed)[0].scopes, "read,write");
    EXPECT_EQ((*listed)[0].name, "laptop");

    auto who = accounts_->AuthenticateKey(key->token);
    ASSERT_TRUE(who.ok()) << who.status().ToString();
    EXPECT_EQ(who->user_name, "alice");
    EXPECT_TRUE(who->Can(Scope::kRead));
    EXPECT_TRUE(who->Can(Scope::kWrite));
    EXPECT_FALSE(who->Can(Scope::kRender));
    EXPECT_FALSE(who->Can(Scope::kAdmin));
    ASSERT_TRUE(accounts_->Keys("alice").ok());
    EXPECT_EQ((*accounts_->Keys("alice"))[0].last_used_at, clock_.NowMs());

    // Every wrong key gets the same answer.
    std::string wrong_secret = key->token;
    wrong_secret.back() = wrong_secret.back() == 'a' ? 'b' : 'a';
    for (const std::string& bad : std::vector<std::string>{
             wrong_secret, key->token.substr(0, key->token.size() - 1), "pp_aaaaaaaa_" + std::string(32, 'a'),
             std::string(), "Bearer " + key->token, key->token + "x", std::string(10000, 'p')}) {
        const Status st = accounts_->AuthenticateKey(bad).status();
        EXPECT_EQ(st.code(), StatusCode::kUnauthenticated) << bad;
        EXPECT_EQ(st.message(), "the API key is not valid");
    }
    ASSERT_TRUE(accounts_->RevokeKey(key->row.prefix, "user:alice").ok());
    EXPECT_EQ(accounts_->AuthenticateKey(key->token).status().code(), StatusCode::kUnauthenticated)
        << "revoked at once";
    EXPECT_EQ(accounts_->RevokeKey(key->row.prefix, "cli").code(), StatusCode::kNotFound);
}

TEST_F(AccountsTest, ScopesAreCheckedAndOnlyAnAdministratorsKeyMayAdminister) {
    Add("alice");
    Add("root", true);
    for (const char* bad : {"", " , ", "root", "read,everything"}) {
        EXPECT_EQ(accounts_->CreateKey("alice", bad, "", "cli").status().code(), StatusCode::kInvalidInput) << bad;
    }
    EXPECT_EQ(accounts_->CreateKey("alice", "admin", "", "cli").status().code(), StatusCode::kInvalidInput);
    EXPECT_EQ(accounts_->CreateKey("nobody", "read", "", "cli").status().code(), StatusCode::kNotFound);
    auto read_only = accounts_->CreateKey("root", "read", "dashboards", "cli");
    ASSERT_TRUE(read_only.ok());
    auto who = accounts_->AuthenticateKey(read_only->token);
    ASSERT_TRUE(who.ok());
    EXPECT_TRUE(who->is_admin);
    EXPECT_FALSE(who->Can(Scope::kAdmin)) << "an administrator's read key is still read-only";
    auto all = accounts_->CreateKey("root", "admin,render,write,read", "", "cli");
    ASSERT_TRUE(all.ok());
    EXPECT_EQ(all->row.scopes, "read,write,render,admin");
    EXPECT_EQ(*ParseScopes("write,read"), static_cast<Scopes>(Scope::kRead) | static_cast<Scopes>(Scope::kWrite));
}

TEST_F(AccountsTest, ADisabledUsersKeysStopAndEveryChangeIsAudited) {
    Add("alice");
    clock_.Advance(10);
    auto key = accounts_->CreateKey("alice", "read", "", "cli");
    ASSERT_TRUE(key.ok());
    clock_.Advance(1000);
    ASSERT_TRUE(accounts_->DisableUser("alice", "user:root").ok());
    EXPECT_EQ(accounts_->AuthenticateKey(key->token).status().code(), StatusCode::kUnauthenticated);
    EXPECT_EQ(accounts_->CreateKey("alice", "read", "", "cli").status().code(), StatusCode::kNotFound);
    EXPECT_EQ(accounts_->DisableUser("nobody", "cli").code(), StatusCode::kNotFound);
    auto audit = accounts_->Audit(10);
    ASSERT_TRUE(audit.ok());
    ASSERT_EQ(audit->size(), 3u);
    EXPECT_EQ((*audit)[0].action, "user.disable");
    EXPECT_EQ((*audit)[0].actor, "user:root");
    EXPECT_EQ((*audit)[0].target, "alice");
    EXPECT_EQ((*audit)[1].action, "key.create");
    EXPECT_EQ((*audit)[1].target, key->row.prefix);
    EXPECT_EQ((*audit)[2].action, "user.add");
    for (const auto& a : *audit) EXPECT_EQ(a.detail.find(key->token.substr(12)), std::string::npos) << "no secret";
    auto older = accounts_->Audit(10, (*audit)[0].at);
    ASSERT_TRUE(older.ok());
    EXPECT_EQ(older->size(), 2u);
}

TEST_F(AccountsTest, ASessionLastsWhileUsedAndEndsWhenIdleExpiredOrSignedOut) {
    const UserRow alice = Add("alice");
    auto session = accounts_->SignIn("alice", kPassword, "10.0.0.1");
    ASSERT_TRUE(session.ok()) << session.status().ToString();
    EXPECT_EQ(session->token.size(), 52u);
    EXPECT_EQ(session->expires_at, clock_.NowMs() + Accounts::kSessionMaxMs);
    auto who = accounts_->AuthenticateSession(session->token);
    ASSERT_TRUE(who.ok()) << who.status().ToString();
    EXPECT_EQ(who->user_name, "alice");
    EXPECT_EQ(who->csrf_token, session->csrf_token);
    EXPECT_TRUE(who->Can(Scope::kWrite));
    EXPECT_FALSE(who->Can(Scope::kAdmin)) << "not an administrator";
    // Used every 23 hours it lives on, up to its absolute end.
    for (int i = 0; i < 15; ++i) {
        clock_.Advance(23 * 3600 * 1000);
        EXPECT_EQ(accounts_->AuthenticateSession(session->token).ok(), clock_.NowMs() < session->expires_at) << i;
    }
    EXPECT_EQ(accounts_->AuthenticateSession(session->token).status().code(), StatusCode::kUnauthenticated);
    // Idle for a day, it ends.
    auto idle = accounts_->SignIn("alice", kPassword, "10.0.0.1");
    ASSERT_TRUE(idle.ok());
    clock_.Advance(Accounts::kSessionIdleMs);
    EXPECT_FALSE(accounts_->AuthenticateSession(idle->token).ok());
    // Signing out ends one; everywhere, a new password or disabling end them all.
    auto a = accounts_->SignIn("alice", kPassword, "10.0.0.1");
    auto b = accounts_->SignIn("alice", kPassword, "10.0.0.2");
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_TRUE(accounts_->SignOut(a->token).ok());
    EXPECT_FALSE(accounts_->AuthenticateSession(a->token).ok());
    EXPECT_TRUE(accounts_->AuthenticateSession(b->token).ok());
    ASSERT_TRUE(accounts_->SignOutEverywhere(alice.id, "user:alice").ok());
    EXPECT_FALSE(accounts_->AuthenticateSession(b->token).ok());
    auto c = accounts_->SignIn("alice", kPassword, "10.0.0.1");
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(accounts_->SetPassword("alice", "a brand new passphrase", "user:alice").ok());
    EXPECT_FALSE(accounts_->AuthenticateSession(c->token).ok());
    for (const std::string& bad : std::vector<std::string>{"", "x", std::string(200, 'a'), c->token + "x"})
        EXPECT_EQ(accounts_->AuthenticateSession(bad).status().code(), StatusCode::kUnauthenticated);
}

// A guesser learns nothing from the answer and is slowed down per account and per address.
TEST_F(AccountsTest, SignInSaysTheSameForEveryFailureAndSlowsGuessing) {
    Add("alice");
    Add("bob");
    ASSERT_TRUE(accounts_->DisableUser("bob", "cli").ok());
    for (const auto& [name, password] : std::vector<std::pair<std::string, std::string>>{
             {"alice", "wrong passphrase!"}, {"nobody", kPassword}, {"bob", kPassword}}) {
        const Status st = accounts_->SignIn(name, password, "10.0.0." + name).status();
        EXPECT_EQ(st.code(), StatusCode::kUnauthenticated) << name;
        EXPECT_EQ(st.message(), "the name or password is wrong") << name;
    }
    // Three free failures for alice (from different addresses), then even the right password waits.
    for (int i = 0; i < 2; ++i)
        ASSERT_FALSE(accounts_->SignIn("alice", "wrong passphrase!", "10.1.0." + std::to_string(i)).ok());
    const Status held = accounts_->SignIn("alice", kPassword, "10.2.0.1").status();
    EXPECT_EQ(held.code(), StatusCode::kRateLimited);
    EXPECT_EQ(held.retry_after_s(), 1);
    clock_.Advance(1000);
    EXPECT_TRUE(accounts_->SignIn("alice", kPassword, "10.2.0.1").ok()) << "after the wait";
    // The wait doubles with each failure past the free ones, up to 15 minutes.
    for (int i = 0; i < 3; ++i) ASSERT_FALSE(accounts_->SignIn("alice", "wrong passphrase!", "10.3.0.1").ok());
    EXPECT_EQ(accounts_->SignIn("alice", "wrong passphrase!", "10.4.0.1").status().code(), StatusCode::kRateLimited);
    clock_.Advance(1000);
    ASSERT_EQ(accounts_->SignIn("alice", "wrong passphrase!", "10.4.0.1").status().code(),
              StatusCode::kUnauthenticated);
    EXPECT_EQ(accounts_->SignIn("alice", kPassword, "10.4.0.1").status().retry_after_s(), 2);
    // One address trying many names is slowed too.
    for (const char* name : {"carol", "dave", "erin"})
        ASSERT_FALSE(accounts_->SignIn(name, kPassword, "10.9.9.9").ok());
    EXPECT_EQ(accounts_->SignIn("frank", kPassword, "10.9.9.9").status().code(), StatusCode::kRateLimited);
    auto audit = accounts_->Audit(500);
    ASSERT_TRUE(audit.ok());
    int refused = 0;
    for (const auto& a : *audit) refused += a.action == "sign_in" && a.outcome == "refused";
    EXPECT_GE(refused, 10) << "every failed or throttled attempt is audited";
}

TEST(SignInThrottle, KeepsABoundedNumberOfKeys) {
    ManualClock clock(1000);
    SignInThrottle throttle(&clock);
    for (size_t i = 0; i < SignInThrottle::kMaxKeys + 500; ++i) {
        for (int k = 0; k < 4; ++k) throttle.Failed("addr:" + std::to_string(i));
        clock.Advance(1);
    }
    EXPECT_EQ(throttle.WaitMs("addr:0"), 0) << "the stalest were dropped";
    EXPECT_GT(throttle.WaitMs("addr:" + std::to_string(SignInThrottle::kMaxKeys + 499)), 0);
}

// The first start makes an administrator with no password, signed in only by its one-time link, which works once and
// for a day; they then set a password without a current one, and every later change needs the current one.
TEST_F(AccountsTest, TheFirstStartsLinkSignsInOnceAndTheAdministratorSetsAPassword) {
    auto first = accounts_->FirstStart();
    ASSERT_TRUE(first.ok() && first->has_value()) << first.status().ToString();
    auto again = accounts_->FirstStart();
    ASSERT_TRUE(again.ok());
    EXPECT_FALSE(again->has_value()) << "only when there is no user";
    EXPECT_EQ(accounts_->SignIn("admin", "", "10.0.0.1").status().code(), StatusCode::kUnauthenticated)
        << "no password signs in a password-less account";
    auto session = accounts_->SignInWithLink(**first, "10.0.0.1");
    ASSERT_TRUE(session.ok()) << session.status().ToString();
    EXPECT_EQ(accounts_->SignInWithLink(**first, "10.0.0.1").status().code(), StatusCode::kUnauthenticated)
        << "used up";
    auto who = accounts_->AuthenticateSession(session->token);
    ASSERT_TRUE(who.ok());
    EXPECT_TRUE(who->is_admin);
    EXPECT_FALSE(*accounts_->HasPassword(who->user_id));
    auto changed = accounts_->ChangePassword(*who, "", "the admin's passphrase");
    ASSERT_TRUE(changed.ok()) << changed.status().ToString();
    EXPECT_FALSE(accounts_->AuthenticateSession(session->token).ok()) << "the old session ended";
    EXPECT_TRUE(accounts_->AuthenticateSession(changed->token).ok()) << "the caller's new one works";
    EXPECT_EQ(accounts_->ChangePassword(*who, "", "yet another passphrase").status().slug(), "wrong_password");
    EXPECT_TRUE(accounts_->SignIn("admin", "the admin's passphrase", "10.0.0.1").ok());

    auto late = accounts_->IssueSignInLink("admin", "cli");
    ASSERT_TRUE(late.ok());
    clock_.Advance(Accounts::kLinkLifetimeMs);
    EXPECT_EQ(accounts_->SignInWithLink(*late, "10.0.0.2").status().code(), StatusCode::kUnauthenticated) << "expired";
    EXPECT_EQ(accounts_->IssueSignInLink("nobody", "cli").status().code(), StatusCode::kNotFound);
}

// A database as the last build before accounts left it (schema 5), with an episode and its clip: migrating adds the
// accounts' tables and an owner column, the first start's administrator is given the episode, and another user then
// cannot see it.
TEST_F(AccountsTest, APreAccountsDatabaseMigratesAndItsEpisodesGoToTheFirstAdministrator) {
    auto old = Database::Open("sqlite://" + (dir_ / "old.db").string(), 1);
    ASSERT_TRUE(old.ok());
    ASSERT_TRUE((*old)->Migrate(5).ok());
    ASSERT_EQ(*(*old)->SchemaVersion(), 5);
    ASSERT_TRUE(testing::ExecSql(old->get(),
                                 "INSERT INTO episodes (id, title, filename, audio_path, size_bytes, checksum, format,"
                                 " has_video, status, duration, genre, platform, clip_count, created_at, updated_at)"
                                 " VALUES ('ep_before', 'Before', 'b.wav', 'uploads/ep_before/b.wav', 10, 'x', 'wav',"
                                 " 0, 'ready', 60, 'auto', 'tiktok', 1, 1, 1)")
                    .ok());
    ASSERT_TRUE(testing::ExecSql(old->get(),
                                 "INSERT INTO clips (id, episode_id, clip_rank, start_time, end_time, duration, score,"
                                 " display_score, confidence, genre, platform, title, text, features, explanation,"
                                 " hashtags, file_path, created_at) VALUES ('cl_before', 'ep_before', 1, 0, 30, 30,"
                                 " 0.5, 50, 'high', 'auto', 'tiktok', 't', 't', '{}', 'e', '[]', '{}', 1)")
                    .ok());
    auto applied = (*old)->Migrate();
    ASSERT_TRUE(applied.ok()) << applied.status().ToString();
    EXPECT_EQ(*applied, Database::LatestVersion() - 5);
    Accounts accounts(old->get(), &clock_);
    auto first = accounts.FirstStart();
    ASSERT_TRUE(first.ok() && first->has_value());
    auto admin = accounts.AuthenticateSession(accounts.SignInWithLink(**first, "")->token);
    ASSERT_TRUE(admin.ok());
    std::optional<EpisodeRow> e;
    ASSERT_TRUE((*old)->With([&](Tx& tx) { e = GetEpisode(tx, "ep_before"); }).ok());
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->owner_id, admin->user_id);
    auto audit = accounts.Audit(10);
    ASSERT_TRUE(audit.ok());
    bool claimed = false;
    for (const auto& a : *audit) claimed |= a.detail.find("given 1 earlier episodes") != std::string::npos;
    EXPECT_TRUE(claimed) << "the audit log says what was given";
}

// A stranger's name reaches the audit log only when it could be a user's: bytes that are not (invalid UTF-8, control
// characters, a megabyte) are logged as that, and still cost the same check and the same answer.
TEST_F(AccountsTest, AHostileSignInNameIsNotWrittenAnywhere) {
    const std::string hostile = std::string(
                                    "\xff\xfe\x01"
                                    "admin") +
                                std::string(100000, 'x');
    EXPECT_EQ(accounts_->SignIn(hostile, "whatever password", "10.1.1.1").status().message(),
              "the name or password is wrong");
    auto audit = accounts_->Audit(5);
    ASSERT_TRUE(audit.ok());
    ASSERT_FALSE(audit->empty());
    EXPECT_EQ(audit->front().target, "(not a user name)");
    EXPECT_EQ(audit->front().outcome, "refused");
}

// A key proven a moment ago is answered from memory. Revoking it here stops it at once; revoking it from another
// process (another Accounts over the same database, as the command line is) stops it within kKeyCacheMs.
TEST_F(AccountsTest, ARememberedKeyStopsAtOnceHereAndWithinASecondFromElsewhere) {
    Add("alice");
    auto one = accounts_->CreateKey("alice", "read", "", "cli");
    auto two = accounts_->CreateKey("alice", "read", "", "cli");
    ASSERT_TRUE(one.ok() && two.ok());
    ASSERT_TRUE(accounts_->AuthenticateKey(one->token).ok());
    ASSERT_TRUE(accounts_->AuthenticateKey(two->token).ok());
    ASSERT_TRUE(accounts_->RevokeKey(one->row.prefix, "cli").ok());
    EXPECT_FALSE(accounts_->AuthenticateKey(one->token).ok()) << "revoked here: at once";
    ASSERT_TRUE(accounts_->AuthenticateKey(two->token).ok());  // remembered again (a revocation here forgets all)
    Accounts elsewhere(db_.get(), &clock_);
    ASSERT_TRUE(elsewhere.RevokeKey(two->row.prefix, "cli").ok());
    EXPECT_TRUE(accounts_->AuthenticateKey(two->token).ok()) << "remembered for at most a second";
    clock_.Advance(Accounts::kKeyCacheMs);
    EXPECT_FALSE(accounts_->AuthenticateKey(two->token).ok()) << "then read again";
}

}  // namespace
}  // namespace podpromo
