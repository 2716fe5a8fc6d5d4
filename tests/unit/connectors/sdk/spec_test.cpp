// Connector specs and the registry: every registration rule rejects what it should, all
// violations are reported at once, and the registry lists, describes and creates connectors.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "connectors/sdk/registry.hpp"
#include "connectors/sdk/spec.hpp"

namespace tributary::connectors {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

http::endpoint_group group(std::string name, std::vector<std::string> patterns) {
    http::endpoint_group g;
    g.name = std::move(name);
    g.patterns = std::move(patterns);
    g.limits = {http::rate_limit{http::limit_kind::token_bucket, 10, 1000ms, 20}};
    return g;
}

application_spec valid_spec() {
    application_spec s;
    s.code = "acme-crm";
    s.label = "Acme CRM";
    s.categories = category::saas;
    s.source = as_source{.targets = {.users = true}, .has_settings = true, .summary = "Import contacts"};
    s.destination = as_destination{.targets = {.users = true, .events = true},
                                   .has_settings = true,
                                   .sending_mode = sending_mode::server,
                                   .summary = "Export contacts and events"};
    s.terms = {"Contact", "Contacts", "Contact ID"};
    s.endpoint_groups = {group("contacts", {"/api/contacts/"}), group("events", {"POST /api/events"})};
    return s;
}

capabilities all_caps() {
    return {true, true, true, true, true, true, true, true, true, true};
}

// Exactly one violation, containing `text`: each rule is checked on its own.
void expect_one_error(const application_spec& s, const capabilities& caps, std::string_view text) {
    auto errors = validate_spec(s, caps);
    ASSERT_THAT(errors, SizeIs(1)) << ::testing::PrintToString(errors);
    EXPECT_THAT(errors[0], HasSubstr(std::string{text}));
    EXPECT_THAT(errors[0], HasSubstr("spec '" + s.code + "'"));
}

TEST(SdkSpec_Valid, FullSpec_HasNoErrors) {
    EXPECT_THAT(validate_spec(valid_spec(), all_caps()), IsEmpty());
}

TEST(SdkSpec_Code, UppercaseOrUnderscore_IsRejected) {
    for (std::string code :
         std::vector<std::string>{"Acme", "acme_crm", "acme.crm", "", std::string(65, 'a'), "caf\xc3\xa9"}) {
        auto s = valid_spec();
        s.code = code;
        auto errors = validate_spec(s, all_caps());
        ASSERT_THAT(errors, SizeIs(1)) << code;
        EXPECT_THAT(errors[0], HasSubstr("code must be"));
    }
}

TEST(SdkSpec_Code, OddButValidCodes_AreAccepted) {
    for (std::string code : std::vector<std::string>{"-", "a-", "0", std::string(64, 'z')}) {
        auto s = valid_spec();
        s.code = code;
        EXPECT_THAT(validate_spec(s, all_caps()), IsEmpty()) << code;
    }
}

TEST(SdkSpec_Label, Empty_IsRejected) {
    auto s = valid_spec();
    s.label.clear();
    expect_one_error(s, all_caps(), "label is empty");
}

TEST(SdkSpec_Categories, None_IsRejected) {
    auto s = valid_spec();
    s.categories = category::none;
    expect_one_error(s, all_caps(), "categories is empty");
}

TEST(SdkSpec_Categories, UnknownBit_IsRejected) {
    auto s = valid_spec();
    s.categories = category::saas | static_cast<category>(1u << 20);
    expect_one_error(s, all_caps(), "unknown bits");
}

TEST(SdkSpec_Roles, NoRole_IsRejected) {
    auto s = valid_spec();
    s.source.reset();
    s.destination.reset();
    s.terms = {};
    auto caps = all_caps();
    caps.validate_settings = false;
    expect_one_error(s, caps, "neither source nor destination");
}

TEST(SdkSpec_Source, EventsTarget_IsRejected) {
    auto s = valid_spec();
    s.source->targets = {.users = true, .events = true};
    expect_one_error(s, all_caps(), "source targets must be exactly users");
}

TEST(SdkSpec_Source, WithoutRecords_IsRejected) {
    auto s = valid_spec();
    s.destination->targets.users = false;
    auto caps = all_caps();
    caps.records = false;
    expect_one_error(s, caps, "as a source of users but the connector class does not implement records");
}

TEST(SdkSpec_Destination, EmptyTargets_IsRejected) {
    auto s = valid_spec();
    s.destination->targets = {};
    s.destination->sending_mode = sending_mode::none;
    expect_one_error(s, all_caps(), "destination targets is empty");
}

TEST(SdkSpec_Destination, UsersWithoutUpsert_IsRejected) {
    auto s = valid_spec();
    auto caps = all_caps();
    caps.upsert = false;
    expect_one_error(s, caps, "does not implement upsert");
}

TEST(SdkSpec_Destination, SaasUsersWithoutPreviewUpsert_IsRejected) {
    auto caps = all_caps();
    caps.preview_upsert = false;
    expect_one_error(valid_spec(), caps, "does not implement preview_upsert");
}

TEST(SdkSpec_Destination, FileConnectorWithoutPreviews_IsAccepted) {
    auto s = valid_spec();
    s.categories = category::file;
    s.endpoint_groups.clear();
    auto caps = all_caps();
    caps.preview_upsert = false;
    caps.preview_send_events = false;
    EXPECT_THAT(validate_spec(s, caps), IsEmpty());
}

TEST(SdkSpec_Destination, EventsWithoutSendEvents_IsRejected) {
    auto caps = all_caps();
    caps.send_events = false;
    expect_one_error(valid_spec(), caps, "does not implement send_events");
}

TEST(SdkSpec_Destination, EventsWithoutSendingMode_IsRejected) {
    auto s = valid_spec();
    s.destination->sending_mode = sending_mode::none;
    expect_one_error(s, all_caps(), "sending mode is none");
}

TEST(SdkSpec_Destination, SendingModeWithoutEvents_IsRejected) {
    auto s = valid_spec();
    s.destination->targets.events = false;
    expect_one_error(s, all_caps(), "has a sending mode but does not send events");
}

TEST(SdkSpec_Terms, SetWithoutUsers_IsRejected) {
    auto s = valid_spec();
    s.source.reset();
    s.destination->targets.users = false;
    expect_one_error(s, all_caps(), "terms are set");
}

TEST(SdkSpec_Terms, Empty_IsRejected) {
    auto s = valid_spec();
    s.terms.user_id.clear();
    expect_one_error(s, all_caps(), "terms must not be empty");
}

TEST(SdkSpec_Settings, HasSettingsWithoutValidator_IsRejected) {
    auto caps = all_caps();
    caps.validate_settings = false;
    expect_one_error(valid_spec(), caps, "has no validate_settings");
}

TEST(SdkSpec_Settings, ValidatorWithoutHasSettings_IsRejected) {
    auto s = valid_spec();
    s.source->has_settings = false;
    s.destination->has_settings = false;
    expect_one_error(s, all_caps(), "has_settings is set in no role");
}

application_spec oauth_spec_valid() {
    auto s = valid_spec();
    s.oauth = oauth_spec{.auth_url = "https://acme.example/oauth/authorize",
                         .token_url = "https://api.acme.example/oauth/token",
                         .source_scopes = {"contacts.read"},
                         .destination_scopes = {"contacts.write"},
                         .expires_in = 0s};
    auto g = group("oauth", {"POST api.acme.example/oauth/token"});
    s.endpoint_groups.push_back(g);
    s.endpoint_groups[0].require_oauth = true;
    return s;
}

TEST(SdkSpec_OAuth, Valid_HasNoErrors) {
    EXPECT_THAT(validate_spec(oauth_spec_valid(), all_caps()), IsEmpty());
}

TEST(SdkSpec_OAuth, HttpAuthUrl_IsRejected) {
    auto s = oauth_spec_valid();
    s.oauth->auth_url = "http://acme.example/oauth/authorize";
    expect_one_error(s, all_caps(), "oauth.auth_url must be an absolute https URL");
}

TEST(SdkSpec_OAuth, TokenUrlWithoutGroup_IsRejected) {
    auto s = oauth_spec_valid();
    s.endpoint_groups.pop_back();
    expect_one_error(s, all_caps(), "oauth.token_url is matched by no endpoint group");
}

TEST(SdkSpec_OAuth, NegativeExpiresIn_IsRejected) {
    auto s = oauth_spec_valid();
    s.oauth->expires_in = -1s;
    expect_one_error(s, all_caps(), "expires_in must be >= 0");
}

TEST(SdkSpec_OAuth, WithoutOAuthAccount_IsRejected) {
    auto caps = all_caps();
    caps.oauth_account = false;
    expect_one_error(oauth_spec_valid(), caps, "does not implement oauth_account");
}

TEST(SdkSpec_OAuth, NoGroupRequiresIt_IsRejected) {
    auto s = oauth_spec_valid();
    s.endpoint_groups[0].require_oauth = false;
    expect_one_error(s, all_caps(), "no endpoint group requires OAuth");
}

TEST(SdkSpec_OAuth, GroupRequiresItWithoutOAuth_IsRejected) {
    auto s = valid_spec();
    s.endpoint_groups[1].require_oauth = true;
    expect_one_error(s, all_caps(), "requires OAuth but the spec has no oauth");
}

TEST(SdkSpec_Groups, SaasWithoutGroups_IsRejected) {
    auto s = valid_spec();
    s.endpoint_groups.clear();
    expect_one_error(s, all_caps(), "must declare its endpoint groups");
}

TEST(SdkSpec_Groups, EmptyName_IsRejected) {
    auto s = valid_spec();
    s.endpoint_groups[1].name.clear();
    expect_one_error(s, all_caps(), "endpoint group #2 has an empty name");
}

TEST(SdkSpec_Groups, NameWithSpace_IsRejected) {
    auto s = valid_spec();
    s.endpoint_groups[1].name = "bulk events";
    expect_one_error(s, all_caps(), "whitespace");
}

TEST(SdkSpec_Groups, DuplicateName_IsRejected) {
    auto s = valid_spec();
    s.endpoint_groups[1].name = "contacts";
    expect_one_error(s, all_caps(), "endpoint group 'contacts': the name is used twice");
}

TEST(SdkSpec_Groups, NoLimits_IsRejectedFailClosed) {
    auto s = valid_spec();
    s.endpoint_groups[0].limits.clear();
    expect_one_error(s, all_caps(), "'contacts' has no limits");
}

TEST(SdkSpec_Groups, ZeroRequests_IsRejected) {
    auto s = valid_spec();
    s.endpoint_groups[0].limits[0].requests = 0;
    expect_one_error(s, all_caps(), "requests = 0");
}

TEST(SdkSpec_Groups, ZeroPer_IsRejected) {
    auto s = valid_spec();
    s.endpoint_groups[0].limits[0].per = 0ms;
    expect_one_error(s, all_caps(), "per <= 0");
}

TEST(SdkSpec_Groups, BadPattern_IsASpecErrorNamingIt) {
    auto s = valid_spec();
    s.endpoint_groups[0].patterns = {"/api//contacts"};
    expect_one_error(s, all_caps(), "'/api//contacts'");
}

TEST(SdkSpec_Groups, EveryBadPattern_IsReported) {
    auto s = valid_spec();
    s.endpoint_groups[0].patterns = {"/a/{}", "/b/../c"};
    s.endpoint_groups[1].patterns = {"get /x"};
    EXPECT_THAT(validate_spec(s, all_caps()), SizeIs(3));
}

TEST(SdkSpec_Groups, SamePatternInTwoGroups_IsRejectedByTheRouter) {
    auto s = valid_spec();
    s.endpoint_groups[1].patterns = {"/api/contacts/"};
    expect_one_error(s, all_caps(), "declared twice");
}

TEST(SdkSpec_Groups, GroupWithoutPatternsAmongOthers_IsRejected) {
    auto s = valid_spec();
    s.endpoint_groups[1].patterns.clear();
    expect_one_error(s, all_caps(), "has no patterns");
}

TEST(SdkSpec_Layouts, BadLayout_IsRejected) {
    auto s = valid_spec();
    s.layouts.date = "%H:%M";
    expect_one_error(s, all_caps(), "layouts:");
}

TEST(SdkSpec_Source, LatenessOutOfRange_IsRejected) {
    for (auto lateness : {std::chrono::milliseconds{-1}, max_source_lateness + 1ms}) {
        auto s = valid_spec();
        s.source->lateness = lateness;
        expect_one_error(s, all_caps(), "source lateness must be between 0 and 30 days");
    }
}

TEST(SdkSpec_Source, LatenessWithinRange_IsAccepted) {
    for (auto lateness : {0ms, std::chrono::milliseconds{15min}, max_source_lateness}) {
        auto s = valid_spec();
        s.source->lateness = lateness;
        EXPECT_THAT(validate_spec(s, all_caps()), IsEmpty()) << lateness.count();
    }
}

TEST(SdkSpec_Json, Source_CarriesOrderAndLatenessInMilliseconds) {
    auto s = valid_spec();
    s.source->order = connectors::source_order::ascending;
    s.source->lateness = 90s;
    const auto j = to_json(s);
    EXPECT_EQ(j.at("source").at("order"), "ascending");
    EXPECT_EQ(j.at("source").at("latenessMs"), 90'000);
    EXPECT_EQ(to_json(valid_spec()).at("source").at("latenessMs"), 0);
}

TEST(SdkSpec_Validate, SeveralViolations_AreAllReported) {
    auto s = valid_spec();
    s.code = "Bad";
    s.label.clear();
    s.categories = category::none;
    s.endpoint_groups[0].limits.clear();
    auto errors = validate_spec(s, all_caps());
    EXPECT_THAT(errors, SizeIs(4));
}

TEST(SdkSpec_Json, Spec_CarriesGroupsLimitsAndRetrySummary) {
    auto j = to_json(valid_spec());
    const auto& o = j.as_object();
    EXPECT_EQ(o.at("code"), "acme-crm");
    EXPECT_EQ(o.at("categories").as_array().at(0), "saas");
    EXPECT_EQ(o.at("destination").at("sendingMode"), "server");
    EXPECT_EQ(o.at("terms").at("userId"), "Contact ID");
    const auto& g = o.at("endpointGroups").as_array().at(0).as_object();
    EXPECT_EQ(g.at("name"), "contacts");
    EXPECT_EQ(g.at("limits").at(0).at("requests"), 10);
    EXPECT_EQ(g.at("limits").at(0).at("perMs"), 1000);
    EXPECT_EQ(g.at("limits").at(0).at("burst"), 20);
    const auto& rules = g.at("retry").at("rules").as_array();
    ASSERT_EQ(rules.size(), 2u);
    EXPECT_EQ(rules[0].at("statuses"), "429");
    EXPECT_EQ(rules[0].at("strategy"), "retry_after");
    EXPECT_EQ(g.at("retry").at("success"), "200-299");
}

// ---------------------------------------------------------------- registry

class settings_connector final : public connector {
public:
    explicit settings_connector(connector_env env) {
        if (env.settings.as_object().contains("refuse"))
            env.report_settings_error({"refuse", "the constructor refuses this"});
    }
    static std::vector<settings_error> validate_settings(const boost::json::value& v) {
        std::vector<settings_error> errors;
        settings_reader r{v, errors};
        r.required_string("api_key");
        r.optional_bool("refuse", false);
        r.reject_unknown({"api_key", "refuse"});
        return errors;
    }
    awaitable<outcome_of<types::type>> record_schema(target, role) override { co_return types::type{}; }
    awaitable<outcome_of<page>> records(target,
                                        std::optional<wall_micros>,
                                        std::string,
                                        types::type) override {
        co_return page{};
    }
};

class throwing_connector final : public connector {
public:
    explicit throwing_connector(connector_env) { throw std::runtime_error("boom"); }
    awaitable<outcome_of<types::type>> record_schema(target, role) override { co_return types::type{}; }
    awaitable<outcome_of<page>> records(target,
                                        std::optional<wall_micros>,
                                        std::string,
                                        types::type) override {
        co_return page{};
    }
};

application_spec source_spec(std::string code, bool has_settings) {
    application_spec s;
    s.code = std::move(code);
    s.label = "Source " + s.code;
    s.categories = category::testing;
    s.source = as_source{.has_settings = has_settings, .summary = "test"};
    return s;
}

TEST(SdkCapabilities, Detection_SeesOverridesAndValidator) {
    constexpr auto caps = capabilities_of<settings_connector>();
    EXPECT_TRUE(caps.record_schema);
    EXPECT_TRUE(caps.records);
    EXPECT_FALSE(caps.upsert);
    EXPECT_FALSE(caps.send_events);
    EXPECT_TRUE(caps.validate_settings);
    EXPECT_FALSE(capabilities_of<throwing_connector>().validate_settings);
}

TEST(SdkRegistry_Build, DuplicateCodes_AreRejected) {
    auto built = registry::build({make_registration<settings_connector>(source_spec("dup", true)),
                                  make_registration<settings_connector>(source_spec("dup", true))});
    ASSERT_FALSE(built);
    EXPECT_THAT(built.error(), HasSubstr("spec 'dup': code is registered twice"));
}

TEST(SdkRegistry_Build, EveryInvalidRegistration_IsListed) {
    auto no_factory = make_registration<settings_connector>(source_spec("nofactory", true));
    no_factory.factory = nullptr;
    auto built = registry::build({make_registration<settings_connector>(source_spec("Bad", true)),
                                  make_registration<throwing_connector>(source_spec("settings", true)),
                                  std::move(no_factory)});
    ASSERT_FALSE(built);
    EXPECT_THAT(built.error(), HasSubstr("spec 'Bad': code must be"));
    EXPECT_THAT(built.error(),
                HasSubstr("spec 'settings': has_settings is set but the connector has no validate_settings"));
    EXPECT_THAT(built.error(), HasSubstr("spec 'nofactory': no factory"));
}

TEST(SdkRegistry_Find, KnownAndUnknownCodes) {
    auto built = registry::build({make_registration<settings_connector>(source_spec("one", true)),
                                  make_registration<throwing_connector>(source_spec("two", false))});
    ASSERT_TRUE(built) << built.error();
    ASSERT_NE(built->find("two"), nullptr);
    EXPECT_EQ(built->find("two")->spec.label, "Source two");
    EXPECT_EQ(built->find("three"), nullptr);
    EXPECT_EQ(built->list().size(), 2u);
}

TEST(SdkRegistry_Describe, TextAndJson_ListEveryConnector) {
    auto built = registry::build({make_registration<settings_connector>(source_spec("one", true)),
                                  make_registration<throwing_connector>(source_spec("two-long", false))});
    ASSERT_TRUE(built) << built.error();
    EXPECT_EQ(built->describe(false),
              "one       Source one  source (users)\n"
              "two-long  Source two-long  source (users)\n");
    auto json = boost::json::parse(built->describe(true));
    ASSERT_EQ(json.as_array().size(), 2u);
    EXPECT_EQ(json.as_array()[1].at("code"), "two-long");
}

TEST(SdkRegistry_ValidateSettings, Errors_NamePaths) {
    auto built = registry::build({make_registration<settings_connector>(source_spec("one", true)),
                                  make_registration<throwing_connector>(source_spec("two", false))});
    ASSERT_TRUE(built);
    auto errors = built->validate_settings("one", boost::json::parse(R"({"apikey": "x"})"));
    ASSERT_THAT(errors, SizeIs(2));
    EXPECT_EQ(errors[0].path, "api_key");
    EXPECT_EQ(errors[1].path, "apikey");
    EXPECT_THAT(built->validate_settings("two", boost::json::parse(R"({"a": 1})")), SizeIs(1));
    EXPECT_THAT(built->validate_settings("two", nullptr), IsEmpty());
    EXPECT_THAT(built->validate_settings("zzz", nullptr), SizeIs(1));
}

TEST(SdkRegistry_Create, InvalidSettings_AreAnInvalidSettingsError) {
    auto built = registry::build({make_registration<settings_connector>(source_spec("one", true))});
    ASSERT_TRUE(built);
    connector_env env;
    env.settings = boost::json::parse(R"({"api_key": 3})");
    auto made = built->create("one", std::move(env));
    ASSERT_FALSE(made);
    EXPECT_EQ(made.error().kind, error_kind::invalid_settings);
    EXPECT_THAT(made.error().message, HasSubstr("api_key: must be a string"));
}

TEST(SdkRegistry_Create, ConstructorReport_RefusesTheConnector) {
    auto built = registry::build({make_registration<settings_connector>(source_spec("one", true))});
    ASSERT_TRUE(built);
    std::vector<settings_error> upstream;
    connector_env env;
    env.settings = boost::json::parse(R"({"api_key": "k", "refuse": true})");
    env.report_settings_error = [&](settings_error e) { upstream.push_back(std::move(e)); };
    auto made = built->create("one", std::move(env));
    ASSERT_FALSE(made);
    EXPECT_EQ(made.error().kind, error_kind::invalid_settings);
    ASSERT_THAT(upstream, SizeIs(1));
    EXPECT_EQ(upstream[0].path, "refuse");
}

TEST(SdkRegistry_Create, ThrowingFactory_IsAContractError) {
    auto built = registry::build({make_registration<throwing_connector>(source_spec("two", false))});
    ASSERT_TRUE(built);
    auto made = built->create("two", connector_env{});
    ASSERT_FALSE(made);
    EXPECT_EQ(made.error().kind, error_kind::contract);
    EXPECT_THAT(made.error().message, HasSubstr("boom"));
}

TEST(SdkRegistry_Create, ValidSettings_MakeTheConnector) {
    auto built = registry::build({make_registration<settings_connector>(source_spec("one", true))});
    ASSERT_TRUE(built);
    connector_env env;
    env.settings = boost::json::parse(R"({"api_key": "k"})");
    auto made = built->create("one", std::move(env));
    ASSERT_TRUE(made) << made.error().message;
    EXPECT_NE(made->get(), nullptr);
}

}  // namespace
}  // namespace tributary::connectors
