#include "podpromo/core/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>

extern char** environ;

namespace podpromo {
namespace {

constexpr size_t kMaxErr = 64 * 1024;

struct Pipe {
    int fd[2] = {-1, -1};
    ~Pipe() {
        for (int f : fd)
            if (f >= 0) close(f);
    }
    void CloseEnd(int i) {
        if (fd[i] >= 0) close(fd[i]);
        fd[i] = -1;
    }
};

}  // namespace

bool ProgramExists(const std::string& program) {
    const char* path = std::getenv("PATH");
    if (!path) return false;
    std::stringstream ss(path);
    std::string dir;
    while (std::getline(ss, dir, ':')) {
        if (dir.empty()) continue;
        std::string p = dir;
        p += '/';
        p += program;
        if (access(p.c_str(), X_OK) == 0) return true;
    }
    return false;
}

Result<ProcessOutput> RunProcess(const std::vector<std::string>& argv, const CancelToken* cancel, long timeout_ms,
                                 int64_t memory_bytes) {
    if (argv.empty()) return Status::Internal("RunProcess: empty argv");
    Pipe out, err;
    if (pipe2(out.fd, O_CLOEXEC) != 0 || pipe2(err.fd, O_CLOEXEC) != 0) return Status::IoError("pipe failed");

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out.fd[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err.fd[1], 2);
    // The child gets stdin, stdout and stderr and nothing else: no client socket, database file or upload of this
    // process, whether or not it was opened close-on-exec.
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);

    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_t pid = 0;
    const int rc = posix_spawnp(&pid, args[0], &fa, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) return Status::Unavailable("cannot start " + argv[0] + ": " + std::strerror(rc));
    if (memory_bytes > 0) {  // set from here, microseconds after the start: the limit outlives the child's exec
        const rlimit limit{static_cast<rlim_t>(memory_bytes), static_cast<rlim_t>(memory_bytes)};
        ::prlimit(pid, RLIMIT_DATA, &limit, nullptr);
    }
    out.CloseEnd(1);
    err.CloseEnd(1);

    ProcessOutput result;
    const auto start = std::chrono::steady_clock::now();
    bool killed = false;
    bool out_open = true, err_open = true;
    char buf[16384];
    while (out_open || err_open) {
        pollfd fds[2] = {{out.fd[0], POLLIN, 0}, {err.fd[0], POLLIN, 0}};
        if (!out_open) fds[0].fd = -1;
        if (!err_open) fds[1].fd = -1;
        const int n = poll(fds, 2, 100);
        if (n < 0 && errno != EINTR) break;
        for (int i = 0; i < 2 && n > 0; ++i) {
            if (fds[i].revents == 0) continue;
            const ssize_t got = read(fds[i].fd, buf, sizeof buf);
            if (got <= 0) {
                (i == 0 ? out_open : err_open) = false;
                continue;
            }
            if (i == 0) {
                result.out.append(buf, static_cast<size_t>(got));
            } else {
                result.err.append(buf, static_cast<size_t>(got));
                if (result.err.size() > 2 * kMaxErr) result.err.erase(0, result.err.size() - kMaxErr);
            }
        }
        const bool timed_out =
            timeout_ms > 0 && std::chrono::steady_clock::now() - start > std::chrono::milliseconds(timeout_ms);
        if (!killed && ((cancel && cancel->cancelled()) || timed_out)) {
            kill(-pid, SIGKILL);
            killed = true;
        }
    }
    int wstatus = 0;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    if (result.err.size() > kMaxErr) result.err.erase(0, result.err.size() - kMaxErr);
    if (killed) {
        if (cancel && cancel->cancelled()) return Status::Cancelled();
        return Status::Unavailable(argv[0] + " timed out");
    }
    result.exit_code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
    return result;
}

}  // namespace podpromo
