// The command line (daemon/cli.hpp) and `state rewind --to WHEN` (daemon/rewind_target.hpp):
// pure parsing, no process started.

#include <gtest/gtest.h>

#include "core/types/time_layout.hpp"
#include "daemon/cli.hpp"
#include "daemon/config_scope.hpp"
#include "daemon/rewind_target.hpp"

using tributary::daemon::command_kind;
using tributary::daemon::config_scope;
using tributary::daemon::help_text;
using tributary::daemon::help_topic;
using tributary::daemon::parse_command_line;
using tributary::daemon::parse_rewind_target;

namespace {

std::string usage_error(std::vector<std::string> args) {
    auto r = parse_command_line(args);
    EXPECT_FALSE(r.cmd.has_value());
    return r.error;
}

std::int64_t at(std::string_view iso) {
    return tributary::types::parse_datetime(iso, "").value();
}

}  // namespace

TEST(CliParse_StateShow, TakesJobLimitAndJson) {
    auto r = parse_command_line({"state", "show", "demo", "--limit", "7", "--json", "-c", "x.yaml"});
    ASSERT_TRUE(r.cmd) << r.error;
    EXPECT_EQ(r.cmd->kind, command_kind::state_show);
    EXPECT_EQ(r.cmd->job, "demo");
    EXPECT_EQ(r.cmd->limit, 7u);
    EXPECT_TRUE(r.cmd->json);
    EXPECT_EQ(r.cmd->config_path, "x.yaml");
}

TEST(CliParse_DlqList, TakesTheSourceLimitAndJson) {
    auto r = parse_command_line({"dlq", "list", "ingest", "--json", "-c", "x.yaml"});
    ASSERT_TRUE(r.cmd) << r.error;
    EXPECT_EQ(r.cmd->kind, command_kind::dlq_list);
    EXPECT_EQ(r.cmd->job, "ingest");
    EXPECT_TRUE(r.cmd->json);
    EXPECT_EQ(r.cmd->limit, 20u) << "dlq list's own default";
    EXPECT_EQ(parse_command_line({"dlq", "list", "ingest", "--limit", "3"}).cmd->limit, 3u);
    EXPECT_EQ(usage_error({"dlq"}), "dlq needs a subcommand: list, show, replay or drop");
    EXPECT_EQ(usage_error({"dlq", "erase", "ingest"}),
              "unknown dlq subcommand erase (list, show, replay or drop)");
    EXPECT_EQ(usage_error({"dlq", "list"}),
              "dlq list needs what to list: tributary dlq list JOB (or --ingest)");
    EXPECT_EQ(usage_error({"dlq", "list", "ingest", "more"}), "unexpected argument more");
    EXPECT_EQ(usage_error({"dlq", "list", "ingest", "--online"}), "--online is an option of validate");
}

// The reject store has its own flag, so a job named `ingest` stays reachable.
TEST(CliParse_DlqList, IngestFlagListsTheRejectStore) {
    auto r = parse_command_line({"dlq", "list", "--ingest", "--limit", "4"});
    ASSERT_TRUE(r.cmd) << r.error;
    EXPECT_EQ(r.cmd->kind, command_kind::dlq_list);
    EXPECT_TRUE(r.cmd->ingest_rejects);
    EXPECT_EQ(r.cmd->job, "");
    EXPECT_EQ(r.cmd->limit, 4u);
    r = parse_command_line({"dlq", "list", "ingest"});
    ASSERT_TRUE(r.cmd) << r.error;
    EXPECT_FALSE(r.cmd->ingest_rejects) << "the word is a job name; the command decides with the config";
    EXPECT_EQ(usage_error({"dlq", "list", "--ingest", "demo"}), "dlq list takes a job or --ingest, not both");
    EXPECT_EQ(usage_error({"dlq", "show", "demo", "x", "--ingest"}), "--ingest is an option of dlq list");
}

TEST(CliParse_Dlq, ShowTakesAJobAnIdAndJson) {
    auto r = parse_command_line({"dlq", "show", "demo", "id-1", "--json"});
    ASSERT_TRUE(r.cmd) << r.error;
    EXPECT_EQ(r.cmd->kind, command_kind::dlq_show);
    EXPECT_EQ(r.cmd->job, "demo");
    EXPECT_EQ(r.cmd->items, std::vector<std::string>{"id-1"});
    EXPECT_TRUE(r.cmd->json);
    EXPECT_EQ(usage_error({"dlq", "show", "demo"}),
              "dlq show needs a job and an item id: tributary dlq show JOB ID");
    EXPECT_EQ(usage_error({"dlq", "show", "demo", "a", "b"}), "unexpected argument b");
    EXPECT_EQ(usage_error({"dlq", "show", "demo", "a", "--all"}), "--all is an option of dlq replay");
}

TEST(CliParse_Dlq, ReplayTakesIdsOrAllNotBoth) {
    auto r = parse_command_line({"dlq", "replay", "demo", "a", "b"});
    ASSERT_TRUE(r.cmd) << r.error;
    EXPECT_EQ(r.cmd->kind, command_kind::dlq_replay);
    EXPECT_EQ(r.cmd->items, (std::vector<std::string>{"a", "b"}));
    EXPECT_FALSE(r.cmd->all);
    auto all = parse_command_line({"dlq", "replay", "demo", "--all"});
    ASSERT_TRUE(all.cmd) << all.error;
    EXPECT_TRUE(all.cmd->all);
    EXPECT_TRUE(all.cmd->items.empty());
    EXPECT_EQ(usage_error({"dlq", "replay", "demo"}),
              "dlq replay needs a job and item ids, or --all: tributary dlq replay JOB ID...");
    EXPECT_EQ(usage_error({"dlq", "replay", "demo", "a", "--all"}),
              "dlq replay takes item ids or --all, not both");
    EXPECT_EQ(usage_error({"dlq", "replay", "demo", "--all", "--json"}),
              "--json is an option of connectors, plan, state show, dlq list, dlq show and status");
    EXPECT_EQ(usage_error({"dlq", "list", "demo", "--all"}), "--all is an option of dlq replay");
}

TEST(CliParse_StateRewind, TakesToAndMark) {
    auto r = parse_command_line({"state", "rewind", "demo", "--to=2h", "--mark"});
    ASSERT_TRUE(r.cmd) << r.error;
    EXPECT_EQ(r.cmd->kind, command_kind::state_rewind);
    EXPECT_EQ(r.cmd->rewind_to, "2h");
    EXPECT_TRUE(r.cmd->rewind_mark);
}

TEST(CliParse_StateRewind, WithoutToIsAUsageError) {
    EXPECT_NE(usage_error({"state", "rewind", "demo"}).find("needs --to"), std::string::npos);
}

TEST(CliParse_State, NeedsAKnownSubcommandAndAJob) {
    EXPECT_NE(usage_error({"state"}).find("show or rewind"), std::string::npos);
    EXPECT_NE(usage_error({"state", "erase", "demo"}).find("unknown state subcommand erase"),
              std::string::npos);
    EXPECT_NE(usage_error({"state", "show"}).find("needs a job"), std::string::npos);
    EXPECT_NE(usage_error({"state", "show", "a", "b"}).find("unexpected argument b"), std::string::npos);
}

TEST(CliParse_Plan, TakesJobSampleAndJson) {
    auto r = parse_command_line({"plan", "demo", "--sample", "10", "--json"});
    ASSERT_TRUE(r.cmd) << r.error;
    EXPECT_EQ(r.cmd->kind, command_kind::plan);
    EXPECT_EQ(r.cmd->job, "demo");
    EXPECT_EQ(r.cmd->sample, 10u);
    EXPECT_TRUE(r.cmd->json);
    EXPECT_NE(usage_error({"plan"}).find("needs a job"), std::string::npos);
    EXPECT_NE(usage_error({"plan", "demo", "--sample", "0"}).find("--sample"), std::string::npos);
    EXPECT_NE(usage_error({"plan", "demo", "--sample", "ten"}).find("--sample"), std::string::npos);
}

TEST(CliParse_ValidateOnline, IsAcceptedOnlyByValidate) {
    auto r = parse_command_line({"validate", "--online"});
    ASSERT_TRUE(r.cmd) << r.error;
    EXPECT_TRUE(r.cmd->online);
    EXPECT_NE(usage_error({"run", "--online"}).find("--online is an option of validate"), std::string::npos);
}

TEST(CliParse_OptionOfAnotherCommand, IsAUsageError) {
    EXPECT_NE(usage_error({"run", "--json"}).find("--json"), std::string::npos);
    EXPECT_NE(usage_error({"plan", "demo", "--to", "2h"}).find("--to is an option of state rewind"),
              std::string::npos);
    EXPECT_NE(usage_error({"state", "show", "demo", "--sample", "3"}).find("--sample is an option of plan"),
              std::string::npos);
    EXPECT_NE(usage_error({"validate", "--mark"}).find("--mark is an option of state rewind"),
              std::string::npos);
    EXPECT_NE(usage_error({"validate", "--online=yes"}).find("takes no value"), std::string::npos);
}

// `COMMAND --help`, `help COMMAND`: that command's usage, before any check of its operands.
TEST(CliParse_HelpAfterACommand, IsThatCommandsUsage) {
    const std::vector<std::pair<std::vector<std::string>, help_topic>> cases = {
        {{"--help"}, help_topic::overview},
        {{"help"}, help_topic::overview},
        {{"run", "--help"}, help_topic::run},
        {{"run", "--once", "demo", "-h"}, help_topic::run},
        {{"validate", "--help"}, help_topic::validate},
        {{"plan", "--help"}, help_topic::plan},
        {{"help", "plan"}, help_topic::plan},
        {{"state", "--help"}, help_topic::state},
        {{"state", "show", "--help"}, help_topic::state_show},
        {{"state", "rewind", "-h"}, help_topic::state_rewind},
        {{"help", "state", "rewind"}, help_topic::state_rewind},
        {{"connectors", "--help"}, help_topic::connectors},
        {{"dlq", "list", "ingest", "--help"}, help_topic::dlq_list},
        {{"dlq", "--help"}, help_topic::dlq},
        {{"dlq", "show", "--help"}, help_topic::dlq_show},
        {{"help", "dlq", "replay"}, help_topic::dlq_replay},
    };
    for (const auto& [args, topic] : cases) {
        auto r = parse_command_line(args);
        ASSERT_TRUE(r.cmd) << args.front() << ": " << r.error;
        EXPECT_EQ(r.cmd->kind, command_kind::help) << args.front();
        EXPECT_EQ(r.cmd->topic, topic) << args.front() << " " << (args.size() > 1 ? args[1] : "");
    }
}

TEST(CliParse_HelpForAnUnknownCommand, IsAUsageError) {
    EXPECT_EQ(usage_error({"explode", "--help"}), "unknown command explode");
    EXPECT_EQ(usage_error({"state", "drop", "--help"}), "unknown state subcommand drop (show or rewind)");
}

TEST(CliHelp_EachTopic, ShowsItsOwnUsageOnly) {
    EXPECT_NE(help_text(help_topic::run).find("tributary run --once JOB"), std::string::npos);
    EXPECT_EQ(help_text(help_topic::run).find("state rewind"), std::string::npos);
    EXPECT_NE(help_text(help_topic::plan).find("--sample N"), std::string::npos);
    EXPECT_EQ(help_text(help_topic::plan).find("--limit"), std::string::npos);
    EXPECT_NE(help_text(help_topic::state_rewind).find("--to WHEN"), std::string::npos);
    EXPECT_EQ(help_text(help_topic::state_rewind).find("--limit"), std::string::npos);
    EXPECT_NE(help_text(help_topic::state).find("state show JOB"), std::string::npos);
    EXPECT_NE(help_text(help_topic::state).find("state rewind JOB"), std::string::npos);
    EXPECT_EQ(help_text(help_topic::connectors).find("--config"), std::string::npos);
}

// Which secrets a command resolves (config::load_options::resolve_only).
TEST(ConfigScope_RunAndValidate, ResolveEverything) {
    for (auto args :
         std::vector<std::vector<std::string>>{{"run"}, {"run", "--once", "demo"}, {"validate"}}) {
        auto cmd = parse_command_line(args).cmd;
        ASSERT_TRUE(cmd);
        EXPECT_FALSE(config_scope(*cmd, nullptr).has_value()) << args.front();
    }
}

TEST(ConfigScope_State, StateLogAndTheJob) {
    auto cmd = parse_command_line({"state", "show", "demo"}).cmd;
    ASSERT_TRUE(cmd);
    tributary::config::settings s;
    s.jobs["demo"].source.connection = "people";
    EXPECT_EQ(config_scope(*cmd, &s), (std::vector<std::string>{"/state", "/log", "/jobs/demo"}));
}

TEST(ConfigScope_Plan, AddsTheJobsConnectionsOnceKnown) {
    auto cmd = parse_command_line({"plan", "demo"}).cmd;
    ASSERT_TRUE(cmd);
    EXPECT_EQ(config_scope(*cmd, nullptr), (std::vector<std::string>{"/state", "/log", "/jobs/demo"}));
    tributary::config::settings s;
    s.jobs["demo"].source.connection = "people";
    s.jobs["demo"].destination.connection = "out";
    s.jobs["other"].destination.connection = "hook";
    EXPECT_EQ(config_scope(*cmd, &s), (std::vector<std::string>{"/state", "/log", "/jobs/demo",
                                                                "/connections/people", "/connections/out"}));
    tributary::config::settings events;
    events.jobs["demo"].destination.connection = "hook";
    EXPECT_EQ(config_scope(*cmd, &events),
              (std::vector<std::string>{"/state", "/log", "/jobs/demo", "/connections/hook"}));
}

TEST(RewindTarget_Beginning, IsZero) {
    EXPECT_EQ(parse_rewind_target("beginning", at("2026-01-01T00:00:00Z")).value(), 0);
}

TEST(RewindTarget_Rfc3339, IsThatInstantInUtc) {
    const auto now = at("2026-06-01T00:00:00Z");
    EXPECT_EQ(parse_rewind_target("2026-01-01T12:00:00Z", now).value(), at("2026-01-01T12:00:00Z"));
    EXPECT_EQ(parse_rewind_target("2026-01-01T14:00:00.25+02:00", now).value(),
              at("2026-01-01T12:00:00Z") + 250000);
    EXPECT_EQ(parse_rewind_target("2026-01-01", now).value(), at("2026-01-01T00:00:00Z"));
}

TEST(RewindTarget_DurationAgo, IsNowMinusIt) {
    const auto now = at("2026-06-01T00:00:00Z");
    EXPECT_EQ(parse_rewind_target("2h", now).value(), at("2026-05-31T22:00:00Z"));
    EXPECT_EQ(parse_rewind_target("1h30m", now).value(), at("2026-05-31T22:30:00Z"));
    EXPECT_EQ(parse_rewind_target("7d", now).value(), at("2026-05-25T00:00:00Z"));
}

TEST(RewindTarget_Invalid, ErrorsSayWhatIsAccepted) {
    const auto now = at("2026-06-01T00:00:00Z");
    for (std::string_view bad :
         {"", "yesterday", "2", "2h ago", "2026-13-01T00:00:00Z", "-2h", "2026-06-01T25:00"}) {
        auto r = parse_rewind_target(bad, now);
        ASSERT_FALSE(r) << bad;
        EXPECT_NE(r.error().find("--to"), std::string::npos) << r.error();
    }
    auto future = parse_rewind_target("2026-06-02T00:00:00Z", now);
    ASSERT_FALSE(future);
    EXPECT_NE(future.error().find("in the future"), std::string::npos) << future.error();
    EXPECT_FALSE(parse_rewind_target("3650000d", now));  // before year 1
}

TEST(Ops_CliParse, ControlCommandsAndDlqDrop) {
    auto s = parse_command_line({"status", "--json"});
    ASSERT_TRUE(s.cmd) << s.error;
    EXPECT_EQ(s.cmd->kind, command_kind::status);
    EXPECT_TRUE(s.cmd->json);
    auto p = parse_command_line({"pause", "demo", "--for", "2h"});
    ASSERT_TRUE(p.cmd) << p.error;
    EXPECT_EQ(p.cmd->kind, command_kind::pause);
    EXPECT_EQ(p.cmd->job, "demo");
    EXPECT_EQ(p.cmd->pause_for, std::chrono::milliseconds{2 * 3600 * 1000});
    auto d = parse_command_line({"dlq", "drop", "demo", "a", "b"});
    ASSERT_TRUE(d.cmd) << d.error;
    EXPECT_EQ(d.cmd->kind, command_kind::dlq_drop);
    EXPECT_EQ(d.cmd->items, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(usage_error({"trigger"}), "trigger needs a job: tributary trigger JOB");
    EXPECT_EQ(usage_error({"pause", "demo", "--for", "0s"}),
              "--for takes a duration from 1s to 366d (30m, 2h)");
    EXPECT_EQ(usage_error({"trigger", "demo", "--for", "1h"}), "--for is an option of pause");
    EXPECT_EQ(usage_error({"dlq", "drop", "demo"}),
              "dlq drop needs a job and item ids: tributary dlq drop JOB ITEM...");
    EXPECT_EQ(usage_error({"reload", "extra"}), "unexpected argument extra");
    auto f = parse_command_line({"reload", "--force"});
    ASSERT_TRUE(f.cmd) << f.error;
    EXPECT_EQ(f.cmd->kind, command_kind::reload);
    EXPECT_TRUE(f.cmd->force);
    EXPECT_FALSE(parse_command_line({"reload"}).cmd->force);
    EXPECT_EQ(usage_error({"status", "--force"}), "--force is an option of reload");
}
