// The control socket's request parsing: every command, and what malformed requests are told.

#include <gtest/gtest.h>

#include "daemon/control_protocol.hpp"

using namespace tributary::daemon;

TEST(Ops_ControlProtocol, ParsesEveryCommandAndRoundTrips) {
    for (auto c : {control_command::status, control_command::trigger, control_command::pause,
                   control_command::resume, control_command::reload}) {
        control_request r;
        r.command = c;
        if (c == control_command::trigger || c == control_command::pause || c == control_command::resume)
            r.job = "demo";
        if (c == control_command::pause) r.pause_for = std::chrono::milliseconds{60000};
        auto line = encode_control_request(r);
        ASSERT_EQ(line.back(), '\n');
        line.pop_back();
        auto parsed = parse_control_request(line);
        ASSERT_TRUE(parsed) << parsed.error();
        EXPECT_EQ(parsed->command, c);
        EXPECT_EQ(parsed->job, r.job);
        EXPECT_EQ(parsed->pause_for, r.pause_for);
    }
}

TEST(Ops_ControlProtocol, ReloadTakesForce) {
    control_request r;
    r.command = control_command::reload;
    EXPECT_EQ(encode_control_request(r), "{\"command\":\"reload\"}\n");
    r.force = true;
    auto line = encode_control_request(r);
    EXPECT_EQ(line, "{\"command\":\"reload\",\"force\":true}\n");
    line.pop_back();
    auto parsed = parse_control_request(line);
    ASSERT_TRUE(parsed) << parsed.error();
    EXPECT_TRUE(parsed->force);
    parsed = parse_control_request(R"({"command":"reload"})");
    ASSERT_TRUE(parsed) << parsed.error();
    EXPECT_FALSE(parsed->force);
}

TEST(Ops_ControlProtocol, DlqReplayTakesItemsOrAll) {
    control_request r;
    r.command = control_command::dlq_replay;
    r.job = "demo";
    r.items = {"a", "b"};
    auto line = encode_control_request(r);
    EXPECT_EQ(line, R"({"command":"dlq_replay","job":"demo","items":["a","b"]})"
                    "\n");
    line.pop_back();
    auto parsed = parse_control_request(line);
    ASSERT_TRUE(parsed) << parsed.error();
    EXPECT_EQ(parsed->items, r.items);
    EXPECT_FALSE(parsed->all);
    r.items.clear();
    r.all = true;
    line = encode_control_request(r);
    EXPECT_EQ(line, R"({"command":"dlq_replay","job":"demo","all":true})"
                    "\n");
    line.pop_back();
    parsed = parse_control_request(line);
    ASSERT_TRUE(parsed) << parsed.error();
    EXPECT_TRUE(parsed->all);
    EXPECT_TRUE(parsed->items.empty());
}

TEST(Ops_ControlProtocol, StateRewindCarriesItsTargetAndMode) {
    control_request r;
    r.command = control_command::state_rewind;
    r.job = "demo";
    r.to_us = 1700000000000000;
    r.mark = true;
    auto line = encode_control_request(r);
    EXPECT_EQ(line, R"({"command":"state_rewind","job":"demo","to_us":1700000000000000,"mark":true})"
                    "\n");
    line.pop_back();
    auto parsed = parse_control_request(line);
    ASSERT_TRUE(parsed) << parsed.error();
    EXPECT_EQ(parsed->command, control_command::state_rewind);
    EXPECT_EQ(parsed->job, "demo");
    EXPECT_EQ(parsed->to_us, r.to_us);
    EXPECT_TRUE(parsed->mark);
    parsed = parse_control_request(R"({"command":"state_rewind","job":"demo","to_us":0})");
    ASSERT_TRUE(parsed) << parsed.error();
    EXPECT_EQ(parsed->to_us, 0);
    EXPECT_FALSE(parsed->mark);
    for (const auto& bad : {R"({"command":"state_rewind","job":"demo"})",
                            R"({"command":"state_rewind","job":"demo","to_us":-1})",
                            R"({"command":"state_rewind","job":"demo","to_us":"2026-01-01"})"}) {
        auto e = parse_control_request(bad);
        ASSERT_FALSE(e) << bad;
        EXPECT_NE(e.error().find("state_rewind needs \"to_us\""), std::string::npos) << e.error();
    }
    r.state_dir = "/var/lib/tributary";
    line = encode_control_request(r);
    line.pop_back();
    parsed = parse_control_request(line);
    ASSERT_TRUE(parsed) << parsed.error();
    EXPECT_EQ(parsed->state_dir, "/var/lib/tributary");
    auto e = parse_control_request(R"({"command":"state_rewind","job":"demo","to_us":0,"mark":1})");
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().find("\"mark\" must be true or false"), std::string::npos) << e.error();
    e = parse_control_request(R"({"command":"status","state_dir":"/x"})");
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().find("unexpected key \"state_dir\" for status"), std::string::npos) << e.error();
    e = parse_control_request(R"({"command":"status","to_us":0})");
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().find("unexpected key \"to_us\" for status"), std::string::npos) << e.error();
}

TEST(Ops_ControlProtocol, MalformedRequestsSayWhatIsWrong) {
    struct bad {
        std::string line, error;
    };
    for (const auto& b : std::vector<bad>{
             {"status", "request not JSON"},
             {"[1]", "request must be a JSON object"},
             {"{}", "request needs \"command\""},
             {R"({"command":7})", "request needs \"command\""},
             {R"({"command":"explode"})", "unknown command \"explode\""},
             {R"({"command":"trigger"})", "trigger needs \"job\""},
             {R"({"command":"trigger","job":""})", "trigger needs \"job\""},
             {R"({"command":"status","job":"x"})", "unexpected key \"job\" for status"},
             {R"({"command":"pause","job":"x","for_ms":0})", "\"for_ms\" must be"},
             {R"({"command":"pause","job":"x","for_ms":"1h"})", "\"for_ms\" must be"},
             {R"({"command":"reload","force":"yes"})", "\"force\" must be true or false"},
             {R"({"command":"status","force":true})", "unexpected key \"force\" for status"},
             {R"({"command":"dlq_replay","job":"x"})", "dlq_replay needs \"items\": 1 to 1000 item ids (or"},
             {R"({"command":"dlq_replay","job":"x","all":true,"items":["a"]})", "not both"},
             {R"({"command":"dlq_replay","job":"x","all":"yes"})", "\"all\" must be true or false"},
             {R"({"command":"dlq_drop","job":"x","all":true})", "unexpected key \"all\" for dlq_drop"},
             {R"({"command":"dlq_replay","job":"x","items":[""]})", "non-empty strings"},
             {std::string(5000, ' '), "request longer than 4096 bytes"},
         }) {
        auto r = parse_control_request(b.line);
        ASSERT_FALSE(r) << b.line;
        EXPECT_NE(r.error().find(b.error), std::string::npos) << b.line << " -> " << r.error();
    }
}

TEST(Ops_ControlProtocol, RepliesAreOneLineWithOk) {
    auto ok = control_ok({{"job", "demo"}});
    EXPECT_EQ(ok, "{\"ok\":true,\"job\":\"demo\"}\n");
    auto err = control_error("no\nway");
    EXPECT_EQ(err.find('\n'), err.size() - 1);
    auto parsed = parse_control_reply(err.substr(0, err.size() - 1));
    ASSERT_TRUE(parsed);
    EXPECT_FALSE(parsed->at("ok").as_bool());
    EXPECT_EQ(parsed->at("error"), "no\nway");
    EXPECT_FALSE(parse_control_reply("{\"job\":1}"));
}
