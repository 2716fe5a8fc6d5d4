// End-to-end: Segment events pass through as sent (issue #11, item 1). The real `tributary run`
// serves ingest and forwards every event to two events jobs, one writing a jsonl file and one
// POSTing to a webhook receiver in this process. The client sends all six types, each with every
// field of the Segment Spec (common fields and the type's own: groupId, previousId, name,
// category, traits, properties, context, integrations, sentAt, originalTimestamp, channel,
// version), a `timestamp` with an offset and milliseconds, numbers such as 9.99, escapes, and an
// unknown top-level key — once on the single-message routes and once in a batch, where one
// message has no messageId. Asserted for each event at each destination: the object is the one
// sent, byte for byte, followed by `receivedAt` (and, for the message without one, `messageId`);
// nothing else is added, dropped, reordered or re-formatted.

#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json/parse.hpp>

#include <charconv>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/kit/fake_server.hpp"
#include "tests/kit/test_client.hpp"
#include "tests/support/process.hpp"

namespace json = boost::json;
namespace fs = std::filesystem;
namespace kit = tributary::kit;
using namespace std::chrono_literals;
using tributary::test::child_process;
using tributary::test::temp_dir;

namespace {

const std::string bin = TRIBUTARY_BINARY;
const std::string write_key = "wk_fidelity_0123456789abcdef";
// Basic base64("<write_key>:").
const std::string authorization = "Basic d2tfZmlkZWxpdHlfMDEyMzQ1Njc4OWFiY2RlZjo=";
const std::string secret = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

// The Spec's common fields, as analytics-node sends them, plus a key the Spec does not know.
const std::string common =
    R"("anonymousId":"anon-1","channel":"server",)"
    R"("context":{"ip":"203.0.113.7","library":{"name":"analytics-node","version":"3.1.0"},)"
    R"("traits":{"plan":"pro"},"locale":"fr-FR"},"integrations":{"All":true,"Mixpanel":false},)"
    R"("sentAt":"2026-01-02T01:04:06.000Z","originalTimestamp":"2026-01-02T03:04:05.100+02:00",)"
    R"("timestamp":"2026-01-02T03:04:05.123+02:00","version":2,)"
    R"("x_custom":{"nested":[1,2.5,"three",null,true],"empty":{}})";

// Each type's own fields.
const std::map<std::string, std::string> specific{
    {"track", R"("event":"Order Completed","properties":{"price":9.99,"currency":"EUR",)"
              R"("items":[{"sku":"A-1","qty":2}],"note":"Zo\u00eb \"quoted\"\n\u2713"})"},
    {"identify", R"("traits":{"email":"ada@example.com","age":36,"score":0.5})"},
    {"page", R"("name":"Pricing","category":"Docs","properties":{"path":"/pricing","title":"Pricing",)"
             R"("url":"https://example.com/pricing"})"},
    {"screen", R"("name":"Settings","category":"App","properties":{"variation":"blue"})"},
    {"group", R"("groupId":"grp-1","traits":{"name":"Acme","employees":120})"},
    {"alias", R"("previousId":"anon-1")"},
};

// One message as the client writes it; `id` empty: no messageId.
std::string message(const std::string& type, const std::string& id) {
    std::string s = R"({"type":")" + type + "\",";
    if (!id.empty()) s += R"("messageId":")" + id + "\",";
    return s + R"("userId":"user-1",)" + common + "," + specific.at(type) + "}";
}

// What a destination must hold for a sent message: the same text in compact form (JSON.stringify's
// — Boost parses the escapes, the writer emits UTF-8 and \" \n), then the server's additions.
std::string compact(const std::string& sent) {
    // The sent text is compact already, except for \u escapes of printable characters.
    std::string out = sent;
    for (auto [from, to] :
         {std::pair<std::string, std::string>{"\\u00eb", "\xc3\xab"}, {"\\u2713", "\xe2\x9c\x93"}}) {
        for (auto at = out.find(from); at != std::string::npos; at = out.find(from, at))
            out.replace(at, from.size(), to);
    }
    return out;
}

std::string config_text(const fs::path& dir, const std::string& hook_url) {
    std::ostringstream c;
    c << "state:\n  dir: " << (dir / "state").string() << "\n  sync: normal\n"
      << "log:\n  format: json\n  level: info\n"
      << "ingest:\n  listen: 127.0.0.1:0\n  write_keys: [" << write_key << "]\n"
      << "connections:\n"
      << "  file:\n    connector: jsonl\n    settings: { path: " << (dir / "events.jsonl").string()
      << ", mode: events }\n"
      << "  hook:\n    connector: webhook\n    settings:\n"
      << "      url: " << hook_url << "\n      secrets: [\"" << secret << "\"]\n"
      << "jobs:\n"
      << "  to_file:\n    type: events\n    destination: { connection: file }\n"
      << "    batch: { max_items: 100, max_wait: 10ms }\n"
      << "  to_hook:\n    type: events\n    destination: { connection: hook }\n"
      << "    batch: { max_items: 100, max_wait: 10ms }\n";
    return c.str();
}

std::vector<std::string> lines_of(const fs::path& p) {
    std::ifstream in(p);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) out.push_back(line);
    return out;
}

// The received event texts of webhook bodies `{"batch":[e1,e2,...]}`: each element re-cut from
// the body at its own bytes, so spelling is compared, not only values.
std::vector<std::string> hook_events(const std::vector<std::string>& bodies) {
    std::vector<std::string> out;
    for (const auto& body : bodies) {
        const std::string prefix = R"({"batch":[)";
        if (!body.starts_with(prefix) || !body.ends_with("]}")) {
            out.push_back("not a batch body: " + body);
            continue;
        }
        // Split at depth 1 commas outside strings.
        const std::string_view items(body.data() + prefix.size(), body.size() - prefix.size() - 2);
        int depth = 0;
        bool in_string = false, escaped = false;
        std::size_t start = 0;
        for (std::size_t i = 0; i < items.size(); ++i) {
            const char c = items[i];
            if (in_string) {
                if (escaped)
                    escaped = false;
                else if (c == '\\')
                    escaped = true;
                else if (c == '"')
                    in_string = false;
                continue;
            }
            if (c == '"') in_string = true;
            if (c == '{' || c == '[') ++depth;
            if (c == '}' || c == ']') --depth;
            if (c == ',' && depth == 0) {
                out.emplace_back(items.substr(start, i - start));
                start = i + 1;
            }
        }
        out.emplace_back(items.substr(start));
    }
    return out;
}

std::string tail(const std::string& text) {
    return text.size() > 3000 ? text.substr(text.size() - 3000) : text;
}

class EventsFidelity : public ::testing::Test {
protected:
    temp_dir dir_{"events_fidelity_"};
};

TEST_F(EventsFidelity, AllSixTypesWithEverySpecField_ArriveAsSentAtJsonlAndWebhook) {
    std::mutex mutex;
    std::vector<std::string> bodies;
    kit::fake_server receiver;
    receiver.handle("POST", "/hook", [&](const kit::request& r) {
        std::lock_guard lock(mutex);
        bodies.push_back(r.body);
        return kit::response{};
    });
    const auto cfg = dir_.write("fidelity.yaml", config_text(dir_.path(), receiver.base_url() + "/hook"));
    child_process daemon(bin, {"run", "-c", cfg.string()});
    ASSERT_TRUE(daemon.wait_for_output("\"ingest.listen\"", 30s)) << tail(daemon.err());
    const auto port = tributary::test::ingest_listen_port(daemon.err());
    ASSERT_NE(port, 0) << tail(daemon.err());

    const kit::header_list headers{{"Content-Type", "application/json"}, {"Authorization", authorization}};
    kit::test_client client("127.0.0.1", port);
    // id → the text sent (messageId "" for the batch's message without one).
    std::map<std::string, std::string> sent;
    std::vector<std::string> batch;
    for (const auto& [type, fields] : specific) {
        const std::string id = "fid-" + type + "-1";
        sent[id] = message(type, id);
        auto r = client.request("POST", "/v1/" + type, sent[id], headers);
        ASSERT_TRUE(r.ok()) << r.ec.message();
        ASSERT_EQ(r.status, 200u) << type << ": " << r.body;
        const std::string batch_id = type == "alias" ? std::string{} : "fid-" + type + "-2";
        batch.push_back(message(type, batch_id));
        sent[batch_id] = batch.back();
    }
    std::string batch_body = R"({"batch":[)";
    for (std::size_t i = 0; i < batch.size(); ++i) batch_body += (i ? "," : "") + batch[i];
    batch_body += "]}";
    auto r = client.request("POST", "/v1/batch", batch_body, headers);
    ASSERT_TRUE(r.ok()) << r.ec.message();
    ASSERT_EQ(r.status, 200u) << r.body;

    const auto file = dir_.path() / "events.jsonl";
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    std::vector<std::string> at_file, at_hook;
    while (std::chrono::steady_clock::now() < deadline) {
        at_file = lines_of(file);
        {
            std::lock_guard lock(mutex);
            at_hook = hook_events(bodies);
        }
        if (at_file.size() >= sent.size() && at_hook.size() >= sent.size()) break;
        std::this_thread::sleep_for(50ms);
    }
    daemon.signal(SIGTERM);
    const auto stopped = daemon.wait(30s);
    ASSERT_EQ(at_file.size(), sent.size()) << tail(daemon.err());
    ASSERT_EQ(at_hook.size(), sent.size()) << tail(daemon.err());
    EXPECT_EQ(stopped, 0) << tail(daemon.err());

    const std::regex canonical(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)");
    const std::regex uuid_v4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
    for (const auto& [where, received] : {std::pair{"jsonl", &at_file}, std::pair{"webhook", &at_hook}}) {
        std::map<std::string, std::string> by_id;
        for (const auto& text : *received) {
            json::error_code ec;
            const auto v = json::parse(text, ec);
            ASSERT_FALSE(ec) << where << ": " << text;
            const auto& o = v.as_object();
            const std::string id(o.at("messageId").as_string());
            const std::string key = sent.count(id) ? id : std::string{};
            ASSERT_TRUE(sent.count(key)) << where << ": unexpected " << id;
            ASSERT_FALSE(by_id.count(key)) << where << ": twice " << id;
            by_id[key] = text;

            const auto& original = sent.at(key);
            const auto sent_object = json::parse(original).as_object();
            // Field by field: every field sent, with its value, in its order.
            std::vector<std::string> sent_keys, kept_keys;
            for (const auto& kv : sent_object) {
                sent_keys.emplace_back(kv.key());
                ASSERT_TRUE(o.contains(kv.key())) << where << " " << id << ": lost " << kv.key();
                EXPECT_EQ(o.at(kv.key()), kv.value()) << where << " " << id << ": changed " << kv.key();
            }
            for (const auto& kv : o)
                if (sent_object.contains(kv.key())) kept_keys.emplace_back(kv.key());
            EXPECT_EQ(kept_keys, sent_keys) << where << " " << id;
            // Added: receivedAt, and messageId when absent; nothing else.
            const std::string received_at(o.at("receivedAt").as_string());
            EXPECT_TRUE(std::regex_match(received_at, canonical)) << received_at;
            std::string added = R"(,"receivedAt":")" + received_at + "\"}";
            if (key.empty()) {
                EXPECT_TRUE(std::regex_match(id, uuid_v4)) << id;
                added = R"(,"messageId":")" + id + "\"" + added;
            }
            EXPECT_EQ(o.size(), sent_object.size() + (key.empty() ? 2 : 1)) << where << ": " << text;
            // Spelling too: 9.99, the offset timestamp, the escapes.
            EXPECT_EQ(text, compact(original).substr(0, compact(original).size() - 1) + added) << where;
        }
        EXPECT_EQ(by_id.size(), sent.size()) << where;
    }
}

}  // namespace
