// libFuzzer target: any bytes as what a client sends on one connection (request heads, bodies, pipelined requests)
// to the HTTP layer with the API's guards. See http_harness.h.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http_harness.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    podpromo::fuzz::Serve(std::string_view(reinterpret_cast<const char*>(data), size));
    return 0;
}
