// Starts `podpromo serve` on a free loopback port with its own data directory and environment, for
// black-box tests over HTTP. The server's stderr goes to a log file kept beside the data directory.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <string>

namespace podpromo::testing {

class ServerProcess {
  public:
    ServerProcess(std::filesystem::path data_dir, std::map<std::string, std::string> env = {});
    ~ServerProcess();  // kills the server if it still runs

    // Starts it and waits (up to 30 s) for the line with its URL. False when it did not come up.
    bool Start();
    int port() const { return port_; }
    std::string host_port() const { return "127.0.0.1:" + std::to_string(port_); }
    // SIGTERM, then waits up to `timeout_ms`. The exit code, or -1 when it had to be killed.
    int Terminate(int timeout_ms = 10000);
    // SIGKILL at once (a crash).
    void Kill();
    std::string Log() const;
    // The server's peak resident memory so far (VmHWM), in bytes; 0 when it is not running.
    int64_t PeakMemoryBytes() const;

  private:
    std::filesystem::path data_dir_;
    std::map<std::string, std::string> env_;
    pid_t pid_ = -1;
    int port_ = 0;
};

}  // namespace podpromo::testing
