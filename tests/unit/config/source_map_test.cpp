// Positions inside a section for code that never sees YAML (config/source_map.hpp).

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "config/loader.hpp"
#include "config/source_map.hpp"
#include "tests/config/test_environment.hpp"

using tributary::config::diagnostic;
using tributary::config::load_string;
using tributary::config::pointer_append;
using tributary::config::position;
using tributary::config::source_map;

namespace {

source_map sample() {
    source_map m("connections.kl.settings");
    m.add("", {5, 5});
    m.add("/api_key", {6, 16});
    m.add("/lists", {7, 7}, true);
    m.add("/lists/0", {8, 9});
    m.add("/lists/1", {9, 9});
    m.add("/lists/1/id", {9, 15});
    m.add("/a.b", {10, 7});
    m.add("/x~1y", {11, 7});
    return m;
}

}  // namespace

TEST(SourceMap_Locate, ExactPathAndPosition) {
    auto d = sample().locate("/api_key", "must start with \"pk_\"");
    EXPECT_EQ(d.to_string(), "connections.kl.settings.api_key (6:16): must start with \"pk_\"");
    EXPECT_EQ(sample().locate("/lists/1/id", "unknown list").to_string(),
              "connections.kl.settings.lists[1].id (9:15): unknown list");
    EXPECT_EQ(sample().locate("", "bad").to_string(), "connections.kl.settings (5:5): bad");
}

TEST(SourceMap_Locate, MissingPathFallsBackToNearestAncestor) {
    EXPECT_EQ(sample().locate("/lists/1/name", "required").to_string(),
              "connections.kl.settings.lists[1].name (9:9): required");
    EXPECT_EQ(sample().locate("/lists/5", "no such list").to_string(),
              "connections.kl.settings.lists[5] (7:7): no such list");
    EXPECT_EQ(sample().locate("/region", "required").to_string(),
              "connections.kl.settings.region (5:5): required");
}

TEST(SourceMap_Locate, OddKeysAreQuotedAndPointersUnescaped) {
    EXPECT_EQ(sample().locate("/a.b", "m").path, "connections.kl.settings[\"a.b\"]");
    EXPECT_EQ(sample().locate("/a.b", "m").pos, (position{10, 7}));
    EXPECT_EQ(sample().locate("/x~1y", "m").path, "connections.kl.settings[\"x/y\"]");
    EXPECT_EQ(sample().locate("/x~1y", "m").pos, (position{11, 7}));
}

TEST(SourceMap_Locate, LeadingSlashMayBeOmitted) {
    EXPECT_EQ(sample().locate("api_key", "m"), sample().locate("/api_key", "m"));
}

TEST(SourceMap_Empty, NoPositionButStillAPath) {
    source_map m("jobs.x");
    auto d = m.locate("/mapping/email", "unknown function");
    EXPECT_FALSE(d.pos.known());
    EXPECT_EQ(d.to_string(), "jobs.x.mapping.email: unknown function");
    EXPECT_EQ(source_map().path_of(""), "(root)");
}

TEST(SourceMap_Redact, SecretValuesNeverInMessages) {
    auto m = sample();
    m.add_secret("pk_live_abc");
    m.add_secret("pk_live_abcdef");
    auto d = m.locate("/api_key", "got pk_live_abcdef, not pk_live_abc or pk_live_abc");
    EXPECT_EQ(d.message, "got <secret>, not <secret> or <secret>");
}

TEST(SourceMap_Section, RebasesPointersAndPrefix) {
    source_map whole;
    whole.add("", {1, 1});
    whole.add("/connections", {1, 1});
    whole.add("/connections/kl", {2, 3});
    whole.add("/connections/kl/settings", {4, 5});
    whole.add("/connections/kl/settings/api_key", {5, 16});
    whole.add("/connections/kl2", {8, 3});
    whole.add("/connections/kl-b", {9, 3});
    whole.add_secret("topsecret");
    auto s = whole.section("/connections/kl/settings");
    EXPECT_EQ(s.prefix(), "connections.kl.settings");
    EXPECT_EQ(s.find(""), (position{4, 5}));
    EXPECT_EQ(s.find("/api_key"), (position{5, 16}));
    EXPECT_FALSE(s.find("/connections"));
    EXPECT_EQ(s.locate("/api_key", "x topsecret").message, "x <secret>");
    auto kl = whole.section("/connections/kl");
    EXPECT_TRUE(kl.find("/settings/api_key"));
    EXPECT_FALSE(kl.find("2"));
    EXPECT_FALSE(kl.find("-b"));
}

TEST(SourceMap_SectionOfAbsentKey, LocatesAtNearestAncestor) {
    source_map whole;
    whole.add("/connections/kl", {2, 3});
    auto s = whole.section("/connections/kl/settings");
    EXPECT_EQ(s.locate("/api_key", "required").to_string(),
              "connections.kl.settings.api_key (2:3): required");
}

TEST(PointerAppend, EscapesPerRfc6901) {
    EXPECT_EQ(pointer_append("", "a"), "/a");
    EXPECT_EQ(pointer_append("/a", "b/c~d"), "/a/b~1c~0d");
    EXPECT_EQ(pointer_append("/a", std::size_t{3}), "/a/3");
}

TEST(SourceMap_Pointers, MatchBoostJsonAtPointer) {
    const std::string yaml =
        "connections:\n"
        "  kl:\n"
        "    connector: klaviyo\n"
        "    settings:\n"
        "      api_key: ${env:KLAVIYO_API_KEY}\n"
        "      lists:\n"
        "        - { id: L1, \"a/b\": 2 }\n";
    auto r = load_string(yaml, "/etc/tributary/t.yaml", tributary::config::test::test_environment());
    ASSERT_TRUE(r.ok()) << r.errors.front();
    const auto& c = r.value->connections.at("kl");
    auto pointer = pointer_append(pointer_append("/lists", std::size_t{0}), "a/b");
    EXPECT_EQ(c.settings.at_pointer(pointer).as_int64(), 2);
    EXPECT_EQ(c.settings_locations.locate(pointer, "bad").to_string(),
              "connections.kl.settings.lists[0][\"a/b\"] (7:28): bad");
    EXPECT_EQ(c.settings_locations.locate("/lists/0/id", "unknown list").to_string(),
              "connections.kl.settings.lists[0].id (7:17): unknown list");
    // The whole-file map and the job/connection maps agree.
    EXPECT_EQ(r.value->locations.find("/connections/kl/settings/api_key"), (position{5, 16}));
    EXPECT_EQ(c.locations.find("/settings/api_key"), (position{5, 16}));
    EXPECT_TRUE(c.settings_locations.is_secret("/api_key"));
    EXPECT_FALSE(c.settings_locations.is_secret("/lists/0/id"));
    EXPECT_FALSE(c.settings_locations.is_secret("/nope"));
    // The interpolated key is redacted from whatever the connector writes.
    auto d = c.settings_locations.locate("/api_key", "key pk_test_0123456789 was rejected");
    EXPECT_EQ(d.to_string(), "connections.kl.settings.api_key (5:16): key <secret> was rejected");
}
