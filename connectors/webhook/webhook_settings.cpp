#include "connectors/webhook/webhook_settings.hpp"

#include <boost/json/object.hpp>

#include <algorithm>
#include <array>
#include <charconv>

#include "connectors/webhook/signing.hpp"
#include "core/http/message.hpp"
#include "core/http/status_set.hpp"

namespace tributary::connectors::webhook {

namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t max_events_limit = 1000;
constexpr std::uint64_t min_body_bytes = 1024;
constexpr std::uint64_t max_body_bytes = 64u << 20;
constexpr std::size_t max_headers = 32;
constexpr std::size_t max_header_value = 8192;
constexpr std::uint32_t max_limit_requests = 1'000'000;

constexpr std::string_view duration_help = "must be a duration such as 250ms, 10s, 5m or 1h";

// Headers the connector sets itself: letting a setting replace them would break the signature,
// the body's framing or the receiver's deduplication.
constexpr std::array<std::string_view, 10> reserved_headers{
    "webhook-id",     "webhook-timestamp", "webhook-signature", "content-type",
    "content-length", "content-encoding",  "transfer-encoding", "host",
    "connection",     "idempotency-key",
};

struct unit {
    std::string_view name;
    std::uint64_t factor;
};

constexpr std::array<unit, 5> duration_units{
    {{"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}}};
constexpr std::array<unit, 5> size_units{
    {{"B", 1}, {"KB", 1000}, {"MB", 1'000'000}, {"KiB", 1u << 10}, {"MiB", 1u << 20}}};

// A whole number and a unit from `units`; nullopt on anything else or on overflow.
template <std::size_t N>
std::optional<std::uint64_t> number_with_unit(std::string_view text, const std::array<unit, N>& units) {
    std::uint64_t n = 0;
    const char* end = text.data() + text.size();
    auto [rest, ec] = std::from_chars(text.data(), end, n);
    if (ec != std::errc{} || rest == text.data()) return std::nullopt;
    std::string_view name{rest, static_cast<std::size_t>(end - rest)};
    for (const auto& u : units) {
        std::uint64_t out = 0;
        if (u.name == name)
            return __builtin_mul_overflow(n, u.factor, &out) ? std::nullopt : std::optional{out};
    }
    return std::nullopt;
}

std::string format_ms(std::chrono::milliseconds d) {
    const auto ms = d.count();
    if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
    if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
}

std::chrono::milliseconds read_duration(settings_reader& r,
                                        std::string_view key,
                                        std::chrono::milliseconds fallback,
                                        std::chrono::milliseconds min,
                                        std::chrono::milliseconds max) {
    const auto* v = r.find(key);
    if (v == nullptr || v->is_null()) return fallback;
    std::optional<std::chrono::milliseconds> d;
    if (v->is_string()) d = parse_duration(v->get_string());
    if (!d) {
        r.error(key, std::string{duration_help});
        return fallback;
    }
    if (*d < min || *d > max) {
        r.error(key, "must be between " + format_ms(min) + " and " + format_ms(max));
        return fallback;
    }
    return *d;
}

bool is_token_char(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return std::string_view{"!#$%&'*+-.^_`|~"}.find(c) != std::string_view::npos;
}

void read_headers(settings_reader& r, webhook_settings& out) {
    auto h = r.object("headers");
    if (!h) return;
    const auto* obj = r.find("headers");
    const auto& o = obj->get_object();
    if (o.size() > max_headers) {
        r.error("headers", "must have at most " + std::to_string(max_headers) + " entries");
        return;
    }
    for (const auto& kv : o) {
        const std::string_view name = kv.key();
        if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char)) {
            // The name is not quoted: it failed to be a header name, so it may be anything.
            h->error(name, "is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)");
            continue;
        }
        bool reserved = std::any_of(reserved_headers.begin(), reserved_headers.end(),
                                    [&](std::string_view x) { return http::iequals(x, name); });
        if (reserved) {
            h->error(name, "is set by the connector and cannot be overridden");
            continue;
        }
        if (!kv.value().is_string()) {
            h->error(name, "must be a string");
            continue;
        }
        std::string_view value = kv.value().get_string();
        if (value.size() > max_header_value) {
            h->error(name, "must be at most " + std::to_string(max_header_value) + " bytes long");
            continue;
        }
        // CR or LF would let a value inject headers; other controls are refused by receivers.
        bool control = std::any_of(value.begin(), value.end(), [](char c) {
            auto u = static_cast<unsigned char>(c);
            return (u < 0x20 && c != '\t') || u == 0x7f;
        });
        if (control) {
            h->error(name, "must not contain control characters (line breaks included)");
            continue;
        }
        out.headers.emplace_back(std::string{name}, std::string{value});
    }
}

void read_secrets(settings_reader& r, webhook_settings& out) {
    const auto* v = r.find("secrets");
    if (v == nullptr || v->is_null()) {
        r.error("secrets", "is required (one whsec_... secret, or two while rotating)");
        return;
    }
    std::vector<const json::value*> items;
    if (v->is_string()) {
        items.push_back(v);
    } else if (v->is_array()) {
        for (const auto& e : v->get_array()) items.push_back(&e);
        if (items.empty() || items.size() > 2) {
            r.error("secrets",
                    "must hold 1 or 2 secrets (2 while rotating), not " + std::to_string(items.size()));
            return;
        }
    } else {
        r.error("secrets", "must be a secret or a list of 1 or 2 secrets");
        return;
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
        const std::string key = v->is_array() ? join_index("secrets", i) : std::string{"secrets"};
        if (!items[i]->is_string()) {
            r.error(key, "must be a string");
            continue;
        }
        auto decoded = decode_secret(items[i]->get_string());
        if (!decoded) {
            r.error(key, decoded.error());
            continue;
        }
        if (std::find(out.keys.begin(), out.keys.end(), *decoded) != out.keys.end()) {
            r.error(key, "is the same secret as secrets[0]");
            continue;
        }
        out.keys.push_back(std::move(*decoded));
    }
}

http::rate_limit read_limit(settings_reader& l) {
    http::rate_limit limit;
    auto kind = l.one_of("kind", {"token_bucket", "fixed_window", "sliding_window"}, "token_bucket");
    limit.kind = http::parse_limit_kind(kind).value_or(http::limit_kind::token_bucket);
    limit.requests = static_cast<std::uint32_t>(l.required_int("requests", 1, max_limit_requests));
    if (l.find("per") == nullptr || l.find("per")->is_null()) {
        l.error("per", "is required (a duration such as 1s or 1m)");
    } else {
        limit.per = read_duration(l, "per", 1s, 1ms, 24h);
    }
    if (const auto* b = l.find("burst"); b != nullptr && !b->is_null()) {
        if (limit.kind != http::limit_kind::token_bucket)
            l.error("burst", "applies only to a token_bucket limit");
        else
            limit.burst = static_cast<std::uint32_t>(l.optional_int("burst", 0, 1, max_limit_requests));
    }
    if (const auto* a = l.find("align"); a != nullptr && !a->is_null()) {
        if (limit.kind != http::limit_kind::fixed_window)
            l.error("align", "applies only to a fixed_window limit");
        else if (std::chrono::milliseconds{24h} % limit.per != 0ms)
            l.error("align", "clock needs a per that divides a day");
        else
            limit.align =
                http::parse_limit_align(l.one_of("align", {"clock"}, "clock")).value_or(limit.align);
    }
    l.reject_unknown({"kind", "requests", "per", "burst", "align"});
    return limit;
}

void read_limits(settings_reader& r, webhook_settings& out) {
    const auto* v = r.find("limits");
    if (v == nullptr || v->is_null()) {
        out.limits = {http::rate_limit{http::limit_kind::token_bucket, 10, 1s, 0}};
        return;
    }
    if (v->is_object()) {
        // One limit, written without a list.
        if (auto one = r.object("limits")) out.limits.push_back(read_limit(*one));
        return;
    }
    if (!v->is_array()) {
        r.error("limits", "must be a limit ({requests: 10, per: 1s}) or a list of limits");
        return;
    }
    if (v->get_array().empty()) {
        r.error("limits", "must hold at least one limit: a receiver is never left unmetered");
        return;
    }
    for (auto& l : r.objects("limits")) out.limits.push_back(read_limit(l));
}

void read_retry(settings_reader& r, webhook_settings& out) {
    auto rr = r.object("retry");
    if (!rr) return;
    auto& s = out.retry;
    if (auto statuses = rr->optional_string("statuses")) {
        auto set = http::status_set::parse(*statuses);
        if (!set) {
            rr->error("statuses", set.error());
        } else {
            bool outside = false;
            for (int code = http::status_set::min_status; code < 400; ++code) outside |= set->contains(code);
            if (outside)
                rr->error("statuses",
                          "may list only statuses 400 to 599 (2xx is success, redirects are not followed)");
            else
                s.statuses = *statuses;
        }
    }
    s.max_attempts = static_cast<std::uint32_t>(rr->optional_int("max_attempts", s.max_attempts, 1, 20));
    s.backoff = read_duration(*rr, "backoff", s.backoff, 1ms, 1h);
    s.max_backoff = read_duration(*rr, "max_backoff", std::max(s.max_backoff, s.backoff), 1ms, 1h);
    if (s.max_backoff < s.backoff) {
        rr->error("max_backoff", "must not be shorter than retry.backoff");
        s.max_backoff = s.backoff;
    }
    rr->reject_unknown({"statuses", "max_attempts", "backoff", "max_backoff"});
}

// "408 409 500-599": the codes of `set` other than `skip`, as status_set ranges.
std::string codes_text(const http::status_set& set, int skip) {
    std::string out;
    int code = http::status_set::min_status;
    while (code <= http::status_set::max_status) {
        if (!set.contains(code) || code == skip) {
            ++code;
            continue;
        }
        int last = code;
        while (last + 1 <= http::status_set::max_status && set.contains(last + 1) && last + 1 != skip) ++last;
        if (!out.empty()) out += ' ';
        out += std::to_string(code);
        if (last != code) out += "-" + std::to_string(last);
        code = last + 1;
    }
    return out;
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
    auto ms = number_with_unit(text, duration_units);
    if (!ms || *ms > static_cast<std::uint64_t>(std::chrono::milliseconds::max().count()))
        return std::nullopt;
    return std::chrono::milliseconds{static_cast<std::int64_t>(*ms)};
}

std::optional<std::uint64_t> parse_size(const json::value& v) {
    if (v.is_int64()) return v.get_int64() < 0 ? std::nullopt : std::optional<std::uint64_t>(v.get_int64());
    if (v.is_uint64()) return v.get_uint64();
    if (v.is_string()) return number_with_unit(v.get_string(), size_units);
    return std::nullopt;
}

webhook_settings parse_settings(const json::value& settings, std::vector<settings_error>& errors) {
    settings_reader r{settings, errors};
    webhook_settings s;
    s.url = r.url("url", true);
    read_secrets(r, s);
    read_headers(r, s);
    s.max_events = static_cast<std::size_t>(
        r.optional_int("max_events", static_cast<std::int64_t>(s.max_events), 1, max_events_limit));
    if (const auto* v = r.find("max_bytes"); v != nullptr && !v->is_null()) {
        auto bytes = parse_size(*v);
        if (!bytes) {
            r.error("max_bytes", "must be a size in bytes, such as 1048576, 512KiB or 1MiB");
        } else if (*bytes < min_body_bytes || *bytes > max_body_bytes) {
            r.error("max_bytes", "must be between 1KiB and 64MiB");
        } else {
            s.max_bytes = static_cast<std::size_t>(*bytes);
        }
    }
    s.timeout = read_duration(r, "timeout", s.timeout, 1s, 1h);
    read_limits(r, s);
    s.max_concurrent = static_cast<std::uint32_t>(r.optional_int("max_concurrent", 8, 0, 1000));
    read_retry(r, s);
    r.reject_unknown({"url", "secrets", "headers", "max_events", "max_bytes", "timeout", "limits",
                      "max_concurrent", "retry"});
    return s;
}

result<http::endpoint_group> endpoint_group_of(const webhook_settings& s) {
    auto statuses = http::status_set::parse(s.retry.statuses);
    if (!statuses) return unexpected{"retry.statuses: " + statuses.error()};
    const http::exponential backoff{s.retry.backoff, s.retry.max_backoff};
    http::retry_policy_settings p;
    p.rules.clear();
    if (statuses->contains(429)) {
        http::retry_after ra;
        ra.fallback = backoff;
        // A wait past the delivery's budget fails the call at once (the job backs off instead).
        ra.max = std::min<std::chrono::milliseconds>(http::default_max_retry_after, s.timeout);
        p.rules.push_back({"429", ra});
    }
    if (auto rest = codes_text(*statuses, 429); !rest.empty()) p.rules.push_back({rest, backoff});
    p.network_failure = backoff;
    p.max_attempts = s.retry.max_attempts;
    p.max_elapsed = s.timeout;
    auto policy = http::retry_policy::build(std::move(p));
    if (!policy) return unexpected{"retry: " + policy.error()};

    http::endpoint_group g;
    g.name = std::string{group_name};
    g.limits = s.limits;
    g.max_concurrent = s.max_concurrent;
    g.retry = std::move(*policy);
    return g;
}

}  // namespace tributary::connectors::webhook
