#include "connectors/webhook/signing.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <stdexcept>

namespace tributary::connectors::webhook {

namespace {

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int value_of(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

std::array<unsigned char, 32> hmac_sha256(std::string_view key, std::string_view data) {
    std::array<unsigned char, 32> out{};
    unsigned int len = 0;
    // HMAC() with a null output buffer would use a static one; ours is always given.
    if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
             reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len) == nullptr ||
        len != out.size())
        throw std::runtime_error("HMAC-SHA256 failed");
    return out;
}

std::string signed_content(std::string_view id, std::int64_t timestamp, std::string_view body) {
    std::string content;
    content.reserve(id.size() + body.size() + 24);
    content.append(id);
    content += '.';
    content += std::to_string(timestamp);
    content += '.';
    content.append(body);
    return content;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        std::uint32_t n = (std::uint32_t(static_cast<unsigned char>(bytes[i])) << 16) |
                          (std::uint32_t(static_cast<unsigned char>(bytes[i + 1])) << 8) |
                          std::uint32_t(static_cast<unsigned char>(bytes[i + 2]));
        out += alphabet[(n >> 18) & 63];
        out += alphabet[(n >> 12) & 63];
        out += alphabet[(n >> 6) & 63];
        out += alphabet[n & 63];
    }
    const std::size_t rest = bytes.size() - i;
    if (rest == 1) {
        std::uint32_t n = std::uint32_t(static_cast<unsigned char>(bytes[i])) << 16;
        out += alphabet[(n >> 18) & 63];
        out += alphabet[(n >> 12) & 63];
        out += "==";
    } else if (rest == 2) {
        std::uint32_t n = (std::uint32_t(static_cast<unsigned char>(bytes[i])) << 16) |
                          (std::uint32_t(static_cast<unsigned char>(bytes[i + 1])) << 8);
        out += alphabet[(n >> 18) & 63];
        out += alphabet[(n >> 12) & 63];
        out += alphabet[(n >> 6) & 63];
        out += '=';
    }
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    std::size_t padding = 0;
    while (!text.empty() && text.back() == '=' && padding < 2) {
        text.remove_suffix(1);
        ++padding;
    }
    // Padding, when present, must complete the last quantum exactly.
    if (padding > 0 && (text.size() + padding) % 4 != 0) return std::nullopt;
    if (text.size() % 4 == 1) return std::nullopt;
    std::string out;
    out.reserve(text.size() * 3 / 4);
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : text) {
        const int v = value_of(c);
        if (v < 0) return std::nullopt;
        acc = ((acc << 6) | static_cast<std::uint32_t>(v)) & 0xFFFFFF;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xFF));
        }
    }
    // Left-over bits must be zero: otherwise two texts would decode to the same key.
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
    return out;
}

result<std::string> decode_secret(std::string_view secret) {
    if (secret.substr(0, secret_prefix.size()) != secret_prefix)
        return unexpected{"must start with \"whsec_\" (a Standard Webhooks secret)"};
    auto key = base64_decode(secret.substr(secret_prefix.size()));
    if (!key) return unexpected{"the part after \"whsec_\" is not valid base64"};
    if (key->size() < min_secret_bytes || key->size() > max_secret_bytes)
        return unexpected{"must decode to " + std::to_string(min_secret_bytes) + " to " +
                          std::to_string(max_secret_bytes) + " bytes, not " + std::to_string(key->size())};
    return std::move(*key);
}

std::string signature(std::string_view key,
                      std::string_view id,
                      std::int64_t timestamp,
                      std::string_view body) {
    auto mac = hmac_sha256(key, signed_content(id, timestamp, body));
    return base64_encode({reinterpret_cast<const char*>(mac.data()), mac.size()});
}

std::string signature_header(const std::vector<std::string>& keys,
                             std::string_view id,
                             std::int64_t timestamp,
                             std::string_view body) {
    const std::string content = signed_content(id, timestamp, body);
    std::string out;
    for (const auto& key : keys) {
        if (!out.empty()) out += ' ';
        auto mac = hmac_sha256(key, content);
        out += "v1,";
        out += base64_encode({reinterpret_cast<const char*>(mac.data()), mac.size()});
    }
    return out;
}

bool verify(std::string_view header,
            const std::vector<std::string>& keys,
            std::string_view id,
            std::int64_t timestamp,
            std::string_view body) {
    const std::string content = signed_content(id, timestamp, body);
    std::vector<std::array<unsigned char, 32>> expected;
    expected.reserve(keys.size());
    for (const auto& key : keys) expected.push_back(hmac_sha256(key, content));
    bool found = false;
    while (!header.empty()) {
        const auto space = header.find(' ');
        std::string_view entry = header.substr(0, space);
        header = space == std::string_view::npos ? std::string_view{} : header.substr(space + 1);
        if (entry.substr(0, 3) != "v1,") continue;
        auto sig = base64_decode(entry.substr(3));
        if (!sig || sig->size() != 32) continue;
        for (const auto& e : expected) found |= CRYPTO_memcmp(e.data(), sig->data(), e.size()) == 0;
    }
    return found;
}

std::string message_id_for(const std::vector<std::string_view>& message_ids) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    if (ctx == nullptr) throw std::runtime_error("SHA-256: out of memory");
    std::array<unsigned char, 32> digest{};
    unsigned int len = 0;
    bool ok = EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1;
    for (auto id : message_ids) {
        std::string length = std::to_string(id.size()) + ":";
        ok = ok && EVP_DigestUpdate(ctx, length.data(), length.size()) == 1;
        ok = ok && EVP_DigestUpdate(ctx, id.data(), id.size()) == 1;
    }
    ok = ok && EVP_DigestFinal_ex(ctx, digest.data(), &len) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok || len != digest.size()) throw std::runtime_error("SHA-256 failed");
    static constexpr char hex[] = "0123456789abcdef";
    std::string out = "msg_";
    for (std::size_t i = 0; i < 16; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 0xf];
    }
    return out;
}

}  // namespace tributary::connectors::webhook
