#pragma once
// The rig the conservation test and the soak share (issue #17): one daemon with an events job
// (ingest -> webhook) and a users job (dummy -> kit-http-users), both destinations served by one
// fake_server in the test process with the destinations' published limits, a record of what that
// receiver carried out, and the event clients that feed ingest.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "connectors/dummy/generator.hpp"
#include "tests/kit/fake_server.hpp"

namespace tributary::test::rig {

inline constexpr std::uint32_t clients = 2;
inline constexpr std::uint32_t events_per_request = 50;
inline constexpr std::uint32_t hook_per_second = 10;
extern const std::string write_key;

/// What the receiver carried out, in arrival order (updated on the fake server's thread).
class receiver_record {
public:
    /// A webhook body: counts each messageId once, notes a user's seq arriving out of order.
    void events(const std::string& body);
    /// A kit-http-users body: the destination keeps each id's last write.
    void users(const std::string& body);

    bool delivered(const std::string& message_id) const;
    std::uint64_t events_delivered() const;
    /// The receiver's copy of user `id` (its last write), or nullopt.
    std::optional<boost::json::object> user(const std::string& id) const;
    std::uint64_t users_held() const;
    std::uint64_t user_writes() const;
    std::uint64_t event_duplicates() const;
    std::uint64_t user_rewrites() const;
    std::vector<std::string> problems() const;

private:
    void note(std::string p);

    mutable std::mutex mu_;
    std::map<std::string, std::uint32_t> delivered_;
    std::map<std::string, std::int64_t> last_seq_;
    std::map<std::string, boost::json::object> users_;
    std::uint64_t event_duplicates_ = 0;
    std::uint64_t user_writes_ = 0;
    std::uint64_t user_rewrites_ = 0;
    std::vector<std::string> problems_;
};

/// Serves POST /hook (limit group "hook": 10 per second) and POST /v1/users (group "users": 20 per
/// second and 300 per minute, kit-http-users' published limits) on `receiver`, windows aligned to
/// the wall clock, recording into `rec` (which must outlive the server's use).
void install_destinations(kit::fake_server& receiver, receiver_record& rec);

struct daemon_config {
    std::uint64_t seed = 1;
    std::uint64_t users = 3000;  // source records
    std::uint32_t run = 0;       // the dummy source's run (its versions)
    std::string log_level = "info";
    /// Appended as is (top-level YAML sections, e.g. `control:`).
    std::string extra{};
    /// Appended as is to `connections:` and to `jobs:` (entries indented by two spaces).
    std::string more_connections{};
    std::string more_jobs{};
};

/// The config of both jobs: `forward` (events, ingest on `ingest_port` -> `base`/hook, batches of
/// 100) and `sync` (users, dummy -> kit-http-users at `base`, every 2 s and at start); state in
/// `dir`/state.
std::string config_text(const std::filesystem::path& dir,
                        std::uint16_t ingest_port,
                        const std::string& base,
                        const daemon_config& c);

/// The dummy source's settings config_text gives the daemon (to regenerate its dataset).
connectors::dummy::generator_settings source_settings(const daemon_config& c);

std::string message_id(std::uint32_t user, std::uint32_t seq);

struct client_state {
    std::uint64_t requests = 0;
    std::uint64_t retries = 0;
    std::vector<std::string> acked;  // message ids, in the order they were acknowledged
    std::string error;
};

struct client_load {
    std::uint16_t port = 0;                        // ingest
    std::uint32_t event_users = 200;               // users the events belong to, split among clients
    std::chrono::milliseconds post_interval{200};  // pause after each acknowledged request
    std::chrono::steady_clock::time_point deadline{};
};

/// Event client `c` (of `clients`): owns users c, c + clients, ...; posts their events
/// sequence-major, 50 per request, each request retried with the same body until a 200 (only a
/// 200 acknowledges); until `stop_posting`, `give_up` or the deadline. Another answer than 200 or
/// 503 sets `give_up` and an error. `st` is updated under `mu`.
void post_events(std::uint32_t c,
                 const client_load& load,
                 const std::atomic<bool>& stop_posting,
                 std::atomic<bool>& give_up,
                 client_state& st,
                 std::mutex& mu);

/// The command-line options the conservation test and the soak share.
struct common_options {
    std::string daemon;                            // --daemon PATH
    std::uint64_t seed = 1;                        // --seed S
    kit::fault_profiles faults{};                  // --faults LIST
    std::uint64_t users = 3000;                    // --users N (> 0): source records
    std::chrono::milliseconds post_interval{200};  // --post-interval-ms MS
};

/// Parses "--name value" pairs into `o`, handing the names it does not know to `more(name, value,
/// n)` (n: the value as a whole number >= 0, else -1), which returns false for an unknown name or a
/// bad value. False (after printing why for a bad fault list) on a missing value, a bad one, or no
/// --daemon.
bool parse_options(int argc,
                   char** argv,
                   const char* program,
                   common_options& o,
                   const std::function<bool(std::string_view name, const char* value, long long n)>& more);

/// The receiver of both destinations (install_destinations), recording into `rec`, with the
/// fault profiles and seed of `o` (a request left unanswered is closed after 1.5 s).
std::unique_ptr<kit::fake_server> make_receiver(const common_options& o, receiver_record& rec);

/// Occurrences of `needle` in `text` (log lines by their event name).
std::uint64_t count_of(std::string_view text, std::string_view needle);

}  // namespace tributary::test::rig
