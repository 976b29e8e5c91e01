// Black-box: users and API keys from the command line, as an operator sets them up (the API checks them once issue
// 18's next step lands; README says so). Passwords come on standard input; a key is printed once and stored only as
// a hash.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "testsupport.h"

namespace podpromo::testing {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;

class AccountsCli : public ::testing::Test {
  protected:
    // `podpromo ARGS --data-dir DIR`, with `input` on its standard input.
    ProcessOutput Run(const std::string& args, const std::string& input = "") {
        const std::string cmd = "printf '%s' '" + input + "' | '" + PodpromoBinary() + "' " + args + " --data-dir '" +
                                (dir_ / "data").string() + "'";
        auto r = RunProcess({"sh", "-c", cmd}, nullptr, 60000);
        EXPECT_TRUE(r.ok()) << r.status().ToString();
        return r.ok() ? *r : ProcessOutput{};
    }
    TempDir dir_;
};

TEST_F(AccountsCli, UsersAreAddedWithAPasswordFromStandardInput) {
    auto r = Run("user add admin --admin", "a long enough passphrase\n");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("added admin (administrator)"), std::string::npos) << r.err;
    r = Run("user add editor", "short\n");
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("at least 12 characters"), std::string::npos) << r.err;
    r = Run("user add editor");
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("no password"), std::string::npos) << r.err;
    r = Run("user add 'Bad Name'", "a long enough passphrase\n");
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.err.find("user name"), std::string::npos) << r.err;
    r = Run("user add editor", std::string(2000, 'x') + "\n");
    EXPECT_EQ(r.exit_code, 2) << "an over-long password line is refused";
    r = Run("user add admin", "a long enough passphrase\n");
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("already a user admin"), std::string::npos) << r.err;
    ASSERT_EQ(Run("user add editor", "twelve chars").exit_code, 0) << "no line end needed";
    r = Run("user list --json");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const json users = json::parse(r.out);
    ASSERT_EQ(users.size(), 2u);
    EXPECT_EQ(users[0]["name"], "admin");
    EXPECT_EQ(users[0]["is_admin"], true);
    EXPECT_EQ(users[1]["name"], "editor");
    EXPECT_EQ(Run("user passwd editor", "another long passphrase\n").exit_code, 0);
    EXPECT_EQ(Run("user passwd nobody", "another long passphrase\n").exit_code, 2);
}

TEST_F(AccountsCli, AKeyIsPrintedOnceStoredHashedListedAndRevoked) {
    ASSERT_EQ(Run("user add editor", "a long enough passphrase\n").exit_code, 0);
    auto made = Run("key create --user editor --scopes read,render --name 'cutting room'");
    ASSERT_EQ(made.exit_code, 0) << made.err;
    const std::string key = made.out.substr(0, made.out.find('\n'));
    ASSERT_EQ(key.size(), 44u) << made.out;
    ASSERT_TRUE(key.starts_with("pp_")) << key;
    const std::string prefix = key.substr(3, 8), secret = key.substr(12);
    EXPECT_NE(made.err.find("shown this once"), std::string::npos) << made.err;
    EXPECT_EQ(made.err.find(secret), std::string::npos) << "the secret only on standard output";
    // Neither the database nor its journal holds the secret.
    for (const auto& e : fs::recursive_directory_iterator(dir_ / "data")) {
        if (e.is_regular_file()) {
            EXPECT_EQ(ReadFile(e.path()).find(secret), std::string::npos) << e.path();
        }
    }

    auto listed = Run("key list --user editor --json");
    ASSERT_EQ(listed.exit_code, 0) << listed.err;
    EXPECT_EQ(listed.out.find(secret), std::string::npos);
    json keys = json::parse(listed.out);
    ASSERT_EQ(keys.size(), 1u);
    EXPECT_EQ(keys[0]["prefix"], prefix);
    EXPECT_EQ(keys[0]["name"], "cutting room");
    EXPECT_EQ(keys[0]["scopes"], "read,render");
    EXPECT_TRUE(keys[0]["revoked_at"].is_null());

    EXPECT_EQ(Run("key create --user editor --scopes admin").exit_code, 2) << "not an administrator";
    EXPECT_EQ(Run("key create --user editor --scopes root").exit_code, 2);
    EXPECT_EQ(Run("key create --user nobody --scopes read").exit_code, 2);
    auto revoked = Run("key revoke pp_" + prefix);
    EXPECT_EQ(revoked.exit_code, 0) << revoked.err;
    keys = json::parse(Run("key list --user editor --json").out);
    EXPECT_GT(keys[0]["revoked_at"].get<int64_t>(), 0);
    EXPECT_EQ(Run("key revoke " + key).exit_code, 2) << "already revoked";

    ASSERT_EQ(Run("key create --user editor --scopes read").exit_code, 0);
    ASSERT_EQ(Run("user disable editor").exit_code, 0);
    keys = json::parse(Run("key list --user editor --json").out);
    ASSERT_EQ(keys.size(), 2u);
    for (const auto& k : keys) EXPECT_GT(k["revoked_at"].get<int64_t>(), 0) << "a disabled user's keys are revoked";
}

}  // namespace
}  // namespace podpromo::testing
