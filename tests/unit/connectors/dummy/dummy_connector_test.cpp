// The dummy connector through the SDK: registration, settings, and records() as the pipelines
// call it (checked calls), including the page delay and its cancellation.

#include "connectors/dummy/dummy_connector.hpp"

#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <chrono>
#include <exception>
#include <optional>
#include <set>

#include "connectors/sdk/checked_calls.hpp"
#include "connectors/sdk/registry.hpp"
#include "tests/support/run_awaitable.hpp"

namespace asio = boost::asio;
namespace json = boost::json;
using namespace tributary;
using namespace tributary::connectors;

namespace {

using tributary::test::run_awaitable;

std::unique_ptr<connector> make(const char* settings) {
    auto reg = registry::build({dummy::dummy_registration()});
    if (!reg) throw std::runtime_error(reg.error());
    auto c = reg->create("dummy", connector_env{.settings = json::parse(settings)});
    if (!c) throw std::runtime_error(c.error().message);
    return std::move(*c);
}

std::vector<page> read_all(connector& c, std::optional<wall_micros> since = {}) {
    std::vector<page> pages;
    std::string cursor;
    for (;;) {
        auto p = run_awaitable(checked_records(c, target::users, since, cursor, dummy::user_schema()));
        if (!p) throw std::runtime_error(p.error().message);
        pages.push_back(std::move(*p));
        if (pages.back().last) return pages;
        cursor = pages.back().next_cursor;
    }
}

std::vector<std::string> paths_of(const std::vector<settings_error>& errors) {
    std::vector<std::string> out;
    for (const auto& e : errors) out.push_back(e.path);
    return out;
}

}  // namespace

TEST(DummyConnector_Registration, DeclaredLatenessCoversEveryLateRecord) {
    // How far each record is behind the newest record served before it, over whole reads with
    // late records (with and without ties): the declared lateness must exceed every such gap.
    const auto lateness_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                 dummy::dummy_registration().spec.source->lateness)
                                 .count();
    EXPECT_EQ(lateness_us, 15LL * 60 * 1'000'000);
    for (std::uint32_t ties : {0u, 150u}) {
        const dummy::generator g{
            {.seed = 3, .count = 5'000, .page_size = 100, .tie_groups = ties, .late_records = true}};
        std::int64_t newest = dummy::full_read, worst = 0;
        std::uint64_t late = 0;
        for (std::string cursor;;) {
            auto page = g.fetch(dummy::full_read, cursor);
            ASSERT_TRUE(page.has_value()) << page.error();
            for (const auto& r : page->records) {
                if (r.updated_at < newest) {
                    ++late;
                    worst = std::max(worst, newest - r.updated_at);
                }
                newest = std::max(newest, r.updated_at);
            }
            if (page->last) break;
            cursor = page->next_cursor;
        }
        EXPECT_GT(late, 50u) << ties;
        EXPECT_GT(worst, 10LL * 60 * 1'000'000) << ties;  // the declared value is not far above
        EXPECT_LT(worst, lateness_us) << ties;
    }
}

TEST(DummyConnector_Registration, SpecIsValidAndTheRegistryBuilds) {
    const auto r = dummy::dummy_registration();
    EXPECT_EQ(r.spec.code, "dummy");
    EXPECT_TRUE(has(r.spec.categories, category::testing));
    EXPECT_TRUE(r.spec.endpoint_groups.empty());
    EXPECT_TRUE(validate_spec(r.spec, r.caps).empty());
    EXPECT_TRUE(r.caps.records);
    EXPECT_TRUE(r.caps.validate_settings);
    EXPECT_FALSE(r.caps.upsert);
    auto reg = registry::build({dummy::dummy_registration()});
    ASSERT_TRUE(reg) << reg.error();
    ASSERT_NE(reg->find("dummy"), nullptr);
}

TEST(DummyConnector_Settings, EveryFieldIsRead) {
    std::vector<settings_error> errors;
    const auto s =
        dummy::parse_settings(json::parse(R"({"seed": 7, "count": 12, "page_size": 5, "tie_groups": 3,
        "late_records": true, "run": 2, "duplicate_pages": true, "page_delay": "250ms"})"),
                              errors);
    EXPECT_TRUE(errors.empty());
    EXPECT_EQ(s.seed, 7u);
    EXPECT_EQ(s.count, 12u);
    EXPECT_EQ(s.page_size, 5u);
    EXPECT_EQ(s.tie_groups, 3u);
    EXPECT_TRUE(s.late_records);
    EXPECT_EQ(s.run, 2u);
    EXPECT_TRUE(s.duplicate_pages);
    EXPECT_EQ(s.page_delay, std::chrono::milliseconds{250});

    const auto defaults = dummy::parse_settings(json::value{}, errors);
    EXPECT_TRUE(errors.empty());
    EXPECT_EQ(defaults.count, 1000u);
    EXPECT_EQ(defaults.page_delay, std::chrono::milliseconds{0});
}

TEST(DummyConnector_Settings, PageDelayForms) {
    const std::vector<std::pair<std::string, std::chrono::milliseconds>> good{
        {"\"250ms\"", std::chrono::milliseconds{250}}, {"\"2s\"", std::chrono::seconds{2}},
        {"\"1m\"", std::chrono::minutes{1}},           {"\"0\"", std::chrono::milliseconds{0}},
        {"40", std::chrono::milliseconds{40}},         {"\"60m\"", std::chrono::hours{1}},
    };
    for (const auto& [text, expected] : good) {
        std::vector<settings_error> errors;
        const auto s = dummy::parse_settings(json::parse("{\"page_delay\":" + text + "}"), errors);
        EXPECT_TRUE(errors.empty()) << text;
        EXPECT_EQ(s.page_delay, expected) << text;
    }
    for (const char* bad :
         {"\"-1s\"", "\"5\"", "\"2h\"", "\"61m\"", "\"abc\"", "-3", "true", "\"1.5s\"", "3600001"}) {
        std::vector<settings_error> errors;
        dummy::parse_settings(json::parse(std::string{"{\"page_delay\":"} + bad + "}"), errors);
        EXPECT_EQ(paths_of(errors), std::vector<std::string>{"page_delay"}) << bad;
    }
}

TEST(DummyConnector_Settings, BadValuesAndUnknownKeysAreAllReported) {
    const auto errors = dummy::dummy_connector::validate_settings(json::parse(
        R"({"seed": -1, "count": 100000001, "page_size": 0, "tie_groups": "x", "late_records": 1,
            "run": 1001, "duplicate_pages": "yes", "colour": "red"})"));
    EXPECT_EQ(paths_of(errors),
              (std::vector<std::string>{"seed", "count", "page_size", "tie_groups", "late_records", "run",
                                        "duplicate_pages", "colour"}));
}

TEST(DummyConnector_Create, BadSettingsAreRefused) {
    auto reg = registry::build({dummy::dummy_registration()});
    ASSERT_TRUE(reg);
    auto c = reg->create("dummy", connector_env{.settings = json::parse(R"({"page_size": 0})")});
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().kind, error_kind::invalid_settings);
}

TEST(DummyConnector_Records, PagesThroughTheCheckedCallsWithResumableCursors) {
    auto c = make(R"({"count": 250, "page_size": 100, "tie_groups": 30, "late_records": true})");
    const auto pages = read_all(*c);
    ASSERT_EQ(pages.size(), 3u);
    std::set<std::string> ids;
    for (const auto& p : pages) {
        if (!p.last) {
            EXPECT_TRUE(p.cursor_resumable);
        }
        for (const auto& r : p.records) {
            ids.insert(r.id);
            ASSERT_TRUE(r.updated_at);
            EXPECT_EQ(r.properties.at("id").as_string(), r.id);
        }
    }
    EXPECT_EQ(ids.size(), 250u);
    EXPECT_TRUE(pages.back().last);
}

TEST(DummyConnector_Records, UpdatedAtFiltersInclusively) {
    auto c = make(R"({"count": 300, "page_size": 64})");
    std::vector<record> all;
    for (auto& p : read_all(*c)) all.insert(all.end(), p.records.begin(), p.records.end());
    ASSERT_EQ(all.size(), 300u);
    const auto since = *all[120].updated_at;
    std::size_t n = 0;
    for (const auto& p : read_all(*c, since)) {
        for (const auto& r : p.records) {
            EXPECT_GE(*r.updated_at, since);
            ++n;
        }
    }
    EXPECT_EQ(n, 180u);
}

TEST(DummyConnector_Records, ForeignCursorIsRejected) {
    auto c = make(R"({"count": 10})");
    auto p = run_awaitable(
        checked_records(*c, target::users, std::nullopt, "https://example.com/next", dummy::user_schema()));
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().kind, error_kind::rejected);
}

TEST(DummyConnector_Events, AreUnsupported) {
    auto c = make("{}");
    auto s = run_awaitable(c->record_schema(target::events, role::source));
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().kind, error_kind::unsupported);
    auto users = run_awaitable(checked_record_schema(*c, target::users, role::source));
    ASSERT_TRUE(users);
    EXPECT_EQ(*users, dummy::user_schema());
}

TEST(DummyConnector_PageDelay, EachPageWaitsForIt) {
    auto c = make(R"({"count": 20, "page_size": 10, "page_delay": "40ms"})");
    const auto start = std::chrono::steady_clock::now();
    const auto pages = read_all(*c);
    EXPECT_EQ(pages.size(), 2u);
    EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds{80});
}

TEST(DummyConnector_PageDelay, CancellingTheCallCancelsTheWait) {
    auto c = make(R"({"count": 20, "page_delay": "1m"})");
    asio::io_context io{1};
    asio::cancellation_signal signal;
    std::optional<outcome_of<page>> out;
    asio::co_spawn(
        io, tributary::test::into(c->records(target::users, std::nullopt, "", dummy::user_schema()), out),
        asio::bind_cancellation_slot(signal.slot(), [](std::exception_ptr e) {
            if (e) std::rethrow_exception(e);
        }));
    asio::steady_timer later{io, std::chrono::milliseconds{20}};
    later.async_wait([&](boost::system::error_code) { signal.emit(asio::cancellation_type::terminal); });
    const auto start = std::chrono::steady_clock::now();
    io.run();
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds{5});
    ASSERT_TRUE(out);
    ASSERT_FALSE(*out);
    EXPECT_EQ(out->error().kind, error_kind::cancelled);
}
