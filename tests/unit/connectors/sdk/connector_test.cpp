// The connector interface helpers: default calls, redaction, HTTP error mapping, and the checked
// calls that turn contract violations and exceptions into connector errors.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <stdexcept>

#include "connectors/sdk/checked_calls.hpp"
#include "connectors/sdk/connector.hpp"
#include "core/http/client.hpp"
#include "tests/support/run_awaitable.hpp"

namespace tributary::connectors {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

using tributary::test::run_awaitable;

class empty_connector final : public connector {};

TEST(SdkOutcome_Default, NonVoidIsContractErrorVoidIsSuccess) {
    const outcome_of<std::string> none;
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().kind, error_kind::contract);
    EXPECT_EQ(none.error().message, "no outcome");
    EXPECT_TRUE(outcome_of<void>{});
    const outcome_of<int> failed = make_error(error_kind::auth, "401");
    EXPECT_EQ(failed.error().kind, error_kind::auth);
}

TEST(SdkConnector_Defaults, EveryCall_IsUnsupported) {
    empty_connector c;
    record_batch rb{{}};
    event_batch eb{{}};
    EXPECT_EQ(run_awaitable(c.record_schema(target::users, role::source)).error().kind,
              error_kind::unsupported);
    EXPECT_EQ(run_awaitable(c.records(target::users, {}, "", {})).error().kind, error_kind::unsupported);
    EXPECT_EQ(run_awaitable(c.upsert(target::users, rb, {})).error().kind, error_kind::unsupported);
    EXPECT_EQ(run_awaitable(c.preview_upsert(target::users, rb, {})).error().kind, error_kind::unsupported);
    EXPECT_EQ(run_awaitable(c.event_types()).error().kind, error_kind::unsupported);
    EXPECT_EQ(run_awaitable(c.event_type_schema("x")).error().kind, error_kind::unsupported);
    EXPECT_EQ(run_awaitable(c.send_events(eb)).error().kind, error_kind::unsupported);
    EXPECT_EQ(run_awaitable(c.preview_send_events(eb)).error().kind, error_kind::unsupported);
    EXPECT_EQ(run_awaitable(c.oauth_account()).error().kind, error_kind::unsupported);
    EXPECT_EQ(capabilities_of<empty_connector>(), capabilities{});
}

TEST(SdkConnector_Redact, NamedHeaders_CaseInsensitive) {
    http::request req;
    req.headers = {
        {"authorization", "Klaviyo-API-Key pk_secret"}, {"Accept", "application/json"}, {"X-Api-Key", "k"}};
    redact(req, {"Authorization", "x-api-key"});
    EXPECT_EQ(req.headers[0].value, "[REDACTED]");
    EXPECT_EQ(req.headers[1].value, "application/json");
    EXPECT_EQ(req.headers[2].value, "[REDACTED]");
}

TEST(SdkConnector_Redact, QueryParameters_KeepTheRestOfTheUrl) {
    http::request req;
    req.url = "https://api.acme.example/v1/x?api_key=s3cr3t&page=2&api%5Fkey=again#frag";
    redact_query(req, {"api_key"});
    EXPECT_EQ(req.url,
              "https://api.acme.example/v1/x?api_key=%5BREDACTED%5D&page=2&api%5Fkey=%5BREDACTED%5D#frag");
    http::request plain;
    plain.url = "https://api.acme.example/v1/x";
    redact_query(plain, {"api_key"});
    EXPECT_EQ(plain.url, "https://api.acme.example/v1/x");
}

http::outcome failed(http::error_kind kind, int status, std::string body = {}) {
    http::outcome o;
    o.error = kind;
    o.message = "status " + std::to_string(status);
    if (status != 0) o.resp = http::response{status, {}, std::move(body)};
    return o;
}

TEST(SdkConnector_ErrorFrom, StatusesAndKinds_MapToConnectorErrors) {
    EXPECT_EQ(error_from(failed(http::error_kind::rejected, 401), "x").kind, error_kind::auth);
    EXPECT_EQ(error_from(failed(http::error_kind::rejected, 403), "x").kind, error_kind::auth);
    EXPECT_EQ(error_from(failed(http::error_kind::rejected, 404), "x").kind, error_kind::not_found);
    EXPECT_EQ(error_from(failed(http::error_kind::rejected, 422), "x").kind, error_kind::rejected);
    EXPECT_EQ(error_from(failed(http::error_kind::exhausted, 503), "x").kind, error_kind::network);
    EXPECT_EQ(error_from(failed(http::error_kind::unsafe, 0), "x").kind, error_kind::network);
    EXPECT_EQ(error_from(failed(http::error_kind::no_route, 0), "x").kind, error_kind::contract);
    EXPECT_EQ(error_from(failed(http::error_kind::cancelled, 0), "x").kind, error_kind::cancelled);
    EXPECT_EQ(error_from(http::outcome{}, "x").kind, error_kind::contract);
}

TEST(SdkConnector_ErrorFrom, VendorText_IsKeptApartShortAndEscaped) {
    auto e = error_from(failed(http::error_kind::rejected, 400, "bad\n\x01" + std::string(500, 'x')),
                        "create profiles");
    EXPECT_EQ(e.status, 400);
    EXPECT_EQ(e.message, "create profiles: status 400");
    EXPECT_THAT(e.vendor_detail, HasSubstr("bad\\x0a\\x01"));
    EXPECT_LT(e.vendor_detail.size(), 300u);
}

// ---------------------------------------------------------------- checked calls

class scripted_connector final : public connector {
public:
    page next_page{};
    types::type schema{};
    bool throw_in_upsert = false;
    bool postpone_first = false;
    std::vector<event_type> types_list{};
    bool preview_request = true;

    awaitable<outcome_of<types::type>> record_schema(target, role) override { co_return schema; }
    awaitable<outcome_of<page>> records(target,
                                        std::optional<wall_micros>,
                                        std::string,
                                        types::type) override {
        co_return next_page;
    }
    awaitable<outcome_of<void>> upsert(target, record_batch& batch, types::type) override {
        if (throw_in_upsert) throw std::runtime_error("index out of range");
        for (const auto& entry : batch.all()) {
            (void)entry;
            if (postpone_first) batch.postpone();
        }
        co_return outcome_of<void>{};
    }
    awaitable<outcome_of<std::vector<event_type>>> event_types() override { co_return types_list; }
    awaitable<outcome_of<std::optional<http::request>>> preview_send_events(event_batch& batch) override {
        for (const auto& [index, e] : batch.all())
            if (e.event_name().empty()) batch.discard("track without a name");
        if (!preview_request) co_return std::optional<http::request>{};
        co_return std::optional<http::request>{http::request{}};
    }
};

record with_id(std::string id, std::optional<wall_micros> at = {}) {
    record r;
    r.id = std::move(id);
    r.updated_at = at;
    return r;
}

TEST(SdkChecked_Records, RecordWithoutId_IsAContractError) {
    scripted_connector c;
    c.next_page = page{{with_id("1"), with_id("")}, "", true, false};
    auto r = run_awaitable(checked_records(c, target::users, {}, "", {}));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, error_kind::contract);
    EXPECT_THAT(r.error().message, HasSubstr("without an id (position 1)"));
}

TEST(SdkChecked_Records, RecordOlderThanAsked_IsAContractError) {
    scripted_connector c;
    wall_micros t{std::chrono::microseconds{1'000'000}};
    c.next_page = page{{with_id("1", t - std::chrono::microseconds{1})}, "", true, false};
    auto r = run_awaitable(checked_records(c, target::users, t, "", {}));
    ASSERT_FALSE(r);
    EXPECT_THAT(r.error().message, HasSubstr("updated before the requested time"));
}

TEST(SdkChecked_Records, NotLastWithoutCursorOrRecords_IsAContractError) {
    scripted_connector c;
    c.next_page = page{{with_id("1")}, "", false, false};
    EXPECT_THAT(run_awaitable(checked_records(c, target::users, {}, "", {})).error().message,
                HasSubstr("without a cursor"));
    c.next_page = page{{}, "next", false, false};
    EXPECT_THAT(run_awaitable(checked_records(c, target::users, {}, "", {})).error().message,
                HasSubstr("empty page"));
}

TEST(SdkChecked_Records, LastPage_ClearsCursor) {
    scripted_connector c;
    c.next_page = page{{with_id("1")}, "stale", true, true};
    auto r = run_awaitable(checked_records(c, target::users, {}, "", {}));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->next_cursor, "");
    EXPECT_FALSE(r->cursor_resumable);
}

TEST(SdkChecked_RecordSchema, NonObject_IsAContractError) {
    scripted_connector c;
    c.schema = types::make_boolean();
    auto r = run_awaitable(checked_record_schema(c, target::users, role::source));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, error_kind::contract);
}

TEST(SdkChecked_Upsert, ThrowingConnector_IsAContractErrorAndItemsStayQueued) {
    scripted_connector c;
    c.throw_in_upsert = true;
    record_batch b{{with_id("1")}};
    auto r = run_awaitable(checked_upsert(c, target::users, b, {}));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, error_kind::contract);
    EXPECT_THAT(r.error().message, HasSubstr("upsert threw: index out of range"));
    EXPECT_EQ(b.outcomes()[0].state, item_state::pending);
}

TEST(SdkChecked_Upsert, BatchMisuse_BecomesTheResult) {
    scripted_connector c;
    c.postpone_first = true;
    record_batch b{{with_id("1"), with_id("2")}};
    auto r = run_awaitable(checked_upsert(c, target::users, b, {}));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, error_kind::contract);
    EXPECT_THAT(r.error().message, HasSubstr("postpone() on the first record"));
}

TEST(SdkChecked_Upsert, Success_SettlesTheBatch) {
    scripted_connector c;
    record_batch b{{with_id("1"), with_id("2")}};
    ASSERT_TRUE(run_awaitable(checked_upsert(c, target::users, b, {})));
    EXPECT_EQ(b.outcomes()[1].state, item_state::sent);
}

TEST(SdkChecked_EventTypes, DuplicateOrOverlongIds_AreContractErrors) {
    scripted_connector c;
    c.types_list = {{"order", "Order", ""}, {"order", "Order again", ""}};
    EXPECT_THAT(run_awaitable(checked_event_types(c)).error().message, HasSubstr("'order' twice"));
    c.types_list = {{std::string(101, 'x'), "Long", ""}};
    EXPECT_EQ(run_awaitable(checked_event_types(c)).error().kind, error_kind::contract);
    c.types_list = {{std::string(100, 'x'), "Long", ""}};
    EXPECT_TRUE(run_awaitable(checked_event_types(c)));
}

TEST(SdkChecked_PreviewSendEvents, AllDiscarded_NoRequestIsFine) {
    scripted_connector c;
    c.preview_request = false;
    std::vector<event> v(2);
    event_batch b{std::move(v)};
    auto r = run_awaitable(checked_preview_send_events(c, b));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_FALSE(r->has_value());
}

TEST(SdkChecked_PreviewSendEvents, ConsumedButNoRequest_IsAContractError) {
    scripted_connector c;
    c.preview_request = false;
    event_batch b{
        {event::from_object({{"type", "track"}, {"messageId", "m"}, {"userId", "u"}, {"event", "Ordered"}})
             .value()}};
    auto r = run_awaitable(checked_preview_send_events(c, b));
    ASSERT_FALSE(r);
    EXPECT_THAT(r.error().message, HasSubstr("no request"));
}

TEST(ConnectorError_Category, CodesCompareWithTheEnumAndNameTheKind) {
    const std::error_code ec = make_error(error_kind::auth, "401 from the vendor").kind;
    EXPECT_EQ(ec, error_kind::auth);
    EXPECT_NE(ec, error_kind::rejected);
    EXPECT_STREQ(ec.category().name(), "connector");
    EXPECT_EQ(ec.message(), "auth");
    EXPECT_TRUE(ec) << "every kind is an error: the enum starts at 1";
    EXPECT_EQ(std::error_code(error_kind::unsupported).value(), 1);
}

}  // namespace
}  // namespace tributary::connectors
