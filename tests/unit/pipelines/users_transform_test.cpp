// The record path shared by the users job and `plan`: ids by mode, match values and keys, native
// versus lookup matching, the lookup decision table, refusals with their stage, dead-letter
// payloads, and the size estimate used for batches.

#include "pipelines/users_transform.hpp"

#include <gtest/gtest.h>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "connectors/dummy/generator.hpp"

using namespace tributary;
using namespace tributary::pipelines;
namespace json = boost::json;

namespace {

types::type source_schema() {
    return types::make_object({
                                  {.name = "id", .type = types::make_string().value()},
                                  {.name = "email", .type = types::make_string().value(), .nullable = true},
                                  {.name = "age", .type = types::make_int(32).value(), .read_optional = true},
                                  {.name = "tags", .type = types::make_json(), .read_optional = true},
                              })
        .value();
}

types::type destination_schema() {
    return types::make_object({
                                  {.name = "email", .type = types::make_string({.max_length = 40}).value()},
                                  {.name = "age", .type = types::make_int(32).value()},
                                  {.name = "contact", .type = types::make_string().value()},
                              })
        .value();
}

users_job_settings with(write_mode mode, std::optional<match_rule> match = std::nullopt) {
    users_job_settings s;
    s.name = "t";
    s.mode = mode;
    s.match = std::move(match);
    return s;
}

users_transform make(const users_job_settings& s) {
    auto t = users_transform::make(s, source_schema(), destination_schema());
    if (!t) throw std::runtime_error(t.error());
    return std::move(*t);
}

json::value user(std::string email) {
    json::object o{{"id", "s-1"}, {"age", 30}};
    if (email.empty())
        o["email"] = nullptr;
    else
        o["email"] = email;
    return o;
}

}  // namespace

TEST(UsersTransform_Ids, WithoutMatch_UpsertAndUpdateSendTheSourceId_CreateSendsNone) {
    EXPECT_EQ(make(with(write_mode::upsert)).from_source("s-1", user("a@example.com")).rec.id, "s-1");
    EXPECT_EQ(make(with(write_mode::update)).from_source("s-1", user("a@example.com")).rec.id, "s-1");
    auto created = make(with(write_mode::create)).from_source("s-1", user("a@example.com"));
    ASSERT_TRUE(created.ok()) << created.error;
    EXPECT_EQ(created.rec.id, "");
    EXPECT_EQ(created.rec.match_property, "");
    EXPECT_EQ(created.match_key, "");
    // The identity mapping writes only what the destination has.
    EXPECT_EQ(json::serialize(created.rec.properties), R"({"email":"a@example.com","age":30})");
}

TEST(UsersTransform_Match, Lookup_KeyIsTheSourceValue_WrittenIntoTheMatchProperty) {
    auto t = make(with(write_mode::upsert, match_rule{"email", "contact"}));
    EXPECT_EQ(t.matching(), match_kind::lookup);
    auto r = t.from_source("s-1", user("a@example.com"));
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.match_key, "a@example.com");
    EXPECT_EQ(r.rec.id, "");  // decided per batch
    EXPECT_EQ(r.rec.properties.at("contact"), "a@example.com");
}

TEST(UsersTransform_Match, NumbersMatchTheirText) {
    auto t = make(with(write_mode::upsert, match_rule{"age", "contact"}));
    auto r = t.from_source("s-1", user("a@example.com"));
    ASSERT_FALSE(r.ok());  // the number 30 does not fit the string property "contact"
    EXPECT_TRUE(r.error.starts_with("destination: ")) << r.error;
    auto by_age = make(with(write_mode::upsert, match_rule{"age", "age"}));
    auto ok = by_age.from_source("s-1", user("a@example.com"));
    ASSERT_TRUE(ok.ok()) << ok.error;
    EXPECT_EQ(ok.match_key, "30");
    EXPECT_EQ(by_age.destination_key(json::object{{"age", 30}}), "30");
    EXPECT_EQ(by_age.destination_key(json::object{{"age", "30"}}), "30");
    EXPECT_EQ(by_age.destination_key(json::object{{"age", nullptr}}), std::nullopt);
    EXPECT_EQ(by_age.destination_key(json::object{}), std::nullopt);
}

TEST(UsersTransform_Match, NoValue_RefusedWithThePath) {
    auto t = make(with(write_mode::upsert, match_rule{"email", "email"}));
    auto null_email = t.from_source("s-1", user(""));
    EXPECT_EQ(null_email.error, "match: no value for email");
    auto missing = t.from_source("s-1", json::object{{"id", "s-1"}, {"age", 1}, {"email", nullptr}});
    EXPECT_EQ(missing.error, "match: no value for email");
    auto tags = make(with(write_mode::upsert, match_rule{"tags", "contact"}));
    auto object =
        tags.from_source("s-1", json::object{{"id", "s-1"}, {"email", nullptr}, {"tags", json::array{1}}});
    EXPECT_TRUE(object.error.starts_with("match: the value of tags")) << object.error;
}

TEST(UsersTransform_Match, Native_OnlyForAListedPropertyInUpsertMode) {
    auto s = with(write_mode::upsert, match_rule{"email", "email"});
    s.destination_match_properties = {"email"};
    auto native = make(s);
    EXPECT_EQ(native.matching(), match_kind::native);
    auto r = native.from_source("s-1", user("a@example.com"));
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.rec.id, "");
    EXPECT_EQ(r.rec.match_property, "email");
    EXPECT_EQ(r.match_key, "");

    s.mode = write_mode::update;
    EXPECT_EQ(make(s).matching(), match_kind::lookup);
    s.mode = write_mode::upsert;
    s.destination_match_properties = {"contact"};
    EXPECT_EQ(make(s).matching(), match_kind::lookup);
}

TEST(UsersTransform_Match, Decide_TableOfModes) {
    const std::string id = "d-9";
    auto upsert = make(with(write_mode::upsert, match_rule{"email", "email"}));
    auto update = make(with(write_mode::update, match_rule{"email", "email"}));
    auto create = make(with(write_mode::create, match_rule{"email", "email"}));
    EXPECT_EQ(upsert.decide(&id).what, action::update);
    EXPECT_EQ(upsert.decide(&id).id, "d-9");
    EXPECT_EQ(upsert.decide(nullptr).what, action::create);
    EXPECT_EQ(update.decide(&id).what, action::update);
    EXPECT_EQ(update.decide(nullptr).what, action::skip);
    EXPECT_FALSE(update.decide(nullptr).reason.empty());
    EXPECT_EQ(create.decide(&id).what, action::skip);
    EXPECT_EQ(create.decide(nullptr).what, action::create);
}

TEST(UsersTransform_Make, BadMatchOrMapping_IsAnError) {
    EXPECT_FALSE(users_transform::make(with(write_mode::upsert, match_rule{"email", "nope"}), source_schema(),
                                       destination_schema()));
    EXPECT_FALSE(users_transform::make(with(write_mode::upsert, match_rule{"email(", "email"}),
                                       source_schema(), destination_schema()));
    EXPECT_FALSE(users_transform::make(with(write_mode::upsert, match_rule{"", "email"}), source_schema(),
                                       destination_schema()));
    auto s = with(write_mode::upsert);
    s.mapping = {{"email", "lowr(email)"}};
    auto bad = users_transform::make(s, source_schema(), destination_schema());
    ASSERT_FALSE(bad);
    EXPECT_TRUE(bad.error().starts_with("invalid mapping")) << bad.error();
}

TEST(UsersTransform_Stages, Refusals_NameTheirStage) {
    auto s = with(write_mode::upsert);
    s.mapping = {{"email", "email"}, {"age", "int(email)"}};
    auto t = make(s);
    const auto source = t.from_source("s-1", json::object{{"id", 5}});
    EXPECT_TRUE(source.error.starts_with("source: ")) << source.error;
    EXPECT_EQ(source.stage, failure_stage::source);
    const auto mapping = t.from_source("s-1", user("a@example.com"));
    EXPECT_TRUE(mapping.error.starts_with("mapping: ")) << mapping.error;
    EXPECT_EQ(mapping.stage, failure_stage::mapping);
    auto plain = make(with(write_mode::upsert));
    auto too_long = plain.from_source("s-1", user(std::string(50, 'a') + "@example.com"));
    EXPECT_TRUE(too_long.error.starts_with("destination: ")) << too_long.error;
    EXPECT_EQ(too_long.stage, failure_stage::destination);
    auto sent = plain.from_sent("s-1", json::object{{"email", std::string(50, 'a')}}, "");
    EXPECT_TRUE(sent.error.starts_with("destination: ")) << sent.error;
    EXPECT_EQ(sent.stage, failure_stage::destination);
    auto by_email = make(with(write_mode::upsert, match_rule{"email", "email"}));
    const auto match = by_email.from_source("s-1", user(""));
    EXPECT_EQ(match.stage, failure_stage::match);
    EXPECT_EQ(to_string(match.stage), "match");
    EXPECT_EQ(plain.from_source("s-1", user("a@example.com")).stage, failure_stage::none);
}

// Records in canonical form (schema order) travel the path by move; a refusal at any stage still
// hands back the record exactly as read, for the dead letter.
TEST(UsersTransform_Stages, Refusals_HandBackTheRecordAsRead) {
    const auto canonical = [](std::string email) {
        return json::value(json::object{{"id", "s-1"}, {"email", std::move(email)}, {"age", 30}});
    };
    const std::string long_email = std::string(50, 'a') + "@example.com";
    auto s = with(write_mode::upsert);
    s.mapping = {{"email", "email"}, {"age", "int(email)"}};
    auto mapped = make(s);
    auto plain = make(with(write_mode::upsert));
    auto by_contact = make(with(write_mode::upsert, match_rule{"email", "contact"}));
    auto by_age = make(with(write_mode::upsert, match_rule{"age", "email"}));
    const struct {
        const char* name;
        const users_transform& t;
        json::value in;
        failure_stage stage;
    } cases[] = {
        {"source", plain, json::object{{"id", 5}}, failure_stage::source},
        {"mapping", mapped, canonical("a@example.com"), failure_stage::mapping},
        {"destination, rebuilt", plain, user(long_email), failure_stage::destination},
        {"destination, moved", plain, canonical(long_email), failure_stage::destination},
        {"destination, match value added", by_contact, canonical(long_email), failure_stage::destination},
        {"destination, match value replaced", by_age, canonical("a@example.com"), failure_stage::destination},
    };
    for (const auto& c : cases) {
        auto r = c.t.from_source("s-1", c.in);
        EXPECT_EQ(r.stage, c.stage) << c.name << ": " << r.error;
        EXPECT_EQ(json::serialize(r.raw), json::serialize(c.in)) << c.name;
    }
    auto ok = plain.from_source("s-1", canonical("a@example.com"));
    ASSERT_TRUE(ok.ok()) << ok.error;
    EXPECT_TRUE(ok.raw.is_null());
    EXPECT_EQ(json::serialize(ok.rec.properties), R"({"email":"a@example.com","age":30})");
}

// The same schema at both ends, identity mapping, upsert: a canonical record is passed on as read
// (the destination's check is implied by the source's), others are normalized as ever.
TEST(UsersTransform_Stages, SameSchemaBothSides_PassesCanonicalRecordsAsRead) {
    auto t = users_transform::make(with(write_mode::upsert), source_schema(), source_schema());
    ASSERT_TRUE(t) << t.error();
    const json::value canonical = json::object{{"id", "s-1"}, {"email", "a@example.com"}, {"age", 30}};
    auto r = t->from_source("s-1", canonical);
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.rec.id, "s-1");
    EXPECT_EQ(json::serialize(r.rec.properties), json::serialize(canonical));
    auto reordered = t->from_source("s-1", user("a@example.com"));
    ASSERT_TRUE(reordered.ok()) << reordered.error;
    EXPECT_EQ(json::serialize(reordered.rec.properties), json::serialize(canonical));
    auto bad = t->from_source("s-1", json::object{{"id", "s-1"}, {"email", 5}});
    EXPECT_EQ(bad.stage, failure_stage::source) << bad.error;
    // Mode create requires what the destination says: no shortcut, the same result.
    auto create = users_transform::make(with(write_mode::create), source_schema(), source_schema());
    ASSERT_TRUE(create) << create.error();
    auto created = create->from_source("s-1", canonical);
    ASSERT_TRUE(created.ok()) << created.error;
    EXPECT_EQ(created.rec.id, "");
    EXPECT_EQ(json::serialize(created.rec.properties), json::serialize(canonical));
}

// Matching a property on itself writes the value it holds: with the same schema on both sides a
// canonical record is still passed on as read, with the ids and keys its matching gives; a match
// that writes another value is checked at the destination as ever.
TEST(UsersTransform_Stages, SameSchemaBothSides_MatchOnItself_PassesTheRecordWithItsKey) {
    const json::value canonical = json::object{{"id", "s-1"}, {"email", "a@example.com"}, {"age", 30}};
    auto lookup = users_transform::make(with(write_mode::upsert, match_rule{"email", "email"}),
                                        source_schema(), source_schema());
    ASSERT_TRUE(lookup) << lookup.error();
    ASSERT_EQ(lookup->matching(), match_kind::lookup);
    auto r = lookup->from_source("s-1", canonical);
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.rec.id, "");
    EXPECT_EQ(r.match_key, "a@example.com");
    EXPECT_EQ(r.rec.match_property, "");
    EXPECT_EQ(json::serialize(r.rec.properties), json::serialize(canonical));
    EXPECT_EQ(lookup->from_source("s-1", json::object{{"id", "s-1"}, {"email", nullptr}}).stage,
              failure_stage::match);

    auto s = with(write_mode::upsert, match_rule{"email", "email"});
    s.destination_match_properties = {"email"};
    auto native = users_transform::make(s, source_schema(), source_schema());
    ASSERT_TRUE(native) << native.error();
    ASSERT_EQ(native->matching(), match_kind::native);
    auto n = native->from_source("s-1", canonical);
    ASSERT_TRUE(n.ok()) << n.error;
    EXPECT_EQ(n.rec.id, "");
    EXPECT_EQ(n.match_key, "");
    EXPECT_EQ(n.rec.match_property, "email");
    EXPECT_EQ(json::serialize(n.rec.properties), json::serialize(canonical));

    // `age` written into `email`: an int where a string belongs, refused at the destination.
    auto other = users_transform::make(with(write_mode::upsert, match_rule{"age", "email"}), source_schema(),
                                       source_schema());
    ASSERT_TRUE(other) << other.error();
    auto o = other->from_source("s-1", canonical);
    EXPECT_EQ(o.stage, failure_stage::destination) << o.error;
    EXPECT_EQ(json::serialize(o.raw), json::serialize(canonical));
}

TEST(UsersTransform_Stages, FromSent_KeepsThePropertiesAndMatchesAgain) {
    auto t = make(with(write_mode::upsert, match_rule{"email", "email"}));
    auto r = t.from_sent("s-1", json::object{{"email", "a@example.com"}, {"age", 3}}, "a@example.com");
    ASSERT_TRUE(r.ok()) << r.error;
    EXPECT_EQ(r.match_key, "a@example.com");
    EXPECT_EQ(r.rec.id, "");
    EXPECT_EQ(t.from_sent("s-1", json::object{{"age", 3}}, "").error, "match: no value for email");
    auto plain = make(with(write_mode::update));
    EXPECT_EQ(plain.from_sent("s-1", json::object{{"email", "a@example.com"}}, "").rec.id, "s-1");
}

TEST(UsersTransform_Payload, EncodeDecode_RoundTrips) {
    const json::value props = json::object{{"email", "a\"b@example.com"}};
    const auto text = encode_payload("s-1", 42, dead_letter_payload::stage::destination, props, "k\n1");
    auto p = decode_payload(text);
    ASSERT_TRUE(p.has_value()) << text;
    EXPECT_EQ(p->id, "s-1");
    EXPECT_EQ(p->updated_at_us, 42);
    EXPECT_EQ(p->at, dead_letter_payload::stage::destination);
    EXPECT_EQ(json::value(p->properties), props);
    EXPECT_EQ(p->match_key, "k\n1");

    auto legacy = decode_payload(R"({"id":"s-2","updated_at_us":7,"properties":{"a":1}})");
    ASSERT_TRUE(legacy.has_value());
    EXPECT_EQ(legacy->at, dead_letter_payload::stage::source);
    EXPECT_EQ(legacy->match_key, "");
}

TEST(UsersTransform_Payload, Garbage_IsNotAPayload) {
    for (const char* text : {"", "not json", "[]", R"({"id":"s","updated_at_us":1})",
                             R"({"id":"","updated_at_us":1,"properties":{}})",
                             R"({"id":"s","updated_at_us":"1","properties":{}})",
                             R"({"id":"s","updated_at_us":1,"properties":{},"stage":"elsewhere"})",
                             R"({"id":"s","updated_at_us":1,"properties":[]})"}) {
        EXPECT_FALSE(decode_payload(text).has_value()) << text;
    }
}

TEST(UsersTransform_Size, Estimate_IsCloseToTheSerializedSize) {
    const connectors::dummy::generator gen{connectors::dummy::generator_settings{.count = 200}};
    for (std::uint64_t i = 0; i < 200; i += 7) {
        const auto u = gen.user(i);
        const double exact = static_cast<double>(json::serialize(u.properties).size());
        const double estimate = static_cast<double>(approx_json_size(u.properties));
        EXPECT_NEAR(estimate / exact, 1.0, 0.1) << json::serialize(u.properties);
    }
    EXPECT_EQ(approx_json_size(json::object{}), 2u);
    EXPECT_EQ(approx_json_size(json::object{{"a", -12}, {"b", json::array{true, nullptr}}}),
              json::serialize(json::object{{"a", -12}, {"b", json::array{true, nullptr}}}).size());
}

// A record read into a source's page resource (connectors/dummy and jsonl use a shared monotonic
// one) comes out of the path in that storage: moved, not copied into the default resource.
TEST(UsersTransform_Storage, CanonicalRecordKeepsItsStorage) {
    namespace dummy = tributary::connectors::dummy;
    const auto sp = json::make_shared_resource<json::monotonic_resource>();
    auto t = users_transform::make(with(write_mode::upsert), dummy::user_schema(), dummy::user_schema());
    ASSERT_TRUE(t.has_value()) << t.error();
    auto u = dummy::make_user(1, 7, 0, 1'700'000'000'000'000, sp);
    ASSERT_EQ(u.properties.storage().get(), sp.get());
    const json::object expected = u.properties;
    auto out = t->from_source(u.id, json::value(std::move(u.properties)));
    ASSERT_TRUE(out.ok()) << out.error;
    EXPECT_EQ(out.rec.properties, expected);
    EXPECT_EQ(out.rec.properties.storage().get(), sp.get()) << "the record was copied";
}
