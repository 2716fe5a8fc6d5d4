// The klaviyo connector's users destination through the real HTTP engine against mock Klaviyo
// (which checks every request against the spec's schemas and runs import jobs asynchronously):
// a batch becomes one bulk import job polled until complete, import errors matched back to their
// records by identifier, an error that matches none, one record through POST /api/profile-import,
// the count and byte limits, a 400 narrowed to its profile, error statuses, and a job left by an
// earlier connector (a restart) polled before anything new is sent.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "connectors/klaviyo/imports.hpp"
#include "connectors/klaviyo/klaviyo_connector.hpp"
#include "tests/kit/connector_harness.hpp"
#include "tests/kit/klaviyo_mock.hpp"

namespace tributary::connectors::klaviyo {
namespace {

using testing::connector_harness;
namespace mock = kit::klaviyo;

const std::string key = "pk_" + std::string(34, 'u') + "7";

testing::harness_options options(std::shared_ptr<connector_state> state = {},
                                 std::chrono::milliseconds timeout = std::chrono::milliseconds{20'000}) {
    return {
        .settings = boost::json::parse(R"({"api_key":")" + key + "\"}"), .timeout = timeout, .state = state};
}

record by_email(const std::string& email, const std::string& first_name = "Ann") {
    record r;
    r.properties =
        boost::json::parse(R"({"email":")" + email + R"(","first_name":")" + first_name + "\"}").as_object();
    r.match_property = "email";
    return r;
}

std::vector<item_state> states(const record_batch& b) {
    std::vector<item_state> out;
    for (const auto& o : b.outcomes()) out.push_back(o.state);
    return out;
}

std::size_t count(const std::vector<kit::request>& rs, std::string_view method, std::string_view path_part) {
    std::size_t n = 0;
    for (const auto& r : rs) n += r.method == method && r.path.find(path_part) != std::string::npos;
    return n;
}

TEST(KlaviyoUsers_Import, ABatchIsOneJobPolledUntilCompleteAndEveryRecordIsSent) {
    mock::klaviyo_mock m{{.api_key = key}};
    auto state = std::make_shared<testing::memory_connector_state>();
    connector_harness h{klaviyo_registration(), m.server(), options(state)};
    auto schema = h.record_schema(target::users, role::destination);
    ASSERT_TRUE(schema.result) << schema.result.error().message;
    EXPECT_EQ(schema.result->find("created"), nullptr) << "read-only attributes are not written";
    EXPECT_NE(schema.result->find("email"), nullptr);
    std::vector<record> records;
    for (int i = 0; i < 50; ++i) records.push_back(by_email("u" + std::to_string(i) + "@x.io"));
    record_batch batch{std::move(records)};
    auto run = h.upsert(target::users, batch, *schema.result);
    ASSERT_TRUE(run.result) << run.result.error().message;
    EXPECT_EQ(states(batch), std::vector<item_state>(50, item_state::sent));
    EXPECT_EQ(count(run.requests, "POST", "/api/profile-bulk-import-jobs"), 1u);
    EXPECT_GE(count(run.requests, "GET", "/api/profile-bulk-import-jobs/"), 1u);
    EXPECT_EQ(count(run.requests, "GET", "/import-errors"), 0u) << "no errors to read";
    EXPECT_EQ(run.requests.front().header("Content-Type").value_or(""), "application/vnd.api+json");
    m.with_profiles([](mock::profile_store& s) { EXPECT_EQ(s.size(), 50u); });
    EXPECT_TRUE(state->values.empty()) << "a finished job is forgotten";
}

TEST(KlaviyoUsers_Import, ImportErrorsAreMatchedBackByIdentifierAndRejectOnlyTheirRecords) {
    mock::klaviyo_mock m{{.api_key = key}};
    connector_harness h{klaviyo_registration(), m.server(), options()};
    std::vector<record> records;
    for (int i = 0; i < 150; ++i) records.push_back(by_email("u" + std::to_string(i) + "@x.io"));
    records[7] = by_email("not-an-address");
    record phone;
    phone.properties = boost::json::parse(R"({"phone_number":"555-0100","external_id":"e-9"})").as_object();
    phone.match_property = "external_id";
    records[120] = phone;
    record_batch batch{std::move(records)};
    auto run = h.upsert(target::users, batch, import_schema({}));
    ASSERT_TRUE(run.result) << run.result.error().message;
    for (std::size_t i = 0; i < batch.size(); ++i) {
        const auto want = i == 7 || i == 120 ? item_state::rejected : item_state::sent;
        EXPECT_EQ(batch.outcomes()[i].state, want) << i;
    }
    EXPECT_NE(batch.outcomes()[7].reason.find("Invalid email"), std::string::npos)
        << batch.outcomes()[7].reason;
    EXPECT_NE(batch.outcomes()[120].reason.find("phone"), std::string::npos) << batch.outcomes()[120].reason;
    EXPECT_EQ(count(run.requests, "POST", "/api/profile-import"), 0u) << "every error matched a record";
    EXPECT_EQ(count(run.requests, "GET", "/import-errors"), 1u);
    m.with_profiles([](mock::profile_store& s) { EXPECT_EQ(s.size(), 148u); });
}

TEST(KlaviyoUsers_Import, AnErrorThatMatchesNoRecord_SendsTheOthersOneByOneThroughProfileImport) {
    mock::klaviyo_mock m{{.api_key = key, .imports = {.original_payloads = false}}};
    connector_harness h{klaviyo_registration(), m.server(), options()};
    std::vector<record> records;
    for (int i = 0; i < 6; ++i) records.push_back(by_email("u" + std::to_string(i) + "@x.io"));
    records[2] = by_email("bad-address");
    record_batch batch{std::move(records)};
    auto run = h.upsert(target::users, batch, import_schema({}));
    ASSERT_TRUE(run.result) << run.result.error().message;
    EXPECT_EQ(states(batch),
              (std::vector<item_state>{item_state::sent, item_state::sent, item_state::rejected,
                                       item_state::sent, item_state::sent, item_state::sent}));
    EXPECT_EQ(count(run.requests, "POST", "/api/profile-import"), 6u);
    EXPECT_FALSE(batch.outcomes()[0].id.empty()) << "profile-import reports the profile's id";
}

TEST(KlaviyoUsers_Import, OneRecordGoesThroughProfileImportAndReportsTheIdKlaviyoGaveIt) {
    mock::klaviyo_mock m{{.api_key = key}};
    connector_harness h{klaviyo_registration(), m.server(), options()};
    record_batch batch{{by_email("solo@x.io")}};
    auto run = h.upsert(target::users, batch, import_schema({}));
    ASSERT_TRUE(run.result) << run.result.error().message;
    ASSERT_EQ(run.requests.size(), 1u);
    EXPECT_EQ(run.requests[0].path, "/api/profile-import");
    EXPECT_EQ(run.requests[0].status, 201u) << run.requests[0].body;
    EXPECT_EQ(batch.outcomes()[0].state, item_state::sent);
    m.with_profiles(
        [&](mock::profile_store& s) { EXPECT_EQ(batch.outcomes()[0].id, s.find_by("email", "solo@x.io")); });
}

TEST(KlaviyoUsers_Limits, AJobHoldsAtMost10000ProfilesAnd5000000BytesAndAProfileOver100KBIsDiscarded) {
    mock::klaviyo_mock m{{.api_key = key}};
    connector_harness h{klaviyo_registration(), m.server(), options()};
    std::vector<record> many;
    for (int i = 0; i < 10'001; ++i) many.push_back(by_email("u" + std::to_string(i) + "@x.io"));
    record_batch count_batch{std::move(many)};
    auto preview = h.preview_upsert(target::users, count_batch, import_schema({}));
    ASSERT_TRUE(preview.result) << preview.result.error().message;
    ASSERT_EQ(preview.result->size(), 1u);
    auto body = boost::json::parse(preview.result->front().body);
    EXPECT_EQ(body.at("data").at("attributes").at("profiles").at("data").as_array().size(), 10'000u);
    for (const auto& hd : preview.result->front().headers)
        if (hd.name == "Authorization") {
            EXPECT_EQ(hd.value, "[REDACTED]");
        }

    std::vector<record> big;
    big.push_back(by_email("huge@x.io", std::string(100'001, 'n')));
    for (int i = 0; i < 60; ++i)
        big.push_back(by_email("b" + std::to_string(i) + "@x.io", std::string(90'000, 'n')));
    record_batch bytes_batch{std::move(big)};
    auto run = h.upsert(target::users, bytes_batch, import_schema({}));
    ASSERT_TRUE(run.result) << run.result.error().message;
    ASSERT_EQ(count(run.requests, "POST", "/api/profile-bulk-import-jobs"), 1u);
    for (const auto& r : run.requests) EXPECT_LE(r.body.size(), 5'000'000u);
    EXPECT_EQ(bytes_batch.outcomes()[0].state, item_state::discarded) << "over 100 KB";
    std::size_t sent = 0;
    for (const auto& o : bytes_batch.outcomes()) sent += o.state == item_state::sent;
    EXPECT_EQ(sent, 55u) << "55 profiles of ~90 KB fit in 5,000,000 bytes";
    EXPECT_EQ(bytes_batch.outcomes()[56].state, item_state::postponed) << "the one that did not fit";
    EXPECT_EQ(bytes_batch.outcomes()[57].state, item_state::pending) << "the rest wait for the next job";
}

TEST(KlaviyoUsers_Import, AJobRefusedWithAPointer_HasThatProfileTriedAloneAndTheRestSent) {
    mock::klaviyo_mock m{{.api_key = key}};
    connector_harness h{klaviyo_registration(), m.server(), options()};
    std::vector<record> records;
    for (int i = 0; i < 5; ++i) records.push_back(by_email("u" + std::to_string(i) + "@x.io"));
    records[3].properties["location"] = boost::json::object{{"latitude", true}};
    record_batch batch{std::move(records)};
    auto run = h.upsert(target::users, batch, import_schema({}));
    ASSERT_TRUE(run.result) << run.result.error().message;
    EXPECT_EQ(states(batch), (std::vector<item_state>{item_state::sent, item_state::sent, item_state::sent,
                                                      item_state::rejected, item_state::sent}));
    EXPECT_NE(batch.outcomes()[3].reason.find("latitude"), std::string::npos) << batch.outcomes()[3].reason;
    m.with_profiles([](mock::profile_store& s) { EXPECT_EQ(s.size(), 4u); });
}

TEST(KlaviyoUsers_Errors, EachStatusIsMappedAndNeverCarriesTheKey) {
    struct row {
        unsigned status;
        error_kind kind;
    };
    for (const auto& r : {row{401, error_kind::auth}, row{403, error_kind::auth},
                          row{409, error_kind::rejected}, row{422, error_kind::rejected}}) {
        mock::klaviyo_mock m{{.api_key = key}};
        connector_harness h{klaviyo_registration(), m.server(), options()};
        m.inject_status(r.status);
        record_batch batch{{by_email("a@x.io"), by_email("b@x.io")}};
        auto run = h.upsert(target::users, batch, import_schema({}));
        ASSERT_FALSE(run.result) << r.status;
        EXPECT_EQ(run.result.error().kind, r.kind) << r.status;
        EXPECT_EQ(run.result.error().message.find(key), std::string::npos);
    }
}

TEST(KlaviyoUsers_Restart, AJobLeftByAnEarlierConnectorIsPolledFirstAndDecidesUnchangedRecords) {
    mock::klaviyo_mock m{{.api_key = key, .imports = {.processing_us = 2'500'000}}};
    auto state = std::make_shared<testing::memory_connector_state>();
    std::vector<record> records;
    for (int i = 0; i < 20; ++i) records.push_back(by_email("u" + std::to_string(i) + "@x.io"));
    records[4] = by_email("nope");
    {
        // The first process: the job is accepted, then the process dies while polling.
        connector_harness first{klaviyo_registration(), m.server(),
                                options(state, std::chrono::milliseconds{1'000})};
        record_batch batch{records};
        EXPECT_ANY_THROW(first.upsert(target::users, batch, import_schema({})));
        ASSERT_EQ(state->values.size(), 1u) << "the job in flight is saved";
    }
    connector_harness second{klaviyo_registration(), m.server(), options(state)};
    record_batch batch{records};
    auto run = second.upsert(target::users, batch, import_schema({}));
    ASSERT_TRUE(run.result) << run.result.error().message;
    EXPECT_EQ(count(run.requests, "POST", "/api/profile-bulk-import-jobs"), 0u) << "nothing sent again";
    EXPECT_GE(count(run.requests, "GET", "/api/profile-bulk-import-jobs/"), 1u);
    for (std::size_t i = 0; i < batch.size(); ++i)
        EXPECT_EQ(batch.outcomes()[i].state, i == 4 ? item_state::rejected : item_state::sent) << i;
    EXPECT_TRUE(state->values.empty());
    m.with_imports([](const mock::import_store& s) { EXPECT_EQ(s.jobs_created(), 1u); });
}

}  // namespace
}  // namespace tributary::connectors::klaviyo
