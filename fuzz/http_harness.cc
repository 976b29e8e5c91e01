#include "http_harness.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "api/http_common.h"
#include "api/lean_server.h"
#include "api/upload_body.h"
#include "podpromo/core/utf8.h"

namespace podpromo::fuzz {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int64_t kMaxStored = 1 << 20;  // what the upload handler keeps of a file or cover part

void Routes(LeanServer& svr, const fs::path& file) {
    svr.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
        return http::RefuseUnwantedBody(req, res) ? httplib::Server::HandlerResponse::Handled
                                                  : httplib::Server::HandlerResponse::Unhandled;
    });
    svr.Post("/api/v1/episodes", [](const httplib::Request& req, httplib::Response& res,
                                    const httplib::ContentReader& reader) {
        int64_t stored = 0, cover = 0;
        http::UploadSinks sinks;
        sinks.file = [&](const char*, size_t len) { return (stored += static_cast<int64_t>(len)) <= kMaxStored; };
        sinks.open_cover = [] { return true; };
        sinks.cover = [&](const char*, size_t len) { return (cover += static_cast<int64_t>(len)) <= kMaxStored; };
        const http::UploadBody body = http::ReadUploadBody(req, reader, sinks);
        if (body.fields.size() > static_cast<size_t>(http::UploadBody::kMaxParts)) std::abort();
        json fields = json::object();
        for (const auto& [name, value] : body.fields) {
            if (value.size() > http::UploadBody::kMaxFieldBytes) std::abort();
            fields[name] = IsValidUtf8(value) ? value : std::string("(not UTF-8)");
        }
        http::SendJson(res, body.read_whole ? 202 : 400,
                       {{"fields", fields}, {"filename", body.filename}, {"bytes", stored}});
    });
    svr.Post("/json", [](const httplib::Request& req, httplib::Response& res) {
        const json body = json::parse(req.body, nullptr, false);
        if (body.is_discarded() || !body.is_object()) return http::SendError(res, 400, "bad_request", "not JSON");
        http::SendJson(res, 200, {{"echo", body}});
    });
    svr.Get("/file", [file](const httplib::Request& req, httplib::Response& res) {
        http::SendFile(req, res, file, "audio/mp4", "no-cache");
    });
}

struct Fixture {
    Fixture() {
        char tmpl[] = "/tmp/podpromo-fuzz-XXXXXX";
        if (!mkdtemp(tmpl)) std::abort();
        dir = tmpl;
        file = dir / "file.m4a";
        std::ofstream(file, std::ios::binary) << std::string(kFileBytes, 'x');
        server.set_keep_alive_max_count(100);
        server.set_read_timeout(1, 0);
        server.set_write_timeout(1, 0);
        server.set_head_timeout_ms(1000);
        server.set_payload_max_length(kMaxStored);
        Routes(server, file);
    }
    ~Fixture() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    fs::path dir, file;
    LeanServer server;
};

Fixture& TheFixture() {
    static auto* fixture = new Fixture();  // lives for the process: the fuzzer never returns from its loop
    return *fixture;
}

[[noreturn]] void Broken(const char* what, const std::string& answer) {
    std::fprintf(stderr, "%s; the answer began:\n%s\n", what, answer.substr(0, 400).c_str());
    std::abort();
}

// Every answer is an HTTP/1.1 status line; a 206's Content-Range lies inside the file.
void CheckAnswer(const std::string& answer) {
    if (answer.empty()) return;  // nothing complete was asked
    if (answer.rfind("HTTP/1.1 ", 0) != 0) Broken("an answer that is not HTTP/1.1", answer);
    static const std::regex kRange(R"(Content-Range: bytes (\d+)-(\d+)/(\d+)\r\n)");
    for (std::sregex_iterator it(answer.begin(), answer.end(), kRange), end; it != end; ++it) {
        const unsigned long long first = std::stoull((*it)[1]), last = std::stoull((*it)[2]);
        if (first > last || last >= kFileBytes || std::stoull((*it)[3]) != kFileBytes) {
            Broken("a 206 for a range outside the file", answer);
        }
    }
}

}  // namespace

std::string Serve(std::string_view bytes) {
    Fixture& f = TheFixture();
    bytes = bytes.substr(0, kMaxInput);
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) std::abort();
    // The client: the whole request first (it fits the socket's buffer), then every answer until the server closes.
    std::string answer;
    std::thread client([&] {
        for (size_t sent = 0; sent < bytes.size();) {
            const ssize_t n = ::send(fds[1], bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
            if (n <= 0) break;
            sent += static_cast<size_t>(n);
        }
        ::shutdown(fds[1], SHUT_WR);
        char buf[16384];
        for (ssize_t n; (n = ::recv(fds[1], buf, sizeof buf, 0)) > 0;) answer.append(buf, static_cast<size_t>(n));
    });
    f.server.ServeConnection(fds[0]);  // closes fds[0]
    client.join();
    ::close(fds[1]);
    CheckAnswer(answer);
    return answer;
}

}  // namespace podpromo::fuzz
