#include "core/http/usage_json.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <limits>

namespace tributary::http {

namespace json = boost::json;

namespace {

using std::chrono::nanoseconds;
using lim = usage_json_limits;

constexpr std::string_view format_name = "tributary.limiter_usage";
constexpr std::int64_t format_version = 1;

json::array encode_caps(const std::vector<cap_snapshot>& caps) {
    json::array out;
    for (const auto& c : caps) {
        json::object o;
        o["remaining"] = c.remaining;
        o["reset_in_ns"] = std::clamp<std::int64_t>(c.reset_in.count(), 0, lim::max_duration_ns);
        out.push_back(std::move(o));
    }
    return out;
}

// --- decoding: a failed check unwinds to decode_usage with the path and the rule.

struct invalid {
    std::string message;
};

[[noreturn]] void fail(const std::string& path, const std::string& what) {
    throw invalid{path + ": " + what};
}

std::string at(const std::string& path, std::string_view key) {
    return path.empty() ? std::string{key} : path + "." + std::string{key};
}

std::string at(const std::string& path, std::size_t i) {
    return path + "[" + std::to_string(i) + "]";
}

const json::value& member(const json::object& o, const std::string& path, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (!v) fail(at(path, key), "missing");
    return *v;
}

const json::object& as_object(const json::value& v, const std::string& path) {
    if (!v.is_object()) fail(path, "must be an object");
    return v.get_object();
}

const json::array& as_array(const json::value& v, const std::string& path, std::size_t max) {
    if (!v.is_array()) fail(path, "must be an array");
    if (v.get_array().size() > max) fail(path, "more than " + std::to_string(max) + " entries");
    return v.get_array();
}

std::int64_t as_int(const json::value& v, const std::string& path, std::int64_t lo, std::int64_t hi) {
    const std::string range = "must be an integer in " + std::to_string(lo) + ".." + std::to_string(hi);
    std::int64_t n = 0;
    if (v.is_int64()) {
        n = v.get_int64();
    } else if (v.is_uint64()) {
        if (v.get_uint64() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
            fail(path, range);
        n = static_cast<std::int64_t>(v.get_uint64());
    } else {
        fail(path, range);
    }
    if (n < lo || n > hi) fail(path, range);
    return n;
}

std::uint32_t as_u32(const json::value& v, const std::string& path, std::uint32_t lo, std::uint32_t hi) {
    return static_cast<std::uint32_t>(as_int(v, path, lo, hi));
}

constexpr std::uint32_t u32_max = std::numeric_limits<std::uint32_t>::max();

std::vector<cap_snapshot> decode_caps(const json::value& v, const std::string& path) {
    std::vector<cap_snapshot> out;
    const auto& a = as_array(v, path, lim::max_caps);
    for (std::size_t i = 0; i < a.size(); ++i) {
        const std::string p = at(path, i);
        const auto& o = as_object(a[i], p);
        cap_snapshot c;
        c.remaining = as_u32(member(o, p, "remaining"), at(p, "remaining"), 0, u32_max);
        c.reset_in =
            nanoseconds{as_int(member(o, p, "reset_in_ns"), at(p, "reset_in_ns"), 0, lim::max_duration_ns)};
        out.push_back(c);
    }
    return out;
}

window_snapshot decode_window(const json::value& v, const std::string& path) {
    const auto& o = as_object(v, path);
    window_snapshot w;
    const auto& kind = member(o, path, "kind");
    const auto parsed =
        kind.is_string() ? parse_limit_kind(std::string_view{kind.get_string()}) : std::nullopt;
    if (!parsed) fail(at(path, "kind"), "must be token_bucket, fixed_window or sliding_window");
    w.limit.kind = *parsed;
    w.limit.requests = as_u32(member(o, path, "requests"), at(path, "requests"), 1, u32_max);
    w.limit.per = std::chrono::milliseconds{
        as_int(member(o, path, "per_ms"), at(path, "per_ms"), 1, lim::max_duration_ns / 1'000'000)};
    if (const auto* b = o.if_contains("burst")) w.limit.burst = as_u32(*b, at(path, "burst"), 0, u32_max);
    // Absent in records written before alignment existed: the sends are the same either way.
    if (const auto* a = o.if_contains("align")) {
        const auto align =
            a->is_string() ? parse_limit_align(std::string_view{a->get_string()}) : std::nullopt;
        if (!align) fail(at(path, "align"), "must be learn or clock");
        w.limit.align = *align;
    }
    if (const auto* s = o.if_contains("sends")) {
        const std::string sp = at(path, "sends");
        const auto& a = as_array(*s, sp, lim::max_marks);
        w.sends.reserve(a.size());
        for (std::size_t i = 0; i < a.size(); ++i) {
            const std::string mp = at(sp, i);
            if (!a[i].is_array() || a[i].get_array().size() != 2) fail(mp, "must be [age_ns, count]");
            const auto& pair = a[i].get_array();
            send_mark m;
            m.age = nanoseconds{as_int(pair[0], mp + ".age_ns", 0, lim::max_duration_ns)};
            m.count = as_u32(pair[1], mp + ".count", 1, u32_max);
            w.sends.push_back(m);
        }
    }
    if (const auto* b = o.if_contains("bucket_nanotokens")) {
        if (w.limit.kind != limit_kind::token_bucket)
            fail(at(path, "bucket_nanotokens"), "only for token_bucket");
        w.bucket_nanotokens =
            as_int(*b, at(path, "bucket_nanotokens"), std::numeric_limits<std::int64_t>::min(),
                   std::numeric_limits<std::int64_t>::max());
    }
    if (const auto* c = o.if_contains("caps")) w.caps = decode_caps(*c, at(path, "caps"));
    // Absent in records written before per-window scales: the group's scale applies.
    if (const auto* sc = o.if_contains("scale")) w.scale = as_u32(*sc, at(path, "scale"), 1, full_scale);
    return w;
}

stored_usage decode_value(const json::value& v) {
    const std::string root;
    const auto& o = as_object(v, "usage");
    const auto& f = member(o, root, "format");
    if (!f.is_string() || std::string_view{f.get_string()} != format_name)
        fail("format", "must be \"" + std::string{format_name} + "\"");
    const auto& version = member(o, root, "version");
    if (!version.is_int64() && !version.is_uint64()) fail("version", "must be an integer");
    if (as_int(version, "version", 0, std::numeric_limits<std::int64_t>::max()) != format_version)
        fail("version", "unsupported (this build reads " + std::to_string(format_version) + ")");

    stored_usage s;
    s.lease = as_u32(member(o, root, "lease"), "lease", 0, lim::max_lease);
    s.usage.scale = as_u32(member(o, root, "scale"), "scale", 1, full_scale);
    if (const auto* p = o.if_contains("pause_ns"))
        s.usage.pause_remaining = nanoseconds{as_int(*p, "pause_ns", 0, lim::max_duration_ns)};
    if (const auto* r = o.if_contains("pause_reason")) {
        if (!r->is_string() || r->get_string().size() > lim::max_reason)
            fail("pause_reason", "must be a string of at most " + std::to_string(lim::max_reason) + " bytes");
        s.usage.pause_reason = std::string{r->get_string()};
    }
    if (const auto* c = o.if_contains("vendor_caps")) s.usage.vendor_caps = decode_caps(*c, "vendor_caps");
    const auto& windows = as_array(member(o, root, "windows"), "windows", lim::max_windows);
    s.usage.windows.reserve(windows.size());
    for (std::size_t i = 0; i < windows.size(); ++i)
        s.usage.windows.push_back(decode_window(windows[i], at("windows", i)));
    return s;
}

}  // namespace

std::string encode_usage(const stored_usage& s) {
    json::object o;
    o["format"] = format_name;
    o["version"] = format_version;
    o["lease"] = std::min(s.lease, lim::max_lease);
    o["scale"] = std::clamp<rate_scale>(s.usage.scale, 1, full_scale);
    o["pause_ns"] = std::clamp<std::int64_t>(s.usage.pause_remaining.count(), 0, lim::max_duration_ns);
    o["pause_reason"] = s.usage.pause_reason.substr(0, lim::max_reason);
    o["vendor_caps"] = encode_caps(s.usage.vendor_caps);
    json::array windows;
    for (const auto& w : s.usage.windows) {
        json::object jw;
        jw["kind"] = to_string(w.limit.kind);
        jw["requests"] = w.limit.requests;
        jw["per_ms"] = w.limit.per.count();
        jw["burst"] = w.limit.burst;
        if (w.limit.align != limit_align::learn) jw["align"] = to_string(w.limit.align);
        json::array sends;
        sends.reserve(w.sends.size());
        for (const auto& m : w.sends) {
            sends.push_back(
                json::array{std::clamp<std::int64_t>(m.age.count(), 0, lim::max_duration_ns), m.count});
        }
        jw["sends"] = std::move(sends);
        if (w.bucket_nanotokens) jw["bucket_nanotokens"] = *w.bucket_nanotokens;
        jw["caps"] = encode_caps(w.caps);
        if (w.scale) jw["scale"] = std::clamp<rate_scale>(*w.scale, 1, full_scale);
        windows.push_back(std::move(jw));
    }
    o["windows"] = std::move(windows);
    return json::serialize(o);
}

result<stored_usage> decode_usage(std::string_view text) {
    if (text.size() > lim::max_bytes)
        return unexpected{"usage: larger than " + std::to_string(lim::max_bytes) + " bytes"};
    json::parse_options po;
    po.max_depth = 8;
    boost::system::error_code ec;
    const json::value v = json::parse(json::string_view{text.data(), text.size()}, ec, {}, po);
    if (ec) return unexpected{"usage: not JSON (" + ec.message() + ")"};
    try {
        return decode_value(v);
    } catch (const invalid& e) {
        return unexpected{e.message};
    }
}

}  // namespace tributary::http
