#include "podpromo/core/config.h"

#include <gtest/gtest.h>

#include <map>

namespace podpromo {
namespace {

Status Load(const std::map<std::string, std::string>& env, ServiceConfig* c) {
    return LoadConfigFromEnv(c, [&](const char* name) -> const char* {
        auto it = env.find(name);
        return it == env.end() ? nullptr : it->second.c_str();
    });
}

TEST(Config, DefaultsAndValues) {
    ServiceConfig c;
    ASSERT_TRUE(Load({}, &c).ok());
    EXPECT_EQ(c.max_file_size_bytes, 524288000);
    EXPECT_EQ(c.max_concurrent_jobs, 3);
    EXPECT_EQ(c.DatabaseUrl(), "sqlite:///./data/podpromo.db");
    EXPECT_EQ(c.feed_polls_at_once, 4);
    ASSERT_TRUE(Load({{"FEED_POLLS_AT_ONCE", "16"}}, &c).ok());
    EXPECT_EQ(c.feed_polls_at_once, 16);
    ASSERT_TRUE(
        Load(
            {{"MAX_FILE_SIZE", "1000000"}, {"MAX_QUEUE_SIZE", "1"}, {"DATA_DIR", "/srv/pp"}, {"MAX_STORAGE_GB", "0.5"}},
            &c)
            .ok());
    EXPECT_EQ(c.max_file_size_bytes, 1000000);
    EXPECT_EQ(c.max_queue_size, 1);
    EXPECT_DOUBLE_EQ(c.max_storage_gb, 0.5);
    EXPECT_EQ(c.DatabaseUrl(), "sqlite:////srv/pp/podpromo.db");
}

TEST(Config, ARemoteRecognitionEngineNeedsItsUrl) {
    ServiceConfig c;
    const Status missing = Load({{"ASR_ENGINE", "openai"}}, &c);
    EXPECT_EQ(missing.code(), StatusCode::kInvalidInput);
    EXPECT_NE(missing.message().find("ASR_URL"), std::string::npos) << missing.message();
    ServiceConfig ok;
    ASSERT_TRUE(
        Load({{"ASR_ENGINE", "whisper-server"}, {"ASR_URL", "http://127.0.0.1:8178"}, {"ASR_API_KEY", "k"}}, &ok).ok());
    EXPECT_EQ(ok.asr.engine, AsrEngine::kWhisperServer);
    EXPECT_EQ(ok.asr.api_key, "k");
    ServiceConfig empty;  // set but empty: the default engine, not an unknown one
    ASSERT_TRUE(Load({{"ASR_ENGINE", ""}, {"SHOW_NAME", "The Ops Hour"}}, &empty).ok());
    EXPECT_EQ(empty.asr.engine, AsrEngine::kPocketsphinx);
    EXPECT_EQ(empty.asr.show_name, "The Ops Hour");
}

TEST(Config, CorsOriginsAreExactHttpOrigins) {
    auto ok = ParseOrigins(" https://Studio.Example.com, http://127.0.0.1:5173 ,,http://[::1]:8080");
    ASSERT_TRUE(ok.ok()) << ok.status().ToString();
    EXPECT_EQ(*ok,
              (std::vector<std::string>{"https://studio.example.com", "http://127.0.0.1:5173", "http://[::1]:8080"}));
    EXPECT_TRUE(ParseOrigins("").ok());
    for (const std::string& bad : std::vector<std::string>{
             "*", "https://a.example/", "https://a.example/path", "ftp://a.example", "a.example", "https://",
             "https://a.example:99999x", "https://a b.example", "null", "https://" + std::string(400, 'a')}) {
        const Status st = ParseOrigins("https://ok.example," + bad).status();
        EXPECT_EQ(st.code(), StatusCode::kInvalidInput) << bad;
        EXPECT_NE(st.message().find("CORS_ORIGINS"), std::string::npos) << st.message();
    }
    std::string many;
    for (int i = 0; i < 51; ++i) many += "https://h" + std::to_string(i) + ".example,";
    EXPECT_EQ(ParseOrigins(many).status().code(), StatusCode::kInvalidInput);
    ServiceConfig c;
    ASSERT_TRUE(Load({{"CORS_ORIGINS", "https://studio.example.com"}, {"DATABASE_POOL_SIZE", "12"}}, &c).ok());
    EXPECT_EQ(c.database_pool_size, 12);
    EXPECT_EQ(c.cors_origins, std::vector<std::string>{"https://studio.example.com"});
}

TEST(Config, BadValuesNameTheVariable) {
    for (const auto& [name, value] :
         std::vector<std::pair<std::string, std::string>>{{"MAX_FILE_SIZE", "lots"},
                                                          {"MAX_CONCURRENT_JOBS", "-1"},
                                                          {"PORT", "70000"},
                                                          {"MAX_STORAGE_GB", "-1"},
                                                          {"MAX_QUEUE_SIZE", "10x"},
                                                          {"DATABASE_URL", "mysql://x"},
                                                          {"ASR_ENGINE", "vosk"},
                                                          {"CORS_ORIGINS", "*"},
                                                          {"LOG_FORMAT", "xml"},
                                                          {"SOURCE_RETENTION_DAYS", "-2"},
                                                          {"HEALTH_MAX_MEMORY_PERCENT", "0"},
                                                          {"DATABASE_POOL_SIZE", "1000"},
                                                          {"DATABASE_POOL_SIZE", "2"},
                                                          {"FEED_POLLS_AT_ONCE", "0"},
                                                          {"FEED_POLLS_AT_ONCE", "65"},
                                                          {"HTTP_CLIENT_MIN_RATE", "-1"},
                                                          {"HTTP_REQUESTS_PER_CLIENT", "-1"}}) {
        ServiceConfig c;
        const Status st = Load({{name, value}}, &c);
        EXPECT_EQ(st.code(), StatusCode::kInvalidInput) << name;
        EXPECT_NE(st.message().find(name), std::string::npos) << st.message();
    }
}

TEST(Config, PrintedDatabaseUrlsHideThePassword) {
    EXPECT_EQ(WithoutPassword("postgresql://pp:s3cret@db:5432/x"), "postgresql://pp:***@db:5432/x");
    EXPECT_EQ(WithoutPassword("postgresql://p%40p:a:b@c@db/x"), "postgresql://p%40p:***@db/x") << "the last @ ends it";
    EXPECT_EQ(WithoutPassword("postgresql://pp@db/x?sslmode=require&password=s3cret&x=1"),
              "postgresql://pp@db/x?sslmode=require&password=***&x=1");
    EXPECT_EQ(WithoutPassword("sqlite:///data/podpromo.db"), "sqlite:///data/podpromo.db");
    ServiceConfig c;
    c.database_url = "mysql://root:hunter2@db/x";
    const Status st = ValidateConfig(c);
    EXPECT_EQ(st.message().find("hunter2"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace podpromo
