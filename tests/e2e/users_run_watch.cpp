#include "tests/e2e/users_run_watch.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <charconv>
#include <exception>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "core/log/logger.hpp"
#include "core/state/sqlite_store.hpp"

namespace tributary::test {

namespace asio = boost::asio;
namespace json = boost::json;
namespace dummy = connectors::dummy;

std::optional<std::uint64_t> user_index(std::string_view id, std::uint64_t users) {
    if (!id.starts_with("u-")) return std::nullopt;
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(id.data() + 2, id.data() + id.size(), n);
    if (ec != std::errc{} || end != id.data() + id.size() || n == 0 || n > users) return std::nullopt;
    return n - 1;
}

std::uint64_t expected_users::between(std::int64_t from, std::int64_t to) const {
    if (to < from) return 0;
    return static_cast<std::uint64_t>(std::upper_bound(sorted.begin(), sorted.end(), to) -
                                      std::lower_bound(sorted.begin(), sorted.end(), from));
}

expected_users read_dataset(const dummy::generator& gen) {
    const std::uint64_t users = gen.settings().count;
    expected_users e;
    e.updated_at.assign(users, no_time);
    e.properties.resize(users);
    std::int64_t newest = no_time;
    for (std::string cursor;;) {
        auto page = gen.fetch(dummy::full_read, cursor);
        if (!page) throw std::runtime_error("the dataset does not read: " + page.error());
        ++e.pages;
        for (const auto& r : page->records) {
            const auto index = user_index(r.id, users);
            if (!index) throw std::runtime_error("an id outside the dataset: " + r.id);
            if (e.updated_at[*index] != no_time) continue;  // a repeated page
            if (r.updated_at < newest) ++e.late;
            newest = std::max(newest, r.updated_at);
            e.updated_at[*index] = r.updated_at;
            e.properties[*index] = json::serialize(r.properties);
        }
        if (page->last) break;
        cursor = page->next_cursor;
    }
    e.sorted = e.updated_at;
    std::sort(e.sorted.begin(), e.sorted.end());
    return e;
}

namespace {

awaitable<void> load_mark(std::filesystem::path dir,
                          std::string job,
                          storage_thread& storage,
                          std::int64_t& out) {
    state::sqlite_settings s;
    s.dir = std::move(dir);
    s.mode = state::open_mode::read_only;
    auto store = co_await state::sqlite_store::open(s, storage, log::logger::null());
    auto cp = co_await store->load_checkpoint(job);
    co_await store->close();
    out = cp ? cp->low_water_mark_us : 0;
}

}  // namespace

checkpoint_reader::checkpoint_reader(std::filesystem::path dir, std::string job)
    : dir_{std::move(dir)}, job_{std::move(job)} {
    storage_.start();
}

checkpoint_reader::~checkpoint_reader() {
    storage_.stop();
}

std::int64_t checkpoint_reader::mark() {
    asio::io_context io{1};
    std::int64_t out = 0;
    std::exception_ptr error;
    asio::co_spawn(io, load_mark(dir_, job_, storage_, out), [&](std::exception_ptr e) { error = e; });
    io.run();
    if (error) std::rethrow_exception(error);
    return out;
}

output_follower::output_follower(std::filesystem::path path, const expected_users& expected)
    : path_{std::move(path)}, expected_{expected}, last_line_(expected.updated_at.size(), absent) {}

output_follower::segment output_follower::advance() {
    segment seg;
    std::ifstream in(path_, std::ios::binary);
    if (!in) return seg;
    in.seekg(static_cast<std::streamoff>(offset_));
    std::string rest((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::size_t at = 0;
    while (at < rest.size()) {
        const auto nl = rest.find('\n', at);
        if (nl == std::string::npos) break;  // torn: no newline yet
        const std::string_view line{rest.data() + at, nl - at};
        json::error_code ec;
        auto v = json::parse(line, ec);
        const bool last_in_file = nl + 1 == rest.size();
        if (ec || !v.is_object()) {
            // A torn last line (e.g. zeros) is the next run's to repair; anywhere else it is a bug.
            if (!last_in_file) bad_.push_back("invalid line at byte " + std::to_string(offset_ + at));
            break;
        }
        const auto* id = v.as_object().if_contains("id");
        const auto index =
            id && id->is_string() ? user_index(id->get_string(), last_line_.size()) : std::nullopt;
        if (!index) {
            bad_.push_back("a line with an unknown id at byte " + std::to_string(offset_ + at));
        } else {
            ++seg.lines;
            if (last_line_[*index] != absent) ++seg.duplicates;
            last_line_[*index] = offset_ + at;
            newest_ = std::max(newest_, expected_.updated_at[*index]);
        }
        at = nl + 1;
    }
    offset_ += at;
    return seg;
}

output_follower::verdict output_follower::verify() const {
    verdict v;
    std::string file;
    {
        std::ifstream in(path_, std::ios::binary);
        file.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    for (std::uint64_t i = 0; i < last_line_.size(); ++i) {
        const auto at = last_line_[i];
        if (at == absent || at >= file.size()) {
            if (v.missing++ == 0 && v.first_problem.empty())
                v.first_problem = "user " + std::to_string(i + 1) + " is missing";
            continue;
        }
        const auto nl = file.find('\n', at);
        const std::string_view line{file.data() + at, (nl == std::string::npos ? file.size() : nl) - at};
        constexpr std::string_view key = "\"properties\":";
        const auto from = line.find(key);
        const auto to = line.rfind(",\"written_at\":");
        const bool same_text =
            from != std::string_view::npos && to != std::string_view::npos && to > from &&
            line.substr(from + key.size(), to - from - key.size()) == expected_.properties[i];
        if (same_text) continue;
        json::error_code ec;
        auto parsed = json::parse(line, ec);
        const auto* props =
            !ec && parsed.is_object() ? parsed.as_object().if_contains("properties") : nullptr;
        if (props == nullptr || *props != json::parse(expected_.properties[i])) {
            if (v.different++ == 0 && v.first_problem.empty())
                v.first_problem =
                    "the last line of user " + std::to_string(i + 1) + " is " + std::string{line};
        }
    }
    return v;
}

std::vector<page_read> pages_logged(const std::string& err) {
    std::vector<page_read> out;
    std::istringstream in(err);
    std::string line;
    while (std::getline(in, line)) {
        if (line.find("\"event\":\"dummy.page\"") == std::string::npos) continue;
        json::error_code ec;
        auto v = json::parse(line, ec);
        if (ec || !v.is_object()) continue;
        const auto& o = v.as_object();
        page_read p;
        if (const auto* s = o.if_contains("since_us"); s && s->is_int64()) p.since = s->get_int64();
        if (const auto* c = o.if_contains("cursor"); c && c->is_string()) p.cursor = c->get_string();
        out.push_back(std::move(p));
    }
    return out;
}

std::uint64_t records_reread(const dummy::generator& gen,
                             const std::string& err,
                             const output_follower& output,
                             std::uint64_t users) {
    std::uint64_t reread = 0;
    std::vector<bool> seen(users, false);
    for (const auto& page : pages_logged(err)) {
        auto fetched = gen.fetch(page.since, page.cursor);
        if (!fetched) throw std::runtime_error("a logged page does not regenerate: " + page.cursor);
        for (const auto& r : fetched->records) {
            const auto index = user_index(r.id, users);
            if (!index) throw std::runtime_error("a logged page holds an id outside the dataset: " + r.id);
            if (output.written(*index) && !seen[*index]) {
                seen[*index] = true;
                ++reread;
            }
        }
    }
    return reread;
}

std::string dummy_to_jsonl_config(const std::filesystem::path& dir,
                                  std::string_view job,
                                  const dummy::generator_settings& source,
                                  std::uint64_t max_items,
                                  std::string_view lookback) {
    const auto flag = [](bool b) { return b ? "true" : "false"; };
    std::ostringstream c;
    c << "state:\n  dir: " << (dir / "state").string() << "\n  sync: normal\n"
      << "log:\n  format: json\n  level: debug\n  suppress_burst: 0\n"
      << "connections:\n"
      << "  people:\n    connector: dummy\n    settings:\n"
      << "      seed: " << source.seed << "\n      count: " << source.count
      << "\n      page_size: " << source.page_size << "\n      tie_groups: " << source.tie_groups
      << "\n      late_records: " << flag(source.late_records)
      << "\n      duplicate_pages: " << flag(source.duplicate_pages)
      << "\n      page_delay: " << source.page_delay.count() << "ms\n"
      << "  out:\n    connector: jsonl\n    settings:\n      path: " << (dir / "users.jsonl").string() << "\n"
      << "jobs:\n  " << job << ":\n    type: users\n    source: { connection: people }\n"
      << "    destination: { connection: out, mode: upsert }\n"
      << "    batch: { max_items: " << max_items << " }\n"
      << "    lookback: " << lookback << "\n";
    return c.str();
}

bool wait_for_mark_past(child_process& p,
                        checkpoint_reader& mark,
                        std::int64_t previous,
                        std::chrono::milliseconds poll,
                        std::chrono::milliseconds timeout,
                        std::optional<int>& code) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!code && std::chrono::steady_clock::now() < deadline) {
        code = p.wait(poll);
        try {
            if (mark.mark() > previous) return true;
        } catch (const state::store_error&) {
            // Not created yet, or being migrated: keep waiting.
        }
    }
    return false;
}

std::string tail(const std::string& text, std::size_t lines) {
    std::size_t at = text.size();
    for (std::size_t n = 0; n <= lines && at > 0; ++n) at = text.rfind('\n', at - 1);
    return at == std::string::npos ? text : text.substr(at + 1);
}

}  // namespace tributary::test
