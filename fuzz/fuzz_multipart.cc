// libFuzzer target: any bytes as the body of a multipart upload (the boundary is fixed so that the fuzzer reaches the
// parts quickly), read by the upload handler's own ReadUploadBody behind the API's guards.
#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http_harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    const std::string request = fmt::format(
        "POST /api/v1/episodes HTTP/1.1\r\nHost: fuzz\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n"
        "Content-Length: {}\r\n\r\n{}",
        body.size(), body);
    podpromo::fuzz::Serve(request);
    return 0;
}
