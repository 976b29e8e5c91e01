// libFuzzer target: any bytes as the service's environment ("NAME=value" lines), read and checked the way
// `podpromo serve` reads its configuration: a bad value is refused by name, never a crash.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "podpromo/core/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace podpromo;
    std::map<std::string, std::string> env;
    std::string_view rest(reinterpret_cast<const char*>(data), size);
    while (!rest.empty()) {
        const size_t nl = rest.find('\n');
        const std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
        const size_t eq = line.find('=');
        if (eq != std::string_view::npos) env[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
    }
    auto getenv = [&env](const char* name) -> const char* {
        const auto it = env.find(name);
        return it == env.end() ? nullptr : it->second.c_str();
    };
    ServiceConfig config;
    if (LoadConfigFromEnv(&config, getenv).ok()) (void)ValidateConfig(config);
    if (LoadAsrSettingsFromEnv(&config.asr, getenv).ok()) (void)ValidateAsrEngine(config.asr.engine, config.asr.url);
    (void)ParseOrigins(std::string_view(reinterpret_cast<const char*>(data), size));  // the input as CORS_ORIGINS
    return 0;
}
