#include "tests/kit/http_users_connector.hpp"

#include <boost/json/serialize.hpp>

#include <chrono>

#include "connectors/sdk/body_builder.hpp"
#include "connectors/sdk/default_schemas.hpp"
#include "connectors/sdk/settings.hpp"
#include "core/http/client.hpp"

namespace tributary::kit {

namespace json = boost::json;
using namespace tributary::connectors;

namespace {

std::size_t read_max_records(const json::value& settings, std::vector<settings_error>& errors) {
    settings_reader r{settings, errors};
    const auto n = r.optional_int("max_records", 50, 1, 1000);
    r.reject_unknown({"max_records"});
    return static_cast<std::size_t>(n);
}

std::string user_json(const std::string& id, const json::object& properties) {
    json::object o;
    o["id"] = id;
    o["properties"] = properties;
    return json::serialize(o);
}

outcome_of<void> upsert_result(const http::outcome& o) {
    if (o.ok()) return outcome_of<void>{};
    connector_error e = error_from(o, "kit-http-users: upsert users");
    if (o.resp) {
        const int status = o.resp->status;
        // The receiver could not take the request now: the records stay queued (retryable).
        if (status == 408 || status == 409 || status == 429 || status >= 500) e.kind = error_kind::network;
    }
    return e;
}

application_spec http_users_spec() {
    application_spec spec;
    spec.code = "kit-http-users";
    spec.label = "Kit HTTP users (test only)";
    spec.categories = category::testing;
    spec.destination = as_destination{.targets = {.users = true},
                                      .has_settings = true,
                                      .summary = "POST user batches to a loopback receiver (tests, benches)"};
    http::endpoint_group group;
    group.name = "users";
    group.patterns = {"POST /v1/users"};
    group.limits = {
        {.kind = http::limit_kind::fixed_window,
         .requests = 20,
         .per = std::chrono::seconds{1},
         .align = http::limit_align::clock},
        {.kind = http::limit_kind::fixed_window,
         .requests = 300,
         .per = std::chrono::minutes{1},
         .align = http::limit_align::clock},
    };
    spec.endpoint_groups.push_back(std::move(group));
    return spec;
}

}  // namespace

http_users_connector::http_users_connector(connector_env env) : http_{std::move(env.http)} {
    std::vector<settings_error> errors;
    max_records_ = read_max_records(env.settings, errors);
    if (env.report_settings_error) {
        for (auto& e : errors) env.report_settings_error(std::move(e));
    }
}

std::vector<settings_error> http_users_connector::validate_settings(const json::value& settings) {
    std::vector<settings_error> errors;
    read_max_records(settings, errors);
    return errors;
}

awaitable<outcome_of<types::type>> http_users_connector::record_schema(target t, role) {
    if (t != target::users) co_return make_error(error_kind::unsupported, "kit-http-users: only users");
    co_return default_schemas::users();
}

awaitable<outcome_of<page>> http_users_connector::records(target t,
                                                          std::optional<wall_micros>,
                                                          std::string,
                                                          types::type) {
    if (t != target::users) co_return make_error(error_kind::unsupported, "kit-http-users: only users");
    co_return page{.last = true};
}

awaitable<outcome_of<void>> http_users_connector::upsert(target t, record_batch& batch, types::type) {
    if (t != target::users) co_return make_error(error_kind::unsupported, "kit-http-users: only users");
    if (!http_) co_return make_error(error_kind::contract, "kit-http-users: no HTTP client");
    body_builder body{{.max_bytes = 4u << 20, .max_items = max_records_}};
    body.begin(R"({"users":[)", "]}");
    std::vector<std::size_t> creates;
    for (const auto& [index, rec] : batch.all()) {
        const auto added = body.add(user_json(rec.id, rec.properties));
        if (added == add_result::full) {
            batch.postpone();
            break;
        }
        if (added == add_result::too_large) {
            batch.discard("kit-http-users: the record alone exceeds 4 MiB");
            continue;
        }
        if (rec.id.empty()) creates.push_back(index);
    }
    if (body.items() == 0) co_return outcome_of<void>{};
    http::request req = body.to_request("POST", http_users_url);
    http::outcome o = co_await http_->send(std::move(req), http::priority::incremental);
    auto result = upsert_result(o);
    if (result) {
        for (std::size_t index : creates) {
            batch.created(index, "kit-" + std::to_string(++created_));
        }
    }
    co_return result;
}

registration http_users_registration() {
    return make_registration<http_users_connector>(http_users_spec());
}

}  // namespace tributary::kit
