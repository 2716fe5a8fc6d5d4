#include "connectors/webhook/signing.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <stdexcept>

#include "core/text/base64.hpp"

namespace tributary::connectors::webhook {

namespace {

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

result<std::string> decode_secret(std::string_view secret) {
    if (secret.substr(0, secret_prefix.size()) != secret_prefix)
        return unexpected{"must start with \"whsec_\" (a Standard Webhooks secret)"};
    auto key = text::base64_decode(secret.substr(secret_prefix.size()), text::base64_strictness::canonical);
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
    return text::base64_encode({reinterpret_cast<const char*>(mac.data()), mac.size()});
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
        out += text::base64_encode({reinterpret_cast<const char*>(mac.data()), mac.size()});
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
        auto sig = text::base64_decode(entry.substr(3), text::base64_strictness::canonical);
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
