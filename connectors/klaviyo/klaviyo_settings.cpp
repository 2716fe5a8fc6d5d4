#include "connectors/klaviyo/klaviyo_settings.hpp"

#include <openssl/evp.h>

#include <algorithm>

namespace tributary::connectors::klaviyo {

namespace {

constexpr std::size_t min_key_body = 34;
constexpr std::size_t max_key_length = 128;
constexpr std::size_t max_properties = 100;
constexpr std::size_t max_property_name = 200;

bool is_alnum(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

// A tributary property name ([A-Za-z_][A-Za-z0-9_]*): custom properties become schema properties.
bool is_property_name(std::string_view name) noexcept {
    if (name.empty() || is_digit(name[0])) return false;
    return std::all_of(name.begin(), name.end(), [](char c) { return is_alnum(c) || c == '_'; });
}

}  // namespace

bool is_private_key_shape(std::string_view key) noexcept {
    if (key.size() < 3 + min_key_body || key.size() > max_key_length || !key.starts_with("pk_")) return false;
    return std::all_of(key.begin() + 3, key.end(), is_alnum);
}

bool is_revision_shape(std::string_view revision) noexcept {
    if (revision.size() < 10) return false;
    for (std::size_t i = 0; i < 10; ++i) {
        const bool dash = i == 4 || i == 7;
        if (dash ? revision[i] != '-' : !is_digit(revision[i])) return false;
    }
    const int month = (revision[5] - '0') * 10 + (revision[6] - '0');
    const int day = (revision[8] - '0') * 10 + (revision[9] - '0');
    if (month < 1 || month > 12 || day < 1 || day > 31) return false;
    if (revision.size() == 10) return true;
    const auto suffix = revision.substr(11);
    return revision[10] == '.' && !suffix.empty() && suffix.size() <= 32 &&
           std::all_of(suffix.begin(), suffix.end(), is_alnum);
}

klaviyo_settings parse_settings(const boost::json::value& settings, std::vector<settings_error>& errors) {
    klaviyo_settings out;
    settings_reader r{settings, errors};
    out.api_key = r.required_string("api_key");
    if (!out.api_key.empty() && !is_private_key_shape(out.api_key)) {
        r.error("api_key",
                "must be a Klaviyo private API key: pk_ followed by at least 34 letters and digits");
        out.api_key.clear();
    }
    if (auto rev = r.optional_string("revision")) {
        if (is_revision_shape(*rev))
            out.revision = std::move(*rev);
        else
            r.error("revision", "must be a Klaviyo API revision such as 2026-07-15 (YYYY-MM-DD[.suffix])");
    }
    out.properties = r.strings("properties", false, {.min_length = 1, .max_length = max_property_name});
    if (out.properties.size() > max_properties)
        r.error("properties", "must list at most " + std::to_string(max_properties) + " custom properties");
    for (std::size_t i = 0; i < out.properties.size(); ++i) {
        if (!is_property_name(out.properties[i]))
            r.error(join_index("properties", i),
                    "must be a name of letters, digits and underscores, not starting with a digit");
        if (std::find(out.properties.begin(), out.properties.begin() + static_cast<std::ptrdiff_t>(i),
                      out.properties[i]) != out.properties.begin() + static_cast<std::ptrdiff_t>(i))
            r.error(join_index("properties", i), "repeats an earlier custom property");
    }
    out.predictive_analytics = r.optional_bool("predictive_analytics", false);
    r.reject_unknown({"api_key", "revision", "properties", "predictive_analytics"});
    return out;
}

std::optional<std::string> default_scope(const klaviyo_settings& s) {
    if (!is_private_key_shape(s.api_key)) return std::nullopt;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(s.api_key.data(), s.api_key.size(), digest, &length, EVP_sha256(), nullptr) != 1 ||
        length < 8)
        return std::nullopt;
    constexpr char hex[] = "0123456789abcdef";
    std::string out = "klaviyo-key-";
    for (unsigned i = 0; i < 8; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 0xf];
    }
    return out;
}

}  // namespace tributary::connectors::klaviyo
