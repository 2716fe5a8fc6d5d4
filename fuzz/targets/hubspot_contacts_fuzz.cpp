// HubSpot's answers as the connector reads them (connectors/hubspot/contacts.hpp). The input is
// three NUL-separated parts: an answer body, a properties answer and a stored cursor.
//   body        parsed as a list/search page; each contact mapped to a record under a schema of
//               every default property; the search machine's next step taken from the cursor;
//               the same bytes parsed as a batch answer (200, 207, 400), as account details,
//               and turned into the connector error of a 400/401/429/503 answer
//   properties  parsed as GET /crm/v3/properties/contacts; the schema built from it for reading
//               and writing; each property's type
//   cursor      decoded as a search cursor and as a list cursor
// Nothing may crash or throw; a mapped record keeps the contact's id; a cursor the machine
// produces, and any cursor that decodes, survives encode -> decode unchanged; the token never
// appears in an error.

#include <cstdint>
#include <string>
#include <vector>

#include "connectors/hubspot/contacts.hpp"
#include "fuzz/targets/fuzz_input.hpp"

using tributary::fuzz::require;
namespace hubspot = tributary::connectors::hubspot;

namespace {

const std::string token = "pat-na1-0123456789abcdef";

// Every default property as HubSpot describes it (strings, a datetime, an enumeration).
std::vector<hubspot::property_def> default_defs() {
    std::vector<hubspot::property_def> defs;
    for (const auto& name : hubspot::default_properties()) {
        hubspot::property_def d;
        d.name = name;
        d.type = name == "lastmodifieddate" || name == "createdate" ? "datetime" : "string";
        defs.push_back(d);
    }
    hubspot::property_def score;
    score.name = "score";
    score.type = "number";
    defs.push_back(score);
    hubspot::property_def plan;
    plan.name = "plan";
    plan.type = "enumeration";
    plan.options = {"free", "pro"};
    defs.push_back(plan);
    return defs;
}

const tributary::types::type* read_schema() {
    static const auto schema = [] {
        auto wanted = hubspot::default_properties();
        wanted.push_back("score");
        wanted.push_back("plan");
        return hubspot::contact_schema(default_defs(), wanted, tributary::connectors::role::source);
    }();
    return schema ? &*schema : nullptr;
}

void check_cursor(const hubspot::search_cursor& c) {
    auto again = hubspot::decode_search_cursor(hubspot::encode(c));
    require(again.has_value() && *again == c, "a search cursor does not survive encode -> decode");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto parts = tributary::fuzz::split(tributary::fuzz::as_text(data, size), 3);
    const auto body = parts[0];

    std::optional<hubspot::search_cursor> cursor;
    if (parts.size() > 2) {
        cursor = hubspot::decode_search_cursor(parts[2]);
        if (cursor) check_cursor(*cursor);
        if (auto after = hubspot::decode_list_cursor(parts[2])) {
            auto again = hubspot::decode_list_cursor(hubspot::encode_list_cursor(*after));
            require(again.has_value() && *again == *after, "a list cursor does not survive encode -> decode");
        }
    }

    auto page = hubspot::parse_contacts_page(body, 1u << 20);
    if (page) {
        if (const auto* schema = read_schema()) {
            for (const auto& c : page->contacts) {
                auto rec = hubspot::to_record(c, *schema);
                if (rec) require(rec->id == c.id, "the record's id is not the contact's");
                (void)hubspot::last_modified_ms(c);
            }
        }
        auto next = hubspot::next_search(cursor.value_or(hubspot::search_cursor{}), *page);
        if (next && *next) check_cursor(**next);
    } else {
        require(!page.error().empty(), "parse_contacts_page refused without a message");
    }
    for (int status : {200, 207, 400}) (void)hubspot::parse_batch_answer(body, status);
    (void)hubspot::parse_account_details(body);
    for (int status : {400, 401, 429, 503}) {
        auto e = hubspot::error_for_status(status, body, "reading contacts", token);
        require(e.message.find(token) == std::string::npos, "error_for_status message quotes the token");
        require(e.vendor_detail.find(token) == std::string::npos, "error_for_status detail quotes the token");
    }

    if (parts.size() > 1) {
        auto defs = hubspot::parse_properties(parts[1]);
        if (defs) {
            for (const auto& d : *defs) (void)hubspot::type_of(d);
            std::vector<std::string> wanted = hubspot::default_properties();
            for (const auto& d : *defs) wanted.push_back(d.name);
            (void)hubspot::contact_schema(*defs, wanted, tributary::connectors::role::source);
            (void)hubspot::contact_schema(*defs, wanted, tributary::connectors::role::destination);
        }
    }
    return 0;
}
