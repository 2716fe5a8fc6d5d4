// gzip for bodies (core/http/gzip.hpp): decompressing any bytes gives data within the cap or an
// error code with a message, never a crash or an allocation beyond the cap; compressing the input
// and decompressing it gives it back. The first byte chooses the cap (0..255 × 64 bytes).

#include <cstdint>
#include <string>

#include "core/http/gzip.hpp"
#include "fuzz/targets/fuzz_input.hpp"

using tributary::fuzz::require;
namespace http = tributary::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::size_t cap = std::size_t{data[0]} * 64;
    const auto body = tributary::fuzz::as_text(data + 1, size - 1);

    auto r = http::gzip_decompress(body, cap);
    if (r.data) {
        require(r.data->size() <= cap, "gzip_decompress exceeded max_bytes");
        require(!r.code, "gzip_decompress gave data and an error");
    } else {
        require(r.code && r.code.category() == http::gzip_category(),
                "gzip_decompress failed without a gzip code");
        require(!r.error.empty(), "gzip_decompress failed without a message");
    }

    auto round = http::gzip_decompress(http::gzip_compress(body, 1 + data[0] % 9), body.size());
    require(round.data && *round.data == body, "gzip round trip lost data");
    return 0;
}
