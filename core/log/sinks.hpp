#pragma once
// Where finished log lines go. A sink receives one complete line (no trailing
// newline) per call and must be safe to call from several threads at once.

#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/log/format.hpp"

namespace tributary::log {

class sink {
public:
    virtual ~sink() = default;
    /// Writes `line` as one line; the sink adds the line terminator.
    virtual void write(level lvl, std::string_view line) = 0;
    /// The logger's call: `line` is `event` with `fields` formatted. Sinks that store fields
    /// natively (journald) override it; the default writes `line`.
    virtual void write_record(level lvl,
                              std::string_view event,
                              std::span<const field> fields,
                              std::string_view line) {
        (void)event;
        (void)fields;
        write(lvl, line);
    }
    /// Pushes buffered lines to their destination. Default: nothing buffered.
    virtual void flush() {}
};

/// Standard error through spdlog, one `write` per line, unbuffered.
class stderr_sink final : public sink {
public:
    stderr_sink();
    ~stderr_sink() override;
    stderr_sink(const stderr_sink&) = delete;
    stderr_sink& operator=(const stderr_sink&) = delete;

    void write(level lvl, std::string_view line) override;
    void flush() override;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// Keeps every line in memory, for tests.
class memory_sink final : public sink {
public:
    void write(level lvl, std::string_view line) override;
    /// A copy of the lines written so far, oldest first.
    std::vector<std::string> lines() const;
    void clear();

private:
    mutable std::mutex mutex_;
    std::vector<std::string> lines_;
};

/// Discards everything.
class null_sink final : public sink {
public:
    void write(level, std::string_view) override {}
};

}  // namespace tributary::log
