#include "connectors/jsonl/jsonl_connector.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/object.hpp>
#include <boost/json/storage_ptr.hpp>

#include <cerrno>
#include <charconv>
#include <exception>
#include <type_traits>

#include <unistd.h>

#include "connectors/jsonl/file_store.hpp"
#include "connectors/jsonl/line_format.hpp"
#include "connectors/sdk/default_schemas.hpp"
#include "core/async/storage_thread.hpp"
#include "core/clock.hpp"
#include "core/time.hpp"
#include "core/types/time_layout.hpp"
#include "core/types/type_json.hpp"

namespace tributary::connectors::jsonl {

namespace json = boost::json;

struct jsonl_connector::state {
    std::string path;
    /// Opened on the first write; closed after a failed one, so the next write reopens and
    /// repairs whatever the failure left.
    file_store writer;
    /// Opened on the first read; a separate descriptor so reads never disturb the writer.
    file_store reader;
};

namespace {

constexpr std::size_t max_page_size = 100'000;

/// Runs `fn` on the storage thread, or inline without one.
template <class F>
awaitable<std::invoke_result_t<F&>> on_storage(storage_thread* storage, F fn) {
    if (storage == nullptr) co_return fn();
    co_return co_await storage->run(std::move(fn));
}

struct append_result {
    std::optional<std::string> error{};
    std::optional<torn_line> torn{};
};

struct read_result {
    std::optional<std::string> error{};
    bool missing = false;
    line_page lines{};
};

}  // namespace

jsonl_settings parse_settings(const json::value& settings, std::vector<settings_error>& errors) {
    settings_reader r{settings, errors};
    jsonl_settings s;
    s.path = r.required_string("path");
    s.mode =
        r.one_of("mode", {"users", "events"}, "users") == "events" ? write_mode::events : write_mode::users;
    s.page_size = static_cast<std::size_t>(r.optional_int("page_size", static_cast<std::int64_t>(s.page_size),
                                                          1, static_cast<std::int64_t>(max_page_size)));
    if (const auto* v = r.find("schema"); v != nullptr && !v->is_null()) {
        auto t = types::parse_type(*v);
        if (!t) {
            r.error("schema", t.error());
        } else if (t->kind() != types::kind::object) {
            r.error("schema", "must be an object type");
        } else {
            s.schema = *t;
        }
    }
    if (!s.schema.valid()) s.schema = default_schemas::users();
    r.reject_unknown({"path", "mode", "page_size", "schema"});
    return s;
}

jsonl_connector::jsonl_connector(connector_env env, storage_thread* storage)
    : storage_(storage), log_(env.log.with_component("jsonl")), state_(std::make_shared<state>()) {
    std::vector<settings_error> errors;
    settings_ = parse_settings(env.settings, errors);
    if (env.report_settings_error) {
        for (auto& e : errors) env.report_settings_error(std::move(e));
    }
    state_->path = settings_.path;
    std::random_device seed;
    ids_.seed((static_cast<std::uint64_t>(seed()) << 32) ^ seed());
}

jsonl_connector::~jsonl_connector() = default;

std::vector<settings_error> jsonl_connector::validate_settings(const json::value& settings) {
    std::vector<settings_error> errors;
    parse_settings(settings, errors);
    return errors;
}

awaitable<outcome_of<types::type>> jsonl_connector::record_schema(target t, role) {
    if (t != target::users) co_return make_error(error_kind::unsupported, "jsonl: only users have records");
    co_return settings_.schema;
}

awaitable<outcome_of<page>> jsonl_connector::records(target t,
                                                     std::optional<wall_micros> updated_at,
                                                     std::string cursor,
                                                     types::type) {
    if (t != target::users) co_return make_error(error_kind::unsupported, "jsonl: only users have records");
    std::uint64_t offset = 0;
    if (!cursor.empty()) {
        const auto [end, ec] = std::from_chars(cursor.data(), cursor.data() + cursor.size(), offset);
        if (ec != std::errc{} || end != cursor.data() + cursor.size()) {
            co_return make_error(error_kind::rejected, "jsonl: invalid cursor");
        }
    }

    page out;
    // A page may filter down to nothing; keep reading so a page that is not the last is never
    // empty (the records contract).
    for (;;) {
        auto job = [s = state_, offset, n = settings_.page_size]() -> read_result {
            read_result r;
            if (!s->reader.is_open()) {
                if (::access(s->path.c_str(), F_OK) != 0 && errno == ENOENT) {
                    r.missing = true;
                    return r;
                }
                if (auto opened = s->reader.open(s->path, open_mode::read); !opened) {
                    r.error = opened.error();
                    return r;
                }
            }
            auto lines = s->reader.read_page(offset, n);
            if (!lines) {
                r.error = lines.error();
            } else {
                r.lines = std::move(*lines);
            }
            return r;
        };
        read_result read;
        try {
            read = co_await on_storage(storage_, std::move(job));
        } catch (const std::exception& e) {
            co_return make_error(error_kind::network, std::string{"jsonl: storage thread: "} + e.what());
        }
        // Persistent by nature (a cursor that no longer points at a line, an overlong line):
        // retrying as is would fail the same way.
        if (read.error) co_return make_error(error_kind::rejected, *read.error);
        if (read.missing) {
            out.last = true;
            co_return out;
        }

        std::uint64_t line_offset = offset;
        // One monotonic resource per page, shared by its records' JSON and freed with the last of
        // them: a value costs no malloc and no free (issue #13, per-page memory reuse).
        const auto sp = boost::json::make_shared_resource<boost::json::monotonic_resource>();
        for (const auto& line : read.lines.lines) {
            auto user = parse_user_line(line, sp);
            if (!user) {
                co_return make_error(error_kind::rejected, "jsonl: line at byte " +
                                                               std::to_string(line_offset) + " of " +
                                                               settings_.path + ": " + user.error());
            }
            line_offset += line.size() + 1;
            std::optional<wall_micros> at;
            if (user->updated_at) at = wall_micros{std::chrono::microseconds{*user->updated_at}};
            if (updated_at && at && *at < *updated_at) continue;
            out.records.push_back(record{
                .id = std::move(user->id), .properties = std::move(user->properties), .updated_at = at});
        }
        offset = read.lines.next_offset;
        if (read.lines.end) {
            out.last = true;
            co_return out;
        }
        if (!out.records.empty()) break;
    }
    out.next_cursor = std::to_string(offset);
    // Byte offsets stay valid while the file is only appended to.
    out.cursor_resumable = true;
    co_return out;
}

std::string jsonl_connector::new_id() {
    static constexpr char hex[] = "0123456789abcdef";
    std::string id = "jsonl-";
    for (int half = 0; half < 2; ++half) {
        std::uint64_t bits = ids_();
        for (int i = 0; i < 16; ++i, bits >>= 4) id.push_back(hex[bits & 0xf]);
    }
    return id;
}

awaitable<outcome_of<void>> jsonl_connector::upsert(target t, record_batch& batch, types::type) {
    if (t != target::users) co_return make_error(error_kind::unsupported, "jsonl: only users have records");
    if (settings_.mode != write_mode::users) {
        co_return make_error(error_kind::invalid_settings,
                             "jsonl: the connection's mode is events, not users");
    }
    // One written_at for the batch, formatted once.
    const std::string now = types::format_datetime(to_unix_us(real_clock::instance().wall_now()));
    // The batch serialized straight into the buffer written, sized for typical records.
    std::string text;
    text.reserve(batch.size() * 768);
    std::size_t count = 0;
    for (const auto& [index, rec] : batch.all()) {
        if (rec.id.empty()) {
            std::string id = new_id();
            append_user_line(text, id, rec.properties, now);
            // Kept only if the append below succeeds (the batch drops ids of items not sent).
            batch.created(index, std::move(id));
        } else {
            append_user_line(text, rec.id, rec.properties, now);
        }
        ++count;
    }
    co_return co_await append_joined(std::move(text), count);
}

std::optional<std::uint32_t> jsonl_connector::max_in_flight(call c) const {
    if (c == call::upsert) return 2;
    return std::nullopt;
}

awaitable<outcome_of<std::vector<event_type>>> jsonl_connector::event_types() {
    co_return std::vector<event_type>{
        {.id = "all", .name = "All events", .description = "Every event, written as it was received"}};
}

awaitable<outcome_of<types::type>> jsonl_connector::event_type_schema(std::string id) {
    if (id != "all") co_return make_error(error_kind::not_found, "jsonl: the only event type is \"all\"");
    co_return types::type{};
}

awaitable<outcome_of<void>> jsonl_connector::send_events(event_batch& batch) {
    if (settings_.mode != write_mode::events) {
        co_return make_error(error_kind::invalid_settings,
                             "jsonl: the connection's mode is users, not events");
    }
    std::vector<std::string> lines;
    lines.reserve(batch.size());
    for (const auto& [index, e] : batch.all()) lines.push_back(e.json_text());
    co_return co_await append(std::move(lines));
}

awaitable<outcome_of<void>> jsonl_connector::append(std::vector<std::string> lines) {
    if (lines.empty()) co_return outcome_of<void>{};
    // Named first: GCC 12 miscompiles capturing lambdas that are temporaries of a co_await
    // expression.
    auto write = [lines = std::move(lines)](file_store& writer) { return writer.append_batch(lines); };
    co_return co_await append_with(std::move(write));
}

awaitable<outcome_of<void>> jsonl_connector::append_joined(std::string text, std::size_t count) {
    if (count == 0) co_return outcome_of<void>{};
    auto write = [text = std::move(text), count](file_store& writer) {
        return writer.append_text(text, count);
    };
    co_return co_await append_with(std::move(write));
}

template <class Write>
awaitable<outcome_of<void>> jsonl_connector::append_with(Write write) {
    auto job = [s = state_, write = std::move(write)]() -> append_result {
        append_result r;
        if (!s->writer.is_open()) {
            auto opened = s->writer.open(s->path, open_mode::append);
            if (!opened) {
                r.error = opened.error();
                return r;
            }
            r.torn = opened->torn;
        }
        if (auto appended = write(s->writer); !appended) {
            r.error = appended.error();
            s->writer.close();
        }
        return r;
    };
    append_result result;
    try {
        result = co_await on_storage(storage_, std::move(job));
    } catch (const std::exception& e) {
        co_return make_error(error_kind::network, std::string{"jsonl: storage thread: "} + e.what());
    }
    if (result.torn) {
        log_.warn("jsonl.torn_line", {{"path", settings_.path},
                                      {"offset", result.torn->offset},
                                      {"bytes", result.torn->bytes},
                                      {"reason", result.torn->reason}});
    }
    // Disk full, I/O errors, a lock held by another process: the lines stay queued and the
    // job retries, which is what `network` (transient) means to the pipeline.
    if (result.error) co_return make_error(error_kind::network, *result.error);
    co_return outcome_of<void>{};
}

application_spec jsonl_spec() {
    application_spec spec;
    spec.code = "jsonl";
    spec.label = "JSON Lines";
    spec.categories = category::file;
    // Lines come in file order, which promises nothing about updated_at (unordered), and the
    // file has no lag to declare (lateness 0): the checkpoint moves only after the last line, and
    // a line appended later with an older updated_at is read only within a job's lookback.
    spec.source = as_source{
        .targets = {.users = true}, .has_settings = true, .summary = "Import users from a JSON-lines file"};
    spec.destination =
        as_destination{.targets = {.users = true, .events = true},
                       .has_settings = true,
                       .sending_mode = sending_mode::server,
                       .summary = "Append users or events to a JSON-lines file, fsynced per batch"};
    return spec;
}

registration jsonl_registration(storage_thread* storage) {
    registration r = make_registration<jsonl_connector>(jsonl_spec());
    r.factory = [storage](connector_env env) -> std::unique_ptr<connector> {
        return std::make_unique<jsonl_connector>(std::move(env), storage);
    };
    r.offline_schemas = true;
    r.profile = [](const json::value& v) {
        std::vector<settings_error> errors;
        const jsonl_settings s = parse_settings(v, errors);
        connection_profile p;
        p.destination_targets =
            target_set{.users = s.mode == write_mode::users, .events = s.mode == write_mode::events};
        p.written_files.push_back({"path", s.path});
        return p;
    };
    return r;
}

}  // namespace tributary::connectors::jsonl
