// daemon::app without the binary: the command line, validate and the one-shot commands with
// captured streams, on configs written to a temporary directory.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "daemon/app.hpp"

namespace {

namespace fs = std::filesystem;

struct outcome {
    int code;
    std::string out;
    std::string err;
};

outcome execute(const std::vector<std::string>& args) {
    std::ostringstream out;
    std::ostringstream err;
    tributary::daemon::app app(out, err);
    int code = app.execute(args);
    return {code, out.str(), err.str()};
}

class DaemonCommands : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("daemon_commands_" +
                std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::string write(const std::string& text) {
        auto path = dir_ / "tributary.yaml";
        std::ofstream(path) << text;
        return path.string();
    }

    // A dummy → jsonl users job named demo with `count` users; state and output in the temp dir.
    std::string good_config(int count = 10) {
        return write("state: { dir: " + (dir_ / "state").string() +
                     " }\n"
                     "log: { format: json }\n"
                     "connections:\n"
                     "  src: { connector: dummy, settings: { seed: 7, count: " +
                     std::to_string(count) +
                     " } }\n"
                     "  dst: { connector: jsonl, settings: { path: " +
                     (dir_ / "out.jsonl").string() +
                     " } }\n"
                     "jobs:\n"
                     "  demo:\n"
                     "    type: users\n"
                     "    source: { connection: src }\n"
                     "    destination: { connection: dst }\n");
    }

    std::size_t output_lines() {
        std::ifstream in(dir_ / "out.jsonl");
        std::size_t n = 0;
        std::string line;
        while (std::getline(in, line)) n += !line.empty();
        return n;
    }

    fs::path dir_;
};

TEST(DaemonApp, Help_PrintsUsage_Ok) {
    auto r = execute({"--help"});
    EXPECT_EQ(r.code, 0);
    EXPECT_NE(r.out.find("validate"), std::string::npos);
    EXPECT_TRUE(r.err.empty());
}

TEST(DaemonApp, Version_PrintsVersionAndCommit_Ok) {
    auto r = execute({"--version"});
    EXPECT_EQ(r.code, 0);
    EXPECT_EQ(r.out.rfind("tributary ", 0), 0u);
    EXPECT_NE(r.out.find("(commit "), std::string::npos);
}

TEST(DaemonApp, UnknownCommand_Usage_ExitTwo) {
    auto r = execute({"frobnicate"});
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("Run 'tributary --help' for usage."), std::string::npos);
    EXPECT_TRUE(r.out.empty());
}

TEST(DaemonApp, BadLogLevel_Usage_ExitTwo) {
    auto r = execute({"--log-level", "loud", "validate"});
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("--log-level takes"), std::string::npos);
}

TEST(DaemonApp, Connectors_ListsBuiltIns_Ok) {
    auto r = execute({"connectors"});
    EXPECT_EQ(r.code, 0);
    EXPECT_NE(r.out.find("dummy"), std::string::npos);
    EXPECT_NE(r.out.find("jsonl"), std::string::npos);
}

TEST_F(DaemonCommands, Validate_GoodConfig_Ok) {
    auto r = execute({"validate", "--config", good_config()});
    EXPECT_EQ(r.code, 0) << r.err;
}

TEST_F(DaemonCommands, Validate_UnknownTopLevelKey_FailureWithLine) {
    auto path = write("state:\n  dir: /tmp/state\ntelemetry:\n  enabled: true\n");
    auto r = execute({"validate", "--config", path});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("telemetry (3:1): unknown key"), std::string::npos) << r.err;
}

TEST_F(DaemonCommands, Validate_MissingFile_Failure) {
    auto r = execute({"validate", "--config", (dir_ / "absent.yaml").string()});
    EXPECT_EQ(r.code, 1);
    EXPECT_FALSE(r.err.empty());
}

TEST_F(DaemonCommands, Plan_BadConfig_FailureWithErrorCount) {
    auto path = write("jobs:\n  demo:\n    source: { connection: people }\n");
    auto r = execute({"plan", "--config", path, "demo"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find(path + ": "), std::string::npos) << r.err;
}

TEST_F(DaemonCommands, Run_BadConfig_ExitConfig) {
    auto path = write("telemetry: {}\n");
    auto r = execute({"run", "--config", path, "--log-format", "json"});
    EXPECT_EQ(r.code, 78);
}

TEST_F(DaemonCommands, Plan_NeverRun_PlansFirstRunWithoutWriting) {
    auto cfg = good_config();
    auto r = execute({"plan", "demo", "--config", cfg});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("planned as the job's first run"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("read 10: "), std::string::npos) << r.out;
    EXPECT_FALSE(fs::exists(dir_ / "state"));
    EXPECT_FALSE(fs::exists(dir_ / "out.jsonl"));
}

TEST_F(DaemonCommands, Plan_UnknownJob_ExitTwo) {
    auto r = execute({"plan", "nope", "--config", good_config()});
    EXPECT_EQ(r.code, 2);
    EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST_F(DaemonCommands, StateShow_FreshDirectory_NeverRunAndNothingCreated) {
    auto r = execute({"state", "show", "demo", "--config", good_config()});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("never run"), std::string::npos) << r.out;
    EXPECT_FALSE(fs::exists(dir_ / "state"));
}

TEST_F(DaemonCommands, StateShow_UnknownJob_ExitTwoListingJobs) {
    auto r = execute({"state", "show", "nope", "--config", good_config()});
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("unknown job nope; jobs: demo"), std::string::npos) << r.err;
}

TEST_F(DaemonCommands, RunOnce_SmallUsersJob_WritesEveryUser) {
    auto cfg = good_config(25);
    auto r = execute({"run", "--once", "demo", "--config", cfg});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(output_lines(), 25u);
}

TEST_F(DaemonCommands, StateShow_AfterRun_CountsMatchTheRun) {
    auto cfg = good_config(25);
    ASSERT_EQ(execute({"run", "--once", "demo", "--config", cfg}).code, 0);
    auto r = execute({"state", "show", "demo", "--config", cfg});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("succeeded"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("read 25, written 25, rejected 0"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("dead letters: 0"), std::string::npos) << r.out;
}

TEST_F(DaemonCommands, StateRewind_ToBeginning_NextRunSendsEverythingAgain) {
    auto cfg = good_config();
    ASSERT_EQ(execute({"run", "--once", "demo", "--config", cfg}).code, 0);
    ASSERT_EQ(execute({"run", "--once", "demo", "--config", cfg}).code, 0);
    ASSERT_EQ(output_lines(), 10u);
    auto r = execute({"state", "rewind", "demo", "--to", "beginning", "--config", cfg});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("new: mark beginning"), std::string::npos) << r.out;
    ASSERT_EQ(execute({"run", "--once", "demo", "--config", cfg}).code, 0);
    EXPECT_EQ(output_lines(), 20u);
}

TEST_F(DaemonCommands, StateRewind_NeverRun_FailsWithoutCreatingState) {
    auto r = execute({"state", "rewind", "demo", "--to", "beginning", "--config", good_config()});
    EXPECT_EQ(r.code, 1);
    EXPECT_FALSE(fs::exists(dir_ / "state"));
}

TEST_F(DaemonCommands, StateRewind_BadWhen_ExitTwo) {
    auto r = execute({"state", "rewind", "demo", "--to", "yesterday", "--config", good_config()});
    EXPECT_EQ(r.code, 2);
}

}  // namespace
