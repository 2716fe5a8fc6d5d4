// Mock Klaviyo answers as Klaviyo documents: the table of known-bad requests (each with the status,
// error code and parameter Klaviyo gives), the request that breaks a window, paging with the real
// cursor shape, filters, injected failures. These tests are the fixture the connector tests
// require (ctest runs them first), so the mock the connector is measured against is tested too.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/types/time_layout.hpp"
#include "tests/kit/klaviyo_mock.hpp"
#include "tests/kit/test_client.hpp"

namespace tributary::kit::klaviyo {
namespace {

const std::string key = "pk_" + std::string(34, 'c') + "1";

std::int64_t us(std::string_view iso) {
    return types::parse_datetime(iso, "").value();
}

header_list good_headers() {
    return {{"Authorization", "Klaviyo-API-Key " + key},
            {"revision", "2026-07-15"},
            {"Accept", "application/vnd.api+json"}};
}

header_list without(header_list h, std::string_view name) {
    std::erase_if(h, [&](const auto& kv) { return kv.first == name; });
    return h;
}

header_list replaced(header_list h, std::string name, std::string value) {
    h = without(std::move(h), name);
    h.emplace_back(std::move(name), std::move(value));
    return h;
}

struct bad_request {
    std::string name;
    std::string method;
    std::string target;
    header_list headers;
    unsigned status;
    std::string code;
    std::string parameter;
};

TEST(KlaviyoMock_KnownBadRequests, EachIsAnsweredAsKlaviyoDocuments) {
    klaviyo_mock mock{{.api_key = key}};
    mock.with_profiles([](profile_store& s) { s.generate(3, us("2026-05-01T10:00:00Z"), 1'000'000, 0); });
    const std::vector<bad_request> table{
        {"page[size]=101", "GET", "/api/profiles?page%5Bsize%5D=101", good_headers(), 400, "invalid",
         "page[size]"},
        {"page[size]=0", "GET", "/api/profiles/?page%5Bsize%5D=0", good_headers(), 400, "invalid",
         "page[size]"},
        {"page[size] not a number", "GET", "/api/profiles?page%5Bsize%5D=ten", good_headers(), 400, "invalid",
         "page[size]"},
        {"malformed filter (unbalanced)", "GET",
         "/api/profiles?filter=greater-than%28updated%2C2026-05-01T10%3A00%3A00Z", good_headers(), 400,
         "invalid", "filter"},
        {"filter with a fraction of a second", "GET",
         "/api/profiles?filter=greater-than%28updated%2C2026-05-01T10%3A00%3A00.5Z%29", good_headers(), 400,
         "invalid", "filter"},
        {"filter without a zone", "GET",
         "/api/profiles?filter=greater-than%28updated%2C2026-05-01T10%3A00%3A00%29", good_headers(), 400,
         "invalid", "filter"},
        {"operator the field does not allow", "GET",
         "/api/profiles?filter=equals%28updated%2C2026-05-01T10%3A00%3A00Z%29", good_headers(), 400,
         "invalid", "filter"},
        {"field that cannot be filtered", "GET", "/api/profiles?filter=equals%28first_name%2C%27Ann%27%29",
         good_headers(), 400, "invalid", "filter"},
        {"sort outside the enum", "GET", "/api/profiles?sort=first_name", good_headers(), 400, "invalid",
         "sort"},
        {"unknown field", "GET", "/api/profiles?fields%5Bprofile%5D=email%2Cshoe_size", good_headers(), 400,
         "invalid", "fields[profile]"},
        {"unknown parameter", "GET", "/api/profiles?page%5Bnumber%5D=2", good_headers(), 400, "invalid",
         "page[number]"},
        {"parameter given twice", "GET", "/api/profiles?sort=updated&sort=updated", good_headers(), 400,
         "invalid", "sort"},
        {"cursor the mock never issued", "GET", "/api/profiles?page%5Bcursor%5D=bm90LWEtY3Vyc29y",
         good_headers(), 400, "invalid", "page[cursor]"},
        {"no revision", "GET", "/api/profiles", without(good_headers(), "revision"), 400, "invalid",
         "revision"},
        {"malformed revision", "GET", "/api/profiles", replaced(good_headers(), "revision", "July 2026"), 400,
         "invalid", "revision"},
        {"no Authorization", "GET", "/api/profiles", without(good_headers(), "Authorization"), 401,
         "not_authenticated", ""},
        {"Bearer instead of Klaviyo-API-Key", "GET", "/api/profiles",
         replaced(good_headers(), "Authorization", "Bearer " + key), 401, "not_authenticated", ""},
        {"another key", "GET", "/api/profiles",
         replaced(good_headers(), "Authorization", "Klaviyo-API-Key pk_" + std::string(35, 'd')), 401,
         "authentication_failed", ""},
        {"Accept without the JSON:API type", "GET", "/api/profiles",
         replaced(good_headers(), "Accept", "application/json"), 406, "not_acceptable", ""},
        {"method the endpoint does not have", "DELETE", "/api/profiles", good_headers(), 405,
         "method_not_allowed", ""},
        {"unknown path", "GET", "/api/profile", good_headers(), 404, "not_found", ""},
    };
    test_client client{mock.server()};
    for (const auto& t : table) {
        auto r = client.request(t.method, t.target, {}, t.headers);
        ASSERT_TRUE(r.ok()) << t.name;
        EXPECT_EQ(r.status, t.status) << t.name << ": " << r.body;
        EXPECT_EQ(r.header("Content-Type").value_or(""), "application/vnd.api+json") << t.name;
        auto body = boost::json::parse(r.body);
        const auto& e = body.at("errors").at(0);
        EXPECT_EQ(e.at("code").as_string(), t.code) << t.name;
        EXPECT_EQ(e.at("status").as_int64(), t.status) << t.name;
        for (const char* member : {"id", "title", "detail"}) EXPECT_TRUE(e.at(member).is_string()) << t.name;
        if (!t.parameter.empty()) {
            EXPECT_EQ(e.at("source").at("parameter").as_string(), t.parameter) << t.name;
        }
        EXPECT_EQ(r.body.find(key), std::string::npos) << t.name;
    }
    const auto s = mock.stats();
    EXPECT_EQ(s.requests, table.size());
    EXPECT_EQ(s.ok, 0u);
    EXPECT_EQ(s.rate_limited, 0u);
}

TEST(KlaviyoMock_Windows, TheRequestThatBreaksAWindow_Gets429WithRetryAfterAndRateLimitHeaders) {
    // 75/s and 750/min divided by 75: one request per second, ten per minute; windows start now.
    klaviyo_mock mock{
        {.api_key = key, .limit_divisor = 75, .window_origin = std::chrono::steady_clock::now()}};
    test_client client{mock.server()};
    auto first = client.get("/api/profiles", good_headers());
    ASSERT_EQ(first.status, 200u) << first.body;
    EXPECT_EQ(first.header("RateLimit-Limit").value_or(""), "10");
    EXPECT_EQ(first.header("RateLimit-Remaining").value_or(""), "9");
    EXPECT_TRUE(first.header("RateLimit-Reset"));
    auto second = client.get("/api/profiles", good_headers());
    ASSERT_EQ(second.status, 429u) << second.body;
    EXPECT_EQ(second.header("Retry-After").value_or(""), "1");
    EXPECT_EQ(second.header("RateLimit-Limit").value_or(""), "10");
    auto body = boost::json::parse(second.body);
    EXPECT_EQ(body.at("errors").at(0).at("code").as_string(), "throttled");
    const auto s = mock.stats();
    EXPECT_EQ(s.rate_limited, 1u);
    EXPECT_EQ(s.ok, 1u);
    auto w = mock.windows("get_profiles");
    ASSERT_TRUE(w);
    EXPECT_EQ(w->accepted(), 1u);
    EXPECT_EQ(w->rejected(), 1u);
}

TEST(KlaviyoMock_Windows, PredictiveRequests_UseTheLowerWindowsToo) {
    // 10/s and 150/min divided by 10: one per second; the plain windows (7/s, 75/min) still have room.
    klaviyo_mock mock{
        {.api_key = key, .limit_divisor = 10, .window_origin = std::chrono::steady_clock::now()}};
    test_client client{mock.server()};
    const std::string predictive = "/api/profiles?additional-fields%5Bprofile%5D=predictive_analytics";
    EXPECT_EQ(client.get(predictive, good_headers()).status, 200u);
    EXPECT_EQ(client.get(predictive, good_headers()).status, 429u);
    EXPECT_EQ(client.get("/api/profiles", good_headers()).status, 200u);
}

TEST(KlaviyoMock_Paging, LinksNextCarriesTheCursorOnTheTrailingSlashPathToTheEnd) {
    klaviyo_mock mock{{.api_key = key, .limits = false}};
    mock.with_profiles([](profile_store& s) { s.generate(250, us("2026-05-01T10:00:00Z"), 1'000'000, 0); });
    test_client client{mock.server()};
    std::string target = "/api/profiles?page%5Bsize%5D=100&sort=updated";
    std::vector<std::size_t> sizes;
    std::set<std::string> ids;
    std::string last_updated;
    while (true) {
        auto r = client.get(target, good_headers());
        ASSERT_EQ(r.status, 200u) << r.body;
        auto doc = boost::json::parse(r.body);
        const auto& data = doc.at("data").as_array();
        sizes.push_back(data.size());
        for (const auto& p : data) {
            EXPECT_TRUE(ids.insert(std::string{p.at("id").as_string()}).second);
            std::string updated{p.at("attributes").at("updated").as_string()};
            EXPECT_LT(last_updated, updated);
            last_updated = updated;
        }
        const auto& next = doc.at("links").at("next");
        if (next.is_null()) break;
        const std::string link{next.as_string()};
        const std::string prefix = mock.base_url() + "/api/profiles/?";
        ASSERT_EQ(link.rfind(prefix, 0), 0u) << link;
        EXPECT_NE(link.find("page%5Bcursor%5D="), std::string::npos);
        EXPECT_NE(link.find("page%5Bsize%5D=100"), std::string::npos);
        target = link.substr(mock.base_url().size());
    }
    EXPECT_EQ(sizes, (std::vector<std::size_t>{100, 100, 50}));
    EXPECT_EQ(ids.size(), 250u);
}

TEST(KlaviyoMock_Filter, GreaterThanUpdated_ServesOnlyLaterProfilesAndFieldsAreSparse) {
    klaviyo_mock mock{{.api_key = key, .limits = false}};
    mock.with_profiles([](profile_store& s) { s.generate(10, us("2026-05-01T10:00:00Z"), 1'000'000, 0); });
    test_client client{mock.server()};
    auto r = client.get(
        "/api/profiles?fields%5Bprofile%5D=email%2Cupdated&sort=updated"
        "&filter=greater-than%28updated%2C2026-05-01T10%3A00%3A06Z%29",
        good_headers());
    ASSERT_EQ(r.status, 200u) << r.body;
    auto doc = boost::json::parse(r.body);
    const auto& data = doc.at("data").as_array();
    ASSERT_EQ(data.size(), 3u);
    EXPECT_EQ(data[0].at("attributes").at("updated").as_string(), "2026-05-01T10:00:07.000000+00:00");
    EXPECT_EQ(data[0].at("attributes").as_object().size(), 2u);
    EXPECT_EQ(data[0].at("attributes").as_object().if_contains("predictive_analytics"), nullptr);
}

TEST(KlaviyoMock_Inject, InjectedFailures_AnswerFirstThenTheMockResumes) {
    klaviyo_mock mock{{.api_key = key, .limits = false}};
    mock.inject_status(503, 2);
    mock.inject_status(429, 1, 3);
    test_client client{mock.server()};
    EXPECT_EQ(client.get("/api/profiles", good_headers()).status, 503u);
    EXPECT_EQ(client.get("/api/profiles", good_headers()).status, 503u);
    auto throttled = client.get("/api/profiles", good_headers());
    EXPECT_EQ(throttled.status, 429u);
    EXPECT_EQ(throttled.header("Retry-After").value_or(""), "3");
    EXPECT_EQ(client.get("/api/profiles", good_headers()).status, 200u);
    const auto s = mock.stats();
    EXPECT_EQ(s.injected, 3u);
    EXPECT_EQ(s.rate_limited, 0u);
    EXPECT_EQ(s.by_status.at(503), 2u);
}

}  // namespace
}  // namespace tributary::kit::klaviyo

namespace tributary::kit::klaviyo {
namespace {

// One event-bulk-create item with `events` events of `metric`, unique ids from `first_id`.
std::string bulk_item(const std::string& email, const std::string& metric, int events, int first_id) {
    std::string out =
        R"({"type":"event-bulk-create","attributes":{"profile":{"data":{"type":"profile","attributes":{"email":")" +
        email + R"("}}},"events":{"data":[)";
    for (int i = 0; i < events; ++i) {
        if (i > 0) out += ',';
        out += R"({"type":"event","attributes":{"properties":{"n":)" + std::to_string(i) +
               R"(},"time":"2026-05-01T10:00:00Z","unique_id":"u-)" + std::to_string(first_id + i) +
               R"(","metric":{"data":{"type":"metric","attributes":{"name":")" + metric + R"("}}}}})";
    }
    return out + "]}}}";
}

std::string job(const std::vector<std::string>& items) {
    std::string out =
        R"({"data":{"type":"event-bulk-create-job","attributes":{"events-bulk-create":{"data":[)";
    for (std::size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + items[i];
    return out + "]}}}}";
}

header_list post_headers() {
    auto h = good_headers();
    h.emplace_back("Content-Type", "application/vnd.api+json");
    return h;
}

header_list text_plain_headers() {
    auto h = good_headers();
    h.emplace_back("Content-Type", "text/plain");
    return h;
}

struct bad_job {
    std::string name;
    std::string body;
    header_list headers;
    unsigned status;
    std::string pointer_part;
};

// POSTs each body of `table` to `path`: the status and the pointer as Klaviyo documents them.
void expect_refusals(test_client& client, const std::string& path, const std::vector<bad_job>& table) {
    for (const auto& t : table) {
        auto r = client.request("POST", path, t.body, t.headers);
        ASSERT_TRUE(r.ok()) << t.name;
        EXPECT_EQ(r.status, t.status) << t.name << ": " << r.body.substr(0, 300);
        auto body = boost::json::parse(r.body);
        const auto& e = body.at("errors").at(0);
        if (!t.pointer_part.empty()) {
            EXPECT_NE(std::string{e.at("source").at("pointer").as_string()}.find(t.pointer_part),
                      std::string::npos)
                << t.name << ": " << e;
        }
    }
}

TEST(KlaviyoMock_KnownBadJobs, EachIsAnsweredAsKlaviyoDocumentsAndRecordsNothing) {
    klaviyo_mock mock{{.api_key = key, .limits = false}};
    test_client client{mock.server()};
    // An accepted job first: its unique ids are then taken for that profile and metric.
    auto ok = client.request("POST", "/api/event-bulk-create-jobs",
                             job({bulk_item("a@x.io", "Viewed", 2, 1)}), post_headers());
    ASSERT_EQ(ok.status, 202u) << ok.body;

    const std::string big_string(100'001, 'x');
    const auto text_plain = text_plain_headers();
    const std::vector<bad_job> table{
        {"1,001 nested events across profiles",
         job({bulk_item("b@x.io", "Viewed", 600, 100), bulk_item("c@x.io", "Viewed", 401, 800)}),
         post_headers(), 400, "/data/attributes/events-bulk-create/data/1/attributes/events/data/400"},
        {"a body over 5,000,000 bytes",
         job({bulk_item("d@x.io", "Viewed", 1, 2000)}) + std::string(5'000'000, ' '), post_headers(), 413,
         ""},
        {"a text/plain body", job({bulk_item("e@x.io", "Viewed", 1, 3000)}), text_plain, 415, ""},
        {"a unique_id repeated in the job",
         job({bulk_item("f@x.io", "Viewed", 1, 4000), bulk_item("f@x.io", "Viewed", 1, 4000)}),
         post_headers(), 400, "/unique_id"},
        {"a unique_id already recorded for that profile and metric",
         job({bulk_item("a@x.io", "Viewed", 1, 1)}), post_headers(), 400, "/unique_id"},
        {"a metric name of 128 characters", job({bulk_item("g@x.io", std::string(128, 'm'), 1, 5000)}),
         post_headers(), 400, "/metric/data/attributes/name"},
        {"an attribute the schema does not define",
         job({R"({"type":"event-bulk-create","attributes":{"profile":{"data":{"type":"profile","attributes":{"email":"h@x.io","shoe":1}}},"events":{"data":[]}}})"}),
         post_headers(), 400, "/profile/data/attributes/shoe"},
        {"a profile without an identifier",
         job({R"({"type":"event-bulk-create","attributes":{"profile":{"data":{"type":"profile","attributes":{"first_name":"H"}}},"events":{"data":[]}}})"}),
         post_headers(), 400, "/profile/data/attributes"},
        {"a string over 100KB", job({bulk_item("i@x.io", big_string, 1, 6000)}), post_headers(), 400, ""},
        {"no revision", job({bulk_item("j@x.io", "Viewed", 1, 7000)}), without(post_headers(), "revision"),
         400, ""},
        {"not JSON", "{\"data\":", post_headers(), 400, "/"},
    };
    expect_refusals(client, "/api/event-bulk-create-jobs", table);
    mock.with_events([](const event_store& s) { EXPECT_EQ(s.events().size(), 2u); });
}

TEST(KlaviyoMock_Jobs, AValidJobOf1000EventsIsAcceptedAndItsWindowsAre10PerSecond) {
    klaviyo_mock mock{{.api_key = key, .window_origin = std::chrono::steady_clock::now()}};
    test_client client{mock.server()};
    auto r = client.request(
        "POST", "/api/event-bulk-create-jobs",
        job({bulk_item("a@x.io", "Viewed", 500, 0), bulk_item("b@x.io", "Ordered", 500, 0)}), post_headers());
    ASSERT_EQ(r.status, 202u) << r.body.substr(0, 300);
    EXPECT_TRUE(r.body.empty());
    EXPECT_EQ(r.header("RateLimit-Limit").value_or(""), "150");
    mock.with_events([](const event_store& s) { EXPECT_EQ(s.events().size(), 1000u); });
    // Small requests as fast as they go: some second then holds an eleventh, refused. Up to 40
    // tries, so a loaded machine (a slow first request, a second boundary between them) still
    // gets more than ten into one second.
    unsigned last = 0;
    int accepted = 1;
    for (int i = 0; i < 40 && last != 429; ++i) {
        last = client.request("POST", "/api/event-bulk-create-jobs", job({}), post_headers()).status;
        if (last == 202) ++accepted;
    }
    EXPECT_EQ(last, 429u) << "more than ten requests within one second";
    EXPECT_GE(accepted, 10) << "the first ten of a second are accepted";
}

// The body of POST /api/events: one event of `metric` for `email`, with `unique_id`.
std::string single_event(const std::string& email, const std::string& metric, const std::string& unique_id) {
    return R"({"data":{"type":"event","attributes":{"properties":{"n":1},"time":"2026-05-01T10:00:00Z","unique_id":")" +
           unique_id + R"(","metric":{"data":{"type":"metric","attributes":{"name":")" + metric +
           R"("}}},"profile":{"data":{"type":"profile","attributes":{"email":")" + email + R"("}}}}}})";
}

TEST(KlaviyoMock_CreateEvent, TheFirstOfARepeatedUniqueIdIsRecordedRepeatsAre202AndDropped) {
    klaviyo_mock mock{{.api_key = key, .limits = false}};
    test_client client{mock.server()};
    // u-1 and u-2 recorded by a job; POST /api/events of u-1 again: accepted, not recorded.
    ASSERT_EQ(client
                  .request("POST", "/api/event-bulk-create-jobs", job({bulk_item("a@x.io", "Viewed", 2, 1)}),
                           post_headers())
                  .status,
              202u);
    // u-1 again (a repeat of the job's), u-3 new, u-3 again, u-3 for another metric (another event).
    for (const auto& [metric, id] : std::vector<std::pair<std::string, std::string>>{
             {"Viewed", "u-1"}, {"Viewed", "u-3"}, {"Viewed", "u-3"}, {"Ordered", "u-3"}}) {
        auto r = client.request("POST", "/api/events", single_event("a@x.io", metric, id), post_headers());
        EXPECT_EQ(r.status, 202u) << id << ": " << r.body;
    }
    mock.with_events([](const event_store& s) {
        ASSERT_EQ(s.events().size(), 4u);
        EXPECT_EQ(s.events()[2].unique_id, "u-3");
        EXPECT_FALSE(s.events()[2].attributes.contains("profile"));
        EXPECT_EQ(s.events()[3].metric, "Ordered");
        EXPECT_EQ(s.repeats_dropped(), 2u);
    });
    // A bulk job repeating an id POST /api/events recorded is still refused whole.
    auto job_repeat = client.request("POST", "/api/event-bulk-create-jobs",
                                     job({bulk_item("a@x.io", "Viewed", 1, 3)}), post_headers());
    EXPECT_EQ(job_repeat.status, 400u);
}

TEST(KlaviyoMock_CreateEvent, BadBodiesAreRefusedWithAPointerAndRecordNothing) {
    klaviyo_mock mock{{.api_key = key, .limits = false}};
    test_client client{mock.server()};
    const std::vector<std::pair<std::string, std::string>> table{
        {R"({"data":{"type":"event","attributes":{"properties":{},"metric":{"data":{"type":"metric","attributes":{"name":"V"}}}}}})",
         "/data/attributes/profile"},
        {R"({"data":{"type":"event","attributes":{"properties":{},"value":"9","metric":{"data":{"type":"metric","attributes":{"name":"V"}}},"profile":{"data":{"type":"profile","attributes":{"email":"a@x.io"}}}}}})",
         "/data/attributes/value"},
        {R"({"data":{"type":"event","attributes":{"properties":{},"value_currency":5,"metric":{"data":{"type":"metric","attributes":{"name":"V"}}},"profile":{"data":{"type":"profile","attributes":{"email":"a@x.io"}}}}}})",
         "/data/attributes/value_currency"},
        {R"({"data":{"type":"event","attributes":{"properties":{},"metric":{"data":{"type":"metric","attributes":{"name":"V"}}},"profile":{"data":{"type":"profile","attributes":{"first_name":"A"}}}}}})",
         "/data/attributes/profile/data/attributes"},
        {single_event("a@x.io", std::string(128, 'm'), "u-1"),
         "/data/attributes/metric/data/attributes/name"},
    };
    for (const auto& [body, pointer] : table) {
        auto r = client.request("POST", "/api/events", body, post_headers());
        ASSERT_EQ(r.status, 400u) << body;
        auto doc = boost::json::parse(r.body);
        EXPECT_EQ(doc.at("errors").at(0).at("source").at("pointer").as_string(), pointer) << r.body;
    }
    EXPECT_EQ(client.request("POST", "/api/events", single_event("a@x.io", "V", "u-1"), text_plain_headers())
                  .status,
              415u);
    mock.with_events([](const event_store& s) { EXPECT_TRUE(s.events().empty()); });
}

TEST(KlaviyoMock_CreateEvent, ItsWindowsAreItsOwn350PerSecondAnd3500PerMinute) {
    // Scaled by 10 (35/s, 350/min; jobs 1/s) so a run fits in the first second.
    klaviyo_mock mock{
        {.api_key = key, .limit_divisor = 10, .window_origin = std::chrono::steady_clock::now()}};
    test_client client{mock.server()};
    // The job endpoint's window full does not touch POST /api/events'.
    ASSERT_EQ(client.request("POST", "/api/event-bulk-create-jobs", job({}), post_headers()).status, 202u);
    ASSERT_EQ(client.request("POST", "/api/event-bulk-create-jobs", job({}), post_headers()).status, 429u);
    auto first = client.request("POST", "/api/events", single_event("a@x.io", "V", "u-0"), post_headers());
    EXPECT_EQ(first.status, 202u);
    EXPECT_EQ(first.header("RateLimit-Limit").value_or(""), "350");
    int accepted = 1;
    for (int i = 1; i <= 35; ++i) {
        auto r = client.request("POST", "/api/events", single_event("a@x.io", "V", "u-" + std::to_string(i)),
                                post_headers());
        if (r.status == 429) {
            EXPECT_TRUE(r.header("Retry-After"));
            break;
        }
        ++accepted;
    }
    EXPECT_EQ(accepted, 35) << "the 36th request within one second is refused";
}

// A profile-bulk-import-job body of `profiles` (ProfileUpsertQueryResourceObject JSON each).
std::string import_job(const std::vector<std::string>& profiles) {
    std::string out = R"({"data":{"type":"profile-bulk-import-job","attributes":{"profiles":{"data":[)";
    for (std::size_t i = 0; i < profiles.size(); ++i) out += (i ? "," : "") + profiles[i];
    return out + "]}}}}";
}

std::string import_profile(const std::string& attributes) {
    return R"({"type":"profile","attributes":{)" + attributes + "}}";
}

std::string email_profile(std::size_t i, std::size_t pad = 0) {
    return import_profile(R"("email":"u)" + std::to_string(i) + R"(@x.io","first_name":")" +
                          std::string(pad, 'n') + "\"");
}

TEST(KlaviyoMock_KnownBadImports, EachIsAnsweredAsKlaviyoDocumentsAndImportsNothing) {
    klaviyo_mock mock{{.api_key = key, .limits = false}};
    test_client client{mock.server()};
    std::vector<std::string> over;
    for (std::size_t i = 0; i < 10'001; ++i) over.push_back(email_profile(i));
    std::vector<std::string> big;
    for (std::size_t i = 0; i < 60; ++i) big.push_back(email_profile(i, 90'000));
    const std::vector<bad_job> table{
        {"10,001 profiles in one job", import_job(over), post_headers(), 400,
         "/data/attributes/profiles/data/10000"},
        {"a job body over 5,000,000 bytes", import_job(big), post_headers(), 413, ""},
        {"a profile over 100KB", import_job({email_profile(1, 100'001)}), post_headers(), 413,
         "/data/attributes/profiles/data/0"},
        {"anonymous_id, which ProfileUpsertQueryResourceObject does not define",
         import_job({import_profile(R"("email":"a@x.io","anonymous_id":"z")")}), post_headers(), 400,
         "/data/attributes/profiles/data/0/attributes/anonymous_id"},
        {"a location member the schema does not define",
         import_job({import_profile(R"("email":"a@x.io","location":{"planet":"Mars"})")}), post_headers(),
         400, "/attributes/location/planet"},
        {"a number where a string goes", import_job({import_profile(R"("email":"a@x.io","title":7)")}),
         post_headers(), 400, "/attributes/title"},
        {"the wrong resource type",
         R"({"data":{"type":"profile-import-job","attributes":{"profiles":{"data":[]}}}})", post_headers(),
         400, "/data/type"},
        {"a text/plain body", import_job({email_profile(1)}), text_plain_headers(), 415, ""},
        {"no revision", import_job({email_profile(1)}), without(post_headers(), "revision"), 400, ""},
        {"not JSON", "{\"data\":", post_headers(), 400, "/"},
    };
    expect_refusals(client, "/api/profile-bulk-import-jobs", table);
    const std::vector<bad_request> reads{
        {"import-errors page[size]=101", "GET",
         "/api/profile-bulk-import-jobs/01X/import-errors?page%5Bsize%5D=101", good_headers(), 400, "invalid",
         "page[size]"},
        {"an unknown job", "GET", "/api/profile-bulk-import-jobs/01NOPE", good_headers(), 404, "not_found",
         ""},
        {"a job read with an unknown parameter", "GET", "/api/profile-bulk-import-jobs/01NOPE?sort=id",
         good_headers(), 400, "invalid", "sort"},
    };
    for (const auto& t : reads) {
        auto r = client.request(t.method, t.target, {}, t.headers);
        EXPECT_EQ(r.status, t.status) << t.name << ": " << r.body;
        auto body = boost::json::parse(r.body);
        EXPECT_EQ(body.at("errors").at(0).at("code").as_string(), t.code) << t.name;
    }
    auto single = client.request("POST", "/api/profile-import",
                                 R"({"data":{"type":"profile","attributes":{"email":"not-an-address"}}})",
                                 post_headers());
    EXPECT_EQ(single.status, 400u) << single.body;
    EXPECT_NE(single.body.find("/data/attributes/email"), std::string::npos) << single.body;
    mock.with_imports([](const import_store& s) {
        EXPECT_EQ(s.jobs_created(), 0u);
        EXPECT_EQ(s.profiles_imported(), 0u);
    });
    mock.with_profiles([](profile_store& s) { EXPECT_EQ(s.size(), 0u); });
}

TEST(KlaviyoMock_Imports, AJobRunsAfterIts202AndReportsImportErrorsByPayloadNotByIndex) {
    klaviyo_mock mock{{.api_key = key, .limits = false, .imports = {.processing_us = 300'000}}};
    mock.with_profiles([](profile_store& s) { s.generate(2, us("2026-05-01T10:00:00Z"), 1'000'000, 0); });
    test_client client{mock.server()};
    std::vector<std::string> profiles;
    for (std::size_t i = 0; i < 45; ++i) profiles.push_back(email_profile(i));
    profiles.push_back(import_profile(R"("email":"bad-address","external_id":"x-1")"));
    profiles.push_back(import_profile(R"("phone_number":"555-1234","first_name":"Al")"));
    profiles.push_back(import_profile(R"("first_name":"Nobody")"));
    // An update of a generated profile found by its email.
    profiles.push_back(import_profile(R"("email":"p1@example.com","first_name":"Renamed")"));
    auto r = client.request("POST", "/api/profile-bulk-import-jobs", import_job(profiles), post_headers());
    ASSERT_EQ(r.status, 202u) << r.body;
    auto created = boost::json::parse(r.body);
    const std::string id{created.at("data").at("id").as_string()};
    EXPECT_EQ(created.at("data").at("attributes").at("status").as_string(), "queued");
    EXPECT_EQ(created.at("data").at("attributes").at("total_count").as_int64(), 49);
    EXPECT_TRUE(created.at("data").at("attributes").at("expires_at").is_string());
    // Nothing is written at the 202: the job runs later.
    mock.with_profiles([](profile_store& s) { EXPECT_EQ(s.size(), 2u); });
    std::string status;
    for (int i = 0; i < 200 && status != "complete"; ++i) {
        auto j = client.request("GET", "/api/profile-bulk-import-jobs/" + id, {}, good_headers());
        ASSERT_EQ(j.status, 200u) << j.body;
        status = boost::json::parse(j.body).at("data").at("attributes").at("status").as_string();
        if (status != "complete") std::this_thread::sleep_for(std::chrono::milliseconds{20});
    }
    ASSERT_EQ(status, "complete");
    auto done = boost::json::parse(
        client.request("GET", "/api/profile-bulk-import-jobs/" + id, {}, good_headers()).body);
    EXPECT_EQ(done.at("data").at("attributes").at("failed_count").as_int64(), 3);
    EXPECT_EQ(done.at("data").at("attributes").at("completed_count").as_int64(), 46);
    // Import errors, two a page: three errors, two pages, by original_payload.
    std::vector<std::string> payloads;
    std::string target = "/api/profile-bulk-import-jobs/" + id + "/import-errors?page%5Bsize%5D=2";
    int pages = 0;
    while (!target.empty()) {
        auto page = client.request("GET", target, {}, good_headers());
        ASSERT_EQ(page.status, 200u) << page.body;
        ++pages;
        auto body = boost::json::parse(page.body);
        for (const auto& e : body.at("data").as_array()) {
            EXPECT_EQ(e.at("type").as_string(), "import-error");
            payloads.push_back(boost::json::serialize(e.at("attributes").at("original_payload")));
            EXPECT_TRUE(e.at("attributes").at("source").at("pointer").is_string());
        }
        const auto& next = body.at("links").at("next");
        target = next.is_string() ? std::string{next.as_string()}.substr(mock.base_url().size()) : "";
    }
    EXPECT_EQ(pages, 2);
    ASSERT_EQ(payloads.size(), 3u);
    EXPECT_NE(payloads[0].find("x-1"), std::string::npos);
    EXPECT_NE(payloads[1].find("555-1234"), std::string::npos);
    EXPECT_NE(payloads[2].find("Nobody"), std::string::npos);
    mock.with_profiles([](profile_store& s) {
        EXPECT_EQ(s.size(), 2u + 45u);
        const auto* p = s.find(s.find_by("email", "p1@example.com"));
        ASSERT_NE(p, nullptr);
        EXPECT_EQ(p->attributes.at("first_name").as_string(), "Renamed");
    });
}

TEST(KlaviyoMock_Imports, EachImportEndpointHasItsOwnWindowsAndProfileImportAnswers201Then200) {
    klaviyo_mock mock{{.api_key = key, .window_origin = std::chrono::steady_clock::now()}};
    test_client client{mock.server()};
    auto first =
        client.request("POST", "/api/profile-import",
                       R"({"data":{"type":"profile","attributes":{"email":"a@x.io"}}})", post_headers());
    EXPECT_EQ(first.status, 201u) << first.body;
    auto again = client.request(
        "POST", "/api/profile-import",
        R"({"data":{"type":"profile","attributes":{"email":"a@x.io","title":"CTO"}}})", post_headers());
    EXPECT_EQ(again.status, 200u) << again.body;
    EXPECT_EQ(boost::json::parse(first.body).at("data").at("id"),
              boost::json::parse(again.body).at("data").at("id"));
    EXPECT_EQ(again.header("RateLimit-Limit").value_or(""), "750");
    // Job POSTs: some second holds an eleventh, refused with Retry-After.
    unsigned last = 0;
    for (int i = 0; i < 40 && last != 429; ++i)
        last = client
                   .request("POST", "/api/profile-bulk-import-jobs", import_job({email_profile(i)}),
                            post_headers())
                   .status;
    EXPECT_EQ(last, 429u);
    // The job reads have windows of their own: not refused because the POSTs were.
    auto read = client.request("GET", "/api/profile-bulk-import-jobs/01NOPE", {}, good_headers());
    EXPECT_EQ(read.status, 404u) << read.body;
    auto errors =
        client.request("GET", "/api/profile-bulk-import-jobs/01NOPE/import-errors", {}, good_headers());
    EXPECT_EQ(errors.status, 404u) << errors.body;
    EXPECT_EQ(errors.header("RateLimit-Limit").value_or(""), "150");
}

}  // namespace
}  // namespace tributary::kit::klaviyo
