// End-to-end: `state show` and `plan` resolve only the secrets they use. An operator's shell
// rarely has the daemon's credentials: a `${env:...}` of another connection or of the ingest
// write keys must not make them fail, while `validate` and `run` still need every one.

#include <gtest/gtest.h>

#include <string>

#include "tests/support/process.hpp"

using tributary::test::run;
using tributary::test::temp_dir;

namespace {

const std::string bin = TRIBUTARY_BINARY;
const std::string key_var = "TRIBUTARY_E2E_UNSET_WRITE_KEY";
const std::string secret_var = "TRIBUTARY_E2E_UNSET_HOOK_SECRET";
// What the daemon's environment would hold.
const std::vector<std::string> daemon_env = {
    key_var + "=wk_unused_secrets_test", secret_var + "=whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="};

// A users job (dummy → jsonl, no secrets) beside an events job whose webhook secret and the
// ingest write key come from the environment.
std::string config(const temp_dir& dir) {
    return "state:\n  dir: " + (dir.path() / "state").string() +
           "\n"
           "log:\n  format: json\n"
           "ingest:\n  listen: 127.0.0.1:0\n  write_keys: [\"${env:" +
           key_var +
           "}\"]\n"
           "connections:\n"
           "  people:\n    connector: dummy\n    settings: { seed: 3, count: 5 }\n"
           "  out:\n    connector: jsonl\n    settings: { path: " +
           (dir.path() / "out.jsonl").string() +
           " }\n"
           "  hook:\n    connector: webhook\n    settings:\n      url: http://127.0.0.1:9/events\n"
           "      secrets: [\"${env:" +
           secret_var +
           "}\"]\n"
           "jobs:\n"
           "  demo:\n    type: users\n    source: { connection: people }\n"
           "    destination: { connection: out }\n"
           "    schedule: every 1h\n"
           "  forward:\n    type: events\n    destination: { connection: hook }\n";
}

}  // namespace

TEST(UnusedSecrets_StateShow, UnrelatedMissingVariablesDoNotMatter) {
    temp_dir dir;
    auto cfg = dir.write("t.yaml", config(dir)).string();
    // The daemon had its secrets when it ran the job.
    auto ran = run(bin, {"run", "--once", "demo", "-c", cfg}, daemon_env);
    ASSERT_EQ(ran.code, 0) << ran.err;

    auto r = run(bin, {"state", "show", "demo", "-c", cfg});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("demo"), std::string::npos) << r.out;
    EXPECT_EQ(r.err.find(key_var), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find(secret_var), std::string::npos) << r.err;
}

TEST(UnusedSecrets_Plan, ResolvesOnlyTheJobsOwnConnections) {
    temp_dir dir;
    auto cfg = dir.write("t.yaml", config(dir)).string();
    auto users = run(bin, {"plan", "demo", "--sample", "3", "-c", cfg});
    EXPECT_EQ(users.code, 0) << users.err;
    EXPECT_NE(users.out.find("plan for job demo"), std::string::npos) << users.out;

    // The events job's own destination needs its secret: named, exit 1, as before.
    auto events = run(bin, {"plan", "forward", "-c", cfg});
    EXPECT_EQ(events.code, 1) << events.out;
    EXPECT_NE(events.err.find("environment variable " + secret_var + " is not set"), std::string::npos)
        << events.err;
    EXPECT_EQ(events.err.find(key_var), std::string::npos) << events.err;
}

TEST(UnusedSecrets_ValidateAndRun, StillResolveEverySecret) {
    temp_dir dir;
    auto cfg = dir.write("t.yaml", config(dir)).string();
    auto v = run(bin, {"validate", "-c", cfg});
    EXPECT_EQ(v.code, 1) << v.out;
    EXPECT_NE(v.err.find("environment variable " + key_var + " is not set"), std::string::npos) << v.err;
    EXPECT_NE(v.err.find("environment variable " + secret_var + " is not set"), std::string::npos) << v.err;

    auto once = run(bin, {"run", "--once", "demo", "-c", cfg});
    EXPECT_EQ(once.code, 78) << once.err;
    EXPECT_NE(once.err.find("config.invalid"), std::string::npos) << once.err;
}
