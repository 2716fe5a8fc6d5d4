#include "daemon/commands_dlq.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <ostream>

#include "config/units.hpp"
#include "core/state/sqlite_store.hpp"
#include "daemon/commands_common.hpp"
#include "daemon/dead_letters.hpp"

namespace tributary::daemon {

namespace json = boost::json;

namespace {

struct ingest_rejects_view {
    state::ingest_reject_stats totals;
    std::vector<state::ingest_reject> newest;
};

awaitable<ingest_rejects_view> read_ingest_rejects(const config::settings& settings,
                                                   storage_thread& storage,
                                                   std::size_t limit,
                                                   log::logger log) {
    auto store = co_await open_store(settings, state::open_mode::read_only, storage, log);
    ingest_rejects_view v;
    v.totals = co_await store->ingest_reject_totals();
    v.newest = co_await store->ingest_rejects(limit);
    co_await store->close();
    co_return v;
}

// Payloads are bytes as a client sent them: replace what is not UTF-8 so the output stays text
// (and valid JSON).
std::string printable(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
        bool ok = len > 0 && i + len <= s.size();
        for (std::size_t k = 1; ok && k < len; ++k)
            ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
        if (ok && len == 1 && c < 0x20 && c != '\t') ok = false;  // control characters
        if (ok) {
            out.append(s.substr(i, len));
            i += len;
        } else {
            out += "\xEF\xBF\xBD";  // U+FFFD
            i += 1;
        }
    }
    return out;
}

json::object reject_json(const state::ingest_reject& r) {
    json::object o;
    o["seq"] = r.seq;
    o["received_at"] = format_time_us(r.received_at_us);
    o["route"] = r.route;
    o["index"] = r.batch_index < 0 ? json::value(nullptr) : json::value(r.batch_index);
    o["code"] = r.code;
    o["reason"] = r.reason;
    o["payload"] = printable(r.payload);
    o["truncated"] = r.truncated;
    return o;
}

void print_text(std::ostream& out,
                const config::settings& settings,
                const ingest_rejects_view& v,
                std::size_t limit) {
    out << "ingest rejects: " << v.totals.count << " kept (" << config::format_size(v.totals.bytes) << " of "
        << config::format_size(settings.ingest.reject_store_max_bytes) << "), " << v.totals.dropped
        << " dropped (oldest first), state " << settings.state.dir.string() << "\n";
    if (v.newest.empty()) return;
    out << "newest first, up to " << limit << "\n";
    for (const auto& r : v.newest) {
        out << "  #" << r.seq << " " << format_time_us(r.received_at_us) << "  " << r.route;
        if (r.batch_index >= 0) out << " [" << r.batch_index << "]";
        out << "  " << r.code << "\n     " << r.reason << "\n     "
            << (r.payload.empty() ? std::string("(no payload kept)") : printable(r.payload))
            << (r.truncated ? " …(truncated)" : "") << "\n";
    }
}

}  // namespace

namespace {

struct job_letters_view {
    std::uint64_t count = 0;
    std::vector<state::dead_letter> oldest;
};

awaitable<job_letters_view> read_job_letters(const config::settings& settings,
                                             storage_thread& storage,
                                             std::string job,
                                             std::size_t limit,
                                             log::logger log) {
    auto store = co_await open_store(settings, state::open_mode::read_only, storage, log);
    job_letters_view v;
    v.count = co_await store->count_dead_letters(job);
    v.oldest = co_await store->dead_letters(job, limit);
    co_await store->close();
    co_return v;
}

awaitable<std::optional<state::dead_letter>> read_one_letter(const config::settings& settings,
                                                             storage_thread& storage,
                                                             std::string job,
                                                             std::string id,
                                                             log::logger log) {
    auto store = co_await open_store(settings, state::open_mode::read_only, storage, log);
    auto d = co_await store->find_dead_letter(std::move(job), std::move(id));
    co_await store->close();
    co_return d;
}

// Runs `task` on a private loop and storage thread when the state database exists; nullopt after
// writing the store's error to `err`. No database: `T{}` (nothing was ever refused).
template <class T, class Make>
std::optional<T> read_state(const config::settings& settings, std::ostream& err, Make make) {
    if (!state_database_exists(settings.state.dir)) return T{};
    boost::asio::io_context ioc{1};
    storage_thread storage;
    storage.start();
    std::optional<T> v;
    try {
        v = run_to_completion(ioc, make(storage));
    } catch (const state::store_error& e) {
        err << "tributary: " << describe_store_error(e, settings.state.dir) << "\n";
    }
    storage.stop();
    return v;
}

exit_code list_job_letters(const command& cmd,
                           const config::settings& settings,
                           log::logger log,
                           std::ostream& out,
                           std::ostream& err) {
    const auto type = settings.jobs.at(cmd.job).type;
    auto v = read_state<job_letters_view>(settings, err, [&](storage_thread& storage) {
        return read_job_letters(settings, storage, cmd.job, cmd.limit, log);
    });
    if (!v) return exit_code::failure;
    if (cmd.json) {
        json::object o;
        o["job"] = cmd.job;
        o["type"] = config::to_string(type);
        o["count"] = v->count;
        json::array list;
        for (const auto& d : v->oldest) list.push_back(line_json(d, key_of(type, d)));
        o["dead_letters"] = std::move(list);
        out << json::serialize(o) << "\n";
        return exit_code::ok;
    }
    out << cmd.job << " (" << config::to_string(type) << "): " << v->count << " dead letters";
    if (v->count > v->oldest.size()) out << ", the oldest " << v->oldest.size() << " below (--limit)";
    out << "\n";
    for (const auto& d : v->oldest) out << "  " << printable(format_line(d, key_of(type, d))) << "\n";
    return exit_code::ok;
}

}  // namespace

exit_code dlq_show_command(const command& cmd,
                           const config::settings& settings,
                           log::logger log,
                           std::ostream& out,
                           std::ostream& err) {
    if (!check_job_configured(settings, cmd.job, err)) return exit_code::usage;
    const auto type = settings.jobs.at(cmd.job).type;
    const std::string& id = cmd.items.at(0);
    using found_t = std::optional<state::dead_letter>;
    auto v = read_state<found_t>(settings, err, [&](storage_thread& storage) {
        return read_one_letter(settings, storage, cmd.job, id, log);
    });
    if (!v) return exit_code::failure;
    if (!*v) {
        err << "tributary: " << cmd.job << " has no dead letter " << printable(id) << "\n";
        return exit_code::failure;
    }
    const auto& d = **v;
    auto o = full_json(type, d);
    if (cmd.json) {
        o["job"] = cmd.job;
        out << json::serialize(o) << "\n";
        return exit_code::ok;
    }
    out << "job            " << cmd.job << " (" << config::to_string(type) << ")\n"
        << "id             " << printable(d.item_id) << "\n"
        << (type == config::job_type::events ? "event          " : "record         ")
        << printable(key_of(type, d)) << "\n"
        << "reason         " << printable(d.reason) << "\n"
        << "attempts       " << d.attempts << "\n"
        << "first failed   " << format_time_us(d.first_failed_at_us) << "\n"
        << "last failed    " << format_time_us(d.last_failed_at_us) << "\n";
    if (d.replay_requested_at_us > 0)
        out << "replay         requested " << format_time_us(d.replay_requested_at_us)
            << ", the next run offers it\n";
    out << "payload        " << printable(d.payload_json) << "\n";
    return exit_code::ok;
}

exit_code dlq_list_command(const command& cmd,
                           const config::settings& settings,
                           log::logger log,
                           std::ostream& out,
                           std::ostream& err) {
    // `dlq list ingest` names the reject store unless a job is called `ingest`.
    const bool rejects = cmd.ingest_rejects || (cmd.job == "ingest" && !settings.jobs.contains("ingest"));
    if (!rejects) {
        if (!check_job_configured(settings, cmd.job, err)) return exit_code::usage;
        return list_job_letters(cmd, settings, log, out, err);
    }
    ingest_rejects_view v;
    // No database yet: nothing was ever refused here; a read-only open would fail on the missing file.
    if (state_database_exists(settings.state.dir)) {
        boost::asio::io_context ioc{1};
        storage_thread storage;
        storage.start();
        try {
            v = run_to_completion(ioc, read_ingest_rejects(settings, storage, cmd.limit, log));
        } catch (const state::store_error& e) {
            err << "tributary: " << describe_store_error(e, settings.state.dir) << "\n";
            return exit_code::failure;
        }
        storage.stop();
    }
    if (cmd.json) {
        json::object o;
        o["source"] = "ingest";
        o["state_dir"] = settings.state.dir.string();
        o["count"] = v.totals.count;
        o["bytes"] = v.totals.bytes;
        o["max_bytes"] = settings.ingest.reject_store_max_bytes;
        o["dropped"] = v.totals.dropped;
        json::array list;
        for (const auto& r : v.newest) list.push_back(reject_json(r));
        o["rejects"] = std::move(list);
        out << json::serialize(o) << "\n";
    } else {
        print_text(out, settings, v, cmd.limit);
    }
    return exit_code::ok;
}

}  // namespace tributary::daemon
