#include "tests/e2e/two_jobs_rig.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <thread>

#include "core/text/base64.hpp"
#include "tests/kit/test_client.hpp"

namespace tributary::test::rig {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string write_key = "wk_conservation_0123456789";

namespace {
const std::string secret = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
}

// ---------------------------------------------------------------------------------------------
void receiver_record::events(const std::string& body) {
    json::error_code ec;
    auto v = json::parse(body, ec);
    std::lock_guard lock(mu_);
    const auto* batch = !ec && v.is_object() ? v.as_object().if_contains("batch") : nullptr;
    if (!batch || !batch->is_array()) return note("a webhook body that is not {\"batch\":[...]}");
    for (const auto& e : batch->as_array()) {
        const auto* o = e.if_object();
        const auto* mid = o ? o->if_contains("messageId") : nullptr;
        const auto* uid = o ? o->if_contains("userId") : nullptr;
        const auto* props = o ? o->if_contains("properties") : nullptr;
        const auto* seq = props && props->is_object() ? props->as_object().if_contains("seq") : nullptr;
        if (!mid || !mid->is_string() || !uid || !uid->is_string() || !seq || !seq->is_int64()) {
            note("an event without messageId, userId or properties.seq: " + json::serialize(e));
            continue;
        }
        if (delivered_[std::string{mid->as_string()}]++ > 0) {
            ++event_duplicates_;
            continue;
        }
        auto& last = last_seq_[std::string{uid->as_string()}];
        if (seq->as_int64() != last + 1)
            note("user " + std::string{uid->as_string()} + ": seq " + std::to_string(seq->as_int64()) +
                 " first arrived after seq " + std::to_string(last));
        last = std::max(last, seq->as_int64());
    }
}

void receiver_record::users(const std::string& body) {
    json::error_code ec;
    auto v = json::parse(body, ec);
    std::lock_guard lock(mu_);
    const auto* list = !ec && v.is_object() ? v.as_object().if_contains("users") : nullptr;
    if (!list || !list->is_array()) return note("a users body that is not {\"users\":[...]}");
    for (const auto& u : list->as_array()) {
        const auto* props = u.is_object() ? u.as_object().if_contains("properties") : nullptr;
        const auto* id = props && props->is_object() ? props->as_object().if_contains("id") : nullptr;
        if (!id || !id->is_string()) {
            note("a user without properties.id");
            continue;
        }
        ++user_writes_;
        auto [it, fresh] = users_.try_emplace(std::string{id->as_string()}, props->as_object());
        if (!fresh) {
            ++user_rewrites_;
            it->second = props->as_object();  // the destination keeps the last write
        }
    }
}

bool receiver_record::delivered(const std::string& message_id) const {
    std::lock_guard lock(mu_);
    return delivered_.contains(message_id);
}
std::uint64_t receiver_record::events_delivered() const {
    std::lock_guard lock(mu_);
    return delivered_.size();
}
std::optional<json::object> receiver_record::user(const std::string& id) const {
    std::lock_guard lock(mu_);
    auto it = users_.find(id);
    if (it == users_.end()) return std::nullopt;
    return it->second;
}
std::uint64_t receiver_record::users_held() const {
    std::lock_guard lock(mu_);
    return users_.size();
}
std::uint64_t receiver_record::user_writes() const {
    std::lock_guard lock(mu_);
    return user_writes_;
}
std::uint64_t receiver_record::event_duplicates() const {
    std::lock_guard lock(mu_);
    return event_duplicates_;
}
std::uint64_t receiver_record::user_rewrites() const {
    std::lock_guard lock(mu_);
    return user_rewrites_;
}
std::vector<std::string> receiver_record::problems() const {
    std::lock_guard lock(mu_);
    return problems_;
}
void receiver_record::note(std::string p) {
    if (problems_.size() < 20) problems_.push_back(std::move(p));
}

// ---------------------------------------------------------------------------------------------
void install_destinations(kit::fake_server& receiver, receiver_record& rec) {
    kit::enforcer_settings hook_windows;
    hook_windows.limits.push_back(kit::fixed_window(hook_per_second, 1s));
    hook_windows.origin = kit::unix_epoch_as_steady();
    receiver.set_limit_group("hook", hook_windows);
    kit::enforcer_settings users_windows;  // kit-http-users' published limits
    users_windows.limits.push_back(kit::fixed_window(20, 1s));
    users_windows.limits.push_back(kit::fixed_window(300, 60s));
    users_windows.origin = kit::unix_epoch_as_steady();
    receiver.set_limit_group("users", users_windows);
    receiver.add_route(kit::route{.method = "POST",
                                  .path = "/hook",
                                  .handle =
                                      [&rec](const kit::request& r) {
                                          rec.events(r.body);
                                          return kit::response::json(200, "{}");
                                      },
                                  .limit_group = "hook"});
    receiver.add_route(kit::route{.method = "POST",
                                  .path = "/v1/users",
                                  .handle =
                                      [&rec](const kit::request& r) {
                                          rec.users(r.body);
                                          return kit::response::json(200, "{}");
                                      },
                                  .limit_group = "users"});
}

// ---------------------------------------------------------------------------------------------
std::string config_text(const fs::path& dir,
                        std::uint16_t ingest_port,
                        const std::string& base,
                        const daemon_config& o) {
    std::ostringstream c;
    c << "state:\n  dir: " << (dir / "state").string() << "\n  sync: normal\n"
      << "log:\n  format: json\n  level: " << o.log_level
      << "\n  suppress_window: 0s\n  progress_interval: 0s\n"
      << "ingest:\n  listen: 127.0.0.1:" << ingest_port << "\n  write_keys: [" << write_key << "]\n"
      << "connections:\n"
      << "  hook:\n    connector: webhook\n    settings:\n"
      << "      url: " << base << "/hook\n      secrets: [\"" << secret << "\"]\n"
      << "      max_events: 100\n"
      << "      limits: { kind: fixed_window, requests: " << hook_per_second << ", per: 1s, align: clock }\n"
      << "      retry: { max_attempts: 4, backoff: 100ms, max_backoff: 1s }\n"
      << "  people:\n    connector: dummy\n    settings: { seed: " << o.seed << ", count: " << o.users
      << ", page_size: 200, tie_groups: 300, late_records: true, duplicate_pages: true, run: " << o.run
      << " }\n"
      << "  vendor:\n    connector: kit-http-users\n    base_url: " << base
      << "\n    settings: { max_records: 100 }\n"
      << o.more_connections << "jobs:\n"
      << o.more_jobs << "  forward:\n    type: events\n    destination: { connection: hook }\n"
      << "    batch: { max_items: 100, max_wait: 50ms }\n"
      << "  sync:\n    type: users\n    source: { connection: people }\n"
      << "    destination: { connection: vendor, mode: upsert }\n"
      << "    batch: { max_items: 100 }\n    lookback: 30m\n"
      << "    schedule: every 2s\n    run_at_start: true\n"
      << o.extra;
    return c.str();
}

connectors::dummy::generator_settings source_settings(const daemon_config& o) {
    connectors::dummy::generator_settings s;
    s.seed = o.seed;
    s.count = o.users;
    s.page_size = 200;
    s.tie_groups = 300;
    s.late_records = true;
    s.duplicate_pages = true;
    s.run = o.run;
    return s;
}

std::string message_id(std::uint32_t user, std::uint32_t seq) {
    return "m-" + std::to_string(user) + "-" + std::to_string(seq);
}

// ---------------------------------------------------------------------------------------------
void post_events(std::uint32_t c,
                 const client_load& load,
                 const std::atomic<bool>& stop_posting,
                 std::atomic<bool>& give_up,
                 client_state& st,
                 std::mutex& mu) {
    const std::string auth = "Basic " + text::base64_encode(write_key + ":");
    const kit::header_list headers{{"Content-Type", "application/json"}, {"Authorization", auth}};
    kit::client_options co;
    co.timeout = 10s;
    kit::test_client client("127.0.0.1", load.port, co);
    std::vector<std::uint32_t> mine;
    for (std::uint32_t u = c; u < load.event_users; u += clients) mine.push_back(u);
    for (std::uint32_t seq = 1; !stop_posting; ++seq) {
        for (std::size_t at = 0; at < mine.size(); at += events_per_request) {
            const auto end = std::min(mine.size(), at + events_per_request);
            json::array batch;
            for (std::size_t i = at; i < end; ++i) {
                batch.push_back(json::object{{"type", "track"},
                                             {"userId", "u-" + std::to_string(mine[i])},
                                             {"event", "Tick"},
                                             {"messageId", message_id(mine[i], seq)},
                                             {"properties", json::object{{"seq", seq}}}});
            }
            const std::string body = json::serialize(json::object{{"batch", std::move(batch)}});
            for (bool first = true;; first = false) {
                if (give_up || std::chrono::steady_clock::now() > load.deadline) {
                    std::lock_guard lock(mu);
                    st.error = "gave up posting: the time limit passed";
                    return;
                }
                const auto r = client.request("POST", "/v1/batch", body, headers);
                {
                    std::lock_guard lock(mu);
                    ++st.requests;
                    if (!first) ++st.retries;
                }
                if (r.ok() && r.status == 200) break;
                if (r.ok() && r.status != 503) {
                    std::lock_guard lock(mu);
                    st.error = "ingest answered " + std::to_string(r.status) + ": " + r.body;
                    give_up = true;
                    return;
                }
                std::this_thread::sleep_for(r.ok() ? 50ms : 20ms);
            }
            {
                std::lock_guard lock(mu);
                for (std::size_t i = at; i < end; ++i) st.acked.push_back(message_id(mine[i], seq));
            }
            std::this_thread::sleep_for(load.post_interval);
        }
    }
}

// ---------------------------------------------------------------------------------------------
bool parse_options(int argc,
                   char** argv,
                   const char* program,
                   common_options& o,
                   const std::function<bool(std::string_view name, const char* value, long long n)>& more) {
    for (int i = 1; i < argc; i += 2) {
        const std::string_view a = argv[i];
        const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
        if (v == nullptr) return false;
        char* end = nullptr;
        long long n = std::strtoll(v, &end, 10);
        if (end == v || *end != '\0' || n < 0) n = -1;
        if (a == "--daemon") {
            o.daemon = v;
        } else if (a == "--seed" && n >= 0) {
            o.seed = static_cast<std::uint64_t>(n);
        } else if (a == "--users" && n > 0) {
            o.users = static_cast<std::uint64_t>(n);
        } else if (a == "--post-interval-ms" && n >= 0) {
            o.post_interval = std::chrono::milliseconds{n};
        } else if (a == "--faults") {
            std::string error;
            auto p = kit::parse_fault_profiles(v, error);
            if (!p) {
                std::fprintf(stderr, "%s: %s\n", program, error.c_str());
                return false;
            }
            o.faults = *p;
        } else if (!more(a, v, n)) {
            return false;
        }
    }
    return !o.daemon.empty();
}

std::unique_ptr<kit::fake_server> make_receiver(const common_options& o, receiver_record& rec) {
    kit::server_settings ss;
    ss.faults.profiles = o.faults;
    ss.faults.seed = o.seed;
    ss.faults.silence = 1500ms;
    auto receiver = std::make_unique<kit::fake_server>(ss);
    install_destinations(*receiver, rec);
    return receiver;
}

std::uint64_t count_of(std::string_view text, std::string_view needle) {
    std::uint64_t n = 0;
    for (auto at = text.find(needle); at != std::string_view::npos;
         at = text.find(needle, at + needle.size()))
        ++n;
    return n;
}

}  // namespace tributary::test::rig
