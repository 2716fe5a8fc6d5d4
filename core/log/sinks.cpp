#include "core/log/sinks.hpp"

#include <spdlog/details/log_msg.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace tributary::log {

namespace {

spdlog::level::level_enum to_spdlog(level l) {
    switch (l) {
        case level::trace:
            return spdlog::level::trace;
        case level::debug:
            return spdlog::level::debug;
        case level::info:
            return spdlog::level::info;
        case level::warn:
            return spdlog::level::warn;
        case level::error:
            return spdlog::level::err;
        case level::critical:
            return spdlog::level::critical;
        case level::off:
            return spdlog::level::off;
    }
    return spdlog::level::info;
}

}  // namespace

// The sink is used directly, without an spdlog::logger: we need no registry,
// no level filter of spdlog's own and no global state, and the line is already
// complete. "%v" is the message alone; spdlog appends the newline.
struct stderr_sink::impl {
    spdlog::sinks::stderr_sink_mt sink;
};

stderr_sink::stderr_sink() : impl_(std::make_unique<impl>()) {
    impl_->sink.set_pattern("%v");
}

stderr_sink::~stderr_sink() = default;

void stderr_sink::write(level lvl, std::string_view line) {
    const spdlog::details::log_msg msg{spdlog::string_view_t{}, to_spdlog(lvl),
                                       spdlog::string_view_t{line.data(), line.size()}};
    impl_->sink.log(msg);
}

void stderr_sink::flush() {
    impl_->sink.flush();
}

void memory_sink::write(level, std::string_view line) {
    std::lock_guard lock{mutex_};
    lines_.emplace_back(line);
}

std::vector<std::string> memory_sink::lines() const {
    std::lock_guard lock{mutex_};
    return lines_;
}

void memory_sink::clear() {
    std::lock_guard lock{mutex_};
    lines_.clear();
}

}  // namespace tributary::log
