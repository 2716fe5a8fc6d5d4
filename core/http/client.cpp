#include "core/http/client.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <random>

#include "core/http/retry_after.hpp"
#include "core/http/retry_policy.hpp"

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
        l.per += m.period_guard;
        if (l.kind == limit_kind::token_bucket) {
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
      transport_(ex, std::move(ts), log_.with_component("http")) {
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

    std::vector<async_limiter*> limiters;
    for (const auto& g : r.groups()) {
        std::string key = opts.connector + "|" + opts.scope + "|" + g.name;
        auto it = limiters_.find(key);
        if (it == limiters_.end()) {
            group_limiter_settings ls;
            ls.max_concurrent = g.max_concurrent;
            group_limiter core(with_margin(g.limits, margin_), ls);
            it = limiters_.emplace(key, std::make_unique<async_limiter>(ex_, key, std::move(core), clock_))
                     .first;
        }
        if (auto o = opts.overrides.find(g.name); o != opts.overrides.end()) {
            group_overrides lowered = o->second;
            lowered.limits = with_margin(lowered.limits, margin_);
            if (auto err = it->second->core().apply_overrides(lowered, clock_.now()))
                return unexpected{"connector " + opts.connector + ", group " + g.name + ": " + *err};
        }
        limiters.push_back(it->second.get());
    }
    for (const auto& [name, _] : opts.overrides) {
        bool known = false;
        for (const auto& g : r.groups()) known |= g.name == name;
        if (!known) return unexpected{"connector " + opts.connector + " has no endpoint group named " + name};
    }
    return std::shared_ptr<client>(
        new client(*this, std::move(r), std::move(limiters), std::move(opts), std::move(base)));
}

std::optional<std::chrono::nanoseconds> client::estimated_wait(std::string_view method,
                                                               std::string_view url,
                                                               priority p) const {
    auto m = router_.match(method, url);
    if (!m) return std::nullopt;
    return limiters_[m->index]->estimated_wait(p);
}

// Vendor headers may only lower what the limiter allows.
void client::observe_rate_headers(async_limiter& l, const response& r) {
    constexpr std::chrono::milliseconds max_reset{std::chrono::hours{24}};
    auto to_u32 = [](const std::string* v) -> std::optional<std::uint32_t> {
        if (!v || v->empty() || v->size() > 9) return std::nullopt;
        std::uint32_t n = 0;
        for (char c : *v) {
            if (c < '0' || c > '9') return std::nullopt;
            n = n * 10 + static_cast<std::uint32_t>(c - '0');
        }
        return n;
    };
    if (auto rem = to_u32(r.find_header("RateLimit-Remaining"))) {
        const auto* reset = r.find_header("RateLimit-Reset");
        if (auto in = reset ? parse_delta_seconds(*reset, max_reset) : std::nullopt)
            l.observe_headers(*rem, *in);
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
    retry_state rs(group.retry, request_facts{req.method, req.idempotency_key.has_value()}, clk.now());
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
        auto granted = co_await limiter.acquire(p);
        if (!granted) {
            out.error = error_kind::cancelled;
            out.message = "cancelled while waiting for the rate limiter";
            co_return out;
        }
        attempt_result r = co_await engine_.transport_.send(ep, target, req);
        granted->reset();
        ++out.attempts;

        decision d;
        if (r.resp && r.resp->status == 401 && group.require_oauth && !reauthorized) {
            // The token was revoked or expired early: drop it once and retry
            // with a fresh one. A second 401 is the retry policy's business.
            reauthorized = true;
            oauth_->invalidate(bearer);
            log.info("oauth.reauthorize", {{"connector", options_.connector}, {"group", group.name}});
            continue;
        }
        if (r.resp) {
            observe_rate_headers(limiter, *r.resp);
            if (r.resp->status == 429) limiter.on_429();
            header_list headers;
            headers.reserve(r.resp->headers.size());
            for (const auto& h : r.resp->headers) headers.emplace_back(h.name, h.value);
            d = rs.next(response_outcome{r.resp->status, lookup_in(headers)}, clk.now(), clk.wall_now(),
                        engine_.rng_);
            if (d.kind == verdict::success) limiter.on_success();
            out.resp = std::move(r.resp);
        } else {
            const auto& f = *r.failure;
            if (f.kind == failure_kind::cancelled) {
                out.error = error_kind::cancelled;
                out.message = "cancelled during " + f.phase;
                co_return out;
            }
            if (f.kind == failure_kind::body_too_large ||
                (f.kind == failure_kind::protocol && f.phase == "decode")) {
                out.error = error_kind::network;
                out.message = std::string(to_string(f.kind)) + " in " + f.phase + ": " + f.message;
                co_return out;
            }
            d = rs.next(to_retry_outcome(f), clk.now(), clk.wall_now(), engine_.rng_);
            out.message = std::string(to_string(f.kind)) + " in " + f.phase + ": " + f.message;
        }

        if (d.group_pause_until) {
            limiter.pause_until(*d.group_pause_until, d.reason);
            log.warn("ratelimit.pause", {{"connector", options_.connector},
                                         {"group", group.name},
                                         {"pause", std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                       *d.group_pause_until - clk.now())},
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
        log.info("http.retry", {{"connector", options_.connector},
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
