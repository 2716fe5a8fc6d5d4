#include "core/http/gzip.hpp"

#include <zlib.h>

#include <stdexcept>

#include "core/error_category.hpp"

namespace tributary::http {

std::string_view to_string(gzip_errc e) noexcept {
    switch (e) {
        case gzip_errc::init_failed:
            return "init_failed";
        case gzip_errc::corrupt:
            return "corrupt";
        case gzip_errc::truncated:
            return "truncated";
        case gzip_errc::too_large:
            return "too_large";
    }
    return "corrupt";
}

const std::error_category& gzip_category() noexcept {
    static const enum_category<gzip_errc> category{"gzip"};
    return category;
}

std::error_code make_error_code(gzip_errc e) noexcept {
    return {static_cast<int>(e), gzip_category()};
}

std::string gzip_compress(std::string_view data, int level) {
    z_stream zs{};
    // windowBits 15 + 16 selects the gzip wrapper.
    if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("deflateInit2 failed");
    std::string out;
    out.resize(deflateBound(&zs, static_cast<uLong>(data.size())) + 32);
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs.avail_in = static_cast<uInt>(data.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    int rc = deflate(&zs, Z_FINISH);
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) throw std::runtime_error("deflate failed");
    out.resize(zs.total_out);
    return out;
}

gunzip_result gzip_decompress(std::string_view data, std::size_t max_bytes) {
    z_stream zs{};
    // 15 + 32: detect gzip or zlib headers automatically.
    if (inflateInit2(&zs, 15 + 32) != Z_OK)
        return {std::nullopt, gzip_errc::init_failed, "inflateInit2 failed"};
    std::string out;
    char chunk[16384];
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs.avail_in = static_cast<uInt>(data.size());
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        zs.next_out = reinterpret_cast<Bytef*>(chunk);
        zs.avail_out = sizeof chunk;
        rc = inflate(&zs, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END) {
            inflateEnd(&zs);
            if (rc == Z_BUF_ERROR) return {std::nullopt, gzip_errc::truncated, "truncated gzip data"};
            return {std::nullopt, gzip_errc::corrupt, "corrupt gzip data"};
        }
        std::size_t produced = sizeof chunk - zs.avail_out;
        if (out.size() + produced > max_bytes) {
            inflateEnd(&zs);
            return {std::nullopt, gzip_errc::too_large,
                    "decompressed body exceeds " + std::to_string(max_bytes) + " bytes"};
        }
        out.append(chunk, produced);
        if (rc == Z_OK && zs.avail_in == 0 && produced == 0) {
            inflateEnd(&zs);
            return {std::nullopt, gzip_errc::truncated, "truncated gzip data"};
        }
    }
    inflateEnd(&zs);
    return {std::move(out), {}, {}};
}

}  // namespace tributary::http
