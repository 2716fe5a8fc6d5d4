#include "connectors/hubspot/oauth_state.hpp"

#include <openssl/evp.h>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <array>
#include <stdexcept>

namespace tributary::connectors::hubspot {

namespace json = boost::json;

std::string token_fingerprint(std::string_view refresh_token) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int len = 0;
    if (EVP_Digest(refresh_token.data(), refresh_token.size(), digest.data(), &len, EVP_sha256(), nullptr) !=
        1)
        throw std::runtime_error("SHA-256 failed");
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * len);
    for (unsigned int i = 0; i < len; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 0xf];
    }
    return out;
}

std::string stored_refresh_token(std::string_view configured, std::string_view rotated) {
    json::object o;
    o["from"] = token_fingerprint(configured);
    o["refresh_token"] = rotated;
    return json::serialize(o);
}

std::optional<std::string> refresh_token_to_use(std::string_view configured,
                                                const std::optional<std::string>& stored) {
    if (!stored || stored->empty()) return std::nullopt;
    json::parse_options po;
    po.max_depth = 2;
    boost::system::error_code ec;
    const auto v = json::parse(*stored, ec, {}, po);
    if (ec || !v.is_object()) return std::nullopt;
    const auto* from = v.get_object().if_contains("from");
    const auto* token = v.get_object().if_contains("refresh_token");
    if (!from || !from->is_string() || !token || !token->is_string() || token->get_string().empty())
        return std::nullopt;
    // A changed settings token is a new installation: its line starts again from the settings.
    if (from->get_string() != token_fingerprint(configured)) return std::nullopt;
    return std::string{token->get_string()};
}

std::optional<std::string> refresh_token_to_use(std::string_view configured,
                                                const std::optional<std::string>& stored,
                                                const std::optional<std::string>& legacy) {
    if (auto use = refresh_token_to_use(configured, stored)) return use;
    return refresh_token_to_use(configured, legacy);
}

state_refresh_token_store::state_refresh_token_store(std::shared_ptr<connector_state> state,
                                                     std::shared_ptr<connector_state> legacy,
                                                     std::string configured,
                                                     log::logger log,
                                                     std::string connection)
    : state_{std::move(state)},
      legacy_{std::move(legacy)},
      configured_{std::move(configured)},
      log_{std::move(log)},
      connection_{std::move(connection)} {}

awaitable<std::optional<std::string>> state_refresh_token_store::load() {
    auto stored = co_await state_->load(std::string{refresh_token_key});
    auto use = refresh_token_to_use(configured_, stored);
    std::string_view source = use ? "state" : "settings";
    if (!use && legacy_) {
        auto legacy = co_await legacy_->load(std::string{refresh_token_key});
        use = refresh_token_to_use(configured_, std::nullopt, legacy);
        if (use) source = "job_state";
    }
    log_.info("hubspot.refresh_token", {{"connection", connection_}, {"source", source}});
    co_return use;
}

awaitable<void> state_refresh_token_store::save(std::string rotated) {
    co_await state_->save(std::string{refresh_token_key}, stored_refresh_token(configured_, rotated));
}

}  // namespace tributary::connectors::hubspot
