#include "connectors/dummy/dummy_connector.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/storage_ptr.hpp>

#include <charconv>
#include <limits>
#include <optional>
#include <string_view>

#include "core/time.hpp"

namespace tributary::connectors::dummy {

namespace {

/// "250ms", "2s", "1m", "0": a non-negative integer and a unit (none only for 0).
std::optional<std::chrono::milliseconds> parse_delay(std::string_view text) {
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{} || end == text.data() || n < 0) return std::nullopt;
    const std::string_view unit{end, static_cast<std::size_t>(text.data() + text.size() - end)};
    // Bounded well below overflow: the range check against max_page_delay happens later.
    if (n > 1'000'000'000) return std::nullopt;
    if (unit == "ms" || (unit.empty() && n == 0)) return std::chrono::milliseconds{n};
    if (unit == "s") return std::chrono::seconds{n};
    if (unit == "m") return std::chrono::minutes{n};
    return std::nullopt;
}

generator make_generator(connector_env& env) {
    std::vector<settings_error> errors;
    const auto settings = parse_settings(env.settings, errors);
    if (errors.empty()) return generator{settings};
    if (env.report_settings_error) {
        for (auto& e : errors) env.report_settings_error(std::move(e));
    }
    return generator{generator_settings{}};
}

}  // namespace

generator_settings parse_settings(const boost::json::value& settings, std::vector<settings_error>& errors) {
    settings_reader r{settings, errors};
    generator_settings s;
    s.seed = static_cast<std::uint64_t>(r.optional_int("seed", static_cast<std::int64_t>(s.seed), 0,
                                                       std::numeric_limits<std::int64_t>::max()));
    s.count = static_cast<std::uint64_t>(
        r.optional_int("count", static_cast<std::int64_t>(s.count), 0, static_cast<std::int64_t>(max_count)));
    s.page_size = static_cast<std::uint32_t>(r.optional_int("page_size", s.page_size, 1, max_page_size));
    s.tie_groups = static_cast<std::uint32_t>(r.optional_int("tie_groups", s.tie_groups, 0, max_tie_group));
    s.late_records = r.optional_bool("late_records", s.late_records);
    s.run = static_cast<std::uint32_t>(r.optional_int("run", s.run, 0, max_run));
    s.duplicate_pages = r.optional_bool("duplicate_pages", s.duplicate_pages);
    if (const auto* v = r.find("page_delay"); v != nullptr && !v->is_null()) {
        std::optional<std::chrono::milliseconds> delay;
        if (v->is_string()) {
            delay = parse_delay({v->get_string().data(), v->get_string().size()});
        } else if (v->is_int64() && v->get_int64() >= 0 && v->get_int64() <= max_page_delay.count()) {
            delay = std::chrono::milliseconds{v->get_int64()};
        } else if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(max_page_delay.count())) {
            delay = std::chrono::milliseconds{static_cast<std::int64_t>(v->get_uint64())};
        }
        if (!delay || *delay > max_page_delay) {
            r.error("page_delay", "must be a duration such as \"250ms\", \"2s\" or \"1m\" (at most 1h)");
        } else {
            s.page_delay = *delay;
        }
    }
    r.reject_unknown(
        {"seed", "count", "page_size", "tie_groups", "late_records", "run", "duplicate_pages", "page_delay"});
    return s;
}

dummy_connector::dummy_connector(connector_env env) : generator_(make_generator(env)), log_(env.log) {}

std::vector<settings_error> dummy_connector::validate_settings(const boost::json::value& settings) {
    std::vector<settings_error> errors;
    parse_settings(settings, errors);
    return errors;
}

awaitable<outcome_of<types::type>> dummy_connector::record_schema(target t, role) {
    if (t != target::users) co_return make_error(error_kind::unsupported, "dummy: only users have records");
    co_return user_schema();
}

awaitable<outcome_of<page>> dummy_connector::records(target t,
                                                     std::optional<wall_micros> updated_at,
                                                     std::string cursor,
                                                     types::type) {
    if (t != target::users) co_return make_error(error_kind::unsupported, "dummy: only users have records");
    if (const auto delay = generator_.settings().page_delay; delay.count() > 0) {
        boost::asio::steady_timer timer{co_await boost::asio::this_coro::executor};
        timer.expires_after(delay);
        auto [ec] = co_await timer.async_wait(use_nothrow);
        if (ec) co_return make_error(error_kind::cancelled, "dummy: page delay cancelled");
    }

    const std::int64_t since = updated_at ? to_unix_us(*updated_at) : full_read;
    // One monotonic resource per page, shared by its records' JSON and freed with the last of
    // them: a value costs no malloc and no free (issue #13, per-page memory reuse).
    auto fetched =
        generator_.fetch(since, cursor, boost::json::make_shared_resource<boost::json::monotonic_resource>());
    if (!fetched) co_return make_error(error_kind::rejected, fetched.error());

    if (log_.enabled(log::level::debug)) {
        if (updated_at) {
            log_.debug("dummy.page", {{"since_us", since},
                                      {"cursor", cursor},
                                      {"next_cursor", fetched->next_cursor},
                                      {"records", fetched->records.size()},
                                      {"last", fetched->last}});
        } else {
            log_.debug("dummy.page", {{"cursor", cursor},
                                      {"next_cursor", fetched->next_cursor},
                                      {"records", fetched->records.size()},
                                      {"last", fetched->last}});
        }
    }

    page out;
    out.records.reserve(fetched->records.size());
    for (auto& u : fetched->records) {
        out.records.push_back(record{.id = std::move(u.id),
                                     .properties = std::move(u.properties),
                                     .updated_at = wall_micros{std::chrono::microseconds{u.updated_at}}});
    }
    out.next_cursor = std::move(fetched->next_cursor);
    out.last = fetched->last;
    // The cursor names a position in a dataset that is a pure function of the settings.
    out.cursor_resumable = true;
    co_return out;
}

application_spec dummy_spec() {
    application_spec spec;
    spec.code = "dummy";
    spec.label = "Dummy";
    spec.categories = category::testing;
    spec.source =
        as_source{.targets = {.users = true},
                  .has_settings = true,
                  .summary = "Generate realistic users, deterministic from a seed, optionally misbehaving",
                  // Pages come in updated_at order; late records and repeated pages are the
                  // exceptions the ascending promise allows (README: Order).
                  .order = connectors::source_order::ascending,
                  // A late record is 5 to 15 minutes (exclusive) older than its place in the
                  // order (generator.cpp, slot_at), so never more than 15 minutes behind a record
                  // served before it. Declared whether or not late_records is on: a spec is static.
                  .lateness = std::chrono::minutes{15}};
    return spec;
}

registration dummy_registration() {
    registration r = make_registration<dummy_connector>(dummy_spec());
    r.offline_schemas = true;
    return r;
}

}  // namespace tributary::connectors::dummy
