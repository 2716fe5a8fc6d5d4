// The pure part of profile imports (connectors/klaviyo/imports.hpp): a record as a profile
// resource, the job and import-error parsers (bad vendor input is an error, never a crash),
// matching errors back by identifier, the saved form of jobs in flight, the poll schedule.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "connectors/klaviyo/imports.hpp"

namespace tributary::connectors::klaviyo {
namespace {

record make(const std::string& id, const std::string& properties) {
    record r;
    r.id = id;
    r.properties = boost::json::parse(properties).as_object();
    return r;
}

TEST(KlaviyoImports_Resource, OnlyTheSchemasAttributesWithTheIdWhenThereIsOneAndNullsKept) {
    auto r = make("", R"({"email":"a@x.io","title":null,"updated":"2026-01-01T00:00:00Z","shoe":9,)"
                      R"("location":{"city":"Rome","planet":"Mars"},"properties":{"plan":"pro"}})");
    EXPECT_EQ(profile_resource(r),
              R"({"type":"profile","attributes":{"email":"a@x.io","title":null,"location":{"city":"Rome"},)"
              R"("properties":{"plan":"pro"}}})");
    EXPECT_EQ(profile_resource(make("01ABC", R"({"first_name":"Al"})")),
              R"({"type":"profile","id":"01ABC","attributes":{"first_name":"Al"}})");
    EXPECT_EQ(single_profile_body(R"({"type":"profile"})"), R"({"data":{"type":"profile"}})");
    const auto keys =
        keys_of(make("01X", R"({"email":"A@x.io","phone_number":"+15550100","external_id":7})"));
    EXPECT_EQ(keys.id, "01X");
    EXPECT_EQ(keys.email, "A@x.io");
    EXPECT_EQ(keys.phone_number, "+15550100");
    EXPECT_EQ(keys.external_id, "") << "not a string";
}

TEST(KlaviyoImports_Job, TheSpecsShapeParsesAndAnythingElseIsAnError) {
    auto j = parse_import_job(
        R"({"data":{"type":"profile-bulk-import-job","id":"01GSQ","attributes":{"status":"complete","created_at":)"
        R"("2026-05-01T10:00:00+00:00","total_count":10,"failed_count":2,"expires_at":"2026-05-08T10:00:00+00:00"}}})");
    ASSERT_TRUE(j) << j.error();
    EXPECT_EQ(j->id, "01GSQ");
    EXPECT_TRUE(j->finished());
    EXPECT_EQ(j->failed_count, 2u);
    ASSERT_TRUE(j->expires_at_us);
    auto queued = parse_import_job(
        R"({"data":{"type":"profile-bulk-import-job","id":"01GSQ","attributes":{"status":"queued","total_count":1,)"
        R"("failed_count":null,"expires_at":null}}})");
    ASSERT_TRUE(queued) << queued.error();
    EXPECT_FALSE(queued->finished());
    EXPECT_FALSE(queued->expires_at_us);
    for (
        const char* bad : {
            "",
            "[]",
            "{\"data\":[]}",
            R"({"data":{"type":"profile","id":"1","attributes":{}}})",
            R"({"data":{"type":"profile-bulk-import-job","id":"../x","attributes":{"status":"queued","total_count":1}}})",
            R"({"data":{"type":"profile-bulk-import-job","id":"1","attributes":{"status":"done","total_count":1}}})",
            R"({"data":{"type":"profile-bulk-import-job","id":"1","attributes":{"status":"queued","total_count":"1"}}})",
            R"({"data":{"type":"profile-bulk-import-job","id":"1","attributes":{"status":"queued","total_count":1,"expires_at":"soon"}}})",
        }) {
        EXPECT_FALSE(parse_import_job(bad)) << bad;
    }
}

TEST(KlaviyoImports_Errors, PagesParseAndErrorsMatchBackByIdentifierOnceEach) {
    auto page = parse_import_errors(
        R"({"data":[{"type":"import-error","id":"e1","attributes":{"code":"invalid","title":"Invalid input.",)"
        R"("detail":"Invalid email address.","source":{"pointer":"/data/attributes/email"},)"
        R"("original_payload":{"email":"Bad@X.io"}}},)"
        R"({"type":"import-error","id":"e2","attributes":{"code":"invalid","title":"T","detail":"D","source":{},)"
        R"("original_payload":null}}],"links":{"next":"https://a.klaviyo.com/api/profile-bulk-import-jobs/01J/import-errors/?page%5Bcursor%5D=x"}})");
    ASSERT_TRUE(page) << page.error();
    ASSERT_EQ(page->errors.size(), 2u);
    EXPECT_EQ(page->errors[0].reason,
              "Klaviyo did not import the profile: Invalid input.: Invalid email address. "
              "(/data/attributes/email)");
    ASSERT_TRUE(page->next);
    EXPECT_TRUE(is_import_errors_url(*page->next));
    EXPECT_FALSE(is_import_errors_url("https://a.klaviyo.com/api/profiles/?page%5Bcursor%5D=x"));
    EXPECT_FALSE(is_import_errors_url("https://a.klaviyo.com/api/profile-bulk-import-jobs/01J"));
    EXPECT_EQ(import_errors_url("01J"),
              "https://a.klaviyo.com/api/profile-bulk-import-jobs/01J/import-errors?page%5Bsize%5D=100");
    EXPECT_FALSE(parse_import_errors(R"({"data":[{"type":"profile"}]})"));
    EXPECT_FALSE(parse_import_errors(R"({"data":[],"links":{"next":3}})"));

    const std::vector<profile_keys> slots{{.email = "ok@x.io"},
                                          {.email = "bad@x.io"},
                                          {.phone_number = "+1555"},
                                          {.id = "01K", .external_id = "e"}};
    auto matched = match_import_errors(slots, page->errors, 2);
    ASSERT_EQ(matched.rejected.size(), 1u);
    EXPECT_EQ(matched.rejected[0].first, 1u) << "emails match case-insensitively";
    EXPECT_EQ(matched.unmatched, 1u) << "the error without a payload";
    const std::vector<import_error> by_others{{.reason = "p", .keys = {.phone_number = "+1555"}},
                                              {.reason = "x", .keys = {.external_id = "e"}},
                                              {.reason = "again", .keys = {.id = "01K"}}};
    auto others = match_import_errors(slots, by_others, 5);
    ASSERT_EQ(others.rejected.size(), 2u);
    EXPECT_EQ(others.rejected[0].first, 2u);
    EXPECT_EQ(others.rejected[1].first, 3u);
    EXPECT_EQ(others.unmatched, 1u + 2u) << "a second error for one profile, and two errors not listed";
    import_matcher m;
    m.add(0, {.email = "A@x.io"});
    EXPECT_TRUE(m.clashes({.email = "a@X.IO"}));
    EXPECT_FALSE(m.clashes({.phone_number = "+1"}));
}

TEST(KlaviyoImports_Pending, SavedJobsRoundTripAndBadTextIsAnError) {
    const std::vector<pending_import> jobs{
        {.id = "01A", .expires_at_us = 1'800'000'000'000'000, .items = {1, 0xffffffffffffffffull}},
        {.id = "01B", .expires_at_us = std::nullopt, .items = {}}};
    auto back = decode_pending(encode_pending(jobs));
    ASSERT_TRUE(back) << back.error();
    ASSERT_EQ(back->size(), 2u);
    EXPECT_EQ((*back)[0].id, "01A");
    EXPECT_EQ((*back)[0].expires_at_us, jobs[0].expires_at_us);
    EXPECT_EQ((*back)[0].items, jobs[0].items);
    EXPECT_FALSE((*back)[1].expires_at_us);
    for (const char* bad : {"", "{}", "[1]", R"([{"id":"a/b","items":[]}])", R"([{"id":"a"}])",
                            R"([{"id":"a","items":["x"]}])"})
        EXPECT_FALSE(decode_pending(bad)) << bad;
    EXPECT_EQ(resource_hash("abc"), resource_hash("abc"));
    EXPECT_NE(resource_hash("abc"), resource_hash("abd"));
    EXPECT_EQ(resource_hash(""), 14695981039346656037ull) << "FNV-1a's offset basis: stable across builds";
}

TEST(KlaviyoImports_Poll, HalfASecondDoublingUpToTenSeconds) {
    EXPECT_EQ(poll_delay(0), std::chrono::milliseconds{500});
    EXPECT_EQ(poll_delay(1), std::chrono::milliseconds{1000});
    EXPECT_EQ(poll_delay(4), std::chrono::milliseconds{8000});
    EXPECT_EQ(poll_delay(5), std::chrono::milliseconds{10'000});
    EXPECT_EQ(poll_delay(1000), std::chrono::milliseconds{10'000});
}

}  // namespace
}  // namespace tributary::connectors::klaviyo
