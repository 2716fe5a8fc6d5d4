#include "core/http/oauth.hpp"

#include <boost/asio/this_coro.hpp>
#include <boost/json/parse.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include "core/http/client.hpp"

namespace tributary::http {

namespace asio = boost::asio;

result<token_response> parse_token_response(std::string_view body) {
    boost::json::parse_options po;
    po.max_depth = 8;
    boost::system::error_code ec;
    auto v = boost::json::parse(body, ec, {}, po);
    if (ec || !v.is_object()) return unexpected{"token response is not a JSON object"};
    const auto& o = v.as_object();
    token_response t;
    const auto* at = o.if_contains("access_token");
    if (!at || !at->is_string() || at->as_string().empty())
        return unexpected{"token response has no access_token"};
    t.access_token = std::string(at->as_string());
    if (const auto* e = o.if_contains("expires_in")) {
        if (e->is_int64() && e->as_int64() > 0)
            t.expires_in = std::chrono::seconds{e->as_int64()};
        else if (e->is_uint64())
            t.expires_in = std::chrono::seconds{
                static_cast<std::int64_t>(std::min<std::uint64_t>(e->as_uint64(), 1u << 30))};
        else if (e->is_string()) {
            // Some providers send it as a string of digits.
            std::int64_t n = 0;
            for (char c : e->as_string()) {
                if (c < '0' || c > '9' || n > (1 << 30))
                    return unexpected{"token response has a bad expires_in"};
                n = n * 10 + (c - '0');
            }
            t.expires_in = std::chrono::seconds{n};
        } else {
            return unexpected{"token response has a bad expires_in"};
        }
    }
    if (const auto* r = o.if_contains("refresh_token"); r && r->is_string() && !r->as_string().empty())
        t.refresh_token = std::string(r->as_string());
    return t;
}

token_source::token_source(client& http,
                           oauth_settings s,
                           std::string refresh_token,
                           std::function<void(const std::string&)> on_rotated,
                           const clock& clk)
    : http_(http),
      settings_(std::move(s)),
      refresh_token_(std::move(refresh_token)),
      on_rotated_(std::move(on_rotated)),
      clock_(clk) {}

void token_source::invalidate(const std::string& token) {
    if (token_ && *token_ == token) token_.reset();
}

awaitable<result<std::string>> token_source::access_token() {
    if (token_ && clock_.now() + settings_.refresh_ahead < expires_at_) co_return *token_;
    if (refreshing_) {
        // Single flight: wait for the refresh in progress, then use its result.
        if (!refresh_done_)
            refresh_done_ = std::make_unique<asio::steady_timer>(co_await asio::this_coro::executor,
                                                                 asio::steady_timer::time_point::max());
        while (refreshing_) {
            auto [ec] = co_await refresh_done_->async_wait(use_nothrow);
            (void)ec;
        }
        if (token_) co_return *token_;
        co_return unexpected{last_error_.value_or("token refresh failed")};
    }
    co_return co_await refresh();
}

namespace {

std::string form_encode(std::string_view s) {
    return boost::urls::encode(s, boost::urls::unreserved_chars);
}

}  // namespace

awaitable<result<std::string>> token_source::refresh() {
    refreshing_ = true;
    auto finished = [this] {
        refreshing_ = false;
        if (refresh_done_) refresh_done_->cancel();
    };
    std::optional<std::string> error;
    try {
        error = co_await exchange();
    } catch (...) {
        // Cancelled (or a fault): the waiters must not wait forever.
        finished();
        throw;
    }
    finished();
    last_error_ = error;
    if (error) {
        token_.reset();
        co_return unexpected{*error};
    }
    co_return *token_;
}

awaitable<std::optional<std::string>> token_source::exchange() {
    if (store_ && !store_loaded_) {
        // The first refresh of the process: a refresh token kept by an earlier one wins.
        std::optional<std::string> fault;
        try {
            auto stored = co_await store_->load();
            if (stored && !stored->empty()) refresh_token_ = std::move(*stored);
            store_loaded_ = true;
        } catch (const std::exception& e) {
            fault =
                "token refresh failed: the stored refresh token could not be read: " + std::string{e.what()};
        }
        if (fault) co_return fault;
    }
    request req;
    req.method = "POST";
    req.url = settings_.token_url;
    req.headers.push_back({"Content-Type", "application/x-www-form-urlencoded"});
    req.headers.push_back({"Accept", "application/json"});
    req.body = "grant_type=refresh_token&refresh_token=" + form_encode(refresh_token_) +
               "&client_id=" + form_encode(settings_.client_id) +
               "&client_secret=" + form_encode(settings_.client_secret);
    auto o = co_await http_.send(std::move(req), priority::events);
    ++refreshes_;
    if (!o.ok()) co_return "token refresh failed: " + o.message;
    auto t = parse_token_response(o.resp->body);
    if (!t) co_return t.error();
    auto life = settings_.expires_in_override.count() > 0 ? settings_.expires_in_override : t->expires_in;
    if (life.count() <= 0) life = std::chrono::seconds{3600};  // RFC 6749 leaves it optional
    if (t->refresh_token && *t->refresh_token != refresh_token_) {
        // The provider may have revoked the token we used: the new one is all there is.
        refresh_token_ = *t->refresh_token;
        if (on_rotated_) on_rotated_(refresh_token_);
        if (store_) {
            std::optional<std::string> fault;
            try {
                co_await store_->save(refresh_token_);
            } catch (const std::exception& e) {
                fault =
                    "token refresh: the rotated refresh token could not be kept: " + std::string{e.what()};
            }
            // Not durable: no request goes out on the new access token (the next refresh, with
            // the rotated token in memory, tries to keep its successor again).
            if (fault) co_return fault;
        }
    }
    token_ = t->access_token;
    expires_at_ = clock_.now() + life;
    co_return std::nullopt;
}

std::shared_ptr<token_source> token_source_registry::get(
    const std::string& connection,
    const std::string& key,
    const std::function<std::shared_ptr<token_source>()>& make) {
    auto& slot = sources_[connection];
    if (!slot.source || slot.key != key) slot = entry{key, make()};
    return slot.source;
}

void token_source_registry::retain(const std::function<bool(const std::string& connection)>& keep) {
    std::erase_if(sources_, [&keep](const auto& kv) { return !keep(kv.first); });
}

std::size_t token_source_registry::size() const noexcept {
    return sources_.size();
}

}  // namespace tributary::http
