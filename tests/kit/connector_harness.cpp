#include "tests/kit/connector_harness.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <stdexcept>

#include "connectors/sdk/checked_calls.hpp"
#include "core/http/client.hpp"

namespace tributary::connectors::testing {

namespace asio = boost::asio;

struct connector_harness::impl {
    kit::fake_server& server;
    harness_options options;
    asio::io_context ioc{1};
    http::engine engine;
    std::shared_ptr<http::client> client;
    std::unique_ptr<connector> conn;
    std::uint64_t seen = 0;  // highest server sequence already handed out

    impl(kit::fake_server& s, harness_options o)
        : server{s},
          options{std::move(o)},
          engine{ioc.get_executor(), http::transport_settings{}, log::logger::null()} {}
};

connector_harness::connector_harness(registration reg, kit::fake_server& server, harness_options options)
    : impl_{std::make_unique<impl>(server, std::move(options))} {
    auto built = registry::build({reg});
    if (!built) throw std::runtime_error(built.error());
    const auto& spec = reg.spec;
    if (!spec.endpoint_groups.empty() || has(spec.categories, category::saas) ||
        reg.endpoint_groups_from_settings) {
        // As the daemon does: the spec's groups, or those built from the connection's settings.
        auto groups = built->endpoint_groups(spec.code, impl_->options.settings);
        if (!groups) throw std::runtime_error("cannot build the endpoint groups: " + groups.error());
        http::client_options co;
        co.connector = spec.code;
        co.scope = "test";
        co.base_url = server.base_url();
        auto client = impl_->engine.make_client(std::move(groups).value(), std::move(co));
        if (!client) throw std::runtime_error("cannot make the HTTP client: " + client.error());
        impl_->client = std::move(client).value();
    }
    connector_env env;
    env.settings = impl_->options.settings;
    env.http = impl_->client;
    env.connection_name = impl_->options.connection_name;
    env.base_url = server.base_url();
    env.state = impl_->options.state;
    auto made = built->create(spec.code, std::move(env));
    if (!made)
        throw std::runtime_error("cannot create connector '" + spec.code + "': " + made.error().message);
    impl_->conn = std::move(made).value();
    for (const auto& r : server.requests()) impl_->seen = std::max(impl_->seen, r.sequence);
}

connector_harness::~connector_harness() = default;

connector& connector_harness::get() {
    return *impl_->conn;
}

std::shared_ptr<http::client> connector_harness::http_client() const {
    return impl_->client;
}

void connector_harness::run_erased(awaitable<void> task) {
    auto& ioc = impl_->ioc;
    ioc.restart();
    // Shared with the completion handler, which may outlive this call if the task ignores
    // cancellation; the task's own references (batches) are then the test's problem, not ours.
    struct state {
        bool done = false;
        std::exception_ptr failure;
        asio::cancellation_signal cancel;
    };
    auto st = std::make_shared<state>();
    asio::co_spawn(ioc, std::move(task),
                   asio::bind_cancellation_slot(st->cancel.slot(), [st](std::exception_ptr ep) {
                       st->done = true;
                       st->failure = ep;
                   }));
    auto run_until = [&](std::chrono::steady_clock::time_point deadline) {
        while (!st->done && std::chrono::steady_clock::now() < deadline) {
            // Returns 0 when the context ran out of work: the call can then never finish.
            if (ioc.run_one_for(std::chrono::milliseconds{50}) == 0 && ioc.stopped()) break;
        }
    };
    run_until(std::chrono::steady_clock::now() + impl_->options.timeout);
    if (!st->done) {
        st->cancel.emit(asio::cancellation_type::terminal);
        run_until(std::chrono::steady_clock::now() + std::chrono::seconds{5});
        throw std::runtime_error("the connector call did not complete within " +
                                 std::to_string(impl_->options.timeout.count()) + " ms");
    }
    if (st->failure) std::rethrow_exception(st->failure);
}

std::vector<kit::request> connector_harness::take_requests() {
    std::vector<kit::request> out;
    for (auto& r : impl_->server.requests()) {
        if (r.sequence <= impl_->seen) continue;
        out.push_back(std::move(r));
    }
    for (const auto& r : out) impl_->seen = std::max(impl_->seen, r.sequence);
    return out;
}

run_result<outcome_of<types::type>> connector_harness::record_schema(target t, role r) {
    return run(checked_record_schema(get(), t, r));
}

run_result<outcome_of<page>> connector_harness::records(target t,
                                                        std::optional<wall_micros> updated_at,
                                                        std::string cursor,
                                                        types::type schema) {
    return run(checked_records(get(), t, updated_at, std::move(cursor), std::move(schema)));
}

run_result<outcome_of<void>> connector_harness::upsert(target t, record_batch& batch, types::type schema) {
    return run(checked_upsert(get(), t, batch, std::move(schema)));
}

run_result<outcome_of<std::vector<http::request>>> connector_harness::preview_upsert(target t,
                                                                                     record_batch& batch,
                                                                                     types::type schema) {
    return run(checked_preview_upsert(get(), t, batch, std::move(schema)));
}

run_result<outcome_of<std::vector<event_type>>> connector_harness::event_types() {
    return run(checked_event_types(get()));
}

run_result<outcome_of<types::type>> connector_harness::event_type_schema(std::string id) {
    return run(checked_event_type_schema(get(), std::move(id)));
}

run_result<outcome_of<void>> connector_harness::send_events(event_batch& batch) {
    return run(checked_send_events(get(), batch));
}

run_result<outcome_of<std::optional<http::request>>> connector_harness::preview_send_events(
    event_batch& batch) {
    return run(checked_preview_send_events(get(), batch));
}

std::vector<kit::request> matching(const std::vector<kit::request>& requests,
                                   std::string_view method,
                                   std::string_view path) {
    std::vector<kit::request> out;
    for (const auto& r : requests)
        if (r.method == method && r.path == path) out.push_back(r);
    return out;
}

}  // namespace tributary::connectors::testing
