#include "daemon/commands_dlq.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <ostream>

#include "config/units.hpp"
#include "core/state/sqlite_store.hpp"
#include "daemon/commands_common.hpp"

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

exit_code dlq_list_command(const command& cmd,
                           const config::settings& settings,
                           log::logger log,
                           std::ostream& out,
                           std::ostream& err) {
    if (cmd.job != "ingest") {
        err << "tributary: dlq list takes `ingest` (the ingest reject store); a job's dead letters are shown "
               "by `tributary state show JOB`\n";
        return exit_code::usage;
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
