#include "core/log/journal_ids.hpp"

#include <array>

namespace tributary::log {

namespace {

// Generated once with `systemd-id128 new`; never reuse or change one.
constexpr std::array ids{
    journal_id{"daemon.start", level::info, "691cb0b81bf741c28d35c9e23b434878"},
    journal_id{"daemon.stop", level::info, "7bcb0404fe7043c8a7f48c8f4ce71ae4"},
    journal_id{"config.invalid", level::error, "01f96654682544be944d17c0e240242f"},
    journal_id{"state.unavailable", level::error, "d6f7c0baf1cc4e3f9375255550ab4db0"},
    journal_id{"job.failed", level::error, "be9c15417e8748149811eb60e9f882d0"},
    journal_id{"job.done", level::error, "1739b12eba5c44a9ab97c53b79ee6e35"},
    journal_id{"dlq.add", level::warn, "d3a9e9052aa0473294df4120b984ff76"},
    journal_id{"task.failed", level::error, "d23179dc584b4194b3e32cf698bcb02f"},
    journal_id{"loop.stall", level::warn, "7ece0c40f4b2492191690425e5f50c7a"},
};

}  // namespace

std::span<const journal_id> journal_ids() {
    return ids;
}

std::optional<std::string_view> journal_message_id(std::string_view event, level lvl) {
    for (const auto& j : ids) {
        if (j.event == event && lvl >= j.min_level) return j.id;
    }
    return std::nullopt;
}

}  // namespace tributary::log
