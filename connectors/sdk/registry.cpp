#include "connectors/sdk/registry.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <exception>

#include "core/http/router.hpp"

namespace tributary::connectors {

types::result<registry> registry::build(std::vector<registration> registrations) {
    std::vector<std::string> errors;
    for (std::size_t i = 0; i < registrations.size(); ++i) {
        auto& r = registrations[i];
        // The function, not the class, is what `validate` calls: trust it over the flag.
        r.caps.validate_settings = static_cast<bool>(r.validate_settings);
        for (auto& e : validate_spec(r.spec, r.caps)) errors.push_back(std::move(e));
        if (!r.factory) errors.push_back("spec '" + r.spec.code + "': no factory");
        if (r.endpoint_groups_from_settings && !r.validate_settings)
            errors.push_back("spec '" + r.spec.code +
                             "': builds endpoint groups from settings but has no validate_settings");
        for (std::size_t j = 0; j < i; ++j) {
            if (!r.spec.code.empty() && registrations[j].spec.code == r.spec.code) {
                errors.push_back("spec '" + r.spec.code + "': code is registered twice");
                break;
            }
        }
    }
    if (!errors.empty()) {
        std::string message = "invalid connector registrations:";
        for (const auto& e : errors) message += "\n  " + e;
        return types::unexpected{std::move(message)};
    }
    return registry{std::move(registrations)};
}

const registration* registry::find(std::string_view code) const {
    for (const auto& r : registrations_)
        if (r.spec.code == code) return &r;
    return nullptr;
}

namespace {

std::string roles_text(const application_spec& s) {
    std::string out;
    auto targets = [](const target_set& t) {
        std::string x;
        if (t.users) x += "users";
        if (t.events) x += x.empty() ? "events" : ", events";
        return x;
    };
    if (s.source) out += "source (" + targets(s.source->targets) + ")";
    if (s.destination) {
        if (!out.empty()) out += "; ";
        out += "destination (" + targets(s.destination->targets) + ")";
    }
    return out;
}

// Two spaces per level, one key per line: `connectors --json` is read by people as much as
// by scripts.
void pretty(std::string& out, const boost::json::value& v, int indent) {
    auto pad = [&](int n) { out.append(static_cast<std::size_t>(n) * 2, ' '); };
    if (v.is_object() && !v.get_object().empty()) {
        out += "{\n";
        bool first = true;
        for (const auto& kv : v.get_object()) {
            if (!first) out += ",\n";
            first = false;
            pad(indent + 1);
            out += boost::json::serialize(boost::json::string(kv.key()));
            out += ": ";
            pretty(out, kv.value(), indent + 1);
        }
        out += "\n";
        pad(indent);
        out += "}";
    } else if (v.is_array() && !v.get_array().empty()) {
        out += "[\n";
        bool first = true;
        for (const auto& e : v.get_array()) {
            if (!first) out += ",\n";
            first = false;
            pad(indent + 1);
            pretty(out, e, indent + 1);
        }
        out += "\n";
        pad(indent);
        out += "]";
    } else {
        out += boost::json::serialize(v);
    }
}

}  // namespace

std::string registry::describe(bool json) const {
    if (json) {
        boost::json::array a;
        for (const auto& r : registrations_) a.push_back(to_json(r.spec));
        std::string out;
        pretty(out, a, 0);
        out += '\n';
        return out;
    }
    std::size_t width = 0;
    for (const auto& r : registrations_) width = std::max(width, r.spec.code.size());
    std::string out;
    for (const auto& r : registrations_) {
        out += r.spec.code;
        out.append(width + 2 - r.spec.code.size(), ' ');
        out += r.spec.label + "  " + roles_text(r.spec) + "\n";
    }
    return out;
}

std::vector<settings_error> registry::validate_settings(std::string_view code,
                                                        const boost::json::value& settings) const {
    const auto* r = find(code);
    if (!r) return {{"", "unknown connector '" + std::string{code} + "'"}};
    if (!r->validate_settings) {
        if (settings.is_null() || (settings.is_object() && settings.get_object().empty())) return {};
        return {{"", "connector '" + std::string{code} + "' has no settings"}};
    }
    try {
        return r->validate_settings(settings);
    } catch (const std::exception& e) {
        // A validator that throws is a connector bug; the user still gets an answer.
        return {{"", "the connector failed to check its settings: " + std::string{e.what()}}};
    }
}

connection_profile registry::profile(std::string_view code, const boost::json::value& settings) const {
    connection_profile out;
    const auto* r = find(code);
    if (!r) return out;
    if (r->profile && validate_settings(code, settings).empty()) out = r->profile(settings);
    if (!out.destination_targets && r->spec.destination)
        out.destination_targets = r->spec.destination->targets;
    return out;
}

types::result<std::vector<http::endpoint_group>> registry::endpoint_groups(
    std::string_view code, const boost::json::value& settings) const {
    const auto* r = find(code);
    if (!r) return types::unexpected{"unknown connector '" + std::string{code} + "'"};
    if (!r->endpoint_groups_from_settings) return r->spec.endpoint_groups;
    auto errors = validate_settings(code, settings);
    if (!errors.empty()) {
        std::string message = "invalid settings:";
        for (const auto& e : errors)
            message += " " + (e.path.empty() ? std::string{"settings"} : e.path) + ": " + e.message + ";";
        message.pop_back();
        return types::unexpected{std::move(message)};
    }
    std::vector<http::endpoint_group> groups;
    try {
        auto built = r->endpoint_groups_from_settings(settings);
        if (!built) return types::unexpected{"endpoint groups: " + built.error()};
        groups = std::move(*built);
    } catch (const std::exception& e) {
        return types::unexpected{"connector '" + std::string{code} +
                                 "' failed to build its endpoint groups: " + e.what()};
    }
    // The spec's rules for groups (spec.hpp rule 9), applied to what the settings produced: fail
    // closed on an unmetered group, and let the router judge the table.
    if (groups.empty()) return types::unexpected{"endpoint groups: none were built from the settings"};
    if (!r->spec.endpoint_groups.empty()) {
        // The spec's groups are the published defaults; settings may change their limits, not
        // which groups there are (config overrides name them).
        bool same = groups.size() == r->spec.endpoint_groups.size();
        for (std::size_t i = 0; same && i < groups.size(); ++i)
            same = groups[i].name == r->spec.endpoint_groups[i].name;
        if (!same)
            return types::unexpected{
                "endpoint groups: the settings built other groups than the spec declares"};
    }
    for (const auto& g : groups)
        if (g.limits.empty()) return types::unexpected{"endpoint group '" + g.name + "' has no limits"};
    auto routes = http::router::build(groups);
    if (!routes) return types::unexpected{"endpoint groups: " + routes.error()};
    return groups;
}

outcome_of<std::unique_ptr<connector>> registry::create(std::string_view code, connector_env env) const {
    const auto* r = find(code);
    if (!r) return make_error(error_kind::contract, "unknown connector '" + std::string{code} + "'");
    // Shared, because a connector may keep its env (and the sink) after construction; later
    // reports then land here harmlessly instead of in a dead stack frame.
    auto reported = std::make_shared<std::vector<settings_error>>(validate_settings(code, env.settings));
    auto& errors = *reported;
    auto upstream = std::move(env.report_settings_error);
    env.report_settings_error = [reported](settings_error e) { reported->push_back(std::move(e)); };
    std::unique_ptr<connector> made;
    if (errors.empty()) {
        try {
            made = r->factory(std::move(env));
        } catch (const std::exception& e) {
            return make_error(error_kind::contract,
                              "connector '" + std::string{code} + "' failed to start: " + e.what());
        }
    }
    if (!errors.empty()) {
        std::string message = "invalid settings:";
        for (const auto& e : errors) {
            message += " " + (e.path.empty() ? std::string{"settings"} : e.path) + ": " + e.message + ";";
            if (upstream) upstream(e);
        }
        message.pop_back();
        return make_error(error_kind::invalid_settings, std::move(message));
    }
    if (!made)
        return make_error(error_kind::contract,
                          "connector '" + std::string{code} + "' factory returned nothing");
    return made;
}

}  // namespace tributary::connectors
