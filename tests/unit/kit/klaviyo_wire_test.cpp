// Mock Klaviyo's pure parsers: the query string, the profiles filter grammar (what the spec's
// x-klaviyo-filters allows and nothing more), the header checks, and keyset paging that moves an
// updated profile instead of skipping it.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include <boost/json/parse.hpp>

#include <string>
#include <vector>

#include "core/types/time_layout.hpp"
#include "tests/kit/klaviyo_wire.hpp"

namespace tributary::kit::klaviyo {
namespace {

std::int64_t us(std::string_view iso) {
    return types::parse_datetime(iso, "").value();
}

TEST(KlaviyoWire_Query, PercentEscapesDecodeAndBadOnesAreRefused) {
    auto q =
        parse_query("page%5Bsize%5D=100&filter=greater-than%28updated%2C2026-05-01T10%3A00%3A00Z%29&a+b=c");
    ASSERT_TRUE(q);
    ASSERT_EQ(q->size(), 3u);
    EXPECT_EQ((*q)[0], (std::pair<std::string, std::string>{"page[size]", "100"}));
    EXPECT_EQ((*q)[1].second, "greater-than(updated,2026-05-01T10:00:00Z)");
    EXPECT_EQ((*q)[2].first, "a b");
    for (const char* bad : {"a=%", "a=%4", "a=%zz", "%G1=2"}) EXPECT_FALSE(parse_query(bad)) << bad;
}

TEST(KlaviyoWire_Filter, WhatTheSpecAllows_Parses) {
    auto one = parse_profiles_filter("greater-than(updated,2026-05-01T09:59:59Z)");
    ASSERT_TRUE(one) << one.error();
    ASSERT_EQ(one->size(), 1u);
    EXPECT_EQ((*one)[0].op, "greater-than");
    EXPECT_EQ((*one)[0].time_us, us("2026-05-01T09:59:59Z"));
    auto both = parse_profiles_filter(
        "and(greater-than(updated,2026-05-01T09:59:59+02:00),less-than(created,2026-06-01T00:00:00Z),"
        "any(email,['a@x.io','b@x.io']),equals(id,'01K'))");
    ASSERT_TRUE(both) << both.error();
    ASSERT_EQ(both->size(), 4u);
    EXPECT_EQ((*both)[0].time_us, us("2026-05-01T07:59:59Z"));
    EXPECT_EQ((*both)[2].strings, (std::vector<std::string>{"a@x.io", "b@x.io"}));
    auto comma = parse_profiles_filter("equals(email,'a@x.io'),greater-than(updated,2026-05-01T09:59:59Z)");
    ASSERT_TRUE(comma);
    EXPECT_EQ(comma->size(), 2u);
}

TEST(KlaviyoWire_Filter, AnythingElse_IsAnError) {
    for (const char* bad : {
             "",
             "greater-than(updated,2026-05-01T09:59:59Z",
             "greater-than(updated,2026-05-01)",
             "greater-than(updated,2026-05-01T09:59:59)",
             "greater-than(updated,2026-05-01T09:59:59.123Z)",
             "greater-than(updated,'2026-05-01T09:59:59Z')",
             "greater-or-equal(updated,2026-05-01T09:59:59Z)",
             "equals(updated,2026-05-01T09:59:59Z)",
             "greater-than(first_name,'A')",
             "equals(email,a@x.io)",
             "equals(email,'a@x.io'",
             "any(email,'a@x.io')",
             "any(email,['a@x.io',b])",
             "greater-than(updated)",
             "greater-than(updated,2026-05-01T09:59:59Z,x)",
             "updated > 2026",
         })
        EXPECT_FALSE(parse_profiles_filter(bad)) << bad;
}

// Found by fuzz/targets/klaviyo_wire_fuzz.cpp: a refusal quoting a parameter that decoded to
// invalid UTF-8 was not JSON (boost::json::serialize copies the bytes as they are).
TEST(KlaviyoWire_Query, ARefusalQuotingInvalidUtf8_IsStillJson) {
    auto params = parse_query("fields%5Bprofile%5D=email,u%8A%9Bated&x%FF=1");
    ASSERT_TRUE(params);
    for (const auto& p : {query_params{(*params)[0]}, query_params{(*params)[1]}}) {
        auto q = parse_profiles_query(p);
        ASSERT_FALSE(q);
        EXPECT_EQ(q.error().status, 400u);
        boost::system::error_code ec;
        auto body = boost::json::parse(q.error().body, ec);
        ASSERT_FALSE(ec) << ec.message();
        const auto& e = body.at("errors").at(0);
        EXPECT_NE(std::string{e.at("detail").as_string()}.find("\xEF\xBF\xBD"), std::string::npos);
    }
}

TEST(KlaviyoWire_Headers, EachRule_HasItsStatus) {
    const std::string key = "pk_" + std::string(34, 'e');
    wire_headers good{{"authorization", "Klaviyo-API-Key " + key},
                      {"Revision", "2026-07-15"},
                      {"accept", "application/json, application/vnd.api+json; q=0.9"}};
    EXPECT_FALSE(check_headers(good, key, false));
    auto with_body = good;
    EXPECT_EQ(check_headers(with_body, key, true)->status, 415u);
    with_body.emplace_back("Content-Type", "text/plain");
    EXPECT_EQ(check_headers(with_body, key, true)->status, 415u);
    with_body.back().second = "application/vnd.api+json";
    EXPECT_FALSE(check_headers(with_body, key, true));
    EXPECT_EQ(check_headers(good, "pk_other", false)->status, 401u);
}

TEST(KlaviyoWire_Paging, AProfileUpdatedBetweenPages_MovesToTheEndInsteadOfBeingSkipped) {
    profile_store store;
    store.generate(5, us("2026-05-01T10:00:00Z"), 1'000'000, 0);
    const query_params params{{"page[size]", "2"}, {"sort", "updated"}};
    auto q = parse_profiles_query(params);
    ASSERT_TRUE(q);
    auto first = boost::json::parse(store.page(*q, params, "http://h").body);
    ASSERT_EQ(first.at("data").as_array().size(), 2u);
    // The first profile served changes: it moves after the others.
    ASSERT_TRUE(
        store.touch(std::string{first.at("data").at(0).at("id").as_string()}, us("2026-05-02T00:00:00Z")));
    std::vector<std::string> seen;
    std::string next{first.at("links").at("next").as_string()};
    while (true) {
        auto next_params = parse_query(next.substr(next.find('?') + 1));
        ASSERT_TRUE(next_params);
        auto nq = parse_profiles_query(*next_params);
        ASSERT_TRUE(nq);
        auto page = boost::json::parse(store.page(*nq, *next_params, "http://h").body);
        for (const auto& p : page.at("data").as_array()) seen.emplace_back(p.at("id").as_string());
        if (page.at("links").at("next").is_null()) break;
        next = std::string{page.at("links").at("next").as_string()};
    }
    ASSERT_EQ(seen.size(), 4u);
    EXPECT_EQ(seen.back(), std::string{first.at("data").at(0).at("id").as_string()});
}

// Every page of `params` (first page and links.next to the end): the ids served, in order.
std::vector<std::string> all_pages(const profile_store& store, const query_params& params) {
    std::vector<std::string> seen;
    auto current = params;
    while (true) {
        auto q = parse_profiles_query(current);
        EXPECT_TRUE(q);
        if (!q) return seen;
        auto page = boost::json::parse(store.page(*q, current, "http://h").body);
        for (const auto& p : page.at("data").as_array()) seen.emplace_back(p.at("id").as_string());
        if (page.at("links").at("next").is_null()) return seen;
        std::string next{page.at("links").at("next").as_string()};
        auto parsed = parse_query(next.substr(next.find('?') + 1));
        EXPECT_TRUE(parsed);
        if (!parsed) return seen;
        current = *parsed;
    }
}

TEST(KlaviyoWire_Paging, SortedByUpdatedEitherWayAndFiltered_ServesWhatASortOfEveryProfileWould) {
    profile_store store;
    // Updated times not in id order: each profile's time is reversed in blocks.
    store.generate(23, us("2026-05-01T10:00:00Z"), 1'000'000, 0);
    for (int i = 0; i < 23; ++i) {
        char id[32];
        std::snprintf(id, sizeof id, "01K%023d", i);
        ASSERT_TRUE(store.touch(id, us("2026-05-01T10:00:00Z") + ((i * 7) % 23) * 1'000'000));
    }
    std::vector<std::pair<std::int64_t, std::string>> by_time;
    for (int i = 0; i < 23; ++i) {
        char id[32];
        std::snprintf(id, sizeof id, "01K%023d", i);
        by_time.emplace_back(store.find(id)->updated_us, id);
    }
    std::sort(by_time.begin(), by_time.end());
    std::vector<std::string> ascending, later;
    for (const auto& [t, id] : by_time) {
        ascending.push_back(id);
        if (t > us("2026-05-01T10:00:10Z")) later.push_back(id);
    }
    EXPECT_EQ(all_pages(store, {{"page[size]", "5"}, {"sort", "updated"}}), ascending);
    EXPECT_EQ(all_pages(store, {{"page[size]", "4"}, {"sort", "-updated"}}),
              std::vector<std::string>(ascending.rbegin(), ascending.rend()));
    EXPECT_EQ(all_pages(store, {{"page[size]", "3"},
                                {"sort", "updated"},
                                {"filter", "greater-than(updated,2026-05-01T10:00:10Z)"}}),
              later);
}

}  // namespace
}  // namespace tributary::kit::klaviyo
