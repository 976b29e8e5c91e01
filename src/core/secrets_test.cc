#include "podpromo/core/secrets.h"

#include <gtest/gtest.h>

#include <set>

namespace podpromo {
namespace {

TEST(Secrets, PasswordsAreHashedWithArgon2idAndVerified) {
    auto hash = HashPassword("correct horse battery staple");
    ASSERT_TRUE(hash.ok()) << hash.status().ToString();
    EXPECT_TRUE(hash->starts_with("$argon2id$")) << *hash;
    EXPECT_EQ(hash->find("correct horse"), std::string::npos);
    EXPECT_TRUE(VerifyPassword(*hash, "correct horse battery staple"));
    EXPECT_FALSE(VerifyPassword(*hash, "correct horse battery stapler"));
    EXPECT_FALSE(VerifyPassword(*hash, ""));
    EXPECT_FALSE(VerifyPassword("", "correct horse battery staple"));
    EXPECT_FALSE(VerifyPassword("$argon2id$v=19$garbage", "correct horse battery staple"));
    EXPECT_FALSE(VerifyPassword(std::string(1000, 'x'), "x")) << "an over-long stored hash is refused, not read past";
    auto again = HashPassword("correct horse battery staple");
    ASSERT_TRUE(again.ok());
    EXPECT_NE(*again, *hash) << "salted";
}

TEST(Secrets, TokensAreRandomLowerCaseBase32) {
    std::set<std::string> seen;
    for (int i = 0; i < 200; ++i) {
        const std::string t = RandomToken(20);
        EXPECT_EQ(t.size(), 32u);
        EXPECT_EQ(t.find_first_not_of("abcdefghijklmnopqrstuvwxyz234567"), std::string::npos) << t;
        seen.insert(t);
    }
    EXPECT_EQ(seen.size(), 200u);
    EXPECT_EQ(RandomToken(5).size(), 8u);
    EXPECT_EQ(RandomToken(1).size(), 2u);
}

TEST(Secrets, Sha256AndConstantTimeEquality) {
    EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_TRUE(ConstantTimeEquals("same", "same"));
    EXPECT_TRUE(ConstantTimeEquals("", ""));
    EXPECT_FALSE(ConstantTimeEquals("same", "samf"));
    EXPECT_FALSE(ConstantTimeEquals("same", "sam"));
}

// The Standard Webhooks specification's own example (secret, id, timestamp, body and the signature it gives).
TEST(Secrets, WebhookSignaturesMatchTheStandardWebhooksExample) {
    EXPECT_EQ(WebhookSignature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                               R"({"test": 2432232314})"),
              "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    EXPECT_NE(WebhookSignature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331,
                               R"({"test": 2432232314})"),
              "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        << "the timestamp is signed";
}

}  // namespace
}  // namespace podpromo
