// Starts `podpromo serve` on a free loopback port with its own data directory and environment, for
// black-box tests over HTTP. The server's stderr goes to a log file kept beside the data directory. Its rate limits
// are off (RATE_LIMIT_REQUESTS=0 and RATE_LIMIT_ANONYMOUS_REQUESTS=0) unless `env` sets them. When the tests run on
// PostgreSQL (testsupport.h's OnPostgres) and `env` names no DATABASE_URL, the data directory gets a database of its
// own in the test cluster, the same one on every start.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "podpromo/core/subprocess.h"

namespace podpromo::testing {

class ServerProcess {
  public:
    enum class Kind { kServe, kWorker };
    ServerProcess(std::filesystem::path data_dir, std::map<std::string, std::string> env = {},
                  Kind kind = Kind::kServe);
    ~ServerProcess();  // kills the server if it still runs

    // Starts it and waits (up to 30 s) for the line with its URL. False when it did not come up. On the data
    // directory's first start it keeps the printed one-time sign-in link, and makes an administrator's key with every
    // scope (`podpromo key create --user admin`) for the tests' requests. A kWorker runs `podpromo worker` instead,
    // and port() is its status port (/livez, /metrics).
    bool Start();
    // "Bearer <key>"'s key: the first start's administrator's ("" when the key could not be made).
    const std::string& api_key() const { return api_key_; }
    // The first start's one-time sign-in link as printed ("" on a later start).
    const std::string& sign_in_link() const { return sign_in_link_; }
    int port() const { return port_; }
    std::string host_port() const { return "127.0.0.1:" + std::to_string(port_); }
    // SIGTERM, then waits up to `timeout_ms`. The exit code, or -1 when it had to be killed.
    int Terminate(int timeout_ms = 10000);
    // SIGKILL at once (a crash).
    void Kill();
    // Sends `sig` (SIGSTOP, SIGCONT: a pause past the lease).
    void Signal(int sig) const;
    std::string Log() const;
    // The server's peak resident memory so far (VmHWM), in bytes; 0 when it is not running.
    int64_t PeakMemoryBytes() const;

    // Runs `podpromo ARGS` with the server's environment (its DATABASE_URL among it) and waits up to 30 s; exit code
    // -1 with the reason in `err` when it could not run.
    ProcessOutput Command(const std::vector<std::string>& args) const;
    // The DATABASE_URL a server on `data_dir` is given on PostgreSQL (made on first use).
    static std::string DatabaseFor(const std::filesystem::path& data_dir);

  private:
    std::filesystem::path LogPath() const;  // beside the data directory (workers on it share theirs)
    void KeepCredentials(const std::string& printed);
    std::filesystem::path data_dir_;
    std::map<std::string, std::string> env_;
    Kind kind_;
    pid_t pid_ = -1;
    int port_ = 0;
    std::string api_key_, sign_in_link_;
};

}  // namespace podpromo::testing
