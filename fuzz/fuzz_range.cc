// libFuzzer target: any bytes as a Range header asking for part of a file: parsed by ParseByteRange, whose range must
// lie inside the file, then served by the API's SendFile over HTTP, whose 206 must name a range inside the file
// (checked by the harness).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "api/http_common.h"
#include "http_harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view range(reinterpret_cast<const char*>(data), size);
    if (range.find_first_of("\r\n") != std::string_view::npos) return 0;  // one header's value
    const auto parsed = podpromo::http::ParseByteRange(range, podpromo::fuzz::kFileBytes);
    if (parsed.kind == podpromo::http::ByteRange::kPart &&
        (parsed.first > parsed.last || parsed.last >= podpromo::fuzz::kFileBytes)) {
        std::abort();
    }
    const std::string request = "GET /file HTTP/1.1\r\nHost: fuzz\r\nRange: " + std::string(range) + "\r\n\r\n";
    podpromo::fuzz::Serve(request);
    return 0;
}
