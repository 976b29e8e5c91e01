#include "access.h"

#include <gtest/gtest.h>

namespace podpromo::http {
namespace {

// The one table of who may call what: open probes and pages, operator endpoints for administrators, rendering its own
// scope, the account's own routes, and everything else closed by default.
TEST(Access, EachRouteNeedsWhatItShould) {
    struct Case {
        const char* method;
        const char* path;
        Need need;
    };
    const Case cases[] = {
        {"GET", "/livez", Need::kNothing},
        {"GET", "/readyz", Need::kNothing},
        {"GET", "/health", Need::kNothing},
        {"GET", "/", Need::kNothing},
        {"GET", "/signin", Need::kNothing},
        {"GET", "/assets/index-abc.js", Need::kNothing},
        {"OPTIONS", "/api/v1/episodes", Need::kNothing},
        {"POST", "/api/v1/session", Need::kNothing},
        {"DELETE", "/api/v1/session", Need::kSignedIn},
        {"GET", "/api/v1/me", Need::kSignedIn},
        {"PUT", "/api/v1/me/password", Need::kAccount},
        {"GET", "/api/v1/keys", Need::kAccount},
        {"DELETE", "/api/v1/keys/abcdefgh", Need::kAccount},
        {"GET", "/metrics", Need::kMetrics},
        {"GET", "/queue/stats", Need::kAdmin},
        {"GET", "/storage/stats", Need::kAdmin},
        {"POST", "/api/v1/admin/cleanup", Need::kAdmin},
        {"GET", "/api/v1/admin/audit", Need::kAdmin},
        {"POST", "/api/v1/users", Need::kAdmin},
        {"POST", "/api/v1/users/bob/disable", Need::kAdmin},
        {"GET", "/api/v1/episodes", Need::kRead},
        {"HEAD", "/api/v1/clips/c1/media/video", Need::kRead},
        {"POST", "/api/v1/episodes", Need::kWrite},
        {"DELETE", "/api/v1/episodes/ep1", Need::kWrite},
        {"PUT", "/api/v1/episodes/ep1/transcript", Need::kWrite},
        {"POST", "/api/v1/clips/c1/feedback", Need::kWrite},
        {"POST", "/api/v1/episodes/ep1/clips", Need::kRender},
        {"GET", "/api/v1/episodes/ep1/clips", Need::kRead},
        {"GET", "/no/such/thing", Need::kRead},
        {"POST", "/livez", Need::kWrite},
        {"BREW", "/", Need::kWrite},
        {"POST", "/signin", Need::kWrite},
    };
    for (const Case& c : cases) EXPECT_EQ(NeedFor(c.method, c.path), c.need) << c.method << " " << c.path;
}

TEST(Access, CookiesAreReadAndWrittenSafely) {
    EXPECT_EQ(CookieValue("a=1; pp_session=tok; b=2", "pp_session"), "tok");
    EXPECT_EQ(CookieValue("pp_session=tok", "pp_session"), "tok");
    EXPECT_EQ(CookieValue("xpp_session=tok; pp_sessionx=t2", "pp_session"), "");
    EXPECT_EQ(CookieValue("", "pp_session"), "");
    EXPECT_EQ(CookieValue(";;; =; pp_session", "pp_session"), "");
    const std::string set = SessionCookie("tok", 3600, false);
    EXPECT_EQ(set, "pp_session=tok; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax");
    EXPECT_NE(SessionCookie("tok", 3600, true).find("; Secure"), std::string::npos);
    EXPECT_NE(SessionCookie("", 3600, false).find("Max-Age=0"), std::string::npos) << "clearing it";
}

TEST(Access, AnAdministratorsCallerSeesAllOnlyWithTheAdminScope) {
    Principal admin{"u1", "root", true, kAllScopes, "", "csrf"};
    EXPECT_TRUE(CallerOf(admin).sees_all);
    admin.scopes = static_cast<Scopes>(Scope::kRead);
    EXPECT_FALSE(CallerOf(admin).sees_all) << "an administrator's read key acts as a member";
    EXPECT_EQ(CallerOf(admin).user_id, "u1");
    EXPECT_EQ(ActorOf(&admin), "user:root");
    admin.key_prefix = "abcdefgh";
    EXPECT_EQ(ActorOf(&admin), "key:abcdefgh");
    EXPECT_EQ(ActorOf(nullptr), "anonymous");
}

}  // namespace
}  // namespace podpromo::http
