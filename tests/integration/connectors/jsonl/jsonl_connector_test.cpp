// The jsonl connector through the SDK: users and events destinations on real files (durable
// batches, last line per id, crash repair logged), the users source paging by byte offset,
// work on the storage thread, and settings.

#include "connectors/jsonl/jsonl_connector.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>

#include "connectors/dummy/dummy_connector.hpp"
#include "connectors/jsonl/file_store.hpp"
#include "connectors/jsonl/line_format.hpp"
#include "connectors/sdk/checked_calls.hpp"
#include "connectors/sdk/registry.hpp"
#include "core/async/storage_thread.hpp"
#include "core/log/sinks.hpp"
#include "core/types/value.hpp"
#include "tests/support/run_awaitable.hpp"
#include "tests/support/temp_dir.hpp"

namespace asio = boost::asio;
namespace json = boost::json;
namespace fs = std::filesystem;
using namespace tributary;
using namespace tributary::connectors;

namespace {

using tributary::test::run_awaitable;

struct fixture {
    std::shared_ptr<log::memory_sink> sink = std::make_shared<log::memory_sink>();
    log::logger logger{sink};

    std::unique_ptr<connector> make(json::object settings, storage_thread* storage = nullptr) {
        auto reg = registry::build({jsonl::jsonl_registration(storage)});
        if (!reg) throw std::runtime_error(reg.error());
        auto c = reg->create("jsonl", connector_env{.settings = std::move(settings), .log = logger});
        if (!c) throw std::runtime_error(c.error().message);
        return std::move(*c);
    }
};

std::vector<std::string> lines_of(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

record user(std::string id, json::object properties) {
    return record{.id = std::move(id), .properties = std::move(properties)};
}

std::vector<page> read_all(connector& c, std::optional<wall_micros> since = {}, std::string cursor = {}) {
    std::vector<page> pages;
    for (;;) {
        auto p = run_awaitable(checked_records(c, target::users, since, cursor, dummy::user_schema()));
        if (!p) throw std::runtime_error(p.error().message);
        pages.push_back(std::move(*p));
        if (pages.back().last) return pages;
        cursor = pages.back().next_cursor;
    }
}

}  // namespace

TEST(JsonlConnector_Registration, SpecIsValidWithBothRoles) {
    const auto r = jsonl::jsonl_registration();
    EXPECT_EQ(r.spec.code, "jsonl");
    EXPECT_TRUE(has(r.spec.categories, category::file));
    EXPECT_TRUE(validate_spec(r.spec, r.caps).empty());
    EXPECT_TRUE(r.caps.records && r.caps.upsert && r.caps.send_events && r.caps.event_types);
    auto reg = registry::build({dummy::dummy_registration(), jsonl::jsonl_registration()});
    ASSERT_TRUE(reg) << reg.error();
}

TEST(JsonlConnector_Settings, PathIsRequiredAndEverythingElseChecked) {
    auto errors = jsonl::jsonl_connector::validate_settings(json::parse(R"({"mode": "orders", "page_size": 0,
        "schema": {"kind": "string"}, "extra": 1})"));
    std::vector<std::string> paths;
    for (const auto& e : errors) paths.push_back(e.path);
    EXPECT_EQ(paths, (std::vector<std::string>{"path", "mode", "page_size", "schema", "extra"}));

    std::vector<settings_error> none;
    const auto settings = json::parse(R"({"path": "/tmp/x.jsonl", "mode": "events", "page_size": 5,
        "schema": {"kind": "object", "properties": [{"name": "id", "type": {"kind": "string"}}]}})");
    const auto s = jsonl::parse_settings(settings, none);
    EXPECT_TRUE(none.empty());
    EXPECT_EQ(s.mode, jsonl::write_mode::events);
    EXPECT_EQ(s.page_size, 5u);
    ASSERT_TRUE(s.schema.valid());
    EXPECT_EQ(s.schema.properties().size(), 1u);
    EXPECT_EQ(jsonl::parse_settings(json::parse(R"({"path": "a"})"), none).schema, dummy::user_schema());
}

TEST(JsonlConnector_UsersDestination, OneLinePerRecordFsyncedAndTheLastLinePerIdWins) {
    tributary::test::temp_dir dir;
    fixture f;
    const auto path = dir.file("users.jsonl");
    auto c = f.make({{"path", path}});

    record_batch first{{user("u-1", {{"plan", "free"}}), user("", {{"plan", "pro"}})}};
    auto r = run_awaitable(checked_upsert(*c, target::users, first, dummy::user_schema()));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(first.outcomes()[0].state, item_state::sent);
    EXPECT_EQ(first.outcomes()[1].state, item_state::sent);
    const auto written = lines_of(path);
    ASSERT_EQ(written.size(), 2u);
    const auto created = json::parse(written[1]).as_object();
    EXPECT_EQ(created.at("op"), "upsert");
    EXPECT_EQ(std::string(created.at("id").as_string()).substr(0, 6), "jsonl-");
    EXPECT_EQ(created.at("id").as_string().size(), 38u);
    EXPECT_TRUE(created.contains("written_at"));

    record_batch second{{user("u-1", {{"plan", "enterprise"}})}};
    ASSERT_TRUE(run_awaitable(checked_upsert(*c, target::users, second, dummy::user_schema())));
    auto last = jsonl::last_by_id(path);
    ASSERT_TRUE(last) << last.error();
    EXPECT_EQ(last->size(), 2u);
    EXPECT_EQ(last->at("u-1").at("properties").at("plan"), "enterprise");
    EXPECT_TRUE(f.sink->lines().empty()) << "nothing to repair, nothing logged";
}

TEST(JsonlConnector_UsersDestination, TornLineIsTruncatedAndLoggedOnOpen) {
    tributary::test::temp_dir dir;
    fixture f;
    const auto path = dir.file("users.jsonl");
    {
        std::ofstream out(path, std::ios::binary);
        out << jsonl::user_line("u-1", {{"n", 1}}, 0) << "\n"
            << "{\"id\":\"u-2\",\"op\":\"ups";
    }
    const auto intact = jsonl::user_line("u-1", {{"n", 1}}, 0).size() + 1;
    auto c = f.make({{"path", path}});
    record_batch batch{{user("u-3", {{"n", 3}})}};
    ASSERT_TRUE(run_awaitable(checked_upsert(*c, target::users, batch, dummy::user_schema())));

    const auto lines = f.sink->lines();
    ASSERT_EQ(lines.size(), 1u);
    const auto logged = json::parse(lines[0]).as_object();
    EXPECT_EQ(logged.at("event"), "jsonl.torn_line");
    EXPECT_EQ(logged.at("offset").to_number<std::uint64_t>(), intact);
    EXPECT_EQ(logged.at("reason"), "no_newline");
    const auto written = lines_of(path);
    ASSERT_EQ(written.size(), 2u);
    EXPECT_EQ(json::parse(written[0]).at("id"), "u-1");
    EXPECT_EQ(json::parse(written[1]).at("id"), "u-3");
}

TEST(JsonlConnector_UsersDestination, WritesOnTheStorageThread) {
    tributary::test::temp_dir dir;
    fixture f;
    storage_thread storage;
    storage.start();
    const auto path = dir.file("users.jsonl");
    auto c = f.make({{"path", path}}, &storage);
    const auto before = storage.completed();
    record_batch batch{{user("u-1", {{"n", 1}}), user("u-2", {{"n", 2}})}};
    ASSERT_TRUE(run_awaitable(checked_upsert(*c, target::users, batch, dummy::user_schema())));
    EXPECT_EQ(storage.completed(), before + 1) << "one storage job per batch";
    EXPECT_EQ(lines_of(path).size(), 2u);
    const auto pages = read_all(*c);
    EXPECT_EQ(storage.completed(), before + 2);
    ASSERT_EQ(pages.size(), 1u);
    EXPECT_EQ(pages[0].records.size(), 2u);
    storage.stop();
}

TEST(JsonlConnector_UsersDestination, WriteFailureIsTransientAndLosesNothing) {
    tributary::test::temp_dir dir;
    fixture f;
    auto c = f.make({{"path", dir.file("missing-dir/users.jsonl")}});
    record_batch batch{{user("u-1", {{"n", 1}})}};
    auto r = run_awaitable(checked_upsert(*c, target::users, batch, dummy::user_schema()));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, error_kind::network);
    EXPECT_TRUE(r.error().retryable());
    EXPECT_EQ(batch.outcomes()[0].state, item_state::failed);
}

TEST(JsonlConnector_EventsDestination, WritesEachEventAsStored) {
    tributary::test::temp_dir dir;
    fixture f;
    const auto path = dir.file("events.jsonl");
    auto c = f.make({{"path", path}, {"mode", "events"}});
    auto types = run_awaitable(checked_event_types(*c));
    ASSERT_TRUE(types);
    ASSERT_EQ(types->size(), 1u);
    EXPECT_EQ((*types)[0].id, "all");
    auto schema = run_awaitable(checked_event_type_schema(*c, "all"));
    ASSERT_TRUE(schema);
    EXPECT_FALSE(schema->valid());
    EXPECT_EQ(run_awaitable(checked_event_type_schema(*c, "other")).error().kind, error_kind::not_found);

    // The line is the stored message as it is: no key added, dropped or re-formatted.
    const std::string stored =
        R"({"messageId":"m-1","type":"track","userId":"u-1","event":"Order Completed",)"
        R"("properties":{"total":12.5},"timestamp":"2026-01-02T03:04:05.123+02:00","x-extra":[1,null],)"
        R"("receivedAt":"2026-01-02T01:04:06.000000Z"})";
    event_batch batch{{event::parse(stored).value()}};
    ASSERT_TRUE(run_awaitable(checked_send_events(*c, batch)));
    const auto lines = lines_of(path);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0], stored);
}

TEST(JsonlConnector_ModeMismatch, IsAnInvalidSettingsError) {
    tributary::test::temp_dir dir;
    fixture f;
    auto users = f.make({{"path", dir.file("u.jsonl")}});
    event_batch events{
        {event::from_object({{"messageId", "m"}, {"type", "identify"}, {"userId", "u"}}).value()}};
    EXPECT_EQ(run_awaitable(checked_send_events(*users, events)).error().kind, error_kind::invalid_settings);
    auto ev = f.make({{"path", dir.file("e.jsonl")}, {"mode", "events"}});
    record_batch records{{user("u-1", {})}};
    EXPECT_EQ(run_awaitable(checked_upsert(*ev, target::users, records, dummy::user_schema())).error().kind,
              error_kind::invalid_settings);
}

TEST(JsonlConnector_Source, PagesByByteOffsetAndResumesInAnotherConnector) {
    tributary::test::temp_dir dir;
    fixture f;
    const auto path = dir.file("users.jsonl");
    {
        std::ofstream out(path);
        for (int i = 0; i < 25; ++i) {
            out << "{\"id\":\"u-" << i << "\",\"updated_at\":\"2025-01-01T00:00:" << (i < 10 ? "0" : "") << i
                << "Z\"}\n";
        }
    }
    auto c = f.make({{"path", path}, {"page_size", 10}});
    const auto pages = read_all(*c);
    ASSERT_EQ(pages.size(), 3u);
    EXPECT_EQ(pages[0].records.size(), 10u);
    EXPECT_EQ(pages[2].records.size(), 5u);
    EXPECT_TRUE(pages[0].cursor_resumable);
    EXPECT_EQ(pages[1].records[0].id, "u-10");
    ASSERT_TRUE(pages[1].records[0].updated_at);

    auto other = f.make({{"path", path}, {"page_size", 10}});
    const auto rest = read_all(*other, std::nullopt, pages[0].next_cursor);
    ASSERT_EQ(rest.size(), 2u);
    EXPECT_EQ(rest[0].records[0].id, "u-10");

    // Incremental: lines before the timestamp are skipped, pages that filter down to nothing
    // are not returned.
    const auto since = *pages[2].records[2].updated_at;  // u-22
    const auto recent = read_all(*c, since);
    ASSERT_EQ(recent.size(), 1u);
    ASSERT_EQ(recent[0].records.size(), 3u);
    EXPECT_EQ(recent[0].records[0].id, "u-22");
}

TEST(JsonlConnector_Source, MissingFileIsEmptyAndBadLinesNameTheirOffset) {
    tributary::test::temp_dir dir;
    fixture f;
    auto missing = f.make({{"path", dir.file("none.jsonl")}});
    const auto empty = read_all(*missing);
    ASSERT_EQ(empty.size(), 1u);
    EXPECT_TRUE(empty[0].records.empty());

    const auto path = dir.file("bad.jsonl");
    {
        std::ofstream out(path);
        out << "{\"id\":\"a\"}\n{\"name\":\"no id\"}\n";
    }
    auto bad = f.make({{"path", path}});
    auto p = run_awaitable(checked_records(*bad, target::users, std::nullopt, "", dummy::user_schema()));
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().kind, error_kind::rejected);
    EXPECT_NE(p.error().message.find("byte 11"), std::string::npos) << p.error().message;
    EXPECT_EQ(run_awaitable(checked_records(*bad, target::users, std::nullopt, "5", dummy::user_schema()))
                  .error()
                  .kind,
              error_kind::rejected)
        << "a cursor that is not at a line start";
    EXPECT_EQ(run_awaitable(checked_records(*bad, target::users, std::nullopt, "x", dummy::user_schema()))
                  .error()
                  .kind,
              error_kind::rejected);
}

TEST(JsonlConnector_RoundTrip, DummyUsersWrittenAndReadBackNormalizeUnchanged) {
    tributary::test::temp_dir dir;
    fixture f;
    const auto path = dir.file("users.jsonl");
    auto reg = registry::build({dummy::dummy_registration()});
    ASSERT_TRUE(reg);
    auto created = reg->create("dummy", connector_env{.settings = json::parse(R"({"count": 300})")});
    ASSERT_TRUE(created);
    auto source = std::move(*created);
    auto destination = f.make({{"path", path}});
    std::vector<record> sent;
    std::string cursor;
    for (;;) {
        auto p = run_awaitable(
            checked_records(*source, target::users, std::nullopt, cursor, dummy::user_schema()));
        ASSERT_TRUE(p);
        sent.insert(sent.end(), p->records.begin(), p->records.end());
        record_batch batch{p->records};
        ASSERT_TRUE(run_awaitable(checked_upsert(*destination, target::users, batch, dummy::user_schema())));
        if (p->last) break;
        cursor = p->next_cursor;
    }
    std::vector<record> back;
    for (auto& p : read_all(*destination)) back.insert(back.end(), p.records.begin(), p.records.end());
    ASSERT_EQ(back.size(), sent.size());
    for (std::size_t i = 0; i < back.size(); ++i) {
        EXPECT_EQ(back[i].id, sent[i].id);
        EXPECT_EQ(back[i].updated_at, sent[i].updated_at) << "updated_at comes from the properties";
        const auto n = types::normalize(dummy::user_schema(), back[i].properties, types::time_layouts{});
        ASSERT_TRUE(n.ok()) << back[i].id;
        EXPECT_EQ(json::serialize(n.out), json::serialize(sent[i].properties));
    }
}
