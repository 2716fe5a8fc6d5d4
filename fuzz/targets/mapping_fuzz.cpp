// The mapping language (core/mapping/mapping.hpp). The input is up to three NUL-separated parts:
// an expression, a JSON record, and mapping lines `property: expression`. The expression is
// compiled, typed against a source schema with every kind in it and evaluated on the record;
// the mapping is compiled, checked against a destination schema in every write mode and
// applied. Nothing may crash or throw; error offsets point inside the text; and errors never quote
// a record value (they may be personal data): the default record's strings carry the marker
// "Pii", which no message may contain unless the input itself does.

#include <boost/json/parse.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "core/mapping/mapping.hpp"
#include "fuzz/targets/fuzz_input.hpp"

using tributary::fuzz::require;
namespace types = tributary::types;
namespace json = boost::json;
using namespace tributary::mapping;

namespace {

types::property prop(std::string name, types::type t, bool nullable = false) {
    types::property p{.name = std::move(name), .type = std::move(t)};
    p.nullable = nullable;
    return p;
}

types::type object(std::vector<types::property> properties) {
    return types::make_object(std::move(properties)).value();
}

// The source schema of the mapping unit tests: every kind, nested objects, arrays and maps.
const types::type& source_schema() {
    static const types::type t = object({
        prop("id", types::make_string().value()),
        prop("email", types::make_string({.max_length = 100}).value()),
        prop("first_name", types::make_string().value(), true),
        prop("age", types::make_int(32).value()),
        prop("count", types::make_uint(16).value()),
        prop("score", types::make_float(64).value()),
        prop("balance", types::make_decimal(10, 2).value()),
        prop("active", types::make_boolean()),
        prop("born", types::make_date()),
        prop("updated", types::make_datetime()),
        prop("at", types::make_time()),
        prop("year", types::make_year()),
        prop("uid", types::make_uuid()),
        prop("ip", types::make_ip()),
        prop("tags", types::make_array(types::make_string().value()).value()),
        prop("location", object({prop("city", types::make_string().value(), true),
                                 prop("country", types::make_string().value())})),
        prop("attrs", types::make_map(types::make_string().value()).value()),
        prop("extra", types::make_json()),
    });
    return t;
}

const types::type& destination_schema() {
    static const types::type t = [] {
        auto email = prop("email", types::make_string({.max_length = 50}).value());
        email.create_required = true;
        auto external = prop("external_id", types::make_string().value(), true);
        external.update_required = true;
        return object({email, external, prop("age", types::make_int(8).value(), true),
                       prop("score", types::make_float(32).value()),
                       prop("balance", types::make_decimal(5, 1).value()),
                       prop("updated", types::make_datetime()), prop("born", types::make_date()),
                       prop("location", object({prop("city", types::make_string().value())})),
                       prop("props", types::make_map(types::make_json()).value()),
                       prop("tags", types::make_array(types::make_string().value()).value())});
    }();
    return t;
}

const json::object& default_record() {
    static const json::object r =
        json::parse(
            R"({"id":"u1","email":"A@PiiExample.com","first_name":null,"age":41,"count":7,)"
            R"("score":2.5,"balance":"12.34","active":true,"born":"1985-03-04",)"
            R"("updated":"2026-05-01T10:00:00.123456Z","at":"10:11:12","year":2020,)"
            R"("uid":"6ba7b810-9dad-11d1-80b4-00c04fd430c8","ip":"192.0.2.1","tags":["Piia","b"],)"
            R"("location":{"city":"PiiRome","country":"IT"},"attrs":{"k":"Piiv"},"extra":[1,{"x":null}]})")
            .as_object();
    return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto parts = tributary::fuzz::split(tributary::fuzz::as_text(data, size), 3);

    json::object record = default_record();
    if (parts.size() > 1) {
        boost::system::error_code ec;
        auto v = json::parse(parts[1], ec);
        if (!ec && v.is_object()) record = std::move(v.as_object());
    }
    const bool marked = tributary::fuzz::as_text(data, size).find("Pii") == std::string_view::npos;
    auto no_value_quoted = [&](std::string_view message) {
        require(!marked || message.find("Pii") == std::string_view::npos, "an error quotes a record value");
    };

    auto e = parse_expression(parts[0]);
    if (!e) {
        require(e.error().offset <= parts[0].size(), "expression error offset past the text");
        require(!e.error().message.empty(), "expression error without a message");
    } else {
        auto t = check(*e, source_schema());
        if (!t) require(t.error().offset <= parts[0].size(), "check error offset past the text");
        (void)check(*e, types::type{});
        if (auto v = evaluate(*e, record); !v) no_value_quoted(v.error());
        if (t) {
            for (const auto& p : destination_schema().properties())
                (void)check_assignment(*t, p, types::alignment_mode::create_or_update);
        }
    }

    if (parts.size() < 3) return 0;
    std::vector<mapping_entry> entries;
    std::string_view text = parts[2];
    while (!text.empty() && entries.size() < 32) {
        auto nl = text.find('\n');
        auto line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        auto expr = line.substr(colon + 1);
        while (!expr.empty() && expr.front() == ' ') expr.remove_prefix(1);
        entries.push_back({std::string(line.substr(0, colon)), std::string(expr)});
    }
    auto m = compile_mapping(entries);
    if (!m) {
        require(!m.error().empty(), "compile_mapping failed without a problem");
        return 0;
    }
    for (auto mode : {types::alignment_mode::read, types::alignment_mode::create_only,
                      types::alignment_mode::update_only, types::alignment_mode::create_or_update})
        (void)check_mapping(*m, source_schema(), destination_schema(), mode);
    auto out = apply(*m, record);
    for (const auto& err : out.errors) no_value_quoted(types::to_string(err));
    require(out.out.size() <= m->entries().size() || m->identity(),
            "apply produced more properties than mapped");
    return 0;
}
