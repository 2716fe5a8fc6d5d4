// Klaviyo's profile pages (connectors/klaviyo/profiles.hpp): a 200 answer of GET /api/profiles
// is parsed and each profile mapped to a record under two schemas (with and without custom
// properties and predictive analytics); the same bytes go through error_for_status as an error
// answer and through logical_next_url as a next link. Nothing may crash or throw; a mapped
// record keeps the profile's id; a next link's logical URL is its own logical URL (it is on
// Klaviyo's origin); and the API key never appears in an error.

#include <cstdint>
#include <string>

#include "connectors/klaviyo/profiles.hpp"
#include "fuzz/targets/fuzz_input.hpp"

using tributary::fuzz::require;
namespace klaviyo = tributary::connectors::klaviyo;

namespace {

const std::string api_key = "pk_" + std::string(34, 'f') + "9";

const tributary::types::type& schema(bool custom) {
    static const auto plain = [] {
        klaviyo::klaviyo_settings s;
        s.api_key = api_key;
        return klaviyo::profile_schema(s);
    }();
    static const auto rich = [] {
        klaviyo::klaviyo_settings s;
        s.api_key = api_key;
        s.properties = {"plan", "score", "nested"};
        s.predictive_analytics = true;
        return klaviyo::profile_schema(s);
    }();
    return custom ? rich : plain;
}

// A logical URL is on the logical origin (host case and the default port may differ: a link
// Klaviyo wrote that way is kept byte for byte), so it is its own logical URL.
void check_next(const tributary::result<std::string>& url) {
    if (!url) return;
    auto again = klaviyo::logical_next_url(*url, std::nullopt);
    require(again.has_value() && *again == *url, "a logical next URL is not on the logical origin");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto body = tributary::fuzz::as_text(data, size);

    auto page = klaviyo::parse_profiles_page(body, 1u << 20);
    if (page) {
        for (const auto& p : page->profiles) {
            require(!p.id.empty(), "a parsed profile has an empty id");
            for (bool custom : {false, true}) {
                auto rec = klaviyo::to_record(p, schema(custom));
                if (rec) require(rec->id == p.id, "the record's id is not the profile's");
            }
        }
        if (page->next) {
            check_next(klaviyo::logical_next_url(*page->next, std::string_view{"http://127.0.0.1:4100"}));
        }
    } else {
        require(!page.error().empty(), "parse_profiles_page refused without a message");
    }

    for (int status : {400, 401, 429, 503}) {
        auto e = klaviyo::error_for_status(status, body, "reading profiles", api_key);
        require(e.message.find(api_key) == std::string::npos, "error_for_status message quotes the key");
        require(e.vendor_detail.find(api_key) == std::string::npos, "error_for_status detail quotes the key");
    }

    check_next(klaviyo::logical_next_url(body, std::nullopt));
    return 0;
}
