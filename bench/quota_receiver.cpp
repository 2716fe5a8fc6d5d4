// A vendor on loopback for the quota benchmark (issue #12), run by bench/quota_latency.sh.
//
//   bench_quota_receiver [--port N] [--latency-ms L] [--per-second 20] [--per-minute 300]
//                        [--offset-ms 0] [--summary FILE] [--log FILE] [--faults LIST] [--seed N]
//
// Listens on 127.0.0.1:N (0, the default: a port the kernel picks) and prints "port N". Every
// request is answered after L ms (default 0) without holding up the others: connections are
// served concurrently, so as many requests may be in flight as the client opens connections.
// Fixed windows of --per-second requests per second and --per-minute per minute, aligned to the
// wall clock (a window starts at a whole second/minute of Unix time plus --offset-ms), are
// enforced at arrival (tests/kit/limit_enforcer.hpp): a request beyond them is answered 429 with
// Retry-After (whole seconds, rounded up) and counts in no window; a 0 limit disables it.
//
// An accepted request's body is checked, items in order:
//   {"batch":[event,...]}        the webhook connector's body: each event's messageId is its
//                                identity, userId its user, properties.seq its per-user sequence;
//   {"users":[{"id","properties"},...]}  the kit users connector's body: properties.id is the
//                                identity and the user, properties.updated_at the sequence.
// An identity seen before in an accepted request is a duplicate; otherwise an item whose sequence
// is lower than the highest already seen for its user is an order break.
//
// --faults applies the test kit's fault profiles (tests/kit/fault_plan.hpp: flaky, throttled, slow;
// seeded by --seed, default 1) before the windows: a 5xx or 429 storm answer instead of the request
// (not counted in the windows), or the request admitted and its answer delayed, trickled, cut by a
// reset mid-body or never sent. The summary's "faults" holds the decisions' counts.
//
// GET /summary answers the summary JSON (at once, outside the windows); POST /summary also writes
// it to --summary (and stdout); SIGTERM or SIGINT writes it there and exits. Utilization there = the fastest
// duration the windows allow for the accepted requests, sent greedily from the first request's arrival, plus
// the latency of the last answer ÷ the actual duration, first arrival to last answer. Mean in flight = the
// sum of every request's time in the receiver ÷ that duration. --log FILE gets one CSV line per request at
// arrival: Unix time in ms, ms since the first arrival, status, requests in flight (itself included), items,
// distinct users among them (0 for a request not accepted).

#include <signal.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "core/async/use_nothrow.hpp"
#include "core/clock.hpp"
#include "tests/kit/fault_plan.hpp"
#include "tests/kit/limit_enforcer.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
namespace kit = tributary::kit;
using tcp = asio::ip::tcp;
using tributary::awaitable;
using tributary::use_nothrow;
using steady = std::chrono::steady_clock;

namespace {

struct options {
    std::uint16_t port = 0;
    std::chrono::milliseconds latency{0};
    std::uint32_t per_second = 20;
    std::uint32_t per_minute = 300;
    std::chrono::milliseconds offset{0};
    std::string summary_path;
    std::string log_path;
    kit::fault_settings faults{};
};

/// What the receiver saw; every figure of the summary.
struct tally {
    std::uint64_t requests = 0;
    std::uint64_t accepted = 0;
    std::uint64_t rejected = 0;  // 429
    std::uint64_t unreadable = 0;
    std::uint64_t in_flight = 0;
    std::uint64_t max_in_flight = 0;
    std::uint64_t max_items = 0;  // the most items one accepted request held
    std::chrono::nanoseconds time_in_receiver{0};
    std::optional<steady::time_point> first_arrival;
    std::optional<steady::time_point> last_answer;
    std::uint64_t items = 0;
    std::uint64_t duplicates = 0;
    std::uint64_t order_breaks = 0;
    std::unordered_set<std::string> identities;
    // per user: the highest sequence seen (events: properties.seq; users: updated_at as text)
    std::unordered_map<std::string, std::int64_t> event_seq;
    std::unordered_map<std::string, std::string> user_seq;
};

struct receiver {
    options opt;
    kit::enforcer_settings windows;
    kit::limit_enforcer enforcer;
    tally t;
    std::ofstream log;
    std::optional<kit::fault_plan> faults;

    explicit receiver(options o, kit::enforcer_settings w)
        : opt{std::move(o)}, windows{w}, enforcer{std::move(w)} {
        if (opt.faults.profiles.any()) faults.emplace(opt.faults, tributary::real_clock::instance());
    }
};

kit::enforcer_settings window_settings(const options& o) {
    kit::enforcer_settings s;
    if (o.per_second > 0)
        s.limits.push_back(kit::fixed_window(o.per_second, std::chrono::seconds{1}, o.offset));
    if (o.per_minute > 0)
        s.limits.push_back(kit::fixed_window(o.per_minute, std::chrono::minutes{1}, o.offset));
    s.origin = kit::unix_epoch_as_steady();
    return s;
}

void note_identity(tally& t, const std::string& identity, bool& duplicate) {
    duplicate = !t.identities.insert(identity).second;
    if (duplicate) ++t.duplicates;
}

/// Checks one event; returns its user ("" when it has none).
std::string check_event(tally& t, const json::object& e) {
    const auto* id = e.if_contains("messageId");
    const auto* user = e.if_contains("userId");
    const json::value* seq = nullptr;
    if (const auto* props = e.if_contains("properties"); props && props->is_object())
        seq = props->as_object().if_contains("seq");
    std::string key = user && user->is_string() ? std::string{user->as_string()} : std::string{};
    bool duplicate = false;
    if (id && id->is_string()) note_identity(t, std::string{id->as_string()}, duplicate);
    if (duplicate || key.empty() || !seq || !seq->is_int64()) return key;
    auto [it, fresh] = t.event_seq.try_emplace(key, seq->as_int64());
    if (fresh) return key;
    if (seq->as_int64() < it->second) {
        ++t.order_breaks;
    } else {
        it->second = seq->as_int64();
    }
    return key;
}

/// Checks one user record; returns its id ("" when it has none).
std::string check_user(tally& t, const json::object& u) {
    const auto* props = u.if_contains("properties");
    if (!props || !props->is_object()) return {};
    const auto* id = props->as_object().if_contains("id");
    const auto* at = props->as_object().if_contains("updated_at");
    if (!id || !id->is_string()) return {};
    std::string key{id->as_string()};
    bool duplicate = false;
    note_identity(t, key, duplicate);
    if (duplicate || !at || !at->is_string()) return key;
    auto [it, fresh] = t.user_seq.try_emplace(key, std::string{at->as_string()});
    if (!fresh && std::string_view{at->as_string()} < it->second) ++t.order_breaks;
    return key;
}

struct body_counts {
    std::uint64_t items = 0;
    std::uint64_t users = 0;  // distinct users in the body
};

/// Checks the items of an accepted body; nullopt when it is neither shape.
std::optional<body_counts> check_body(tally& t, std::string_view body) {
    json::value v;
    try {
        v = json::parse(body);
    } catch (const std::exception&) {
        return std::nullopt;
    }
    if (!v.is_object()) return std::nullopt;
    const auto& o = v.as_object();
    const json::array* items = nullptr;
    bool events = false;
    if (const auto* batch = o.if_contains("batch"); batch && batch->is_array()) {
        items = &batch->as_array();
        events = true;
    } else if (const auto* users = o.if_contains("users"); users && users->is_array()) {
        items = &users->as_array();
    }
    if (!items) return std::nullopt;
    std::unordered_set<std::string> users;
    for (const auto& item : *items) {
        if (!item.is_object()) continue;
        auto user = events ? check_event(t, item.as_object()) : check_user(t, item.as_object());
        if (!user.empty()) users.insert(std::move(user));
    }
    return body_counts{.items = items->size(), .users = users.size()};
}

double seconds(std::chrono::nanoseconds d) {
    return std::chrono::duration<double>(d).count();
}

double unix_ms(steady::time_point p, const receiver& r) {
    return std::chrono::duration<double, std::milli>(p - *r.windows.origin).count();
}

/// When the greedy client, starting at `first`, would have had its n-th request accepted.
steady::time_point greedy_nth(const kit::enforcer_settings& windows,
                              steady::time_point first,
                              std::uint64_t n) {
    kit::limit_enforcer e{windows};
    auto t = first;
    std::uint64_t sent = 0;
    while (sent < n) {
        const auto room = std::min<std::uint64_t>(e.remaining(t), n - sent);
        if (room == 0) {
            t += e.wait(t);
            continue;
        }
        for (std::uint64_t i = 0; i < room; ++i) e.on_request(t);
        sent += room;
    }
    return t;
}

json::object summary(const receiver& r) {
    const tally& t = r.t;
    json::object s;
    s["latency_ms"] = r.opt.latency.count();
    s["per_second"] = r.opt.per_second;
    s["per_minute"] = r.opt.per_minute;
    s["requests"] = t.requests;
    s["accepted"] = t.accepted;
    s["rejected_429"] = t.rejected;
    s["unreadable"] = t.unreadable;
    s["in_flight"] = t.in_flight;
    s["max_in_flight"] = t.max_in_flight;
    s["items"] = t.items;
    s["distinct"] = t.identities.size();
    s["duplicates"] = t.duplicates;
    s["order_breaks"] = t.order_breaks;
    s["users"] = t.event_seq.size() + t.user_seq.size();
    if (r.faults) s["faults"] = json::parse(kit::to_json(r.faults->counts()));
    if (t.first_arrival && t.last_answer && t.accepted > 0) {
        const auto actual = *t.last_answer - *t.first_arrival;
        const auto optimal =
            greedy_nth(r.windows, *t.first_arrival, t.accepted) + r.opt.latency - *t.first_arrival;
        s["first_arrival_unix_ms"] = unix_ms(*t.first_arrival, r);
        s["last_answer_unix_ms"] = unix_ms(*t.last_answer, r);
        s["duration_s"] = seconds(actual);
        s["optimal_s"] = seconds(optimal);
        s["utilization"] = actual.count() > 0 ? seconds(optimal) / seconds(actual) : 1.0;
        // Per-user order alone bounds the duration: the busiest user's events need
        // ceil(events / largest request) requests, each sent after the previous one's answer.
        std::int64_t busiest = 0;
        for (const auto& [_, seq] : t.event_seq) busiest = std::max(busiest, seq);
        const auto per_request = static_cast<std::int64_t>(std::max<std::uint64_t>(t.max_items, 1));
        const auto order_bound = r.opt.latency * ((busiest + per_request - 1) / per_request);
        s["order_bound_s"] = seconds(order_bound);
        const double bound = std::max(seconds(optimal), seconds(order_bound));
        s["bound_utilization"] = actual.count() > 0 ? bound / seconds(actual) : 1.0;
        s["mean_in_flight"] = actual.count() > 0 ? seconds(t.time_in_receiver) / seconds(actual) : 0.0;
    }
    return s;
}

void write_summary(const receiver& r) {
    const std::string text = json::serialize(summary(r)) + "\n";
    std::fputs(text.c_str(), stdout);
    std::fflush(stdout);
    if (!r.opt.summary_path.empty()) std::ofstream{r.opt.summary_path} << text;
}

bhttp::response<bhttp::string_body> json_answer(bhttp::status status, std::string body, bool keep_alive) {
    bhttp::response<bhttp::string_body> res{status, 11};
    res.set(bhttp::field::content_type, "application/json");
    res.keep_alive(keep_alive);
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

/// Counts the request in, decides its answer, checks its body when accepted.
bhttp::response<bhttp::string_body> admit(receiver& r, const bhttp::request<bhttp::string_body>& req) {
    tally& t = r.t;
    const auto now = steady::now();
    if (!t.first_arrival) t.first_arrival = now;
    ++t.requests;
    ++t.in_flight;
    t.max_in_flight = std::max(t.max_in_flight, t.in_flight);
    const kit::verdict v = r.enforcer.on_request(now);
    body_counts counts;
    bhttp::response<bhttp::string_body> res;
    if (!v.accepted) {
        ++t.rejected;
        res = json_answer(bhttp::status::too_many_requests, R"({"error":"rate_limited"})", req.keep_alive());
        res.set(bhttp::field::retry_after, std::to_string(v.retry_after_seconds));
    } else if (auto n = check_body(t, req.body())) {
        ++t.accepted;
        counts = *n;
        t.items += counts.items;
        t.max_items = std::max<std::uint64_t>(t.max_items, counts.items);
        res = json_answer(bhttp::status::ok, R"({"ok":true})", req.keep_alive());
    } else {
        ++t.unreadable;
        res = json_answer(bhttp::status::bad_request, R"({"error":"unreadable body"})", req.keep_alive());
    }
    if (r.log.is_open()) {
        r.log << std::fixed << unix_ms(now, r) << ','
              << std::chrono::duration<double, std::milli>(now - *t.first_arrival).count() << ','
              << res.result_int() << ',' << t.in_flight << ',' << counts.items << ',' << counts.users << '\n';
    }
    return res;
}

/// The answer to a request a fault refuses (5xx, or 429 in a storm): not counted in the windows.
bhttp::response<bhttp::string_body> refused(const kit::fault_decision& f, bool keep_alive) {
    auto res = json_answer(static_cast<bhttp::status>(f.status), R"({"error":"injected"})", keep_alive);
    for (const auto& [name, value] : f.headers) res.set(name, value);
    return res;
}

/// Writes `res` as the fault says: whole, in pieces, cut by a reset mid-body, or not at all (silence,
/// then a close). False when the connection is done.
awaitable<bool> send_answer(beast::tcp_stream& stream,
                            asio::steady_timer& timer,
                            bhttp::response<bhttp::string_body>& res,
                            const kit::fault_decision& f) {
    if (f.action == kit::fault_action::no_answer) {
        timer.expires_after(f.silence);
        auto [ec] = co_await timer.async_wait(use_nothrow);
        (void)ec;
        co_return false;
    }
    std::ostringstream os;
    os << res;
    const std::string wire = os.str();
    std::size_t end = wire.size();
    if (f.action == kit::fault_action::reset_mid_body) end = wire.size() - res.body().size() / 2;
    std::size_t piece = end;
    if (f.trickle_pieces > 1)
        piece = std::max<std::size_t>(1, (end + f.trickle_pieces - 1) / f.trickle_pieces);
    std::size_t at = 0;
    do {
        if (at > 0) {
            timer.expires_after(f.trickle_pause);
            auto [ec] = co_await timer.async_wait(use_nothrow);
            (void)ec;
        }
        const std::size_t n = std::min(piece, end - at);
        auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(wire.data() + at, n), use_nothrow);
        (void)wn;
        if (wec) co_return false;
        at += n;
    } while (at < end);
    if (f.action == kit::fault_action::reset_mid_body) {
        beast::error_code ignored;
        stream.socket().set_option(asio::socket_base::linger(true, 0), ignored);
        stream.socket().close(ignored);
        co_return false;
    }
    co_return true;
}

awaitable<void> serve(tcp::socket socket, receiver& r) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    asio::steady_timer latency(stream.get_executor());
    for (;;) {
        bhttp::request_parser<bhttp::string_body> parser;
        parser.body_limit(64 * 1024 * 1024);
        auto [rec, rn] = co_await bhttp::async_read(stream, buffer, parser, use_nothrow);
        if (rec) break;
        auto req = parser.release();
        if (req.target() == "/summary") {
            if (req.method() == bhttp::verb::post) write_summary(r);
            auto res = json_answer(bhttp::status::ok, json::serialize(summary(r)), req.keep_alive());
            auto [wec, wn] = co_await bhttp::async_write(stream, res, use_nothrow);
            if (wec || !res.keep_alive()) break;
            continue;
        }
        const auto arrival = steady::now();
        const kit::fault_decision fault = r.faults ? r.faults->next() : kit::fault_decision{};
        if (!fault.carried_out()) ++r.t.in_flight;  // admit() counts the others
        auto res = fault.carried_out() ? admit(r, req) : refused(fault, req.keep_alive());
        latency.expires_at(arrival + r.opt.latency + fault.latency);
        auto [tec] = co_await latency.async_wait(use_nothrow);
        (void)tec;  // cancelled only at exit
        const bool sent = co_await send_answer(stream, latency, res, fault);
        const auto answered = steady::now();
        --r.t.in_flight;
        r.t.time_in_receiver += answered - arrival;
        r.t.last_answer = answered;
        if (!sent || !res.keep_alive()) break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

awaitable<void> accept_all(tcp::acceptor& acceptor, receiver& r) {
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(use_nothrow);
        if (ec == asio::error::operation_aborted) co_return;
        if (ec) continue;
        socket.set_option(tcp::no_delay(true));
        asio::co_spawn(acceptor.get_executor(), serve(std::move(socket), r), asio::detached);
    }
}

int usage() {
    std::fprintf(stderr,
                 "usage: bench_quota_receiver [--port N] [--latency-ms L] [--per-second N] [--per-minute N]\n"
                 "                            [--offset-ms N] [--summary FILE] [--log FILE] [--faults LIST] "
                 "[--seed N]\n");
    return 2;
}

std::optional<options> parse(int argc, char** argv) {
    options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view key = argv[i];
        const char* value = argv[i + 1];
        const long n = std::strtol(value, nullptr, 10);
        std::string fault_error;
        if (kit::take_fault_option(key, value, o.faults, fault_error)) {
            if (!fault_error.empty()) {
                std::fprintf(stderr, "bench_quota_receiver: %s\n", fault_error.c_str());
                return std::nullopt;
            }
            continue;
        }
        if (key == "--port" && n >= 0 && n <= 65535) {
            o.port = static_cast<std::uint16_t>(n);
        } else if (key == "--latency-ms" && n >= 0) {
            o.latency = std::chrono::milliseconds{n};
        } else if (key == "--per-second" && n >= 0) {
            o.per_second = static_cast<std::uint32_t>(n);
        } else if (key == "--per-minute" && n >= 0) {
            o.per_minute = static_cast<std::uint32_t>(n);
        } else if (key == "--offset-ms") {
            o.offset = std::chrono::milliseconds{n};
        } else if (key == "--summary") {
            o.summary_path = value;
        } else if (key == "--log") {
            o.log_path = value;
        } else {
            return std::nullopt;
        }
    }
    if (argc % 2 == 0) return std::nullopt;
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    auto opt = parse(argc, argv);
    if (!opt) return usage();
    try {
        asio::io_context ioc{1};
        receiver r{*opt, window_settings(*opt)};
        if (!r.opt.log_path.empty()) r.log.open(r.opt.log_path);
        tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), r.opt.port));
        std::printf("port %u\n", acceptor.local_endpoint().port());
        std::fflush(stdout);
        asio::signal_set signals(ioc, SIGINT, SIGTERM);
        signals.async_wait([&](const beast::error_code&, int) {
            write_summary(r);
            ioc.stop();
        });
        asio::co_spawn(ioc, accept_all(acceptor, r), asio::detached);
        ioc.run();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_quota_receiver: %s\n", e.what());
        return 1;
    }
    return 0;
}
