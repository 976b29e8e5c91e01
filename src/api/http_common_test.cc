#include "http_common.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace podpromo::http {
namespace {

std::string Show(const ByteRange& r) {
    if (r.kind == ByteRange::kWhole) return "whole";
    if (r.kind == ByteRange::kUnsatisfiable) return "416";
    return std::to_string(r.first) + "-" + std::to_string(r.last);
}

// Every condition a use case reports reaches the client as its HTTP status, its code and, for the ones worth
// retrying, a Retry-After; a slug names the case more closely than the code, and an internal failure says nothing.
TEST(HttpErrorFor, EachConditionHasItsStatusCodeAndRetry) {
    struct Row {
        Status st;
        int status;
        std::string code;
        int retry;
    };
    const Row rows[] = {
        {Status::InvalidInput("x"), 400, "invalid_input", 0},
        {Status::InvalidInput("x").WithSlug("invalid_transcript"), 400, "invalid_transcript", 0},
        {Status::NotFound("x"), 404, "not_found", 0},
        {Status::NoSpace("x"), 507, "insufficient_storage", 0},
        {Status::Unavailable("x"), 503, "unavailable", 5},
        {Status::Cancelled("x"), 409, "cancelled", 0},
        {Status::ResourceExhausted("x").WithSlug("queue_full"), 503, "queue_full", 30},
        {Status::ResourceExhausted("x").WithSlug("too_many_streams").WithRetryAfter(10), 503, "too_many_streams", 10},
        {Status::FailedPrecondition("x").WithSlug("busy"), 409, "busy", 0},
        {Status::FailedPrecondition("x"), 409, "failed_precondition", 0},
        {Status::Unsupported("x").WithSlug("unsupported_media"), 415, "unsupported_media", 0},
        {Status::TooLarge("x"), 413, "too_large", 0},
        {Status::Gone("x").WithSlug("expired"), 410, "expired", 0},
        {Status::RateLimited("x").WithSlug("too_many_renders"), 429, "too_many_renders", 30},
        {Status::Unprocessable("x").WithSlug("unusable_media"), 422, "unusable_media", 0},
        {Status::Unauthenticated("x"), 401, "unauthenticated", 0},
        {Status::PermissionDenied("x").WithSlug("insufficient_scope"), 403, "insufficient_scope", 0},
        {Status::Internal("x"), 500, "internal", 0},
        {Status::IoError("x").WithSlug("leaky"), 500, "internal", 0},
    };
    for (const Row& r : rows) {
        const HttpError e = HttpErrorFor(r.st);
        EXPECT_EQ(e.status, r.status) << r.st.ToString() << " " << r.st.slug();
        EXPECT_EQ(e.code, r.code) << r.st.ToString();
        EXPECT_EQ(e.retry_after_s, r.retry) << r.st.ToString() << " " << r.st.slug();
    }
}

TEST(HttpErrorFor, SendStatusWritesTheBodyAndHeader) {
    httplib::Response res;
    SendStatus(res, Status::ResourceExhausted("the queue is full").WithSlug("queue_full"));
    EXPECT_EQ(res.status, 503);
    EXPECT_EQ(res.get_header_value("Retry-After"), "30");
    const json body = json::parse(res.body);
    EXPECT_EQ(body["error"]["code"], "queue_full");
    EXPECT_EQ(body["error"]["message"], "the queue is full");
    httplib::Response internal;
    internal.set_header("X-Request-Id", "r1");
    SendStatus(internal, Status::IoError("/secret/path: cannot read"));
    EXPECT_EQ(internal.status, 500);
    EXPECT_EQ(internal.body.find("/secret/path"), std::string::npos) << "a path is for the log, not the client";
    EXPECT_EQ(TakeInternalDetail(), "/secret/path: cannot read");
}

// What a player, a download manager or a stranger may send, against a 1000-byte file.
// Downloads are saved under the clip's title, whatever its characters, and the header stays one safe line.
TEST(ContentDisposition, NamesTheDownloadInUtf8WithAnAsciiStandIn) {
    EXPECT_EQ(http::ContentDisposition("Why we quit.mp4"),
              "inline; filename=\"Why we quit.mp4\"; filename*=UTF-8''Why%20we%20quit.mp4");
    const std::string odd = http::ContentDisposition("Caf\xc3\xa9 \"50%\"\r\n/..\\x.m4a");
    EXPECT_NE(odd.find("filename*=UTF-8''Caf%C3%A9%20%2250%25%22%0D%0A%2F..%5Cx.m4a"), std::string::npos) << odd;
    EXPECT_EQ(odd.find_first_of("\r\n"), std::string::npos);
    const std::string stand_in = odd.substr(0, odd.find(';', 8));
    EXPECT_EQ(std::count(stand_in.begin(), stand_in.end(), '"'), 2) << "no quote inside the stand-in: " << stand_in;
}

TEST(ByteRange, OneRangeIsServedAnythingElseIsTheWholeFileOr416) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"", "whole"},
        {"bytes=0-99", "0-99"},
        {"bytes=0-", "0-999"},
        {"bytes=990-5000", "990-999"},
        {"bytes=-100", "900-999"},
        {"bytes=-5000", "0-999"},
        {"bytes=999-999", "999-999"},
        {"bytes=1000-", "416"},
        {"bytes=99999999-", "416"},
        {"bytes=-0", "416"},
        {"bytes=0-0,10-19", "whole"},  // several ranges: a server may send the whole file
        {"bytes=20-10", "whole"},      // malformed: ignored
        {"bytes=a-b", "whole"},
        {"bytes=-", "whole"},
        {"bytes= 0-9", "whole"},
        {"items=0-9", "whole"},
        {"bytes=0-9x", "whole"},
        {"bytes=99999999999999999999-", "whole"},  // too many digits to be a file offset
    };
    for (const auto& [header, want] : cases) EXPECT_EQ(Show(ParseByteRange(header, 1000)), want) << header;
    EXPECT_EQ(Show(ParseByteRange("bytes=0-", 0)), "416") << "nothing to serve of an empty file";
    EXPECT_EQ(Show(ParseByteRange("bytes=-10", 0)), "416");
}

}  // namespace
}  // namespace podpromo::http
