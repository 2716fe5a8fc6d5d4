// The dummy users source without I/O: determinism, paging, and each misbehaviour it can be asked
// for, checked from the outside (what a pipeline would observe page by page).

#include "connectors/dummy/generator.hpp"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/types/time_layout.hpp"
#include "core/types/value.hpp"

namespace json = boost::json;
using namespace tributary::connectors::dummy;

namespace {

std::vector<user_page> read_all(const generator& g,
                                std::int64_t since = full_read,
                                std::size_t max_pages = 100000) {
    std::vector<user_page> pages;
    std::string cursor;
    while (pages.size() < max_pages) {
        auto p = g.fetch(since, cursor);
        if (!p) throw std::runtime_error(p.error());
        pages.push_back(std::move(*p));
        if (pages.back().last) break;
        cursor = pages.back().next_cursor;
    }
    return pages;
}

std::vector<user_record> flatten(const std::vector<user_page>& pages) {
    std::vector<user_record> out;
    for (const auto& p : pages) out.insert(out.end(), p.records.begin(), p.records.end());
    return out;
}

std::string text(const std::vector<user_page>& pages) {
    std::string out;
    for (const auto& p : pages) {
        for (const auto& r : p.records) out += json::serialize(r.properties) + "\n";
        out += "-- " + p.next_cursor + (p.last ? " last\n" : "\n");
    }
    return out;
}

std::vector<std::string> ids_of(const user_page& p) {
    std::vector<std::string> out;
    for (const auto& r : p.records) out.push_back(r.id);
    return out;
}

std::string expected_id(std::uint64_t index) {
    std::string n = std::to_string(index + 1);
    return "u-" + std::string(n.size() < 6 ? 6 - n.size() : 0, '0') + n;
}

}  // namespace

TEST(DummyGenerator_SameSettings, ProduceIdenticalPages) {
    generator_settings s{.seed = 7,
                         .count = 700,
                         .page_size = 64,
                         .tie_groups = 90,
                         .late_records = true,
                         .run = 3,
                         .duplicate_pages = true};
    EXPECT_EQ(text(read_all(generator{s})), text(read_all(generator{s})));
}

TEST(DummyGenerator_DifferentSeed, ChangesTheData) {
    const auto a = flatten(read_all(generator{{.seed = 1, .count = 50}}));
    const auto b = flatten(read_all(generator{{.seed = 2, .count = 50}}));
    ASSERT_EQ(a.size(), b.size());
    int differing = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        EXPECT_EQ(a[i].id, b[i].id);  // ids are positional, the people are not
        if (a[i].properties.at("email") != b[i].properties.at("email")) ++differing;
    }
    EXPECT_GT(differing, 40);
}

TEST(DummyGenerator_FullRead, ServesEveryUserOnceInFullPages) {
    const auto pages = read_all(generator{{.count = 1005, .page_size = 100}});
    ASSERT_EQ(pages.size(), 11u);
    for (std::size_t i = 0; i + 1 < pages.size(); ++i) {
        EXPECT_EQ(pages[i].records.size(), 100u) << "page " << i;
        EXPECT_FALSE(pages[i].last);
        EXPECT_FALSE(pages[i].next_cursor.empty());
    }
    EXPECT_EQ(pages.back().records.size(), 5u);
    EXPECT_TRUE(pages.back().last);
    EXPECT_TRUE(pages.back().next_cursor.empty());

    const auto records = flatten(pages);
    std::set<std::string> ids;
    for (const auto& r : records) ids.insert(r.id);
    ASSERT_EQ(ids.size(), 1005u);
    EXPECT_EQ(*ids.begin(), "u-000001");
    EXPECT_EQ(*ids.rbegin(), "u-001005");
}

TEST(DummyGenerator_FullRead, OrderedByStrictlyIncreasingUpdatedAt) {
    const auto records = flatten(read_all(generator{{.count = 500, .page_size = 37}}));
    ASSERT_EQ(records.size(), 500u);
    for (std::size_t i = 1; i < records.size(); ++i) {
        EXPECT_LT(records[i - 1].updated_at, records[i].updated_at) << i;
    }
    EXPECT_EQ(records.front().id, "u-000001");
    EXPECT_EQ(records.back().id, "u-000500");
}

TEST(DummyGenerator_EmptyDataset, AnswersOneEmptyLastPage) {
    const auto pages = read_all(generator{{.count = 0}});
    ASSERT_EQ(pages.size(), 1u);
    EXPECT_TRUE(pages[0].records.empty());
    EXPECT_TRUE(pages[0].last);
}

TEST(DummyGenerator_PageSizeLargerThanCount, AnswersOneLastPage) {
    const auto pages = read_all(generator{{.count = 3, .page_size = 10}});
    ASSERT_EQ(pages.size(), 1u);
    EXPECT_EQ(pages[0].records.size(), 3u);
    EXPECT_TRUE(pages[0].last);
}

TEST(DummyGenerator_Since, ReturnsExactlyTheRecordsAtOrAfterIt) {
    const generator g{{.count = 1000, .page_size = 50, .tie_groups = 7, .late_records = true, .run = 2}};
    const auto all = flatten(read_all(g));
    const std::int64_t since = all[437].updated_at;
    std::multiset<std::string> expected;
    for (const auto& r : all) {
        if (r.updated_at >= since) expected.insert(r.id);
    }
    std::multiset<std::string> got;
    for (const auto& r : flatten(read_all(g, since))) {
        EXPECT_GE(r.updated_at, since) << r.id;
        got.insert(r.id);
    }
    EXPECT_EQ(got, expected);
    EXPECT_LT(got.size(), all.size());
    EXPECT_GT(got.size(), 500u);
}

TEST(DummyGenerator_SinceAfterEverything, AnswersOneEmptyLastPage) {
    const generator g{{.count = 100}};
    const auto all = flatten(read_all(g));
    const auto pages = read_all(g, all.back().updated_at + 1);
    ASSERT_EQ(pages.size(), 1u);
    EXPECT_TRUE(pages[0].records.empty());
    EXPECT_TRUE(pages[0].last);
}

TEST(DummyGenerator_TieGroups, ShareOneUpdatedAtAcrossPageBoundariesInShuffledOrder) {
    const auto pages = read_all(generator{{.count = 1000, .page_size = 100, .tie_groups = 250}});
    std::map<std::int64_t, std::vector<std::string>> groups;  // updated_at -> ids in served order
    std::map<std::int64_t, std::set<std::size_t>> pages_of;
    for (std::size_t p = 0; p < pages.size(); ++p) {
        for (const auto& r : pages[p].records) {
            groups[r.updated_at].push_back(r.id);
            pages_of[r.updated_at].insert(p);
        }
    }
    ASSERT_EQ(groups.size(), 4u);
    for (const auto& [at, ids] : groups) {
        EXPECT_EQ(ids.size(), 250u);
        EXPECT_GE(pages_of[at].size(), 3u) << "a group of 250 spans at least three pages of 100";
        EXPECT_FALSE(std::is_sorted(ids.begin(), ids.end())) << "tie group served in id order";
    }
    // Each group still holds 250 consecutive users.
    auto first = groups.begin()->second;
    std::sort(first.begin(), first.end());
    EXPECT_EQ(first.front(), "u-000001");
    EXPECT_EQ(first.back(), "u-000250");
}

TEST(DummyGenerator_TieGroups, SinceAtATieReturnsTheWholeGroup) {
    const generator g{{.count = 1000, .page_size = 100, .tie_groups = 250}};
    const auto all = flatten(read_all(g));
    // The 300th record sits in the middle of the second group; an inclusive read from its
    // timestamp must return that whole group again, in whatever order.
    const auto again = flatten(read_all(g, all[299].updated_at));
    EXPECT_EQ(again.size(), 750u);
    for (const auto& r : again) EXPECT_GE(r.updated_at, all[299].updated_at);
}

TEST(DummyGenerator_LateRecords, CarryUpdatedAtOlderThanRecordsOnEarlierPages) {
    const generator g{{.count = 3000, .page_size = 100, .late_records = true}};
    const auto pages = read_all(g);
    std::int64_t newest_on_earlier_pages = tributary::types::min_datetime_micros;
    int late = 0;
    for (const auto& p : pages) {
        for (const auto& r : p.records) {
            if (r.updated_at < newest_on_earlier_pages) ++late;
        }
        for (const auto& r : p.records)
            newest_on_earlier_pages = std::max(newest_on_earlier_pages, r.updated_at);
    }
    EXPECT_GT(late, 20) << "about 2% of 3000 should be late";
    EXPECT_LT(late, 120);

    // Every user still comes exactly once in a full read.
    std::set<std::string> ids;
    for (const auto& r : flatten(pages)) EXPECT_TRUE(ids.insert(r.id).second) << r.id;
    EXPECT_EQ(ids.size(), 3000u);
}

TEST(DummyGenerator_LateRecords, AreMissedByAnIncrementalReadFromTheNewestSeen) {
    // What a naive "since = max updated_at seen" checkpoint loses: a late record served after
    // page 10 whose timestamp is older than the newest record of pages 0..9.
    const generator g{{.count = 3000, .page_size = 100, .late_records = true}};
    const auto pages = read_all(g);
    std::int64_t newest = tributary::types::min_datetime_micros;
    for (std::size_t p = 0; p < 10; ++p) {
        for (const auto& r : pages[p].records) newest = std::max(newest, r.updated_at);
    }
    std::set<std::string> missed;
    for (std::size_t p = 10; p < pages.size(); ++p) {
        for (const auto& r : pages[p].records) {
            if (r.updated_at < newest) missed.insert(r.id);
        }
    }
    ASSERT_FALSE(missed.empty());
    for (const auto& r : flatten(read_all(g, newest))) EXPECT_EQ(missed.count(r.id), 0u) << r.id;
}

TEST(DummyGenerator_NextRun, UpdatesATenthOfTheUsersWithNewerTimestamps) {
    const auto run0 = flatten(read_all(generator{{.count = 1000, .run = 0}}));
    const generator g1{{.count = 1000, .run = 1}};
    const auto run1 = flatten(read_all(g1));
    ASSERT_EQ(run1.size(), 1000u);

    std::int64_t newest0 = 0;
    std::map<std::string, const user_record*> before;
    for (const auto& r : run0) {
        newest0 = std::max(newest0, r.updated_at);
        before[r.id] = &r;
    }
    int updated = 0;
    int changed = 0;
    for (std::uint64_t i = 0; i < 1000; ++i) {
        EXPECT_EQ(g1.version_of(i), i % 10 == 0 ? 1u : 0u);
    }
    for (const auto& r : run1) {
        const user_record& old = *before.at(r.id);
        for (const char* fixed :
             {"email", "first_name", "last_name", "created_at", "location", "birth_date"}) {
            EXPECT_EQ(r.properties.at(fixed), old.properties.at(fixed)) << r.id << " " << fixed;
        }
        if (r.updated_at > newest0) {
            ++updated;
            if (r.properties.at("plan") != old.properties.at("plan") ||
                r.properties.at("lifetime_value") != old.properties.at("lifetime_value") ||
                r.properties.at("custom") != old.properties.at("custom")) {
                ++changed;
            }
        } else {
            EXPECT_EQ(json::serialize(r.properties), json::serialize(old.properties)) << r.id;
        }
    }
    EXPECT_EQ(updated, 100);
    EXPECT_GT(changed, 90);

    // An incremental read from just after run 0 finds exactly the updated users.
    const auto delta = flatten(read_all(g1, newest0 + 1));
    ASSERT_EQ(delta.size(), 100u);
    for (const auto& r : delta) {
        const auto index = std::stoull(r.id.substr(2)) - 1;
        EXPECT_EQ(index % 10, 0u) << r.id;
    }
}

TEST(DummyGenerator_ManyRuns, ServeEveryUserOnceAtItsLatestVersion) {
    const generator g{{.count = 777, .page_size = 50, .tie_groups = 13, .run = 23}};
    const auto records = flatten(read_all(g));
    ASSERT_EQ(records.size(), 777u);
    std::set<std::string> ids;
    for (std::size_t i = 0; i < records.size(); ++i) {
        EXPECT_TRUE(ids.insert(records[i].id).second);
        if (i > 0) {
            EXPECT_LE(records[i - 1].updated_at, records[i].updated_at);
        }
    }
    // Runs 14..23 each updated one residue class; every user's last update is among them.
    for (std::uint64_t i = 0; i < 777; ++i) {
        EXPECT_GE(g.version_of(i), 14u);
        EXPECT_EQ((g.version_of(i) - 1) % 10, i % 10);
    }
}

TEST(DummyGenerator_DuplicatePages, RepeatSomePagesOnceAndLoseNothing) {
    const generator g{{.count = 5000, .page_size = 50, .duplicate_pages = true}};
    const auto pages = read_all(g);
    int repeats = 0;
    for (std::size_t i = 1; i < pages.size(); ++i) {
        if (ids_of(pages[i]) == ids_of(pages[i - 1])) {
            ++repeats;
            EXPECT_EQ(text({pages[i]}).substr(0, text({pages[i]}).rfind("--")),
                      text({pages[i - 1]}).substr(0, text({pages[i - 1]}).rfind("--")));
            if (i >= 2) {
                EXPECT_NE(ids_of(pages[i - 1]), ids_of(pages[i - 2])) << "repeated twice";
            }
        }
    }
    EXPECT_GT(repeats, 5) << "about one page in five of 100";
    EXPECT_LT(repeats, 40);
    const auto records = flatten(pages);
    EXPECT_EQ(records.size(), 5000u + 50u * static_cast<std::size_t>(repeats));
    std::set<std::string> ids;
    for (const auto& r : records) ids.insert(r.id);
    EXPECT_EQ(ids.size(), 5000u);
}

TEST(DummyGenerator_WithoutDuplicatePages, NeverRepeatsARecord) {
    const auto records = flatten(read_all(generator{{.count = 5000, .page_size = 50}}));
    std::set<std::string> ids;
    for (const auto& r : records) EXPECT_TRUE(ids.insert(r.id).second) << r.id;
}

TEST(DummyGenerator_Cursor, ResumesInAnotherInstance) {
    const generator_settings s{.count = 2000,
                               .page_size = 100,
                               .tie_groups = 150,
                               .late_records = true,
                               .run = 4,
                               .duplicate_pages = true};
    const auto all = read_all(generator{s});
    ASSERT_GT(all.size(), 6u);
    const generator other{s};
    std::vector<user_page> rest;
    std::string cursor = all[5].next_cursor;
    for (;;) {
        auto p = other.fetch(full_read, cursor);
        ASSERT_TRUE(p) << p.error();
        rest.push_back(std::move(*p));
        if (rest.back().last) break;
        cursor = rest.back().next_cursor;
    }
    EXPECT_EQ(text(rest), text(std::vector<user_page>(all.begin() + 6, all.end())));
}

TEST(DummyGenerator_Cursor, GarbledOrPastTheEndIsAnError) {
    const generator g{{.count = 100}};
    for (const char* bad : {"x", "12", "12.3", "12.3.2", "3.12.0", "100.0.0", "1.0.0 ", "-1.0.0", "1..0"}) {
        const auto p = g.fetch(full_read, bad);
        ASSERT_FALSE(p) << bad;
        EXPECT_EQ(p.error(), "dummy: invalid cursor");
    }
    EXPECT_TRUE(g.fetch(full_read, "99.50.0"));
}

TEST(DummyGenerator_Settings, OutOfRangeAreRejectedWithTheirName) {
    EXPECT_EQ(check({}), std::nullopt);
    EXPECT_NE(check({.count = max_count + 1})->find("count"), std::string::npos);
    EXPECT_NE(check({.page_size = 0})->find("page_size"), std::string::npos);
    EXPECT_NE(check({.page_size = max_page_size + 1})->find("page_size"), std::string::npos);
    EXPECT_NE(check({.tie_groups = max_tie_group + 1})->find("tie_groups"), std::string::npos);
    EXPECT_NE(check({.run = max_run + 1})->find("run"), std::string::npos);
    EXPECT_NE(check({.page_delay = std::chrono::milliseconds{-1}})->find("page_delay"), std::string::npos);
    EXPECT_NE(check({.page_delay = max_page_delay + std::chrono::milliseconds{1}})->find("page_delay"),
              std::string::npos);
    EXPECT_THROW(generator({.page_size = 0}), std::invalid_argument);
}

TEST(DummyGenerator_Schema, DeclaresTheDocumentedProperties) {
    const auto& t = user_schema();
    ASSERT_EQ(t.kind(), tributary::types::kind::object);
    std::vector<std::string> names;
    for (const auto& p : t.properties()) names.push_back(p.name);
    EXPECT_EQ(names, (std::vector<std::string>{"id", "email", "first_name", "last_name", "phone", "company",
                                               "birth_date", "locale", "created_at", "updated_at", "plan",
                                               "lifetime_value", "is_active", "tags", "location", "custom"}));
    ASSERT_NE(tributary::types::find_path(t, "location.postal_code"), nullptr);
    ASSERT_NE(tributary::types::find_path(t, "custom.score"), nullptr);
    EXPECT_TRUE(t.find("company")->nullable);
    EXPECT_FALSE(t.find("email")->nullable);
}

TEST(DummyGenerator_Records, NormalizeWithoutErrorsAndUnchanged) {
    // Every misbehaviour on, several runs: each record must already be in canonical form.
    const generator g{{.seed = 99,
                       .count = 3000,
                       .page_size = 250,
                       .tie_groups = 40,
                       .late_records = true,
                       .run = 3,
                       .duplicate_pages = true}};
    const auto& schema = user_schema();
    std::size_t checked = 0;
    int null_company = 0;
    for (const auto& r : flatten(read_all(g))) {
        const auto n = tributary::types::normalize(schema, r.properties, tributary::types::time_layouts{});
        ASSERT_TRUE(n.ok()) << r.id << ": " << to_string(n.errors.front());
        ASSERT_EQ(json::serialize(n.out), json::serialize(r.properties)) << r.id;
        EXPECT_EQ(r.properties.at("id").as_string(), r.id);
        EXPECT_EQ(r.properties.at("updated_at").as_string(), tributary::types::format_datetime(r.updated_at));
        EXPECT_LT(r.properties.at("created_at").as_string(), r.properties.at("updated_at").as_string());
        if (r.properties.at("company").is_null()) ++null_company;
        ++checked;
    }
    EXPECT_GE(checked, 3000u);
    EXPECT_GT(null_company, 700);  // ~35%
    EXPECT_LT(null_company, 1400);
}

TEST(DummyGenerator_User, MatchesTheRecordAReadServes) {
    const generator g{{.count = 600, .tie_groups = 33, .late_records = true, .run = 2}};
    const auto records = flatten(read_all(g));
    ASSERT_EQ(records.size(), 600u);
    for (const auto& r : records) {
        const auto index = std::stoull(r.id.substr(2)) - 1;
        EXPECT_EQ(r.id, expected_id(index));
        const auto u = g.user(index);
        EXPECT_EQ(u.updated_at, r.updated_at) << r.id;
        EXPECT_EQ(json::serialize(u.properties), json::serialize(r.properties)) << r.id;
    }
    EXPECT_THROW(g.user(600), std::out_of_range);
}

TEST(DummyGenerator_Records, LookLikeRealUsers) {
    const auto records = flatten(read_all(generator{{.count = 2000, .page_size = 1000}}));
    std::set<std::string> emails;
    std::set<std::string> countries;
    for (const auto& r : records) {
        const auto& p = r.properties;
        const std::string email{p.at("email").as_string()};
        EXPECT_TRUE(emails.insert(email).second) << "duplicate email";
        EXPECT_NE(email.find('@'), std::string::npos);
        EXPECT_EQ(p.at("phone").as_string().front(), '+');
        const auto& tags = p.at("tags").as_array();
        std::set<std::string> distinct;
        for (const auto& t : tags) distinct.insert(std::string{t.as_string()});
        EXPECT_EQ(distinct.size(), tags.size());
        countries.insert(std::string{p.at("location").as_object().at("country").as_string()});
    }
    EXPECT_GT(countries.size(), 15u);
    EXPECT_EQ(records[41].properties.size(), 16u);
}
