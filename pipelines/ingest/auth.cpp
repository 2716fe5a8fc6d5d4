#include "pipelines/ingest/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <stdexcept>

#include "core/http/message.hpp"
#include "core/text/base64.hpp"
#include "core/text/trim.hpp"

namespace tributary::ingest {

namespace {

using ::tributary::text::trim;

std::array<std::uint8_t, 32> sha256(std::string_view data) {
    std::array<std::uint8_t, 32> out{};
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 ||
        len != out.size())
        throw std::runtime_error("SHA-256 failed");
    return out;
}

}  // namespace

std::optional<std::string> basic_auth_user(std::string_view authorization) {
    std::string_view v = trim(authorization);
    const auto space = v.find(' ');
    if (space == std::string_view::npos || !http::iequals(v.substr(0, space), "basic")) return std::nullopt;
    auto decoded = text::base64_decode(trim(v.substr(space + 1)), text::base64_strictness::lenient);
    if (!decoded) return std::nullopt;
    const auto colon = decoded->find(':');
    if (colon == std::string::npos) return std::nullopt;
    decoded->resize(colon);
    return decoded;
}

write_key_checker::write_key_checker(const std::vector<std::string>& keys) {
    for (const auto& k : keys)
        if (!k.empty()) digests_.push_back(sha256(k));
}

bool write_key_checker::check(std::string_view authorization) const {
    const auto user = basic_auth_user(authorization);
    return user && check_key(*user);
}

bool write_key_checker::check_key(std::string_view key) const {
    if (key.empty()) return false;
    const auto candidate = sha256(key);
    // Every key is compared, whatever matched earlier.
    bool found = false;
    for (const auto& d : digests_) found |= CRYPTO_memcmp(d.data(), candidate.data(), d.size()) == 0;
    return found;
}

}  // namespace tributary::ingest
