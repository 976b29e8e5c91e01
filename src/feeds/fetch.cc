#include "podpromo/feeds/fetch.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <httplib.h>
#include <netdb.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <map>
#include <optional>

#include "podpromo/core/request_watch.h"
#include "podpromo/core/types.h"

namespace podpromo {

namespace {

using Clock = std::chrono::steady_clock;

struct ParsedUrl {
    std::string scheme, host, path;  // host without brackets; path with its query ("/" when none)
    int port = 0;
};

Status BadUrl(const std::string& url, const std::string& why) {
    return Status::InvalidInput(fmt::format("'{}' is not a URL PodPromo fetches: {}", url.substr(0, 200), why))
        .WithSlug("invalid_url");
}

Result<ParsedUrl> ParseUrl(const std::string& url) {
    if (url.size() > 2000) return BadUrl(url, "longer than 2000 characters");
    ParsedUrl u;
    const auto sep = url.find("://");
    if (sep == std::string::npos) return BadUrl(url, "it has no scheme");
    u.scheme = url.substr(0, sep);
    std::transform(u.scheme.begin(), u.scheme.end(), u.scheme.begin(), [](unsigned char c) { return std::tolower(c); });
    if (u.scheme != "http" && u.scheme != "https") return BadUrl(url, "only http and https");
    const auto path_at = url.find_first_of("/?#", sep + 3);
    const std::string authority =
        url.substr(sep + 3, path_at == std::string::npos ? std::string::npos : path_at - sep - 3);
    u.path = path_at == std::string::npos ? "/" : url.substr(path_at);
    if (const auto hash = u.path.find('#'); hash != std::string::npos) u.path.resize(hash);
    if (u.path.empty() || u.path[0] != '/') u.path = "/" + u.path;
    for (char c : url) {
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return BadUrl(url, "it holds spaces or controls");
    }
    if (authority.find('@') != std::string::npos) return BadUrl(url, "it carries a user name or password");
    std::string port_text;
    if (!authority.empty() && authority[0] == '[') {
        const auto close = authority.find(']');
        if (close == std::string::npos) return BadUrl(url, "an unclosed IPv6 address");
        u.host = authority.substr(1, close - 1);
        if (close + 1 < authority.size()) {
            if (authority[close + 1] != ':') return BadUrl(url, "text after the address");
            port_text = authority.substr(close + 2);
        }
    } else {
        const auto colon = authority.rfind(':');
        u.host = authority.substr(0, colon);
        if (colon != std::string::npos) port_text = authority.substr(colon + 1);
    }
    std::transform(u.host.begin(), u.host.end(), u.host.begin(), [](unsigned char c) { return std::tolower(c); });
    if (u.host.empty()) return BadUrl(url, "it has no host");
    u.port = u.scheme == "https" ? 443 : 80;
    if (!port_text.empty()) {
        const auto port = ParseInt(port_text);
        if (!port || *port < 1 || *port > 65535) return BadUrl(url, "a bad port");
        u.port = static_cast<int>(*port);
    }
    return u;
}

bool PublicV4(const uint8_t a[4]) {
    const auto in = [&](uint8_t b0, uint8_t b1, int bits) {
        const uint32_t addr = (uint32_t{a[0]} << 24) | (uint32_t{a[1]} << 16) | (uint32_t{a[2]} << 8) | a[3];
        const uint32_t net = (uint32_t{b0} << 24) | (uint32_t{b1} << 16);
        const uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
        return (addr & mask) == (net & mask);
    };
    return !(in(0, 0, 8) || in(10, 0, 8) || in(100, 64, 10) || in(127, 0, 8) || in(169, 254, 16) || in(172, 16, 12) ||
             in(192, 168, 16) || in(198, 18, 15) || in(224, 0, 4) || in(240, 0, 4) ||
             (a[0] == 192 && a[1] == 0 && (a[2] == 0 || a[2] == 2)));
}

bool PublicV6(const uint8_t a[16]) {
    static constexpr std::array<uint8_t, 12> kMapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::equal(kMapped.begin(), kMapped.end(), a)) return PublicV4(a + 12);
    if (std::all_of(a, a + 12, [](uint8_t b) { return b == 0; })) return false;              // ::, ::1, IPv4-compatible
    if ((a[0] & 0xfe) == 0xfc) return false;                                                 // fc00::/7 unique local
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) return false;                                 // fe80::/10 link-local
    if (a[0] == 0xff) return false;                                                          // multicast
    if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8) return false;          // documentation
    if (a[0] == 0 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b) return PublicV4(a + 12);  // NAT64
    return true;
}

// The address to connect to: the first the host resolves to, each of them checked.
Result<std::string> ResolveChecked(const ParsedUrl& u, const FetchPolicy& policy) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (const int rc = getaddrinfo(u.host.c_str(), nullptr, &hints, &found); rc != 0 || found == nullptr) {
        return Status::Unavailable(fmt::format("{}: the name does not resolve ({})", u.host, gai_strerror(rc)))
            .WithSlug("fetch_failed");
    }
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> list(found, freeaddrinfo);
    std::optional<std::string> first;
    for (const addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
        std::array<char, INET6_ADDRSTRLEN> text{};
        const void* raw = ai->ai_family == AF_INET
                              ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr)
                              : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr);
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
        inet_ntop(ai->ai_family, raw, text.data(), text.size());
        const std::string address = text.data();
        const bool named =
            std::find(policy.private_hosts.begin(), policy.private_hosts.end(), u.host) != policy.private_hosts.end();
        if (!policy.allow_private && !named && !IsPublicAddress(address)) {
            return Status::PermissionDenied(
                       fmt::format(
                           "{} resolves to {}, a private, loopback or link-local address: feeds may not reach it",
                           u.host, address))
                .WithSlug("address_refused");
        }
        if (!first) first = address;
    }
    if (!first) return Status::Unavailable(u.host + ": no usable address").WithSlug("fetch_failed");
    return *first;
}

// Where a redirect points, relative to the URL it came from.
std::string Resolve(const ParsedUrl& base, const std::string& location) {
    if (location.find("://") != std::string::npos) return location;
    const std::string host = base.host.find(':') != std::string::npos ? "[" + base.host + "]" : base.host;
    const std::string origin = fmt::format("{}://{}:{}", base.scheme, host, base.port);
    if (location.rfind("//", 0) == 0) return base.scheme + ":" + location;
    if (!location.empty() && location[0] == '/') return origin + location;
    const std::string dir = base.path.substr(0, base.path.rfind('/') + 1);
    return origin + dir + location;
}

struct Hop {
    Fetched fetched;
    std::optional<std::string> redirect_to;
};

// The client for one hop: to the checked address, within what is left of the fetch's time, redirects by hand.
void Configure(httplib::Client& client, const ParsedUrl& u, const std::string& address, int64_t left_ms) {
    client.set_hostname_addr_map({{u.host, address}});
    const auto each = std::min<int64_t>(left_ms, 30000);
    client.set_connection_timeout(std::chrono::milliseconds(std::min<int64_t>(each, 10000)));
    client.set_read_timeout(std::chrono::milliseconds(each));
    client.set_write_timeout(std::chrono::milliseconds(each));
    client.set_follow_location(false);
    if (u.scheme == "https") {
        client.set_ca_cert_path("/etc/ssl/certs/ca-certificates.crt");
        client.enable_server_certificate_verification(true);
    }
}

httplib::Headers RequestHeaders(const FetchAsk& ask) {
    httplib::Headers headers = {{"User-Agent", "PodPromo/1.0 (+feed reader)"}};
    if (!ask.if_none_match.empty()) headers.emplace("If-None-Match", ask.if_none_match);
    if (!ask.if_modified_since.empty()) headers.emplace("If-Modified-Since", ask.if_modified_since);
    return headers;
}

// Reads an answer's status and headers into `hop`; not Ok for one whose body is not to be read (an error status, a
// body declared too large). A redirect is Ok with hop.redirect_to set; its body is not read either.
Status TakeAnswer(const httplib::Response& r, const ParsedUrl& u, const std::string& url, const FetchPolicy& policy,
                  Hop& hop) {
    hop.fetched.status = r.status;
    hop.fetched.etag = r.get_header_value("ETag").substr(0, 500);
    hop.fetched.last_modified = r.get_header_value("Last-Modified").substr(0, 100);
    hop.fetched.content_type = r.get_header_value("Content-Type").substr(0, 200);
    if (r.status >= 300 && r.status < 400 && r.status != 304) {
        hop.redirect_to = Resolve(u, r.get_header_value("Location"));
        return Status::Ok();
    }
    if (r.status != 200 && r.status != 304) {
        return Status::Unavailable(fmt::format("{}: the server answered HTTP {}", url.substr(0, 200), r.status))
            .WithSlug("fetch_failed");
    }
    const auto length = ParseInt(r.get_header_value("Content-Length"));
    if (length && *length > policy.max_bytes) {
        return Status::TooLarge(
                   fmt::format("{}: {} bytes, over the limit of {}", url.substr(0, 200), *length, policy.max_bytes))
            .WithSlug("too_large");
    }
    return Status::Ok();
}

Result<Hop> FetchOnce(const std::string& url, const FetchAsk& ask, const FetchPolicy& policy, const FetchSink& sink,
                      const CancelToken* cancel, Clock::time_point deadline) {
    PODPROMO_ASSIGN_OR_RETURN(ParsedUrl u, ParseUrl(url));
    PODPROMO_ASSIGN_OR_RETURN(std::string address, ResolveChecked(u, policy));
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return Status::Unavailable(url + ": timed out").WithSlug("fetch_timeout");
    const std::string host = u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
    httplib::Client client(fmt::format("{}://{}:{}", u.scheme, host, u.port));
    Configure(client, u, address, left.count());
    Hop hop;
    hop.fetched.final_url = url;
    Status stopped;
    const auto on_response = [&](const httplib::Response& r) {
        stopped = TakeAnswer(r, u, url, policy, hop);
        return stopped.ok() && !hop.redirect_to;
    };
    const auto on_body = [&](const char* data, size_t n) {
        if (cancel && cancel->cancelled())
            stopped = Status::Cancelled("the download was cancelled");
        else if (Clock::now() > deadline)
            stopped = Status::Unavailable(url.substr(0, 200) + ": timed out").WithSlug("fetch_timeout");
        else if (hop.fetched.bytes + static_cast<int64_t>(n) > policy.max_bytes) {
            stopped =
                Status::TooLarge(fmt::format("{}: over the limit of {} bytes", url.substr(0, 200), policy.max_bytes))
                    .WithSlug("too_large");
        } else {
            hop.fetched.bytes += static_cast<int64_t>(n);
            stopped = sink(data, n);
        }
        return stopped.ok();
    };
    auto [res, ended_from_outside] = Watched(
        client, cancel, deadline, [&] { return client.Get(u.path, RequestHeaders(ask), on_response, on_body); });
    if (!stopped.ok()) return stopped;
    if (ended_from_outside) {
        if (cancel != nullptr && cancel->cancelled()) return Status::Cancelled("the download was cancelled");
        return Status::Unavailable(url.substr(0, 200) + ": timed out").WithSlug("fetch_timeout");
    }
    if (hop.redirect_to) return hop;
    if (!res) {
        const bool timed_out = res.error() == httplib::Error::Read || Clock::now() > deadline;
        return Status::Unavailable(fmt::format("{}: {}", url.substr(0, 200),
                                               timed_out ? "no answer in time" : httplib::to_string(res.error())))
            .WithSlug(timed_out ? "fetch_timeout" : "fetch_failed");
    }
    return hop;
}

}  // namespace

Status CheckFetchUrl(const std::string& url) { return ParseUrl(url).status(); }

bool IsPublicAddress(const std::string& address) {
    std::array<uint8_t, 16> raw{};
    if (inet_pton(AF_INET, address.c_str(), raw.data()) == 1) return PublicV4(raw.data());
    if (inet_pton(AF_INET6, address.c_str(), raw.data()) == 1) return PublicV6(raw.data());
    return false;
}

Result<Fetched> FetchUrl(const FetchAsk& ask, const FetchPolicy& policy, const FetchSink& sink,
                         const CancelToken* cancel) {
    const auto deadline = Clock::now() + policy.timeout;
    std::string url = ask.url;
    for (int hops = 0;; ++hops) {
        PODPROMO_ASSIGN_OR_RETURN(Hop hop, FetchOnce(url, ask, policy, sink, cancel, deadline));
        if (!hop.redirect_to) return hop.fetched;
        if (hops >= policy.max_redirects) {
            return Status::Unavailable(
                       fmt::format("{}: more than {} redirects", ask.url.substr(0, 200), policy.max_redirects))
                .WithSlug("fetch_failed");
        }
        url = *hop.redirect_to;
    }
}

Result<std::pair<Fetched, std::string>> FetchText(const FetchAsk& ask, const FetchPolicy& policy,
                                                  const CancelToken* cancel) {
    std::string body;
    auto fetched = FetchUrl(
        ask, policy,
        [&](const char* data, size_t n) {
            body.append(data, n);
            return Status::Ok();
        },
        cancel);
    if (!fetched.ok()) return fetched.status();
    return std::make_pair(std::move(*fetched), std::move(body));
}

}  // namespace podpromo
