#pragma once
// Native journald logging (`log.target: journald`): one datagram per line to
// the journal's socket, in its native protocol, with PRIORITY from the level,
// SYSLOG_IDENTIFIER=tributary and the formatted line as MESSAGE (JSON lines
// keep every field machine-readable: `journalctl -o cat`). Lines from the
// logger also carry TRIBUTARY_EVENT (the event name), TRIBUTARY_JOB (the `job`
// field, when there is one) and, for key events, a stable MESSAGE_ID
// (core/log/journal_ids.hpp) explained by the journal catalog.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/log/sinks.hpp"

namespace tributary::log {

class journald_sink final : public sink {
public:
    /// Connects to `socket_path` (default: the journal's). Throws std::runtime_error when the
    /// journal cannot be reached, so the daemon can fall back to stderr and say so.
    explicit journald_sink(std::string socket_path = "/run/systemd/journal/socket");
    ~journald_sink() override;
    journald_sink(const journald_sink&) = delete;
    journald_sink& operator=(const journald_sink&) = delete;

    void write(level lvl, std::string_view line) override;
    void write_record(level lvl,
                      std::string_view event,
                      std::span<const field> fields,
                      std::string_view line) override;

    /// The datagram for one line (pure; tested).
    static std::string encode(level lvl, std::string_view line);
    /// The datagram for one logger record: `encode(lvl, line)` plus MESSAGE_ID (when `event` at
    /// `lvl` has one), TRIBUTARY_EVENT and TRIBUTARY_JOB (a string field named `job`).
    static std::string encode(level lvl,
                              std::string_view event,
                              std::span<const field> fields,
                              std::string_view line);

private:
    int fd_ = -1;
};

/// Whether `journal_stream` — systemd's $JOURNAL_STREAM, "DEVICE:INODE" in decimal — names the
/// file with device `dev` and inode `ino` (pure; tested).
bool names_journal_stream(std::string_view journal_stream, std::uint64_t dev, std::uint64_t ino);

/// Whether standard error is connected to the journal: $JOURNAL_STREAM names fd 2 (systemd.exec(5)
/// sets it for services; a child whose stderr was redirected inherits it but no longer matches).
/// Lines written before the config is read may then go natively, with their MESSAGE_ID.
bool stderr_is_journal();

}  // namespace tributary::log
