#include "server_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "podpromo/core/subprocess.h"
#include "testsupport.h"

extern char** environ;

namespace podpromo::testing {
namespace fs = std::filesystem;

ServerProcess::ServerProcess(fs::path data_dir, std::map<std::string, std::string> env, Kind kind)
    : data_dir_(std::move(data_dir)), env_(std::move(env)), kind_(kind) {
    // Tests poll far faster than a client should; the rate limits are tested where a test sets them.
    env_.try_emplace("RATE_LIMIT_REQUESTS", "0");
    env_.try_emplace("RATE_LIMIT_ANONYMOUS_REQUESTS", "0");
    if (OnPostgres() && !env_.count("DATABASE_URL")) env_["DATABASE_URL"] = DatabaseFor(data_dir_);
}

std::string ServerProcess::DatabaseFor(const fs::path& data_dir) {
    // One database per data directory, named in a file beside it, so a restarted server finds its data again.
    const fs::path named = data_dir.parent_path() / (data_dir.filename().string() + ".database");
    std::string url;
    if (std::ifstream in(named); in) std::getline(in, url);
    if (!url.empty()) return url;
    fs::create_directories(data_dir.parent_path());
    url = TestDatabaseUrl(data_dir / "podpromo.db");
    std::ofstream(named) << url << "\n";
    return url;
}

ServerProcess::~ServerProcess() { Kill(); }

fs::path ServerProcess::LogPath() const {
    return data_dir_.parent_path() /
           (data_dir_.filename().string() + (kind_ == Kind::kWorker ? ".worker.log" : ".log"));
}

bool ServerProcess::Start() {
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) return false;
    fs::create_directories(data_dir_.parent_path());
    const std::string log = LogPath().string();
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    std::vector<std::string> envs;
    for (char** e = environ; *e; ++e) {
        const std::string entry(*e);
        if (!env_.count(entry.substr(0, entry.find('=')))) envs.push_back(entry);  // ours replace inherited
    }
    for (const auto& [k, v] : env_) envs.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& e : envs) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = {PodpromoBinary(), "serve", "--host", "127.0.0.1", "--port", "0"};
    if (kind_ == Kind::kWorker) args = {PodpromoBinary(), "worker", "--status-port", "0"};
    args.push_back("--data-dir");
    args.push_back(data_dir_.string());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    if (rc != 0) {
        close(out[0]);
        pid_ = -1;
        return false;
    }
    // Read stdout until the URL line.
    std::string text;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < until) {
        pollfd p{out[0], POLLIN, 0};
        if (poll(&p, 1, 200) > 0) {
            char buf[1024];
            const ssize_t n = read(out[0], buf, sizeof buf);
            if (n <= 0) break;
            text.append(buf, static_cast<size_t>(n));
            const auto at = text.find("http://127.0.0.1:");
            if (at != std::string::npos && text.find('/', at + 17) != std::string::npos) {
                port_ = std::stoi(text.substr(at + 17));
                close(out[0]);
                if (kind_ == Kind::kServe) KeepCredentials(text);
                return true;
            }
        }
    }
    close(out[0]);
    return false;
}

void ServerProcess::KeepCredentials(const std::string& printed) {
    // The URL line and the first start's link are printed at once.
    const auto link = printed.find("/signin?token=");
    if (link != std::string::npos) {
        const auto start = printed.rfind("http://", link);
        const auto end = printed.find_first_of(" \n", link);
        sign_in_link_ = printed.substr(start, end == std::string::npos ? std::string::npos : end - start);
    }
    if (!api_key_.empty()) return;
    const ProcessOutput made = Command({"key", "create", "--user", "admin", "--scopes", "read,write,render,admin",
                                        "--name", "tests", "--data-dir", data_dir_.string()});
    if (made.exit_code == 0) api_key_ = made.out.substr(0, made.out.find('\n'));
}

ProcessOutput ServerProcess::Command(const std::vector<std::string>& args) const {
    // With the server's environment (its DATABASE_URL, say), through env(1).
    std::vector<std::string> argv = {"env"};
    for (const auto& [k, v] : env_) argv.push_back(k + "=" + v);
    argv.push_back(PodpromoBinary());
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = RunProcess(argv, nullptr, 30000);
    if (r.ok()) return *r;
    ProcessOutput failed;
    failed.err = r.status().ToString();
    return failed;
}

int ServerProcess::Terminate(int timeout_ms) {
    if (pid_ <= 0) return -1;
    kill(pid_, SIGTERM);
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < until) {
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    Kill();
    return -1;
}

void ServerProcess::Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
}

void ServerProcess::Signal(int sig) const {
    if (pid_ > 0) kill(pid_, sig);
}

std::string ServerProcess::Log() const {
    std::ifstream in(LogPath());
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

int64_t ServerProcess::PeakMemoryBytes() const {
    if (pid_ <= 0) return 0;
    std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) * 1024;  // "VmHWM:   123456 kB"
    }
    return 0;
}

}  // namespace podpromo::testing
