// End-to-end tests of `--help` after each command and of `--version` on the real binary.

#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

#include "tests/support/process.hpp"

using tributary::test::run;

namespace {

const std::string bin = TRIBUTARY_BINARY;

struct usage_case {
    std::vector<std::string> args;
    std::string usage;      // the first synopsis line printed
    std::string not_shown;  // a line of another command's usage
};

}  // namespace

TEST(Cli_CommandHelp, EachCommandPrintsItsOwnUsageAndExitsZero) {
    const std::vector<usage_case> cases = {
        {{"run", "--help"},
         "Usage:\n  tributary run [-c FILE]\n  tributary run --once JOB",
         "tributary plan"},
        {{"validate", "--help"}, "Usage:\n  tributary validate [--online] [-c FILE]", "tributary run"},
        {{"plan", "--help"}, "Usage:\n  tributary plan JOB [--sample N] [--json]", "tributary state"},
        {{"plan", "demo", "-h"}, "Usage:\n  tributary plan JOB", "tributary run"},
        {{"state", "--help"}, "Usage:\n  tributary state show JOB", "tributary plan"},
        {{"state", "show", "--help"}, "Usage:\n  tributary state show JOB [--limit N] [--json]", "--to WHEN"},
        {{"state", "rewind", "--help"}, "Usage:\n  tributary state rewind JOB --to WHEN [--mark]", "--limit"},
        {{"connectors", "--help"}, "Usage:\n  tributary connectors [--json]", "tributary run"},
        {{"help", "run"}, "Usage:\n  tributary run [-c FILE]", "tributary validate"},
        {{"dlq", "--help"},
         "Usage:\n  tributary dlq list (JOB | --ingest) [--limit N] [--json]",
         "tributary plan"},
        {{"dlq", "replay", "--help"}, "Usage:\n  tributary dlq replay JOB ID [ID...]", "tributary plan"},
    };
    for (const auto& c : cases) {
        const std::string what = c.args[0] + " " + c.args[1];
        // No config file exists at the default path: --help must not need one.
        auto r = run(bin, c.args, {"TRIBUTARY_CONFIG=/nonexistent/tributary.yaml"});
        EXPECT_EQ(r.code, 0) << what << "\n" << r.err;
        EXPECT_EQ(r.out.rfind(c.usage, 0), 0u) << what << ":\n" << r.out;
        EXPECT_EQ(r.out.find(c.not_shown), std::string::npos) << what << ":\n" << r.out;
        EXPECT_TRUE(r.err.empty()) << what << ":\n" << r.err;
    }
}

TEST(Cli_CommandHelp, RunHelpSaysWhatSighupDoes) {
    auto r = run(bin, {"run", "--help"});
    EXPECT_EQ(r.code, 0);
    EXPECT_NE(r.out.find("SIGHUP reloads the config"), std::string::npos) << r.out;
}

TEST(Cli_CommandHelp, UnknownCommandIsAUsageError) {
    auto r = run(bin, {"explode", "--help"});
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("unknown command explode"), std::string::npos) << r.err;
}

TEST(Cli_Version, NamesTheVersionAndTheCommit) {
    auto r = run(bin, {"--version"});
    EXPECT_EQ(r.code, 0) << r.err;
    // 12 hex digits of the commit built from (with -dirty for local changes), or unknown when
    // built outside git.
    static const std::regex shape(
        R"(tributary [0-9]+\.[0-9]+\.[0-9]+ \(commit ([0-9a-f]{12}(-dirty)?|unknown)\)\n)");
    EXPECT_TRUE(std::regex_match(r.out, shape)) << r.out;
}
