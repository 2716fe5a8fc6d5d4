#pragma once
// Default schemas of the connector SDK: record shapes that more than one connector uses, so that
// local connectors agree on a shape without depending on each other.
//
// users(): the users shape. The `dummy` source generates records of it (dummy::user_schema() is
// this schema) and `jsonl` uses it when its `schema` setting is absent, so dummy → jsonl works
// without configuration. An object type with 16 properties in this order:
//
//   id, email, first_name, last_name, phone (strings), company (string, nullable),
//   birth_date (date, nullable), locale (string, one of `locales`), created_at, updated_at
//   (datetime), plan (string, one of `plans`), lifetime_value (decimal(12,2)), is_active
//   (boolean), tags (array of distinct strings from `tag_names`), location (object: city,
//   region, country, postal_code, lat, lon), custom (object: favorite_color from `colors`,
//   signup_source from `signup_sources`, score int 0..100).
//
// connectors/dummy/README.md ("Record shape") describes the values the dummy source generates;
// `tributary connectors --json` prints the schema in JSON form. Changing this shape changes what
// a jsonl connection without `schema` accepts and writes.

#include <array>
#include <string_view>

#include "core/types/type.hpp"

namespace tributary::connectors::default_schemas {

/// The values the users shape's enumerated strings allow.
namespace users_values {

inline constexpr std::array<std::string_view, 12> colors{
    "red", "orange", "yellow", "green", "teal", "blue", "indigo", "violet", "pink", "black", "white", "gray",
};

inline constexpr std::array<std::string_view, 6> signup_sources{
    "organic", "ads", "referral", "partner", "social", "event",
};

inline constexpr std::array<std::string_view, 12> tag_names{
    "vip", "newsletter", "beta",  "churn-risk", "mobile",        "desktop",
    "b2b", "b2c",        "trial", "partner",    "early-adopter", "support-heavy",
};

inline constexpr std::array<std::string_view, 4> plans{"free", "starter", "pro", "enterprise"};

inline constexpr std::array<std::string_view, 25> locales{
    "en-US", "en-CA", "fr-CA", "en-GB", "en-IE", "de-DE", "fr-FR", "it-IT", "es-ES",
    "nl-NL", "sv-SE", "da-DK", "pl-PL", "pt-BR", "es-MX", "es-AR", "ja-JP", "ko-KR",
    "en-IN", "en-SG", "en-AU", "en-NZ", "en-ZA", "en-NG", "en-KE",
};

}  // namespace users_values

/// The users shape (see the top of this file). Built once; copies share it.
const types::type& users();

}  // namespace tributary::connectors::default_schemas
