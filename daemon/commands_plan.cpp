#include "daemon/commands_plan.hpp"

#include <stdlib.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <ostream>

#include "core/http/client.hpp"
#include "daemon/commands_common.hpp"
#include "daemon/connector_factory.hpp"
#include "daemon/job_settings.hpp"
#include "pipelines/events_plan.hpp"
#include "pipelines/users_plan.hpp"

namespace tributary::daemon {

namespace json = boost::json;

namespace {

struct plan_outcome {
    /// A users job's plan.
    pipelines::plan_report report;
    /// An events job's plan.
    pipelines::events_plan_report events;
    bool is_events = false;
    /// A connector that could not be made, naming its connection; the plan did not run.
    std::string error;
    /// The job has no state yet: planned against an empty store, as its first run.
    bool first_run = false;
};

// A private, empty state directory for planning a job that never ran: the real one is left
// untouched (a read-only open needs an existing database), and this one is removed afterwards.
class scratch_state_dir {
public:
    scratch_state_dir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "tributary-plan-XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr)
            throw state::store_error(state::error_kind::io, "cannot create a temporary state directory");
        path_ = tmpl;
    }
    ~scratch_state_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    scratch_state_dir(const scratch_state_dir&) = delete;
    scratch_state_dir& operator=(const scratch_state_dir&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

// The job's store read-only, or an empty scratch store for a job that never ran.
awaitable<std::unique_ptr<state::sqlite_store>> open_plan_store(
    const config::settings& settings,
    storage_thread& storage,
    std::optional<std::filesystem::path> scratch_dir,
    log::logger log) {
    if (!scratch_dir) co_return co_await open_store(settings, state::open_mode::read_only, storage, log);
    auto ss = store_settings(settings, state::open_mode::read_write);
    ss.dir = *scratch_dir;
    ss.sync = state::sync_mode::normal;
    co_return co_await state::sqlite_store::open(std::move(ss), storage, log.with_component("state"));
}

awaitable<plan_outcome> plan_job(const config::settings& settings,
                                 const connectors::registry& registry,
                                 http::engine& engine,
                                 storage_thread& storage,
                                 std::string job,
                                 std::size_t sample,
                                 std::optional<std::filesystem::path> scratch_dir,
                                 log::logger log) {
    plan_outcome out;
    const auto& j = settings.jobs.at(job);
    if (j.type == config::job_type::events) {
        out.is_events = true;
        auto destination = make_connector(settings, registry, engine, log, j.destination.connection);
        if (!destination) {
            out.error = "connection " + j.destination.connection + ": " + destination.error();
            co_return out;
        }
        std::unique_ptr<state::sqlite_store> store =
            co_await open_plan_store(settings, storage, scratch_dir, log);
        out.first_run = scratch_dir.has_value();
        out.events = co_await pipelines::plan_events_job(j.events, **destination, *store, sample, log);
        co_await store->close();
        co_return out;
    }
    auto source = make_connector(settings, registry, engine, log, j.source.connection);
    if (!source) {
        out.error = "connection " + j.source.connection + ": " + source.error();
        co_return out;
    }
    auto destination = make_connector(settings, registry, engine, log, j.destination.connection);
    if (!destination) {
        out.error = "connection " + j.destination.connection + ": " + destination.error();
        co_return out;
    }
    std::unique_ptr<state::sqlite_store> store =
        co_await open_plan_store(settings, storage, scratch_dir, log);
    out.first_run = scratch_dir.has_value();
    auto job_settings = users_settings_of(settings, job, registry);
    out.report = co_await pipelines::plan_users_job(std::move(job_settings), **source, **destination, *store,
                                                    sample, log);
    co_await store->close();
    co_return out;
}

// At most `max` bytes of `body`, not cutting a UTF-8 sequence.
std::string_view head_of(std::string_view body, std::size_t max) {
    if (body.size() <= max) return body;
    std::size_t n = max;
    while (n > 0 && (static_cast<unsigned char>(body[n]) & 0xC0) == 0x80) --n;
    return body.substr(0, n);
}

json::array requests_json(const std::vector<http::request>& requests) {
    json::array out;
    for (const auto& q : requests) {
        json::array headers;
        for (const auto& h : q.headers) headers.push_back(json::object{{"name", h.name}, {"value", h.value}});
        out.push_back(json::object{
            {"method", q.method}, {"url", q.url}, {"headers", std::move(headers)}, {"body", q.body}});
    }
    return out;
}

// What users and events plans share: the previewed requests, the notes and the error.
template <class Report>
void add_requests_notes_error(json::object& out, const Report& r) {
    out["requests"] = requests_json(r.requests);
    out["preview_supported"] = r.preview_supported;
    json::array notes;
    for (const auto& n : r.notes) notes.push_back(json::string(n));
    out["notes"] = std::move(notes);
    out["error"] = r.error.empty() ? json::value(nullptr) : json::value(r.error);
}

json::object report_json(const std::string& job, std::size_t sample, const plan_outcome& o) {
    const auto& r = o.report;
    json::object out;
    out["job"] = job;
    out["sample"] = sample;
    out["first_run"] = o.first_run;
    out["counts"] = json::object{
        {"read", r.read}, {"create", r.create}, {"update", r.update}, {"skip", r.skip}, {"reject", r.reject}};
    json::array items;
    for (const auto& i : r.items) {
        items.push_back(json::object{{"id", i.source_id},
                                     {"action", i.action},
                                     {"reason", i.reason},
                                     {"destination_id", i.destination_id},
                                     {"dead_letter_retry", i.dead_letter_retry},
                                     {"properties", i.properties}});
    }
    out["items"] = std::move(items);
    add_requests_notes_error(out, r);
    return out;
}

json::object events_report_json(const std::string& job, std::size_t sample, const plan_outcome& o) {
    const auto& r = o.events;
    json::object out;
    out["job"] = job;
    out["type"] = "events";
    out["sample"] = sample;
    out["first_run"] = o.first_run;
    out["destination_type"] = r.destination_type;
    out["counts"] = json::object{{"queued", r.queued},
                                 {"planned", static_cast<std::uint64_t>(r.items.size())},
                                 {"send", r.send},
                                 {"skip", r.skip},
                                 {"reject", r.reject}};
    json::array items;
    for (const auto& i : r.items) {
        items.push_back(json::object{{"seq", i.seq},
                                     {"message_id", i.message_id},
                                     {"user", i.user},
                                     {"type", i.type},
                                     {"event", i.name},
                                     {"action", i.action},
                                     {"reason", i.reason},
                                     {"values", i.values}});
    }
    out["items"] = std::move(items);
    add_requests_notes_error(out, r);
    return out;
}

void print_requests(std::ostream& out, const std::vector<http::request>& requests) {
    std::size_t n = 0;
    for (const auto& q : requests) {
        out << "  #" << ++n << " " << q.method << " " << q.url << "\n";
        for (const auto& h : q.headers) out << "     " << h.name << ": " << h.value << "\n";
        if (q.body.empty()) continue;
        const auto head = head_of(q.body, max_body_text);
        out << "     body (" << q.body.size() << " bytes";
        if (head.size() < q.body.size()) out << ", first " << head.size() << " shown; --json shows all";
        out << "):\n     " << head << "\n";
    }
}

// The previewed requests (or why there are none: the connector lacks `preview_hook`), then the notes.
template <class Report>
void print_requests_and_notes(std::ostream& out, const Report& r, const char* preview_hook) {
    if (!r.preview_supported) {
        out << "requests: the destination's connector cannot preview them (no " << preview_hook << ")\n";
    } else {
        out << "requests the destination would receive: " << r.requests.size() << "\n";
    }
    print_requests(out, r.requests);
    for (const auto& n : r.notes) out << "note: " << n << "\n";
}

void print_events_text(std::ostream& out,
                       const config::settings& settings,
                       const std::string& job,
                       std::size_t sample,
                       const plan_outcome& o) {
    const auto& j = settings.jobs.at(job);
    const auto& r = o.events;
    out << "plan for job " << job << " (events: queue -> " << j.destination.connection;
    if (!r.destination_type.empty()) out << ", event type " << r.destination_type;
    out << "), at most " << sample << " queued events; nothing is written\n";
    if (o.first_run) out << "no state yet: planned as the job's first run\n";
    out << "queued " << r.queued << ", planned " << r.items.size() << ": send " << r.send << ", skip "
        << r.skip << ", reject " << r.reject << "\n";
    if (!r.items.empty()) {
        out << "items\n";
        for (const auto& i : r.items) {
            out << "  " << i.action << "  #" << i.seq << " " << i.message_id << " " << i.type;
            if (!i.name.empty()) out << " \"" << i.name << "\"";
            if (!i.user.empty()) out << " user " << i.user;
            if (!i.reason.empty()) out << "  " << i.reason;
            out << "\n";
        }
    }
    print_requests_and_notes(out, r, "preview_send_events");
}

void print_text(std::ostream& out,
                const config::settings& settings,
                const std::string& job,
                std::size_t sample,
                const plan_outcome& o) {
    const auto& j = settings.jobs.at(job);
    const auto& r = o.report;
    out << "plan for job " << job << " (users: " << j.source.connection << " -> " << j.destination.connection
        << ", mode " << pipelines::to_string(j.users.mode) << "), at most " << sample
        << " source records; nothing is written\n";
    if (o.first_run) out << "no state yet: planned as the job's first run\n";
    out << "read " << r.read << ": create " << r.create << ", update " << r.update << ", skip " << r.skip
        << ", reject " << r.reject << "\n";
    if (!r.items.empty()) {
        out << "items\n";
        for (const auto& i : r.items) {
            out << "  " << i.action << "  " << i.source_id;
            if (!i.destination_id.empty()) out << " -> " << i.destination_id;
            if (i.dead_letter_retry) out << "  (dead letter, offered again)";
            if (!i.reason.empty()) out << "  " << i.reason;
            out << "\n";
        }
    }
    print_requests_and_notes(out, r, "preview_upsert");
}

}  // namespace

exit_code plan_command(const command& cmd,
                       const config::settings& settings,
                       log::logger log,
                       std::ostream& out,
                       std::ostream& err) {
    if (!check_job_configured(settings, cmd.job, err)) return exit_code::usage;
    boost::asio::io_context ioc{1};
    storage_thread storage;
    storage.start();
    auto registry = builtin_registry_or_report(storage, err);
    if (!registry) return exit_code::failure;
    plan_outcome o;
    {
        std::optional<scratch_state_dir> scratch;
        http::engine engine(ioc.get_executor(), {}, log.with_component("http"));
        try {
            std::optional<std::filesystem::path> scratch_path;
            if (!state_database_exists(settings.state.dir)) {
                scratch.emplace();
                scratch_path = scratch->path();
            }
            o = run_to_completion(
                ioc, plan_job(settings, *registry, engine, storage, cmd.job, cmd.sample, scratch_path, log));
        } catch (const state::store_error& e) {
            err << "tributary: " << describe_store_error(e, settings.state.dir) << "\n";
            return exit_code::failure;
        }
        storage.stop();
    }
    if (!o.error.empty()) {
        err << "tributary: " << o.error << "\n";
        return exit_code::failure;
    }
    if (cmd.json) {
        out << json::serialize(o.is_events ? events_report_json(cmd.job, cmd.sample, o)
                                           : report_json(cmd.job, cmd.sample, o))
            << "\n";
    } else if (o.is_events) {
        print_events_text(out, settings, cmd.job, cmd.sample, o);
    } else {
        print_text(out, settings, cmd.job, cmd.sample, o);
    }
    const std::string& failure = o.is_events ? o.events.error : o.report.error;
    if (!failure.empty()) {
        err << "tributary: plan failed: " << failure << "\n";
        return exit_code::failure;
    }
    return exit_code::ok;
}

}  // namespace tributary::daemon
