#include "http_common.h"

#include <gtest/gtest.h>

namespace podpromo::http {
namespace {

std::string Show(const ByteRange& r) {
    if (r.kind == ByteRange::kWhole) return "whole";
    if (r.kind == ByteRange::kUnsatisfiable) return "416";
    return std::to_string(r.first) + "-" + std::to_string(r.last);
}

// What a player, a download manager or a stranger may send, against a 1000-byte file.
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
