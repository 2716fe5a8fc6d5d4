#include "pipelines/ingest/spool_source.hpp"

#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/io/posix_file.hpp"
#include "core/types/text.hpp"

namespace tributary::ingest {

namespace asio = boost::asio;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

using io::system_message;
using io::write_full;

// One storage-thread call reads at most this much, so the state database never waits long
// behind a spool read.
constexpr std::size_t read_block_bytes = 256 * 1024;
// What a rejects entry keeps of the line.
constexpr std::size_t reject_text_bytes = 1024;
// Parsing yields to the loop after about this many bytes (a line counts 64 more), so one turn
// of the loop stays well under the 20 ms of a loop.stall.
constexpr std::size_t parse_slice_bytes = 128 * 1024;

bool is_plain_name(const std::string& s) {
    return !s.empty() && s != "." && s != ".." && s.find('/') == std::string::npos;
}

bool is_blank(std::string_view line) {
    return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

bool cancelled(const asio::cancellation_state& cs) {
    return cs.cancelled() != asio::cancellation_type::none;
}

// --- blocking file work, run on the storage thread ------------------------------------------

// Shared by the loop and the storage-thread work that uses it, so the descriptor stays open
// until the last read queued with it has run, even if the scan is abandoned.
struct fd_holder {
    int fd = -1;
    explicit fd_holder(int f) : fd(f) {}
    fd_holder(const fd_holder&) = delete;
    fd_holder& operator=(const fd_holder&) = delete;
    ~fd_holder() {
        if (fd >= 0) ::close(fd);
    }
};

struct listing {
    std::vector<std::string> names{};
    std::string error{};
};

listing list_spool(const fs::path& dir) {
    listing out;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        out.error = "cannot create " + dir.string() + ": " + ec.message();
        return out;
    }
    fs::directory_iterator it(dir, ec);
    if (ec) {
        out.error = "cannot list " + dir.string() + ": " + ec.message();
        return out;
    }
    for (; it != fs::directory_iterator(); it.increment(ec)) {
        if (ec) break;
        std::string name = it->path().filename().string();
        if (!is_spool_file_name(name)) continue;
        std::error_code st_ec;
        // symlink_status: a symlink is not followed (and not taken).
        if (it->symlink_status(st_ec).type() != fs::file_type::regular || st_ec) continue;
        out.names.push_back(std::move(name));
    }
    if (ec) out.error = "cannot list " + dir.string() + ": " + ec.message();
    std::sort(out.names.begin(), out.names.end());
    return out;
}

struct opened {
    std::shared_ptr<fd_holder> file{};
    std::uint64_t inode = 0;
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;
    int error = 0;
    std::string message{};
};

opened open_spool_file(const fs::path& path) {
    opened out;
    // O_NONBLOCK: a FIFO renamed in between the listing and now must not block the open.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        out.error = errno;
        out.message = "cannot open " + path.string() + ": " + system_message(out.error);
        return out;
    }
    out.file = std::make_shared<fd_holder>(fd);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        out.error = errno;
        out.message = "cannot stat " + path.string() + ": " + system_message(out.error);
        return out;
    }
    if (!S_ISREG(st.st_mode)) {
        out.error = EINVAL;
        out.message = "not a regular file: " + path.string();
        return out;
    }
    out.inode = static_cast<std::uint64_t>(st.st_ino);
    out.size = static_cast<std::uint64_t>(st.st_size);
    out.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
    return out;
}

struct block {
    std::string bytes{};
    std::string error{};
};

// Up to `n` bytes at `offset`; fewer only at the end of the file.
block read_block(int fd, std::uint64_t offset, std::size_t n, const std::string& name) {
    block out;
    out.bytes.resize(n);
    const ssize_t r = io::pread_full(fd, out.bytes.data(), n, offset);
    if (r < 0) {
        out.error = "cannot read " + name + ": " + system_message(static_cast<int>(-r));
        out.bytes.clear();
        return out;
    }
    out.bytes.resize(static_cast<std::size_t>(r));
    return out;
}

int fsync_directory(const fs::path& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return errno;
    const int r = ::fsync(fd) == 0 ? 0 : errno;
    ::close(fd);
    return r;
}

// Appends `text` to dir/file and fsyncs it (and the directories a creation changed). Returns an
// error message, empty on success.
std::string append_rejects(const fs::path& spool,
                           const fs::path& dir,
                           const std::string& file,
                           std::string text) {
    std::error_code ec;
    const bool created_dir = fs::create_directories(dir, ec);
    if (ec) return "cannot create " + dir.string() + ": " + ec.message();
    if (created_dir) {
        if (const int e = fsync_directory(spool); e != 0)
            return "cannot fsync " + spool.string() + ": " + system_message(e);
    }
    const fs::path path = dir / file;
    const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0) return "cannot open " + path.string() + ": " + system_message(errno);
    fd_holder holder(fd);
    struct stat st {};
    if (::fstat(fd, &st) != 0) return "cannot stat " + path.string() + ": " + system_message(errno);
    const bool fresh = st.st_size == 0;
    if (const int e = write_full(fd, text); e != 0) {
        // Cut back what was written of this batch (best effort) so no half line stays behind.
        [[maybe_unused]] const int t = ::ftruncate(fd, st.st_size);
        return "cannot write " + path.string() + ": " + system_message(e);
    }
    if (::fsync(fd) != 0) return "cannot fsync " + path.string() + ": " + system_message(errno);
    // An empty file may have just been created: make its directory entry durable too.
    if (fresh) {
        if (const int e = fsync_directory(dir); e != 0)
            return "cannot fsync " + dir.string() + ": " + system_message(e);
    }
    return {};
}

struct moved {
    std::string done_as{};
    std::string error{};
};

// dir/name → dir/done/name, or name.N.jsonl when that is taken; never replaces a file.
moved move_to_done(const fs::path& dir, const fs::path& done, const std::string& name) {
    moved out;
    std::error_code ec;
    fs::create_directories(done, ec);
    if (ec) {
        out.error = "cannot create " + done.string() + ": " + ec.message();
        return out;
    }
    const fs::path from = dir / name;
    const std::string stem = name.substr(0, name.size() - std::string_view(".jsonl").size());
    for (unsigned n = 0; n < 100000; ++n) {
        std::string target = n == 0 ? name : stem + "." + std::to_string(n) + ".jsonl";
        const fs::path to = done / target;
        if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) {
            out.done_as = std::move(target);
            return out;
        }
        const int e = errno;
        if (e == EEXIST) continue;
        if (e == EINVAL || e == ENOSYS) {
            // A filesystem without RENAME_NOREPLACE: check, then rename (only a concurrent
            // writer into done/ could slip in between).
            if (fs::exists(to, ec) || ec) continue;
            if (::rename(from.c_str(), to.c_str()) == 0) {
                out.done_as = std::move(target);
                return out;
            }
        }
        out.error = "cannot move " + from.string() + " to " + to.string() + ": " + system_message(errno);
        return out;
    }
    out.error = "cannot move " + from.string() + ": every name in " + done.string() + " is taken";
    return out;
}

struct line_count {
    std::uint64_t newlines = 0;
    char last = 0;
    std::string error{};
};

line_count count_newlines(int fd, std::uint64_t from, std::size_t n, const std::string& name) {
    line_count out;
    block b = read_block(fd, from, n, name);
    if (!b.error.empty()) {
        out.error = std::move(b.error);
        return out;
    }
    if (b.bytes.size() != n) {
        out.error = "cannot read " + name + ": the file shrank";
        return out;
    }
    out.newlines = static_cast<std::uint64_t>(std::count(b.bytes.begin(), b.bytes.end(), '\n'));
    if (!b.bytes.empty()) out.last = b.bytes.back();
    return out;
}

// --- rejects -------------------------------------------------------------------------------

struct reject {
    std::uint64_t number = 0;
    std::string code{};
    std::string error{};
    std::string text{};
    std::uint64_t bytes = 0;
};

std::string reject_line(const reject& r) {
    json::object o;
    o["line"] = r.number;
    o["error"] = r.error;
    o["text"] = printable_prefix(r.text, reject_text_bytes);
    o["bytes"] = r.bytes;
    return json::serialize(o);
}

void put_le64(EVP_MD_CTX* ctx, std::uint64_t v) {
    unsigned char b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(v >> (8 * i));
    EVP_DigestUpdate(ctx, b, sizeof b);
}

}  // namespace

bool is_spool_file_name(std::string_view name) {
    return !name.empty() && name.front() != '.' && name.ends_with(".jsonl");
}

std::uint64_t spool_file_hash(std::string_view file_name,
                              std::uint64_t inode,
                              std::int64_t mtime_ns,
                              std::uint64_t size) {
    // Fetched once: OpenSSL 3's implicit fetch in EVP_sha256() costs more than the hashing.
    static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    static constexpr char domain[] = "tributary-spool-v1";
    const char nul = 0;
    if (sha256 == nullptr || !ctx || EVP_DigestInit_ex(ctx.get(), sha256, nullptr) != 1)
        throw std::runtime_error("spool: SHA-256 is unavailable");
    EVP_DigestUpdate(ctx.get(), domain, sizeof domain);  // with its NUL
    EVP_DigestUpdate(ctx.get(), file_name.data(), file_name.size());
    EVP_DigestUpdate(ctx.get(), &nul, 1);
    put_le64(ctx.get(), inode);
    put_le64(ctx.get(), static_cast<std::uint64_t>(mtime_ns));
    put_le64(ctx.get(), size);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx.get(), digest, &len) != 1 || len < 8)
        throw std::runtime_error("spool: SHA-256 failed");
    std::uint64_t word = 0;
    for (std::size_t i = 0; i < 8; ++i) word = (word << 8) | digest[i];
    return word;
}

std::string spool_message_id(std::uint64_t file_hash, std::uint64_t offset) {
    const std::uint64_t words[2] = {file_hash, offset};
    std::size_t next = 0;
    const ingest::random_source rng = [&] { return words[next++ % 2]; };
    return ingest::make_uuid_v4(rng);
}

std::string printable_prefix(std::string_view text, std::size_t max_bytes) {
    text = text.substr(0, max_bytes);
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        const auto lead = static_cast<unsigned char>(text[i]);
        const std::size_t len = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 0;
        if (len != 0 && i + len <= text.size() && types::valid_utf8(text.substr(i, len))) {
            out.append(text.substr(i, len));
            i += len;
        } else {
            out.append("\xEF\xBF\xBD");  // U+FFFD
            ++i;
        }
    }
    return out;
}

// --- spool_line_splitter -----------------------------------------------------------------------

spool_line_splitter::spool_line_splitter(std::uint64_t offset,
                                         std::uint64_t first_number,
                                         std::size_t max_line_bytes,
                                         std::size_t keep_bytes)
    : offset_(offset),
      next_number_(std::max<std::uint64_t>(first_number, 1)),
      max_line_bytes_(max_line_bytes),
      keep_bytes_(keep_bytes),
      line_start_(offset) {}

spool_line spool_line_splitter::take(std::uint64_t end, bool torn) {
    spool_line line;
    line.number = next_number_++;
    line.offset = line_start_;
    line.end = end;
    line.length = line_length_;
    line.text = std::move(partial_);
    line.too_long = too_long_;
    line.torn = torn;
    partial_.clear();
    line_length_ = 0;
    too_long_ = false;
    line_start_ = end;
    return line;
}

void spool_line_splitter::feed(std::string_view bytes, std::deque<spool_line>& out) {
    while (!bytes.empty()) {
        const std::size_t nl = bytes.find('\n');
        const std::string_view piece = bytes.substr(0, nl);
        line_length_ += piece.size();
        if (!too_long_ && line_length_ > max_line_bytes_) {
            // Keep only the head for the rejects entry; drop the rest as it streams by.
            too_long_ = true;
            if (partial_.size() > keep_bytes_) partial_.resize(keep_bytes_);
        }
        if (!too_long_) {
            partial_.append(piece);
        } else if (partial_.size() < keep_bytes_) {
            partial_.append(piece.substr(0, keep_bytes_ - partial_.size()));
        }
        if (nl == std::string_view::npos) {
            offset_ += bytes.size();
            return;
        }
        offset_ += nl + 1;
        out.push_back(take(offset_, false));
        bytes.remove_prefix(nl + 1);
    }
}

std::optional<spool_line> spool_line_splitter::finish() {
    if (line_length_ == 0) return std::nullopt;
    return take(offset_, true);
}

// --- spool_source ----------------------------------------------------------------------------

namespace {

ingest::parse_limits line_limits(const spool_settings& s) {
    ingest::parse_limits limits;
    limits.max_request_bytes = s.max_line_bytes;
    return limits;
}

spool_settings checked(spool_settings s) {
    if (s.dir.empty()) throw std::invalid_argument("spool: the directory is empty");
    if (s.poll.count() <= 0) throw std::invalid_argument("spool: poll must be > 0");
    if (!is_plain_name(s.done_subdir)) throw std::invalid_argument("spool: done_subdir must be a plain name");
    if (!is_plain_name(s.rejected_subdir))
        throw std::invalid_argument("spool: rejected_subdir must be a plain name");
    if (s.done_subdir == s.rejected_subdir)
        throw std::invalid_argument("spool: done_subdir and rejected_subdir must differ");
    s.chunk_lines = std::max<std::size_t>(s.chunk_lines, 1);
    s.chunk_bytes = std::max<std::size_t>(s.chunk_bytes, 1);
    return s;
}

}  // namespace

spool_source::spool_source(spool_settings s,
                           event_intake& intake,
                           state::store& store,
                           storage_thread& storage,
                           log::logger log,
                           const clock& clk)
    : s_(checked(std::move(s))),
      intake_(intake),
      store_(store),
      storage_(storage),
      log_(std::move(log)),
      dir_(fs::absolute(s_.dir).lexically_normal()),
      parser_(line_limits(s_), clk, [this] { return next_id_word(); }) {}

std::string spool_source::progress_key(std::string_view file_name) const {
    return (dir_ / file_name).string();
}

std::uint64_t spool_source::next_id_word() {
    // The parser asks for two words per line without a messageId: the file's identity and the
    // line's offset instead of randomness, so a re-read assigns the same id (see the header).
    return id_words_used_++ % 2 == 0 ? id_file_hash_ : id_offset_;
}

awaitable<std::optional<std::string>> spool_source::move_done(const std::string& name,
                                                              const std::string& key,
                                                              std::uint64_t inode,
                                                              spool_scan_report& report) {
    // Progress first, then the move: see the header for why this order never loses a line.
    std::optional<std::string> store_failure;
    std::string path = key;
    try {
        co_await store_.remove_spool_progress(std::move(path));
    } catch (const state::store_error& e) {
        store_failure = e.what();
    }
    if (store_failure) {
        log_.error("spool.store_failed", {{"file", name}, {"error", *store_failure}});
        report.backoff = true;
        co_return std::nullopt;
    }
    auto work = [dir = dir_, done = dir_ / s_.done_subdir, name] { return move_to_done(dir, done, name); };
    moved m = co_await storage_.run(std::move(work));
    if (!m.error.empty()) {
        log_.error("spool.move_failed", {{"file", name}, {"error", m.error}});
        unmoved_.insert({key, inode});
        ++report.errors;
        co_return std::nullopt;
    }
    unmoved_.erase({key, inode});
    memo_.erase({key, inode});
    ++report.files_done;
    co_return std::move(m.done_as);
}

awaitable<spool_source::file_end> spool_source::ingest_file(std::string name, spool_scan_report& report) {
    const std::string key = progress_key(name);
    auto open_work = [path = dir_ / name] { return open_spool_file(path); };
    opened file = co_await storage_.run(std::move(open_work));
    if (file.error == ENOENT) co_return file_end::skipped;  // moved away since the listing
    if (file.error != 0) {
        log_.warn("spool.read_failed", {{"file", name}, {"error", file.message}});
        ++report.errors;
        co_return file_end::skipped;
    }
    const std::shared_ptr<fd_holder> fd = file.file;
    const std::uint64_t inode = file.inode;

    if (unmoved_.contains({key, inode})) {
        // Read to the end before; only the move is left.
        auto done_as = co_await move_done(name, key, inode, report);
        if (report.backoff) co_return file_end::stop_scan;
        if (!done_as) co_return file_end::skipped;
        log_.info("spool.file_done", {{"file", name},
                                      {"lines", std::uint64_t{0}},
                                      {"accepted", std::uint64_t{0}},
                                      {"duplicates", std::uint64_t{0}},
                                      {"rejected", std::uint64_t{0}},
                                      {"blank", std::uint64_t{0}},
                                      {"done_as", *done_as}});
        co_return file_end::done;
    }

    // Where to start.
    std::optional<state::spool_position> saved;
    std::optional<std::string> store_failure;
    std::string path = key;
    try {
        saved = co_await store_.load_spool_progress(std::move(path));
    } catch (const state::store_error& e) {
        store_failure = e.what();
    }
    if (store_failure) {
        log_.error("spool.store_failed", {{"file", name}, {"error", *store_failure}});
        report.backoff = true;
        co_return file_end::stop_scan;
    }
    std::uint64_t start = 0;
    std::uint64_t first_line = 1;
    std::string_view reset;
    if (saved) {
        if (saved->inode != inode) {
            reset = "inode_changed";
        } else if (saved->offset > file.size) {
            reset = "offset_beyond_end";
        } else {
            start = saved->offset;
        }
    }
    // Forget what was known of an earlier file under this name.
    for (auto it = memo_.lower_bound({key, 0}); it != memo_.end() && it->first.first == key;)
        it = it->first.second == inode ? std::next(it) : memo_.erase(it);
    file_memo& memo = memo_[{key, inode}];
    if (start > 0 && start == memo.committed_offset) {
        first_line = memo.committed_next_line;
    } else if (start > 0) {
        // Count the lines before the position (for the line numbers of rejects), block by block.
        std::uint64_t newlines = 0;
        char last = 0;
        for (std::uint64_t at = 0; at < start;) {
            const std::size_t n =
                static_cast<std::size_t>(std::min<std::uint64_t>(read_block_bytes, start - at));
            auto count_work = [fd, at, n, name] { return count_newlines(fd->fd, at, n, name); };
            line_count c = co_await storage_.run(std::move(count_work));
            if (!c.error.empty()) {
                log_.warn("spool.read_failed", {{"file", name}, {"error", c.error}});
                ++report.errors;
                co_return file_end::skipped;
            }
            newlines += c.newlines;
            last = c.last;
            at += n;
            // A long prefix takes many blocks: do not hold up a shutdown for it.
            const auto cs = co_await asio::this_coro::cancellation_state;
            if (cancelled(cs)) co_return file_end::stop_scan;
        }
        if (last != '\n') {
            reset = "offset_not_at_line_start";
            start = 0;
        } else {
            first_line = newlines + 1;
        }
    }
    if (!reset.empty()) log_.info("spool.progress_reset", {{"file", name}, {"reason", reset}});
    log_.info("spool.file_start",
              {{"file", name}, {"bytes", file.size}, {"offset", start}, {"first_line", first_line}});

    struct counts {
        std::uint64_t lines = 0, accepted = 0, duplicates = 0, rejected = 0, blank = 0;
    } counted;
    id_file_hash_ = spool_file_hash(name, inode, file.mtime_ns, file.size);
    spool_line_splitter splitter(start, first_line, s_.max_line_bytes, reject_text_bytes);
    std::deque<spool_line> ready;
    std::uint64_t ready_bytes = 0;
    std::uint64_t committed = start;
    bool eof = false;
    for (;;) {
        while (!eof && ready.size() < s_.chunk_lines && ready_bytes < s_.chunk_bytes) {
            auto read_work = [fd, at = splitter.offset(), name] {
                return read_block(fd->fd, at, read_block_bytes, name);
            };
            block b = co_await storage_.run(std::move(read_work));
            if (!b.error.empty()) {
                log_.warn("spool.read_failed", {{"file", name}, {"error", b.error}});
                ++report.errors;
                co_return file_end::skipped;
            }
            const std::size_t before = ready.size();
            if (b.bytes.empty()) {
                eof = true;
                if (auto torn = splitter.finish()) ready.push_back(std::move(*torn));
            } else {
                splitter.feed(b.bytes, ready);
            }
            for (std::size_t i = before; i < ready.size(); ++i) ready_bytes += ready[i].text.size();
        }
        if (ready.empty()) break;

        // One chunk: at most chunk_lines lines and chunk_bytes bytes, at least one line.
        std::vector<spool_line> chunk;
        std::uint64_t chunk_bytes = 0;
        while (!ready.empty() && chunk.size() < s_.chunk_lines) {
            const std::uint64_t size = ready.front().text.size();
            if (!chunk.empty() && chunk_bytes + size > s_.chunk_bytes) break;
            chunk_bytes += size;
            ready_bytes -= size;
            chunk.push_back(std::move(ready.front()));
            ready.pop_front();
        }

        std::vector<ingest::message> messages;
        std::vector<reject> rejects;
        std::uint64_t blank = 0;
        std::size_t parsed_bytes = 0;
        for (const spool_line& line : chunk) {
            if (parsed_bytes >= parse_slice_bytes) {
                // Let timers and other coroutines run between slices of a large chunk.
                parsed_bytes = 0;
                const auto executor = co_await asio::this_coro::executor;
                co_await asio::post(executor, use_nothrow);
            }
            parsed_bytes += line.text.size() + 64;
            reject r{line.number, {}, {}, line.text, line.length};
            if (line.too_long) {
                r.code = std::string(ingest::code_of(ingest::error_kind::too_large));
                r.error = r.code + ": line: " + std::to_string(line.length) +
                          " bytes, more than the limit of " + std::to_string(s_.max_line_bytes);
            } else if (is_blank(line.text)) {
                ++blank;
                continue;
            } else if (line.torn) {
                r.code = "no_newline";
                r.error =
                    r.code + ": the file's last line has no newline (was the file complete when renamed in?)";
            } else {
                id_offset_ = line.offset;
                id_words_used_ = 0;
                ingest::parse_outcome out = parser_.parse_typed(line.text);
                if (out.ok()) {
                    messages.push_back(std::move(out.messages.front()));
                    continue;
                }
                r.code = std::string(out.error->code());
                r.error = r.code + ": " + out.error->message;
            }
            rejects.push_back(std::move(r));
        }

        // Rejects are durable before the position passes them.
        std::string reject_text;
        std::uint64_t through = memo.rejects_written;
        for (const reject& r : rejects) {
            if (r.number <= memo.rejects_written) continue;
            reject_text += reject_line(r);
            reject_text += '\n';
            through = std::max(through, r.number);
        }
        if (!reject_text.empty()) {
            auto write_work = [spool = dir_, dir = dir_ / s_.rejected_subdir, file_name = name + ".rejects",
                               text = std::move(reject_text)]() mutable {
                return append_rejects(spool, dir, file_name, std::move(text));
            };
            std::string error = co_await storage_.run(std::move(write_work));
            if (!error.empty()) {
                log_.warn("spool.backoff",
                          {{"file", name}, {"reason", "rejects"}, {"offset", committed}, {"error", error}});
                report.backoff = true;
                co_return file_end::stop_scan;
            }
            for (const reject& r : rejects)
                if (r.number > memo.rejects_written)
                    log_.warn("spool.rejected_line", {{"file", name}, {"line", r.number}, {"code", r.code}});
            memo.rejects_written = through;
        }

        const std::uint64_t end = chunk.back().end;
        state::store_result<std::vector<state::enqueue_outcome>> queued;
        std::optional<std::string> fault;
        // Named, not a temporary of the co_await expression: GCC 12 destroys those twice.
        state::spool_progress progress{key, {inode, end}};
        try {
            queued = co_await intake_.append_with_progress(std::move(messages), std::move(progress));
        } catch (const state::store_error& e) {
            fault = e.what();
        }
        if (!fault && !queued) {
            const auto kind = queued.error().kind;
            if (kind == state::error_kind::queue_full || kind == state::error_kind::disk_full) {
                log_.warn("spool.backoff", {{"file", name},
                                            {"reason", state::to_string(kind)},
                                            {"offset", committed},
                                            {"retry_in", s_.poll}});
                report.backoff = true;
                co_return file_end::stop_scan;
            }
            // busy: waited out by the next scan too, but worth an error line like a fault.
            fault = queued.error().message;
        }
        if (fault) {
            log_.error("spool.store_failed", {{"file", name}, {"error", *fault}});
            report.backoff = true;
            co_return file_end::stop_scan;
        }
        const std::vector<state::enqueue_outcome>& outcomes = *queued;
        committed = end;
        memo.committed_offset = end;
        memo.committed_next_line = chunk.back().number + 1;
        const auto fresh = static_cast<std::uint64_t>(
            std::count(outcomes.begin(), outcomes.end(), state::enqueue_outcome::accepted));
        counted.lines += chunk.size();
        counted.accepted += fresh;
        counted.duplicates += outcomes.size() - fresh;
        counted.rejected += rejects.size();
        counted.blank += blank;
        report.lines += chunk.size();
        report.accepted += fresh;
        report.duplicates += outcomes.size() - fresh;
        report.rejected += rejects.size();
        report.blank += blank;

        const auto cs = co_await asio::this_coro::cancellation_state;
        if (cancelled(cs)) co_return file_end::stop_scan;
    }

    auto done_as = co_await move_done(name, key, inode, report);
    if (report.backoff) co_return file_end::stop_scan;
    if (!done_as) co_return file_end::skipped;
    log_.info("spool.file_done", {{"file", name},
                                  {"lines", counted.lines},
                                  {"accepted", counted.accepted},
                                  {"duplicates", counted.duplicates},
                                  {"rejected", counted.rejected},
                                  {"blank", counted.blank},
                                  {"done_as", *done_as}});
    co_return file_end::done;
}

awaitable<spool_scan_report> spool_source::scan_once() {
    const bool throwing = co_await asio::this_coro::throw_if_cancelled();
    co_await asio::this_coro::throw_if_cancelled(false);
    spool_scan_report report;
    auto list_work = [dir = dir_] { return list_spool(dir); };
    listing listed = co_await storage_.run(std::move(list_work));
    if (!listed.error.empty()) {
        log_.warn("spool.list_failed", {{"dir", dir_.string()}, {"error", listed.error}});
        ++report.errors;
    }
    for (std::string& name : listed.names) {
        const auto cs = co_await asio::this_coro::cancellation_state;
        if (cancelled(cs)) break;
        ++report.files_seen;
        const file_end end = co_await ingest_file(std::move(name), report);
        if (end == file_end::stop_scan) break;
    }
    totals_.files_seen += report.files_seen;
    totals_.files_done += report.files_done;
    totals_.lines += report.lines;
    totals_.accepted += report.accepted;
    totals_.duplicates += report.duplicates;
    totals_.rejected += report.rejected;
    totals_.blank += report.blank;
    totals_.backoff = totals_.backoff || report.backoff;
    totals_.errors += report.errors;
    co_await asio::this_coro::throw_if_cancelled(throwing);
    co_return report;
}

awaitable<void> spool_source::run() {
    // The task group asks for a graceful stop with a total cancellation; the default filter
    // (terminal only) would let the poll timer sleep through it until the group forces a
    // terminal one after its grace period. Storage work is not cancellable, so a chunk being
    // committed still completes.
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    co_await asio::this_coro::throw_if_cancelled(false);
    asio::steady_timer timer(co_await asio::this_coro::executor);
    log_.info("spool.start", {{"dir", dir_.string()}, {"poll", s_.poll}});
    for (;;) {
        std::optional<std::string> failure;
        try {
            co_await scan_once();
        } catch (const std::exception& e) {
            failure = e.what();
        }
        if (failure) log_.error("spool.scan_failed", {{"error", *failure}});
        const auto cs = co_await asio::this_coro::cancellation_state;
        if (cancelled(cs)) break;
        timer.expires_after(s_.poll);
        [[maybe_unused]] auto [ec] = co_await timer.async_wait(use_nothrow);
        const auto after = co_await asio::this_coro::cancellation_state;
        if (cancelled(after)) break;
    }
    log_.info("spool.stop", {{"files_done", totals_.files_done},
                             {"lines", totals_.lines},
                             {"accepted", totals_.accepted},
                             {"duplicates", totals_.duplicates},
                             {"rejected", totals_.rejected}});
}

}  // namespace tributary::ingest
