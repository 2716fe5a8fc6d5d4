#include "connectors/sdk/default_schemas.hpp"

#include <string>
#include <vector>

namespace tributary::connectors::default_schemas {

using namespace users_values;

const types::type& users() {
    static const types::type schema = [] {
        using namespace types;
        auto text = [](std::uint32_t max_length) { return make_string({.max_length = max_length}).value(); };
        auto one_of = [](auto const& table) {
            std::vector<std::string> values(table.begin(), table.end());
            return make_string({.values = std::move(values)}).value();
        };
        auto prop = [](std::string name, type t, std::string description, bool nullable = false) {
            return property{.name = std::move(name),
                            .type = std::move(t),
                            .description = std::move(description),
                            .nullable = nullable};
        };
        const type location =
            make_object(
                {
                    prop("city", text(100), "City name, UTF-8."),
                    prop("region", text(100), "State, province or region."),
                    prop("country", make_string({.min_length = 2, .max_length = 2}).value(),
                         "ISO 3166-1 alpha-2 code."),
                    prop("postal_code", text(16), "Postal code in the country's format."),
                    prop("lat", make_float(64, true, -90.0, 90.0).value(), "Latitude, 4 decimals."),
                    prop("lon", make_float(64, true, -180.0, 180.0).value(), "Longitude, 4 decimals."),
                })
                .value();
        const type custom =
            make_object(
                {
                    prop("favorite_color", one_of(colors), "One of 12 colour names."),
                    prop("signup_source", one_of(signup_sources), "Acquisition channel."),
                    prop("score", make_int(32, 0, 100).value(), "Engagement score 0..100; changes per run."),
                })
                .value();
        return make_object({
                               prop("id", text(32), "\"u-000001\" for the first user."),
                               prop("email", make_string({.max_bytes = 254}).value(),
                                    "first.last<n>@<reserved example domain>, unique."),
                               prop("first_name", text(100), "Given name, UTF-8."),
                               prop("last_name", text(100), "Family name, UTF-8."),
                               prop("phone", text(20), "E.164, fictional numbers."),
                               prop("company", text(100), "Employer; null for ~35% of users.", true),
                               prop("birth_date", make_date(), "1950..2005; null for ~10% of users.", true),
                               prop("locale", one_of(locales), "BCP 47 tag matching the country."),
                               prop("created_at", make_datetime(), "Before 2025-01-01; never changes."),
                               prop("updated_at", make_datetime(), "Last change; see the ordering rules."),
                               prop("plan", one_of(plans), "Subscription plan; changes per run."),
                               prop("lifetime_value", make_decimal(12, 2).value(),
                                    "Revenue to date; grows with updates."),
                               prop("is_active", make_boolean(), "~85% true; changes per run."),
                               prop("tags", make_array(one_of(tag_names), {.unique_elements = true}).value(),
                                    "0..12 distinct tags, ~3 on average; change per run."),
                               prop("location", location, "Where the user lives."),
                               prop("custom", custom, "Custom properties."),
                           })
            .value();
    }();
    return schema;
}

}  // namespace tributary::connectors::default_schemas
