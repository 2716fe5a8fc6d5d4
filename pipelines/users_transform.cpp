#include "pipelines/users_transform.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>
#include <memory>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

#include "core/types/prune.hpp"
#include "core/types/value.hpp"

namespace tributary::pipelines {

namespace json = boost::json;

std::string_view to_string(match_kind k) noexcept {
    switch (k) {
        case match_kind::none:
            return "none";
        case match_kind::native:
            return "native";
        case match_kind::lookup:
            return "lookup";
    }
    return "none";
}

std::string_view to_string(failure_stage s) noexcept {
    switch (s) {
        case failure_stage::none:
            return "none";
        case failure_stage::source:
            return "source";
        case failure_stage::mapping:
            return "mapping";
        case failure_stage::match:
            return "match";
        case failure_stage::destination:
            return "destination";
    }
    return "none";
}

std::string_view to_string(action a) noexcept {
    switch (a) {
        case action::create:
            return "create";
        case action::update:
            return "update";
        case action::skip:
            return "skip";
    }
    return "create";
}

namespace {

std::string join_errors(std::string_view prefix, const std::vector<types::value_error>& errors) {
    std::string out{prefix};
    for (std::size_t i = 0; i < errors.size(); ++i) {
        if (i > 0) out += "; ";
        out += types::to_string(errors[i]);
    }
    return out;
}

enum class key_state { ok, missing, not_scalar };

// The text a match value is looked up by: strings as they are, other scalars in JSON form, so a
// destination that stores 5 where the source has "5" still matches.
key_state key_of(const json::value& v, std::string& out) {
    switch (v.kind()) {
        case json::kind::string:
            out.assign(v.get_string().data(), v.get_string().size());
            return out.empty() ? key_state::missing : key_state::ok;
        case json::kind::int64:
        case json::kind::uint64:
        case json::kind::double_:
        case json::kind::bool_:
            out = json::serialize(v);
            return key_state::ok;
        case json::kind::null:
            return key_state::missing;
        case json::kind::object:
        case json::kind::array:
            return key_state::not_scalar;
    }
    return key_state::missing;
}

// Sets `path` ("a.b") in `o`, creating (or replacing non-object) intermediate objects.
void set_path(json::object& o, std::string_view path, json::value v) {
    json::object* at = &o;
    for (;;) {
        const auto dot = path.find('.');
        if (dot == std::string_view::npos) {
            (*at)[path] = std::move(v);
            return;
        }
        json::value& next = (*at)[path.substr(0, dot)];
        if (!next.is_object()) next = json::object{};
        at = &next.get_object();
        path.remove_prefix(dot + 1);
    }
}

std::uint64_t digits(std::uint64_t n) noexcept {
    std::uint64_t d = 1;
    while (n >= 10) {
        n /= 10;
        ++d;
    }
    return d;
}

std::uint64_t approx_value_size(const json::value& v) noexcept {
    switch (v.kind()) {
        case json::kind::null:
            return 4;
        case json::kind::bool_:
            return v.get_bool() ? 4 : 5;
        case json::kind::int64: {
            const std::int64_t i = v.get_int64();
            return i < 0 ? 1 + digits(0 - static_cast<std::uint64_t>(i))
                         : digits(static_cast<std::uint64_t>(i));
        }
        case json::kind::uint64:
            return digits(v.get_uint64());
        case json::kind::double_:
            return 24;
        case json::kind::string:
            return v.get_string().size() + 2;
        case json::kind::array: {
            const auto& a = v.get_array();
            std::uint64_t n = 2 + (a.empty() ? 0 : a.size() - 1);
            for (const auto& e : a) n += approx_value_size(e);
            return n;
        }
        case json::kind::object:
            return approx_json_size(v.get_object());
    }
    return 0;
}

// An expression that is a path to a top-level property of that name (mapping.hpp's grammar: an
// identifier that is not a literal).
bool plain_identifier(std::string_view text) {
    if (text.empty() || text == "true" || text == "false" || text == "null") return false;
    const auto letter = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
    if (!letter(text.front())) return false;
    return std::all_of(text.begin() + 1, text.end(),
                       [&letter](char c) { return letter(c) || (c >= '0' && c <= '9'); });
}

types::alignment_mode alignment_of(write_mode m) {
    switch (m) {
        case write_mode::create:
            return types::alignment_mode::create_only;
        case write_mode::update:
            return types::alignment_mode::update_only;
        case write_mode::upsert:
            break;
    }
    return types::alignment_mode::create_or_update;
}

// The errors `tributary validate --online` reports for this mapping and these schemas, told as
// the settings say; warnings (some values may be refused) do not stop a run.
std::optional<std::string> schema_errors(const users_job_settings& s,
                                         const mapping::mapping& m,
                                         const types::type& source,
                                         const types::type& destination) {
    std::string out;
    for (const auto& p : mapping::check_mapping(m, source, destination, alignment_of(s.mode))) {
        if (p.level != types::severity::error) continue;
        out += out.empty() ? "the mapping does not fit the connectors' schemas: " : "; ";
        out += s.describe_mapping_problem ? s.describe_mapping_problem(p)
                                          : "mapping." + p.property + ": " + p.message;
    }
    if (out.empty()) return std::nullopt;
    return out;
}

}  // namespace

void take_json(json::object& to, json::object&& from) noexcept {
    std::destroy_at(&to);
    std::construct_at(&to, std::move(from));
}

std::uint64_t approx_json_size(const json::object& o) noexcept {
    // Braces, commas, and per member the quoted key and the colon.
    std::uint64_t n = 2 + (o.empty() ? 0 : o.size() - 1);
    for (const auto& m : o) n += m.key().size() + 3 + approx_value_size(m.value());
    return n;
}

result<users_transform> users_transform::make(const users_job_settings& s,
                                              const types::type& source_schema,
                                              const types::type& destination_schema) {
    users_transform t;
    auto compiled = mapping::compile_mapping(s.mapping);
    if (!compiled) {
        std::string msg = "invalid mapping";
        for (const auto& p : compiled.error()) msg += "; " + p.property + ": " + p.message;
        return unexpected{std::move(msg)};
    }
    t.mapping_ = std::move(*compiled);
    // The identity mapping copies what the destination has, by definition; a written mapping
    // must fit as a whole.
    if (!t.mapping_.identity()) {
        if (auto error = schema_errors(s, t.mapping_, source_schema, destination_schema))
            return unexpected{std::move(*error)};
    }
    t.source_schema_ = source_schema;
    t.source_layouts_ = s.source_layouts;
    t.mode_ = s.mode;
    t.dest_options_.required = s.mode == write_mode::create   ? types::presence::create
                               : s.mode == write_mode::update ? types::presence::update
                                                              : types::presence::none;

    if (s.match) {
        if (s.match->source.empty() || s.match->destination.empty())
            return unexpected{"match: source and destination are required"};
        auto source = mapping::parse_expression(s.match->source);
        if (!source)
            return unexpected{"match: source \"" + s.match->source + "\": " + source.error().message};
        auto dest = mapping::parse_expression(s.match->destination);
        if (!dest)
            return unexpected{"match: destination \"" + s.match->destination + "\": " + dest.error().message};
        if (types::find_path(destination_schema, s.match->destination) == nullptr)
            return unexpected{"match: the destination schema has no property \"" + s.match->destination +
                              "\""};
        t.match_source_ = std::move(*source);
        t.match_dest_ = std::move(*dest);
        t.match_source_path_ = s.match->source;
        t.match_destination_ = s.match->destination;
        const auto& native = s.destination_match_properties;
        const bool listed = std::find(native.begin(), native.end(), s.match->destination) != native.end();
        // The connector's own matching is an upsert: create and update modes need to know
        // whether the user exists before sending, which only the lookup table answers.
        t.kind_ = listed && s.mode == write_mode::upsert ? match_kind::native : match_kind::lookup;
    }

    // upsert() takes a subset of the destination schema: the properties written.
    const std::string& matched = t.match_destination_;
    if (t.mapping_.identity()) {
        const types::type& from = source_schema;
        t.dest_schema_ = types::prune(
            destination_schema, [&from, &matched](std::string_view path, const types::property&) {
                return path == matched ||
                       (path.find('.') == std::string_view::npos && from.find(path) != nullptr);
            });
    } else {
        const auto& entries = t.mapping_.entries();
        t.dest_schema_ = types::prune(
            destination_schema, [&entries, &matched](std::string_view path, const types::property&) {
                return path == matched || std::any_of(entries.begin(), entries.end(),
                                                      [path](const auto& e) { return e.property == path; });
            });
    }
    if (!t.dest_schema_.valid())
        return unexpected{"the mapping writes no property of the destination schema"};
    // Matching `p` on `p` (a top-level property of both sides) writes into the record the value it
    // holds already: the record stays as read.
    const bool match_in_place = t.kind_ == match_kind::none || (s.match->source == s.match->destination &&
                                                                plain_identifier(s.match->destination));
    t.destination_implied_ = t.mapping_.identity() && match_in_place &&
                             t.dest_options_.required == types::presence::none &&
                             t.dest_schema_ == source_schema;
    return t;
}

bool users_transform::set_match(json::object& out, const json::object& source, transformed& t) const {
    auto value = mapping::evaluate(*match_source_, source);
    if (!value) {
        t.error = "match: " + value.error();
        t.stage = failure_stage::match;
        return false;
    }
    std::string key;
    const key_state state = value->has_value() ? key_of(**value, key) : key_state::missing;
    if (state == key_state::missing) {
        t.error = "match: no value for " + match_source_path_;
        t.stage = failure_stage::match;
        return false;
    }
    if (state == key_state::not_scalar) {
        t.error = "match: the value of " + match_source_path_ + " is not a string, number or boolean";
        t.stage = failure_stage::match;
        return false;
    }
    set_path(out, match_destination_, std::move(**value));
    if (kind_ == match_kind::lookup) t.match_key = std::move(key);
    return true;
}

namespace {

// What a match value written into a record in place replaced, so that a record refused later on
// the path can be given back as it was read: only a top-level property is remembered (a dotted
// path may have created objects on its way, so the caller copies the record then).
struct replaced_property {
    std::string_view key{};
    std::optional<json::value> before{};

    static replaced_property of(const json::object& o, std::string_view key) {
        replaced_property r{key, std::nullopt};
        if (const auto* v = o.if_contains(key)) r.before = *v;
        return r;
    }
    void restore(json::object& o) && {
        if (before)
            o[key] = std::move(*before);
        else
            o.erase(key);  // it was appended last, so the order of the rest is kept
    }
};

}  // namespace

// The record is moved along the path when it is canonical (types::normalize moves such a value
// and leaves null behind), so nothing is copied for well-behaved sources. The record as read is
// then the one moving along, and a refusal hands it back as it was.
transformed users_transform::from_source(std::string_view source_id, json::value raw) const {
    transformed t;
    auto source_side = types::normalize(source_schema_, std::move(raw), source_layouts_);
    if (!source_side.ok()) {
        t.error = join_errors("source: ", source_side.errors);
        t.stage = failure_stage::source;
        t.raw = std::move(raw);  // left as it was
        return t;
    }
    // Otherwise `raw` still holds the record as read.
    const bool moved = raw.is_null();
    const auto refuse = [&t, &raw, moved](json::value* as_read, failure_stage stage, std::string error) {
        t.error = std::move(error);
        t.stage = stage;
        t.raw = moved ? std::move(*as_read) : std::move(raw);
        return std::move(t);
    };
    // Emplaced, not assigned, so that it keeps the record's storage (take_json).
    std::optional<json::object> mapped;
    std::optional<replaced_property> replaced;
    json::value copy_as_read;
    if (mapping_.identity()) {
        if (kind_ != match_kind::none) {
            // The match value is read before the record is moved into the output.
            json::object& source = source_side.out.as_object();
            // Implied: no destination check, so no refusal after the match value is written.
            if (moved && !destination_implied_) {
                if (match_destination_.find('.') == std::string::npos)
                    replaced = replaced_property::of(source, match_destination_);
                else
                    copy_as_read = source_side.out;
            }
            if (!set_match(source, source, t)) return refuse(&source_side.out, t.stage, std::move(t.error));
        }
        mapped.emplace(std::move(source_side.out.as_object()));
        if (moved && destination_implied_) {
            // Canonical for the source schema, hence for the same schema at the destination:
            // checking it again would find nothing.
            take_json(t.rec.properties, std::move(*mapped));
            set_ids(t, source_id);
            return t;
        }
    } else {
        auto m = mapping::apply(mapping_, source_side.out.as_object());
        if (!m.errors.empty())
            return refuse(&source_side.out, failure_stage::mapping, join_errors("mapping: ", m.errors));
        mapped.emplace(std::move(m.out));
        if (kind_ != match_kind::none && !set_match(*mapped, source_side.out.as_object(), t))
            return refuse(&source_side.out, t.stage, std::move(t.error));
    }
    json::value dest_in(std::move(*mapped));
    auto dest_side = types::normalize(dest_schema_, std::move(dest_in), dest_options_);
    if (!dest_side.ok()) {
        t.match_key.clear();
        // `dest_in` is left as it was: with the identity mapping, the record as read plus the
        // match value.
        json::value* as_read = &source_side.out;
        if (mapping_.identity()) {
            as_read = copy_as_read.is_null() ? &dest_in : &copy_as_read;
            if (replaced) std::move(*replaced).restore(dest_in.as_object());
        }
        return refuse(as_read, failure_stage::destination, join_errors("destination: ", dest_side.errors));
    }
    take_json(t.rec.properties, std::move(dest_side.out.as_object()));
    set_ids(t, source_id);
    return t;
}

void users_transform::set_ids(transformed& t, std::string_view source_id) const {
    switch (kind_) {
        case match_kind::none:
            if (mode_ != write_mode::create) t.rec.id.assign(source_id);
            break;
        case match_kind::native:
            t.rec.match_property = match_destination_;
            break;
        case match_kind::lookup:
            break;
    }
}

transformed users_transform::from_sent(std::string_view source_id,
                                       const json::value& sent,
                                       std::string_view match_key) const {
    transformed t;
    auto dest_side = types::normalize(dest_schema_, sent, dest_options_);
    if (!dest_side.ok()) {
        t.error = join_errors("destination: ", dest_side.errors);
        t.stage = failure_stage::destination;
        return t;
    }
    t.rec.properties = std::move(dest_side.out.as_object());
    switch (kind_) {
        case match_kind::none:
            if (mode_ != write_mode::create) t.rec.id.assign(source_id);
            break;
        case match_kind::native:
            if (!destination_key(t.rec.properties)) {
                t.error = "match: no value for " + match_source_path_;
                t.stage = failure_stage::match;
                return t;
            }
            t.rec.match_property = match_destination_;
            break;
        case match_kind::lookup:
            if (match_key.empty()) {
                t.error = "match: no value for " + match_source_path_;
                t.stage = failure_stage::match;
                return t;
            }
            t.match_key.assign(match_key);
            break;
    }
    return t;
}

decision users_transform::decide(const std::string* found) const {
    if (found != nullptr) {
        if (mode_ == write_mode::create)
            return {action::skip, {}, "match: a destination user has this value (mode create)"};
        return {action::update, *found, {}};
    }
    if (mode_ == write_mode::update)
        return {action::skip, {}, "match: no destination user has this value (mode update)"};
    return {action::create, {}, {}};
}

std::optional<std::string> users_transform::destination_key(const json::object& properties) const {
    if (!match_dest_) return std::nullopt;
    auto value = mapping::evaluate(*match_dest_, properties);
    if (!value || !value->has_value()) return std::nullopt;
    std::string key;
    if (key_of(**value, key) != key_state::ok) return std::nullopt;
    return key;
}

std::string encode_payload(std::string_view id,
                           std::int64_t updated_at_us,
                           dead_letter_payload::stage at,
                           const json::value& properties,
                           std::string_view match_key) {
    // Serialized piecewise so the properties are not copied into a new object.
    std::string out = "{\"id\":";
    out += json::serialize(json::string_view{id.data(), id.size()});
    out += ",\"updated_at_us\":";
    out += std::to_string(updated_at_us);
    out += at == dead_letter_payload::stage::source ? ",\"stage\":\"source\"" : ",\"stage\":\"destination\"";
    out += ",\"properties\":";
    out += properties.is_object() ? json::serialize(properties) : std::string{"{}"};
    if (!match_key.empty()) {
        out += ",\"match_key\":";
        out += json::serialize(json::string_view{match_key.data(), match_key.size()});
    }
    out += '}';
    return out;
}

std::optional<dead_letter_payload> decode_payload(std::string_view text) {
    std::error_code ec;
    json::value v = json::parse(json::string_view{text.data(), text.size()}, ec);
    if (ec || !v.is_object()) return std::nullopt;
    auto& o = v.get_object();
    dead_letter_payload p;
    const auto* id = o.if_contains("id");
    const auto* at = o.if_contains("updated_at_us");
    auto* props = o.if_contains("properties");
    if (id == nullptr || !id->is_string() || id->get_string().empty()) return std::nullopt;
    if (at == nullptr || !at->is_int64()) return std::nullopt;
    if (props == nullptr || !props->is_object()) return std::nullopt;
    p.id.assign(id->get_string().data(), id->get_string().size());
    p.updated_at_us = at->get_int64();
    if (const auto* stage = o.if_contains("stage")) {
        if (!stage->is_string()) return std::nullopt;
        if (stage->get_string() == "destination")
            p.at = dead_letter_payload::stage::destination;
        else if (stage->get_string() != "source")
            return std::nullopt;
    }
    if (const auto* key = o.if_contains("match_key")) {
        if (!key->is_string()) return std::nullopt;
        p.match_key.assign(key->get_string().data(), key->get_string().size());
    }
    p.properties = std::move(props->get_object());
    return p;
}

}  // namespace tributary::pipelines
