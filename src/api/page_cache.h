// Answers of GET /api/v1/episodes by (whose, limit, offset) (whose: the caller's user id, "*" for all), kept while the
// database's write version is unchanged and for at most a second (other processes may write). Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

namespace podpromo::http {

class PageCache {
  public:
    // The body stored for (limit, offset) under `version`; nullopt when there is none, the version moved or a
    // second has passed (every entry is then dropped).
    std::optional<std::string> Find(uint64_t version, const std::string& whose, int limit, int offset) {
        std::lock_guard<std::mutex> lock(mu_);
        const auto now = std::chrono::steady_clock::now();
        if (version_ != version || now - at_ > std::chrono::seconds(1)) {
            pages_.clear();
            version_ = version;
            at_ = now;
        }
        const auto it = pages_.find({whose, limit, offset});
        if (it == pages_.end()) return std::nullopt;
        return it->second;
    }
    // Keeps `body`, read under `version`, unless the version has moved since (or 256 pages are kept).
    void Store(uint64_t version, const std::string& whose, int limit, int offset, std::string body) {
        std::lock_guard<std::mutex> lock(mu_);
        if (version_ == version && pages_.size() < 256) pages_[{whose, limit, offset}] = std::move(body);
    }

  private:
    std::mutex mu_;
    uint64_t version_ = 0;
    std::chrono::steady_clock::time_point at_;
    std::map<std::tuple<std::string, int, int>, std::string> pages_;
};

}  // namespace podpromo::http
