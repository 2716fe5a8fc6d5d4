#include "core/http/client.hpp"

#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <algorithm>
#include <random>
#include <stdexcept>

#include "core/http/retry_after.hpp"
#include "core/http/retry_policy.hpp"
#include "core/time.hpp"

namespace tributary::http {

namespace asio = boost::asio;

std::string_view to_string(error_kind k) {
    switch (k) {
        case error_kind::none:
            return "none";
        case error_kind::no_route:
            return "no_route";
        case error_kind::invalid_request:
            return "invalid_request";
        case error_kind::rejected:
            return "rejected";
        case error_kind::exhausted:
            return "exhausted";
        case error_kind::unsafe:
            return "unsafe";
        case error_kind::network:
            return "network";
        case error_kind::cancelled:
            return "cancelled";
    }
    return "unknown";
}

std::vector<rate_limit> with_margin(std::vector<rate_limit> limits, const limiter_margin& m) {
    for (auto& l : limits) {
        if (l.kind == limit_kind::token_bucket && m.bucket_reserve > 0) {
            std::uint32_t cap = l.burst ? l.burst : l.requests;
            l.burst = cap > m.bucket_reserve ? cap - m.bucket_reserve : 1;
        }
    }
    return limits;
}

engine::engine(asio::any_io_executor ex,
               transport_settings ts,
               log::logger log,
               const clock& clk,
               random_source rng,
               limiter_margin margin)
    : ex_(ex),
      log_(std::move(log)),
      clock_(clk),
      rng_(std::move(rng)),
      margin_(margin),
      transport_(ex, std::move(ts), log_.with_component("http")),
      persist_wake_(ex) {
    if (!rng_) {
        auto gen = std::make_shared<std::mt19937_64>(std::random_device{}());
        rng_ = [gen] { return (*gen)(); };
    }
}

engine::~engine() = default;

result<std::shared_ptr<client>> engine::make_client(std::vector<endpoint_group> groups, client_options opts) {
    std::optional<split_url> base;
    if (opts.base_url) {
        base = split_absolute_url(*opts.base_url);
        if (!base) return unexpected{"base_url " + *opts.base_url + " is not an absolute http(s) URL"};
        base->ep.ca_file = opts.ca_file;
    }
    auto built = router::build(std::move(groups));
    if (!built) return unexpected{"connector " + opts.connector + ": " + built.error()};
    router r = std::move(built).value();

    // One limiter per key: a group's, or a shared budget's ("@name"), made once per engine.
    auto limiter_for = [&](const std::string& key, const std::vector<rate_limit>& limits,
                           std::uint32_t max_concurrent) -> async_limiter& {
        auto it = limiters_.find(key);
        if (it == limiters_.end()) {
            group_limiter_settings ls;
            ls.max_concurrent = max_concurrent;
            ls.margin_cap = margin_.window_margin_cap;
            group_limiter core(with_margin(limits, margin_), ls);
            it = limiters_.emplace(key, std::make_unique<async_limiter>(ex_, key, std::move(core), clock_))
                     .first;
            if (usage_store_) enable_persistence(key, *it->second);
            apply_stored(key, *it->second);
        }
        return *it->second;
    };
    auto lower = [&](async_limiter& l, const std::string& name) -> std::optional<std::string> {
        const auto o = opts.overrides.find(name);
        if (o == opts.overrides.end()) return std::nullopt;
        group_overrides lowered = o->second;
        lowered.limits = with_margin(lowered.limits, margin_);
        if (auto err = l.core().apply_overrides(lowered, clock_.now()))
            return "connector " + opts.connector + ", group " + name + ": " + *err;
        return std::nullopt;
    };

    std::vector<async_limiter*> limiters;
    std::vector<async_limiter*> budgets;
    for (const auto& g : r.groups()) {
        async_limiter& l =
            limiter_for(opts.connector + "|" + opts.scope + "|" + g.name, g.limits, g.max_concurrent);
        if (auto err = lower(l, g.name)) return unexpected{std::move(*err)};
        limiters.push_back(&l);
        async_limiter* budget = nullptr;
        if (!g.budget.name.empty()) {
            budget =
                &limiter_for(opts.connector + "|" + opts.scope + "|@" + g.budget.name, g.budget.limits, 0);
            if (auto err = lower(*budget, g.budget.name)) return unexpected{std::move(*err)};
        }
        budgets.push_back(budget);
    }
    for (const auto& [name, _] : opts.overrides) {
        bool known = false;
        for (const auto& g : r.groups()) known |= g.name == name || g.budget.name == name;
        if (!known) return unexpected{"connector " + opts.connector + " has no endpoint group named " + name};
    }
    return std::shared_ptr<client>(new client(*this, std::move(r), std::move(limiters), std::move(budgets),
                                              std::move(opts), std::move(base)));
}

// --- persistence ---------------------------------------------------------------

namespace {

// Log fields for a limiter key "connector|scope|group": the scope may name a
// credential, so it stays out of the logs.
std::string connector_of(const std::string& key) {
    return key.substr(0, key.find('|'));
}
std::string group_of(const std::string& key) {
    const auto p = key.rfind('|');
    return p == std::string::npos ? key : key.substr(p + 1);
}

}  // namespace

void engine::attach_usage_store(usage_store& store, persistence_settings s) {
    if (s.interval.count() <= 0) throw std::invalid_argument("persistence interval must be > 0");
    s.lease_intervals = std::max<std::uint32_t>(s.lease_intervals, 1);
    usage_store_ = &store;
    persistence_ = s;
    for (auto& [key, l] : limiters_) enable_persistence(key, *l);
}

void engine::enable_persistence(const std::string& key, async_limiter& l) {
    l.core().require_lease();
    l.set_lease_listener([this] { request_save(); });
    persisted_.try_emplace(key);
}

void engine::request_save() {
    save_requested_ = true;
    persist_wake_.cancel();
}

void engine::apply_stored(const std::string& key, async_limiter& l) {
    const auto it = stored_.find(key);
    if (it == stored_.end()) return;
    const stored_group& g = it->second;
    const auto age = wall_elapsed(g.saved_wall_us, clock_.wall_now(), group_limiter::max_restore_age);
    l.restore_after(g.usage.usage, g.usage.lease, age);
    const auto pause = l.core().pause(clock_.now());
    log_.info("ratelimit.restored",
              {{"connector", connector_of(key)},
               {"group", group_of(key)},
               {"age", std::chrono::duration_cast<std::chrono::milliseconds>(age)},
               {"lease_charged", g.usage.lease},
               {"paused_for",
                pause ? std::chrono::duration_cast<std::chrono::milliseconds>(pause->until - clock_.now())
                      : std::chrono::milliseconds{0}}});
    stored_.erase(it);
}

awaitable<void> engine::restore_usage() {
    if (!usage_store_) throw std::logic_error("engine::restore_usage without attach_usage_store");
    auto records = co_await usage_store_->load();
    for (auto& [key, rec] : records) {
        auto decoded = decode_usage(rec.json);
        if (!decoded) {
            log_.warn(
                "ratelimit.usage_ignored",
                {{"connector", connector_of(key)}, {"group", group_of(key)}, {"error", decoded.error()}});
            continue;
        }
        stored_[key] = stored_group{std::move(decoded).value(), rec.saved_wall_us};
    }
    for (auto& [key, l] : limiters_) apply_stored(key, *l);
}

awaitable<void> engine::run_persistence() {
    if (!usage_store_) throw std::logic_error("engine::run_persistence without attach_usage_store");
    // A graceful stop (total) ends the loop too; the cleanup below must still await.
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    co_await asio::this_coro::throw_if_cancelled(false);
    for (;;) {
        co_await save_round(false);
        auto cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none) break;
        if (!save_requested_) {
            persist_wake_.expires_after(persistence_.interval);
            co_await persist_wake_.async_wait(use_nothrow);  // expiry, request_save() or cancellation
        }
        cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none) break;
    }
    co_await save_round(true);
}

// One batch of snapshots: taken together, written together (one commit on
// SQLite), each lease extended only once its write is durable.
awaitable<void> engine::save_round(bool final) {
    save_requested_ = false;
    const auto horizon = std::chrono::duration_cast<std::chrono::nanoseconds>(persistence_.interval) *
                         static_cast<std::int64_t>(persistence_.lease_intervals);
    struct entry {
        std::string key;
        async_limiter* limiter;
        std::uint64_t revision;
        std::uint32_t lease;
    };
    std::vector<entry> entries;
    std::vector<usage_record> records;
    for (auto& [key, l] : limiters_) {
        group_limiter& core = l->core();
        if (core.lease_pending()) continue;
        persisted_group& st = persisted_[key];
        const bool applies = core.lease_applies();
        const bool changed = core.revision() != st.revision || (applies && !st.saved);
        const bool starving = applies && core.lease_left() == 0 && core.pending() > 0;
        if (!(changed || starving || (final && st.lease > 0))) continue;
        std::uint32_t lease = 0;
        if (applies && !final) {
            const auto now = clock_.now();
            lease = core.sendable_within(now, horizon, lease_size(core.limits(), horizon));
        }
        const std::uint64_t revision = core.revision();
        stored_usage snapshot{l->begin_lease(lease), lease};
        records.push_back(usage_record{key, encode_usage(snapshot), 0});
        entries.push_back(entry{key, l.get(), revision, lease});
    }
    if (entries.empty()) co_return;
    // Stamped after the snapshots: a later stamp makes a restart age them less,
    // which is the safe direction.
    const std::int64_t wall_us = to_unix_us(clock_.wall_now());
    for (auto& r : records) r.saved_wall_us = wall_us;

    std::vector<std::optional<std::string>> errors;
    try {
        errors = co_await usage_store_->save(std::move(records));
    } catch (const std::exception& e) {
        errors.assign(entries.size(), std::string{e.what()});
    }
    errors.resize(entries.size(), std::string{"no result from the store"});
    std::size_t failed = 0;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        persisted_group& st = persisted_[entries[i].key];
        if (!errors[i]) {
            entries[i].limiter->commit_lease();
            st.revision = entries[i].revision;
            st.saved = true;
            st.lease = entries[i].lease;
            continue;
        }
        entries[i].limiter->abandon_lease();
        st.lease = std::max(st.lease, entries[i].lease);
        if (failed++ == 0) {
            log_.error("ratelimit.persist_failed", {{"connector", connector_of(entries[i].key)},
                                                    {"group", group_of(entries[i].key)},
                                                    {"groups", entries.size()},
                                                    {"error", *errors[i]}});
        }
    }
    if (failed == 0 && persist_failing_)
        log_.info("ratelimit.persist_recovered", {{"groups", entries.size()}});
    persist_failing_ = failed > 0;
}

std::optional<std::chrono::nanoseconds> client::estimated_wait(std::string_view method,
                                                               std::string_view url,
                                                               priority p) const {
    auto m = router_.match(method, url);
    if (!m) return std::nullopt;
    const auto own = limiters_[m->index]->estimated_wait(p);
    if (const async_limiter* b = budgets_[m->index]) return std::max(own, b->estimated_wait(p));
    return own;
}

std::optional<window_room> client::aligned_room(std::string_view method, std::string_view url) const {
    auto m = router_.match(method, url);
    if (!m) return std::nullopt;
    return limiters_[m->index]->aligned_room();
}

std::optional<std::uint32_t> client::max_concurrent(std::string_view method, std::string_view url) const {
    auto m = router_.match(method, url);
    if (!m) return std::nullopt;
    return limiters_[m->index]->core().max_concurrent();
}

namespace {

std::optional<std::uint32_t> to_u32(const std::string* v) {
    if (!v || v->empty() || v->size() > 9) return std::nullopt;
    std::uint32_t n = 0;
    for (char c : *v) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + static_cast<std::uint32_t>(c - '0');
    }
    return n;
}

// The leading number of a limit header: "750" or the IETF draft's "750, 750;w=60".
std::optional<std::uint32_t> leading_u32(const std::string* v) {
    if (!v) return std::nullopt;
    const std::string digits = v->substr(0, v->find_first_not_of("0123456789"));
    return to_u32(&digits);
}

// Unix-time resets (GitHub-style X-RateLimit-Reset) are not deltas: skip them.
constexpr std::uint32_t max_reset_delta_s = 400 * 24 * 3600;

}  // namespace

// Where the vendor's fixed windows start: reset headers on any answer, and a
// 429's Retry-After (seconds, or an HTTP-date read against the answer's Date).
void client::observe_alignment(async_limiter& l, const response& r, clock::steady_time sent_at) {
    for (const char* prefix : {"RateLimit-", "X-RateLimit-"}) {
        const std::string p{prefix};
        const auto reset = to_u32(r.find_header(p + "Reset"));
        if (!reset || *reset > max_reset_delta_s) continue;
        l.observe_reset(std::chrono::seconds{*reset}, leading_u32(r.find_header(p + "Limit")), sent_at);
        return;
    }
    if (r.status != 429) return;
    const std::string* ra = r.find_header("Retry-After");
    if (!ra) return;
    if (const auto secs = to_u32(ra)) {
        l.observe_reset(std::chrono::seconds{*secs}, std::nullopt, sent_at);
        return;
    }
    const clock::wall_time wall = engine_.clock_.wall_now();
    const auto until = parse_http_date(*ra, wall);
    if (!until) return;
    const std::string* date = r.find_header("Date");
    const auto said = date ? parse_http_date(*date, wall) : std::nullopt;
    // Both dates on the vendor's clock: whole seconds apart, like a delta. Against our
    // wall clock instead, the clocks' skew adds to the uncertainty.
    const auto delta = std::chrono::duration_cast<std::chrono::seconds>(*until - (said ? *said : wall));
    if (delta.count() < 0) return;
    l.observe_reset(delta, std::nullopt, sent_at, said ? std::chrono::nanoseconds{0} : l.core().clock_skew());
}

// Vendor headers may only lower what the limiter allows.
void client::observe_rate_headers(async_limiter& l,
                                  const endpoint_group& g,
                                  const response& r,
                                  clock::steady_time sent_at) {
    constexpr std::chrono::milliseconds max_reset{std::chrono::hours{24}};
    observe_alignment(l, r, sent_at);
    if (auto rem = to_u32(r.find_header("RateLimit-Remaining"))) {
        const auto* reset = r.find_header("RateLimit-Reset");
        if (auto in = reset ? parse_delta_seconds(*reset, max_reset) : std::nullopt)
            l.observe_headers(*rem, *in);
    }
    if (g.allowance) {
        // The connector reads its vendor's headers (HubSpot: the daily budget's reset is the
        // account's midnight, which only the connector knows).
        const header_lookup find = [&r](std::string_view name) -> std::optional<std::string_view> {
            const std::string* v = r.find_header(name);
            return v ? std::optional<std::string_view>{*v} : std::nullopt;
        };
        for (const auto& cap : g.allowance(find, engine_.clock_.wall_now())) {
            if (cap.reset_in.count() <= 0) continue;
            if (cap.group.empty()) {
                l.observe_headers(cap.remaining, cap.reset_in);
                continue;
            }
            // Another group, or a shared budget (once, however many groups spend it).
            const auto& groups = router_.groups();
            async_limiter* budget = nullptr;
            for (std::size_t i = 0; i < groups.size(); ++i) {
                if (groups[i].name == cap.group) limiters_[i]->observe_headers(cap.remaining, cap.reset_in);
                if (groups[i].budget.name == cap.group) budget = budgets_[i];
            }
            if (budget) budget->observe_headers(cap.remaining, cap.reset_in);
        }
        return;
    }
    if (auto rem = to_u32(r.find_header("X-HubSpot-RateLimit-Remaining"))) {
        // HubSpot names the window length, not its reset: a full interval is
        // the conservative reading.
        const auto* iv = r.find_header("X-HubSpot-RateLimit-Interval-Milliseconds");
        if (auto in = iv ? parse_delta_milliseconds(*iv, max_reset) : std::nullopt)
            l.observe_headers(*rem, *in);
    }
}

namespace {

// "protocol in decode: corrupt gzip data": the text of outcome::message.
std::string describe(const network_failure& f) {
    return std::string(to_string(f.kind)) + " in " + std::string(to_string(f.phase)) + ": " + f.message;
}

network_outcome to_retry_outcome(const network_failure& f) {
    network_outcome o;
    o.request_bytes_written = f.request_written;
    switch (f.kind) {
        case failure_kind::resolve:
        case failure_kind::connect:
            o.kind = network_failure_kind::connect_failed;
            break;
        case failure_kind::timeout:
            o.kind = network_failure_kind::timeout;
            break;
        case failure_kind::tls:
            o.kind = network_failure_kind::tls;
            break;
        default:
            o.kind = network_failure_kind::reset;
            break;
    }
    return o;
}

}  // namespace

awaitable<outcome> client::send(request req, priority p) {
    outcome out;
    auto m = router_.match(req.method, req.url);
    if (!m) {
        out.error = error_kind::no_route;
        out.message = m.error();
        co_return out;
    }
    const endpoint_group& group = *m->group;
    async_limiter& limiter = *limiters_[m->index];
    async_limiter* const budget = budgets_[m->index];
    out.group = group.name;

    auto logical = split_absolute_url(req.url);
    if (!logical) {
        out.error = error_kind::invalid_request;
        out.message = "not an absolute http(s) URL";
        co_return out;
    }
    endpoint ep = logical->ep;
    ep.ca_file = options_.ca_file;
    std::string target = logical->target;
    if (base_) {
        ep = base_->ep;
        // A base_url with a path prefixes the logical path.
        if (base_->target != "/")
            target = (base_->target.back() == '/' ? base_->target.substr(0, base_->target.size() - 1)
                                                  : base_->target) +
                     target;
    }

    const clock& clk = engine_.clock_;
    log::logger& log = engine_.log_;
    retry_state rs(group.retry, request_facts{req.method, req.idempotency_key.has_value() || req.repeat_safe},
                   clk.now());
    asio::steady_timer sleep(co_await asio::this_coro::executor);

    bool reauthorized = false;
    std::string bearer;
    for (;;) {
        if (group.require_oauth) {
            if (!oauth_) {
                out.error = error_kind::invalid_request;
                out.message =
                    "group " + group.name + " requires OAuth and the connection has no token source";
                co_return out;
            }
            auto token = co_await oauth_->access_token();
            if (!token) {
                out.error = error_kind::network;
                out.message = token.error();
                co_return out;
            }
            bearer = *token;
            std::erase_if(req.headers, [](const header& h) { return iequals(h.name, "Authorization"); });
            req.headers.push_back({"Authorization", "Bearer " + bearer});
        }
        // The shared budget first: while it is spent (a day's), requests queue there and take
        // none of the group's window; its charge moves to the write like the group's.
        std::optional<permit> spent;
        if (budget) {
            spent = co_await budget->acquire(p);
            if (!spent) {
                out.error = error_kind::cancelled;
                out.message = "cancelled while waiting for the rate limiter";
                co_return out;
            }
        }
        auto granted = co_await limiter.acquire(p);
        if (!granted) {
            out.error = error_kind::cancelled;
            out.message = "cancelled while waiting for the rate limiter";
            co_return out;
        }
        // The grant reserved the request's charge; the write moves it to when the
        // bytes left (group_limiter.hpp). The permits live in this frame, which
        // outlives the transport call.
        permit& charge = *granted;
        permit* const budget_charge = spent ? &*spent : nullptr;
        attempt_result r = co_await engine_.transport_.send(
            ep, target, req,
            [&charge, budget_charge] {
                charge.written();
                if (budget_charge) budget_charge->written();
            },
            [&charge, budget_charge] {
                charge.answered();
                if (budget_charge) budget_charge->answered();
            });
        const clock::steady_time sent_at = granted->charged_at();
        granted->reset();
        if (spent) spent->reset();
        ++out.attempts;

        decision d;
        async_limiter* pause_target = &limiter;
        if (r.resp && r.resp->status == 401 && group.require_oauth && !reauthorized) {
            // The token was revoked or expired early: drop it once and retry
            // with a fresh one. A second 401 is the retry policy's business.
            reauthorized = true;
            oauth_->invalidate(bearer);
            log.info("oauth.reauthorize", {{"job", options_.job},
                                           {"connection", options_.connection},
                                           {"connector", options_.connector},
                                           {"group", group.name}});
            continue;
        }
        if (r.resp) {
            ++limiter.traffic().answers[r.resp->status];
            observe_rate_headers(limiter, group, *r.resp, sent_at);
            header_list headers;
            headers.reserve(r.resp->headers.size());
            for (const auto& h : r.resp->headers) headers.emplace_back(h.name, h.value);
            d = rs.next(response_outcome{r.resp->status, lookup_in(headers), r.resp->body}, clk.now(),
                        clk.wall_now(), engine_.rng_);
            // The vendor's wait tells which window the 429 came from (group_limiter::on_429): a
            // shared budget's (a spent day) pauses the budget below, leaving the group's pace alone.
            if (r.resp->status == 429) {
                if (budget && budget_explains_wait(group.limits, group.budget.limits, d.vendor_wait))
                    pause_target = budget;
                else
                    limiter.on_429(d.vendor_wait);
            }
            if (d.kind == verdict::success) limiter.on_success();
            out.resp = std::move(r.resp);
        } else {
            const auto& f = *r.failure;
            if (f.kind != failure_kind::cancelled) ++limiter.traffic().no_answer;
            if (f.kind == failure_kind::cancelled) {
                out.error = error_kind::cancelled;
                out.message = "cancelled during " + std::string(to_string(f.phase));
                co_return out;
            }
            if (f.kind == failure_kind::body_too_large ||
                (f.kind == failure_kind::protocol && f.phase == attempt_phase::decode)) {
                out.error = error_kind::network;
                out.message = describe(f);
                co_return out;
            }
            d = rs.next(to_retry_outcome(f), clk.now(), clk.wall_now(), engine_.rng_);
            out.message = describe(f);
        }

        if (d.group_pause_until) {
            pause_target->pause_until(*d.group_pause_until, d.reason);
            log.warn("ratelimit.pause",
                     {{"job", options_.job},
                      {"connection", options_.connection},
                      {"connector", options_.connector},
                      {"group", group.name},
                      {"budget", pause_target == &limiter ? std::string{} : group.budget.name},
                      {"pause", std::chrono::duration_cast<std::chrono::nanoseconds>(*d.group_pause_until -
                                                                                     clk.now())},
                      {"reason", d.reason}});
        }
        switch (d.kind) {
            case verdict::success:
                out.error = error_kind::none;
                out.message.clear();
                co_return out;
            case verdict::fail:
                switch (d.failure) {
                    case failure_class::permanent:
                        out.error = out.resp ? error_kind::rejected : error_kind::network;
                        break;
                    case failure_class::unsafe:
                        out.error = error_kind::unsafe;
                        break;
                    default:
                        out.error = error_kind::exhausted;
                        break;
                }
                if (out.message.empty() || out.resp) out.message = d.reason;
                co_return out;
            case verdict::retry:
                break;
        }
        // A cancellation that reached this request while no operation was waiting (between the
        // transport's answer and here) is recorded in the state; the wait below would not see it,
        // and the request would go on retrying after a stop.
        if ((co_await asio::this_coro::cancellation_state).cancelled() != asio::cancellation_type::none) {
            out.error = error_kind::cancelled;
            out.message = "cancelled before retrying: " + (out.message.empty() ? d.reason : out.message);
            co_return out;
        }
        ++limiter.traffic().retries;
        log.info("http.retry", {{"job", options_.job},
                                {"connection", options_.connection},
                                {"connector", options_.connector},
                                {"group", group.name},
                                {"status", out.resp ? out.resp->status : 0},
                                {"attempt", d.attempt},
                                {"reason", d.reason},
                                {"wait", d.wait}});
        if (d.wait.count() > 0) {
            sleep.expires_after(d.wait);
            auto [ec] = co_await sleep.async_wait(use_nothrow);
            if (ec) {
                out.error = error_kind::cancelled;
                out.message = "cancelled during retry wait";
                co_return out;
            }
        }
    }
}

}  // namespace tributary::http
